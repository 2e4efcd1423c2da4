"""Flow control at admission on a real Celery worker and beat against PostgreSQL (docs/adr/0038): with
slots scarce, higher-priority runs take them first (the order a local receiver sees the calls), and a
named limit shared by two workflows holds across both (a run of one ending admits the other's)."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from rest_framework.test import APIClient

from workflows.engine.planner.states import ExecutionStatus as E
from workflows.models import WorkflowExecution
from workflows.tests.cluster import Sampler, fresh_cluster, wait_for
from workflows.tests.http_server import server  # noqa: F401

pytestmark = [pytest.mark.e2e, pytest.mark.services, pytest.mark.django_db(transaction=True),
              pytest.mark.xdist_group("test_admission_e2e")]


@pytest.fixture(scope="module")
def workers(django_db_setup, django_db_blocker):
    """One worker process (two slots: admission, not the worker, must be what holds runs back) and the
    beat that runs the sweeper, for this module."""
    with fresh_cluster() as cluster:
        cluster.start_beat()
        cluster.start_worker("w1", concurrency=2)
        yield cluster


@pytest.fixture
def client(user, settings):
    settings.FLOWPILOT_API_RATE_USER = "1000000/minute"
    api = APIClient()
    api.force_authenticate(user)
    return api


def workflow(client, name: str, url: str, limits: dict) -> str:
    answer = client.post("/api/v1/workflows/", {"name": name, "status": "active", "limits": limits, "steps": [
        {"key": "call", "task_type": "http_request", "max_retries": 0,
         "config": {"method": "POST", "url": url + "/slow?seconds={{ input.seconds }}",
                    "json": {"name": "{{ input.name }}"}}}]}, format="json")
    assert answer.status_code == 201, answer.data
    return answer.data["id"]


def start(client, workflow_id: str, **input_data) -> str:
    answer = client.post(f"/api/v1/workflows/{workflow_id}/run/", {"input_data": input_data}, format="json")
    assert answer.status_code in (200, 201, 202), answer.data
    return answer.data["id"]


def called(server) -> list[str]:  # noqa: F811
    return [json.loads(r["body"])["name"] for r in server.requests if r["path"].startswith("/slow")]


def test_higher_priority_runs_take_the_scarce_slot_first(workers, client, server):  # noqa: F811
    wf = workflow(client, "prioritised", server.url, {"concurrency": {"max": 1}, "priority": "{{ input.p }}"})
    start(client, wf, name="holder", seconds=3, p=0)
    wait_for(lambda: called(server) == ["holder"], timeout=30, message="the first run's call")
    # While it holds the one slot: ten low-priority runs, then three high ones.
    low = [start(client, wf, name=f"low{n}", seconds=0.05, p=0) for n in range(10)]
    high = [start(client, wf, name=f"high{n}", seconds=0.05, p=5) for n in range(3)]
    assert WorkflowExecution.objects.filter(pk__in=low + high, status=E.PENDING).count() == 13
    wait_for(lambda: not WorkflowExecution.objects.filter(workflow_id=wf).exclude(status=E.COMPLETED).exists(),
             timeout=90, message="every run to complete")
    assert called(server) == ["holder"] + [f"high{n}" for n in range(3)] + [f"low{n}" for n in range(10)]


def test_a_named_limit_holds_across_two_workflows(workers, client, server):  # noqa: F811
    shared = {"concurrency": {"max": 1, "name": "gateway"}}
    a = workflow(client, "gateway a", server.url, shared)
    b = workflow(client, "gateway b", server.url, shared)

    def running() -> int:
        try:
            return WorkflowExecution.objects.filter(workflow_id__in=[a, b], status=E.RUNNING).count()
        finally:
            connection.close()  # the sampler's thread leaves no session behind

    with Sampler(running) as sampler:
        runs = [start(client, wf, name=f"{label}{n}", seconds=0.5)
                for n in range(3) for wf, label in ((a, "a"), (b, "b"))]
        wait_for(lambda: WorkflowExecution.objects.filter(pk__in=runs, status=E.COMPLETED).count() == len(runs),
                 timeout=90, message="every run to complete")
    assert sampler.peak <= 1
    rows = sorted(WorkflowExecution.objects.filter(pk__in=runs), key=lambda r: r.started_at)
    for before, after in zip(rows, rows[1:]):  # one at a time: each started once the one before it ended
        assert after.started_at >= before.completed_at
    assert {str(r.workflow_id) for r in rows[:2]} == {a, b}  # a's run ending admitted b's waiting run
    assert called(server) == ["a0", "b0", "a1", "b1", "a2", "b2"]
