"""Failure paths and continue on failure on a real Celery worker (and beat, whose sweeper queues the
retry), the CRM a real HTTP server on 127.0.0.1 answering 500 (docs/adr/0032)."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from workflows.engine.planner.states import EXECUTION_TERMINAL
from workflows.models import WorkflowExecution
from workflows.tests.cluster import fresh_cluster, wait_for
from workflows.tests.http_server import Server

pytestmark = [pytest.mark.e2e, pytest.mark.services, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def workers(django_db_setup, django_db_blocker):
    """One worker process and a beat for this module."""
    with fresh_cluster() as cluster:
        cluster.start_worker("w1", concurrency=2)
        cluster.start_beat()
        yield cluster


@pytest.fixture
def receiver():
    server = Server()
    yield server
    server.close()


def crm(url: str, **extra) -> dict:
    return {"key": "crm", "task_type": "http_request", "max_retries": 1, "retry_base_delay": 0.1,
            "config": {"method": "POST", "url": f"{url}/status/500", "json": {"email": "{{ input.email }}"}}, **extra}


def welcome(url: str, depends_on: str = "crm") -> dict:
    return {"key": "welcome", "task_type": "http_request", "depends_on": [depends_on], "max_retries": 0,
            "config": {"method": "POST", "url": f"{url}/welcome", "json": {"to": "{{ input.email }}"}}}


def review(source: str = "steps.crm.error", **extra) -> dict:
    return {"key": "review", "task_type": "data_transform", "depends_on": ["crm:failed"], **extra, "config": {
        "source": "{{ " + source + " }}",
        "transforms": [{"type": "set", "field": "note", "value": "manual review: {{ steps.crm.error.message }}"}]}}


def start(client, definition: dict) -> str:
    workflow = client.post("/api/v1/workflows/", definition, format="json")
    assert workflow.status_code == 201, workflow.data
    run = client.post(f"/api/v1/workflows/{workflow.data['id']}/run/", {"input_data": {"email": "ada@example.com"}},
                      format="json")
    assert run.status_code == 201, run.data
    return run.data["id"]


def finished(client, run_id: str) -> dict:
    wait_for(lambda: WorkflowExecution.objects.get(pk=run_id).status in EXECUTION_TERMINAL, timeout=60,
             message="the run to end")
    detail = client.get(f"/api/v1/executions/{run_id}/").data
    return detail | {"steps": {row["step_key"]: row for row in detail["task_executions"] if row["is_latest"]}}


def test_failure_paths_and_continue_on_failure_on_a_real_worker(workers, user, receiver):
    client = APIClient()
    client.force_authenticate(user)
    url = receiver.url
    handled = start(client, {"name": "handled", "status": "active", "steps": [
        crm(url), welcome(url), review()]})
    failing = start(client, {"name": "failing", "status": "active", "steps": [
        crm(url), welcome(url), review("steps.missing.output")]})  # the failure path's own template fails
    carried = start(client, {"name": "carried", "status": "active", "steps": [
        crm(url, continue_on_failure=True),
        {"key": "note", "task_type": "data_transform", "depends_on": ["crm"], "config": {
            "source": "{{ steps.crm.output }}",
            "transforms": [{"type": "set", "field": "note", "value": "crm: {{ steps.crm.output.error.message }}"}]}}]})

    run = finished(client, handled)
    assert run["status"] == "completed" and run["handled_failures"] == ["crm"], run
    steps = run["steps"]
    assert steps["crm"]["status"] == "failed" and steps["crm"]["attempt_number"] == 2  # after its retry
    assert steps["welcome"]["status"] == "skipped" and steps["review"]["status"] == "completed"
    assert steps["review"]["worker_id"]  # run by the worker
    result = steps["review"]["output_data"]["result"]
    assert result["note"] == f"manual review: {steps['crm']['error_message']}" and "500" in result["note"]
    assert result["attempts"] == 2 and result["type"] and result["message"] == steps["crm"]["error_message"]
    listed = client.get("/api/v1/executions/", {"workflow": run["workflow"]}).data
    assert [r["handled_failures"] for r in (listed["results"] if isinstance(listed, dict) else listed)] == [["crm"]]

    run = finished(client, failing)
    assert run["status"] == "failed" and run["handled_failures"] == ["crm"]
    assert run["steps"]["review"]["status"] == "failed" and list(run["error_details"]["failed_steps"]) == ["review"]

    run = finished(client, carried)
    assert run["status"] == "completed" and run["handled_failures"] == ["crm"]
    error = run["steps"]["crm"]["output_data"]["error"]
    assert run["steps"]["crm"]["status"] == "failed" and error["attempts"] == 2 and "500" in error["message"]
    assert run["steps"]["note"]["output_data"]["result"]["note"] == f"crm: {error['message']}"
    # 2 attempts x 3 runs reached the CRM; no welcome was sent
    assert len([r for r in receiver.requests if r["path"] == "/status/500"]) == 6
    assert not [r for r in receiver.requests if r["path"] == "/welcome"]
