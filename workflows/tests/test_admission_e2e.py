"""Flow control at admission on real Celery workers and beat against PostgreSQL (docs/adr/0038): with
slots scarce, higher-priority runs take them first (the order a local receiver sees the calls); a
named limit shared by two workflows holds across both (a run of one ending admits the other's); a
rate limit of 5 starts a second holds across two worker processes (the calls' times at a receiver)."""

from __future__ import annotations

import json
import time

import pytest
from django.db import connection

from workflows.engine.planner.states import ExecutionStatus as E
from workflows.models import WorkflowExecution
from workflows.tests.cluster import Sampler, fresh_cluster, wait_for
from workflows.tests.http_server import server  # noqa: F401

pytestmark = [pytest.mark.e2e, pytest.mark.services, pytest.mark.django_db(transaction=True),
              pytest.mark.xdist_group("test_admission_e2e")]


@pytest.fixture(scope="module")
def workers(django_db_setup, django_db_blocker):
    """Two worker processes (four slots: admission, not the workers, must be what holds runs back) and
    the beat that runs the sweeper, for this module."""
    with fresh_cluster() as cluster:
        cluster.start_beat()
        cluster.start_worker("w1", concurrency=2)
        cluster.start_worker("w2", concurrency=2)
        yield cluster


@pytest.fixture
def client(api):
    return api  # conftest's authenticated client, by the name these tests use


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


def test_a_rate_limit_of_5_starts_a_second_holds_across_two_workers(workers, client, server):  # noqa: F811
    """The limit is on run starts: each run gets a slot 0.2 s after the one before (GCRA, reserved once,
    across the API's and both workers' transactions) and never starts before it. The calls a receiver
    sees follow the starts plus each step's dispatch latency (printed: under load it varies, so calls
    may cluster more than starts: a step's own limits.rate is what paces calls at a host)."""
    wf = workflow(client, "rated", server.url, {"rate": {"limit": 5, "per_seconds": 1, "name": "sms-provider"}})
    answer = client.post("/api/v1/executions/bulk/",
                         {"workflow": wf, "inputs": [{"name": f"r{n}", "seconds": 0} for n in range(15)]},
                         format="json")
    assert answer.status_code in (200, 201, 202), answer.data
    wait_for(lambda: len(called(server)) == 15, timeout=60, message="every run's call")
    rows = sorted(WorkflowExecution.objects.filter(workflow_id=wf), key=lambda r: r.rate_slot_at)
    slots = [(r.rate_slot_at - rows[0].rate_slot_at).total_seconds() for r in rows]
    starts = sorted((r.started_at - rows[0].rate_slot_at).total_seconds() for r in rows)
    assert [round(b - a, 3) for a, b in zip(slots, slots[1:])] == [0.2] * 14
    assert all(r.started_at >= r.rate_slot_at for r in rows)  # none before its slot
    assert starts[-1] >= 2.8  # 15 starts take at least 14 intervals
    lateness = max((r.started_at - r.rate_slot_at).total_seconds() for r in rows)
    most_starts = max(sum(1 for t in starts if s <= t < s + 1.0) for s in starts)
    calls = sorted(r["at"] for r in server.requests if r["path"].startswith("/slow"))
    most_calls = max(sum(1 for t in calls if s <= t < s + 1.0) for s in calls)
    print(f"rate e2e: starts over {starts[-1]:.2f} s, latest start {lateness:.2f} s after its slot, most starts "
          f"in any 1 s: {most_starts}; calls over {calls[-1] - calls[0]:.2f} s, most calls in any 1 s: {most_calls}")
