"""A step's rate and concurrency limits and a workflow's debounce on real processes against PostgreSQL:
two Celery worker processes and the beat (the sweeper), a local receiver that records when each call
arrives and how many are in flight, and (for debounce) the web server answering concurrent triggers.

- a rate limit of 5/s holds across the two workers: 40 runs, every call arrives, the slots the calls
  are released at hold exactly 5 in any second, no call arrives before its slot (the receiver's
  windows and the delivery jitter printed);
- a step concurrency limit of 2 holds across the workers, and no run is lost when one is killed;
- debounce keeps one run: 10 concurrent triggers with one key start one run, with the last input.
"""

from __future__ import annotations

import json
import threading
from datetime import timedelta

import httpx
import pytest
from rest_framework.authtoken.models import Token

from workflows.engine.planner.states import ExecutionStatus as E
from workflows.models import TaskExecution, WorkflowExecution
from workflows.tests.cluster import fresh_cluster, wait_for
from workflows.tests.http_server import server  # noqa: F401

pytestmark = [pytest.mark.e2e, pytest.mark.services, pytest.mark.django_db(transaction=True),
              pytest.mark.xdist_group("test_step_limits_e2e")]

@pytest.fixture(scope="module")
def workers(django_db_setup, django_db_blocker):
    """Two worker processes, the beat that runs the sweeper, and the web server, for this module."""
    with fresh_cluster(FLOWPILOT_RATE_SLOT_HOLD_SECONDS="2") as cluster:
        cluster.start_beat()
        cluster.start_worker("w1", concurrency=4)
        cluster.start_worker("w2", concurrency=4)
        yield cluster


@pytest.fixture
def client(api):
    return api  # conftest's authenticated client, by the name these tests use


def workflow(client, name: str, steps: list[dict], **fields) -> str:
    answer = client.post("/api/v1/workflows/", {"name": name, "status": "active", "steps": steps, **fields},
                         format="json")
    assert answer.status_code == 201, answer.data
    return answer.data["id"]


def start_many(client, workflow_id: str, inputs: list[dict]) -> list[str]:
    answer = client.post("/api/v1/executions/bulk/", {"workflow": workflow_id, "inputs": inputs}, format="json")
    assert answer.status_code == 201, answer.data
    return answer.data["execution_ids"]


def all_done(ids: list[str]) -> bool:
    return WorkflowExecution.objects.filter(pk__in=ids, status__in=[E.COMPLETED, E.FAILED, E.CANCELLED]).count() \
        == len(ids)


def most_in_window(times: list[float], window: float) -> int:
    """The most of `times` in any half-open window [t, t + window)."""
    times, most, low = sorted(times), 0, 0
    for high, at in enumerate(times):
        while times[low] <= at - window:
            low += 1
        most = max(most, high - low + 1)
    return most


def test_a_rate_limit_of_5_per_second_holds_across_two_workers(workers, client, server):  # noqa: F811
    wf = workflow(client, "sms at 5/s", [{
        "key": "sms", "task_type": "http_request", "max_retries": 0,
        "config": {"method": "POST", "url": f"{server.url}/sms", "json": {"n": "{{ input.n }}"}},
        "limits": {"rate": {"limit": 5, "per_seconds": 1}}}])
    ids = start_many(client, wf, [{"n": n} for n in range(40)])
    wait_for(lambda: all_done(ids), timeout=90, message="the 40 runs to finish")
    assert WorkflowExecution.objects.filter(pk__in=ids, status=E.COMPLETED).count() == 40

    calls = [r for r in server.requests if r["path"] == "/sms"]
    assert sorted(int(json.loads(r["body"])["n"]) for r in calls) == list(range(40))  # every run called once
    rows = list(TaskExecution.objects.filter(execution_id__in=ids).values_list("execution_id", "rate_slot_at",
                                                                                "worker_id"))
    slot_of = {str(run): slot.timestamp() for run, slot, _ in rows}
    run_of = {int(WorkflowExecution.objects.get(pk=pk).input["n"]): pk for pk in ids}
    slots = sorted(slot_of.values())
    arrivals = sorted(r["at"] for r in calls)
    late = [r["at"] - slot_of[str(run_of[int(json.loads(r["body"])["n"])])] for r in calls]
    spread = arrivals[-1] - arrivals[0]
    print(f"\n40 calls over {spread:.2f} s: {39 / spread:.2f} calls/s measured at the receiver; the most in any "
          f"1 s window: {most_in_window(slots, 1.0)} slots, {most_in_window(arrivals, 1.0)} arrivals; each call "
          f"arrived {min(late) * 1000:.1f} to {max(late) * 1000:.1f} ms after its slot; "
          f"workers {sorted({w.split('@')[0] for _, _, w in rows})}")
    # The slots the calls were released at: 5 in any second, evenly spaced, across both workers.
    assert most_in_window(slots, 1.0) == 5
    assert all(later - earlier >= 0.2 - 1e-6 for earlier, later in zip(slots, slots[1:]))
    assert len({worker.split("@")[0] for _, _, worker in rows}) == 2
    # No call reached the receiver before its slot (one machine's clock: within its granularity).
    assert min(late) >= -0.002
    # So at the receiver: at most 5 in any window of 1 s less the delivery jitter measured (a worker
    # woken from its wait, connecting, and the receiver's thread, on a shared machine), over >= 7.8 s.
    jitter = max(late) - min(late)
    assert most_in_window(arrivals, 1.0 - jitter) <= 5
    assert spread >= 39 * 0.2 - jitter


