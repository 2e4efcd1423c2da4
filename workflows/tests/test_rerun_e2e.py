"""Rerun from a step and edit and resume, as a user does them over the API, run by a real Celery
worker process: the rerun runs exactly the step and its descendants again, and the edited run calls
the corrected URL with the corrected body while its workflow stays as it was."""

from __future__ import annotations

import json

import pytest

from workflows.engine.planner.states import EXECUTION_TERMINAL
from workflows.engine.planner.states import ExecutionStatus as E
from workflows.engine.planner.states import TaskStatus as T
from workflows.models import TaskExecution, WorkflowExecution, WorkflowVersion
from workflows.tests.cluster import fresh_cluster, wait_for
from workflows.tests.http_server import server  # noqa: F401

pytestmark = [pytest.mark.e2e, pytest.mark.services, pytest.mark.django_db(transaction=True),
              pytest.mark.xdist_group("test_rerun_e2e")]  # one process runs the module: one worker fixture


@pytest.fixture(scope="module")
def workers(django_db_setup, django_db_blocker):
    """One worker process for the tests of this module (the engine keeps nothing between them)."""
    with fresh_cluster() as cluster:
        cluster.start_worker("w1", concurrency=2)
        yield cluster


@pytest.fixture
def client(api):
    return api  # conftest's authenticated client, by the name these tests use


def create(client, steps: list[dict]) -> dict:
    response = client.post("/api/v1/workflows/", {"name": "debugged", "status": "active", "steps": steps},
                           format="json")
    assert response.status_code == 201, response.data
    return response.data


def ended(client, run_id: str) -> dict:
    wait_for(lambda: WorkflowExecution.objects.get(pk=run_id).status in EXECUTION_TERMINAL, timeout=60,
             message="the run to end")
    return client.get(f"/api/v1/executions/{run_id}/").data


def attempts(run_id: str) -> dict[str, int]:
    found: dict[str, int] = {}
    for key in TaskExecution.objects.filter(execution_id=run_id).values_list("step_key", flat=True):
        found[key] = found.get(key, 0) + 1
    return found


def record(key: str, value: str, *depends_on: str) -> dict:
    return {"key": key, "task_type": "python", "depends_on": list(depends_on),
            "config": {"function": "record", "kwargs": {"value": value}}}


def test_rerun_from_a_step_runs_exactly_it_and_its_descendants_again(workers, client):
    # a -> b -> (c, d) -> e, and f beside them after a
    workflow = create(client, [record("a", "a"), record("b", "{{ input.n }}", "a"), record("c", "c", "b"),
                               record("d", "d", "b"), record("e", "e", "c", "d"), record("f", "f", "a")])
    run = client.post(f"/api/v1/workflows/{workflow['id']}/run/", {"input_data": {"n": 1}}, format="json").data
    first = ended(client, run["id"])
    assert first["status"] == E.COMPLETED and first["allowed_actions"] == ["rerun", "replay"]

    answer = client.post(f"/api/v1/executions/{run['id']}/rerun/", {"from_step": "b"}, format="json")
    assert answer.status_code == 200, answer.data
    again = ended(client, run["id"])
    assert again["status"] == E.COMPLETED and again["retry_count"] == 1
    assert attempts(run["id"]) == {"a": 1, "f": 1, "b": 2, "c": 2, "d": 2, "e": 2}
    assert not TaskExecution.objects.filter(execution_id=run["id"]).exclude(status=T.COMPLETED).exists()
    events = list(client.get(f"/api/v1/executions/{run['id']}/logs/").data["logs"])
    [rerun] = [line for line in events if line["event"] == "execution.rerun"]
    assert rerun["details"]["user"] == "alice" and rerun["details"]["steps"] == ["b", "c", "d", "e"]


def test_edit_and_resume_calls_the_corrected_step_and_leaves_the_workflow_as_it_was(workers, client,
                                                                                    server):  # noqa: F811
    workflow = create(client, [
        record("welcome", "welcome"),
        {"key": "crm", "task_type": "http_request", "depends_on": ["welcome"], "max_retries": 0,
         "config": {"method": "POST", "url": f"{server.url}/status/404", "json": {"email": "{{ input.email }}"}}},
        record("slack", "{{ steps.crm.output.body.echo }}", "crm"),
    ])
    definition = WorkflowVersion.objects.get(workflow_id=workflow["id"]).definition
    run = client.post(f"/api/v1/workflows/{workflow['id']}/run/", {"input_data": {"email": "typo@x"}},
                      format="json").data
    failed = ended(client, run["id"])
    assert failed["status"] == E.FAILED and "edit" in failed["allowed_actions"]

    fixed = {"method": "POST", "url": f"{server.url}/crm", "json": {"email": "{{ input.email }}", "fixed": True}}
    answer = client.post(f"/api/v1/executions/{run['id']}/retry/", {"overrides": {
        "input": {"email": "ada@example.com"}, "steps": {"crm": {"config": fixed}}}}, format="json")
    assert answer.status_code == 200, answer.data
    done = ended(client, run["id"])
    assert done["status"] == E.COMPLETED
    assert done["overrides"]["steps"]["crm"]["config"] == fixed and done["overridden_by"] == "alice"
    assert [(r["path"], json.loads(r["body"])) for r in server.requests] == [
        ("/status/404", {"email": "typo@x"}), ("/crm", {"email": "ada@example.com", "fixed": True})]
    assert attempts(run["id"]) == {"welcome": 1, "crm": 2, "slack": 1}
    # The workflow is as it was: one version, the same definition, the same number.
    assert client.get(f"/api/v1/workflows/{workflow['id']}/").data["version"] == 1
    assert [(v.number, v.definition) for v in WorkflowVersion.objects.filter(workflow_id=workflow["id"])] == [
        (1, definition)]
