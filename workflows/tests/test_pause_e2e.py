"""Pause and resume on a real Celery worker and beat (the sweeper) against PostgreSQL, as a user does it
over the API: a step running when the run is paused finishes and nothing after it starts; a timer whose
due time passes while paused does not fire; unpaused, the run completes with every step exactly once
(one attempt each, unique idempotency keys, each call seen once by a local receiver)."""

from __future__ import annotations

import time

import pytest

from workflows.engine.planner.states import EXECUTION_TERMINAL
from workflows.engine.planner.states import ExecutionStatus as E
from workflows.engine.planner.states import TaskStatus as T
from workflows.models import TaskExecution, WorkflowExecution
from workflows.tests.cluster import fresh_cluster, wait_for
from workflows.tests.http_server import server  # noqa: F401

pytestmark = [pytest.mark.e2e, pytest.mark.services, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def workers(django_db_setup, django_db_blocker):
    """One worker process and the beat that runs the sweeper, for this module."""
    with fresh_cluster() as cluster:
        cluster.start_beat()
        cluster.start_worker("w1", concurrency=2)
        yield cluster


@pytest.fixture
def client(api):
    return api  # conftest's authenticated client, by the name these tests use


def call(key: str, url: str, *depends_on: str) -> dict:
    return {"key": key, "task_type": "http_request", "depends_on": list(depends_on), "max_retries": 0,
            "config": {"method": "POST", "url": url, "json": {"step": key}}}


def step_rows(run_id) -> dict[str, list[tuple[str, int]]]:
    found: dict[str, list[tuple[str, int]]] = {}
    for row in TaskExecution.objects.filter(execution_id=run_id).order_by("attempt"):
        found.setdefault(row.step_key, []).append((row.status, row.attempt))
    return found


def test_pause_mid_run_holds_steps_and_timers_and_unpause_completes_every_step_once(workers, client,
                                                                                     server):  # noqa: F811
    # slow (2 s at the receiver) -> nap (a 2 s timer) -> b -> c
    answer = client.post("/api/v1/workflows/", {"name": "paused midway", "status": "active", "steps": [
        call("slow", f"{server.url}/slow?seconds=2"),
        {"key": "nap", "task_type": "delay", "depends_on": ["slow"], "config": {"seconds": 2}},
        call("b", f"{server.url}/b", "nap"),
        call("c", f"{server.url}/c", "b"),
    ]}, format="json")
    assert answer.status_code == 201, answer.data
    run = client.post(f"/api/v1/workflows/{answer.data['id']}/run/", {"input_data": {}}, format="json").data["id"]

    # 1. Paused while its first step runs: that step finishes, nothing after it is queued.
    wait_for(lambda: TaskExecution.objects.filter(execution_id=run, step_key="slow", status=T.RUNNING).exists(),
             timeout=30, message="the slow step to start")
    assert client.post(f"/api/v1/executions/{run}/pause/").data["status"] == "paused"
    wait_for(lambda: TaskExecution.objects.filter(execution_id=run, step_key="slow", status=T.COMPLETED).exists(),
             timeout=30, message="the running step to finish while paused")
    time.sleep(2)  # the worker and the sweeper had every chance to start the next step
    assert step_rows(run) == {"slow": [(T.COMPLETED, 1)], "nap": [(T.PENDING, 1)], "b": [(T.PENDING, 1)],
                              "c": [(T.PENDING, 1)]}
    assert WorkflowExecution.objects.get(pk=run).status == E.PAUSED

    # 2. Unpaused: the timer starts; paused again while it waits, its due time passes without firing.
    assert client.post(f"/api/v1/executions/{run}/unpause/").data["status"] == "running"
    wait_for(lambda: TaskExecution.objects.filter(execution_id=run, step_key="nap", status=T.WAITING).exists(),
             timeout=30, message="the timer to start")
    assert client.post(f"/api/v1/executions/{run}/pause/").data["status"] == "paused"
    nap = TaskExecution.objects.get(execution_id=run, step_key="nap")
    wait_for(lambda: WorkflowExecution.objects.get(pk=run).status == E.PAUSED, timeout=5, message="paused")
    time.sleep(max((nap.wake_at - nap.created_at).total_seconds(), 0) + 3)  # due for a while; beat sweeps at 2 Hz
    nap.refresh_from_db()
    assert nap.status == T.WAITING and step_rows(run)["b"] == [(T.PENDING, 1)]
    assert [r["path"] for r in server.requests] == ["/slow?seconds=2"]
    why = client.get(f"/api/v1/executions/{run}/why/").data
    assert {r["step_key"]: r["reason"] for r in why["reasons"]}["nap"] == "paused"

    # 3. Unpaused: the due timer fires, b and c run; every step once.
    client.post(f"/api/v1/executions/{run}/unpause/")
    wait_for(lambda: WorkflowExecution.objects.get(pk=run).status in EXECUTION_TERMINAL, timeout=60,
             message="the run to end")
    done = client.get(f"/api/v1/executions/{run}/").data
    assert done["status"] == E.COMPLETED, done
    assert step_rows(run) == {key: [(T.COMPLETED, 1)] for key in ("slow", "nap", "b", "c")}
    assert sorted(r["path"] for r in server.requests) == ["/b", "/c", "/slow?seconds=2"]
    keys = [r["headers"].get("Idempotency-Key") for r in server.requests]
    assert all(keys) and len(set(keys)) == 3
    logged = [e["event"] for e in client.get(f"/api/v1/executions/{run}/logs/?limit=500").data["logs"]
              if e["event"] in ("execution.paused", "execution.unpaused")]
    assert logged == ["execution.paused", "execution.unpaused", "execution.paused", "execution.unpaused"]