def test_debounce_keeps_one_run_with_the_last_input_under_concurrent_triggers(workers, user, client):
    wf = workflow(client, "sync profile", [{"key": "sync", "task_type": "python",
                                            "config": {"function": "noop", "kwargs": {}}}],
                  limits={"debounce": {"key": "{{ input.user }}", "seconds": 3}})
    url = workers.start_web(workers=2)
    headers = {"Authorization": f"Token {Token.objects.create(user=user).key}"}
    answers: list[tuple[int, dict]] = [None] * 10  # type: ignore[list-item]
    gate = threading.Barrier(9)

    def trigger(n: int) -> None:
        reply = httpx.post(f"{url}/api/v1/workflows/{wf}/run/", headers=headers, timeout=30,
                           json={"input_data": {"user": "u1", "n": n}})
        answers[n] = (reply.status_code, reply.json())

    def racing(n: int) -> None:
        gate.wait()
        trigger(n)

    # Nine triggers at the same instant (they race for the key), then the last one, within the window.
    threads = [threading.Thread(target=racing, args=(n,)) for n in range(9)]
    for thread in threads:
        thread.start()
    other = httpx.post(f"{url}/api/v1/workflows/{wf}/run/", headers=headers, timeout=30,
                       json={"input_data": {"user": "u2", "n": 100}})
    for thread in threads:
        thread.join()
    trigger(9)
    assert other.status_code == 201
    assert sorted(code for code, _ in answers) == [200] * 9 + [201], answers
    assert len({data["id"] for _, data in answers}) == 1
    assert sum(1 for _, data in answers if data.get("debounced")) == 9
    run_id = answers[0][1]["id"]
    wait_for(lambda: all_done([run_id, other.json()["id"]]), timeout=30, message="the two debounced runs to finish")
    runs = WorkflowExecution.objects.filter(workflow_id=wf)
    assert runs.count() == 2 and all(run.status == E.COMPLETED for run in runs)
    assert runs.get(pk=run_id).input == {"user": "u1", "n": 9}
    assert runs.get(pk=other.json()["id"]).input == {"user": "u2", "n": 100}
    # It started no sooner than 3 s after its last trigger.
    run = runs.get(pk=run_id)
    assert run.started_at >= run.created_at + timedelta(seconds=3)


def test_a_step_concurrency_limit_holds_across_workers_and_loses_nothing_when_one_is_killed(workers, client,
                                                                                          server):  # noqa: F811
    wf = workflow(client, "two at once", [{
        "key": "crm", "task_type": "http_request", "max_retries": 3, "retry_base_delay": 0,
        "config": {"method": "POST", "url": f"{server.url}/slow?seconds=0.6", "json": {"n": "{{ input.n }}"}},
        "limits": {"concurrency": {"max": 2}}}])
    ids = start_many(client, wf, [{"n": n} for n in range(12)])
    wait_for(lambda: server.in_flight >= 1 and len(server.requests) >= 3, timeout=30, message="calls to start")
    workers.kill("w2")  # its attempts' leases expire; the sweeper takes them back and retries them
    wait_for(lambda: all_done(ids), timeout=120, message="the 12 runs to finish")
    workers.start_worker("w2", concurrency=4)
    assert WorkflowExecution.objects.filter(pk__in=ids, status=E.COMPLETED).count() == 12
    print(f"\nat most {server.peak_in_flight} calls in flight at the receiver (limit 2); "
          f"{len(server.requests)} calls for 12 runs")
    assert server.peak_in_flight <= 2
    assert {json.loads(r["body"])["n"] for r in server.requests} >= set(range(12)) or \
        {str(json.loads(r["body"])["n"]) for r in server.requests} >= {str(n) for n in range(12)}
