"""Compensation on real Celery worker and beat processes (PostgreSQL, Redis), the side effects a real
HTTP server on 127.0.0.1 that deduplicates by Idempotency-Key as a careful receiver does
(docs/adr/0035-compensation.md): three steps book, the fourth fails for good, and the receiver sees
the three compensations exactly once each, in exactly the reverse order; also when the worker running
a compensation is killed (SIGKILL) mid-call; and a cancel with {"compensate": true}.

Each test starts its own cluster: the kill test's worker must be the only one consuming the queues."""

from __future__ import annotations

import threading

import pytest
from rest_framework.test import APIClient

from workflows.engine.planner.states import EXECUTION_TERMINAL
from workflows.models import TaskExecution, WorkflowExecution
from workflows.tests.cluster import fresh_cluster, serve_json, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.services, pytest.mark.django_db(transaction=True),
              pytest.mark.xdist_group("test_compensation_e2e")]


class Bookings:
    """A booking service: POST /do/<x> books, /undo/<x> cancels a booking, /fail answers 500. Every
    request is kept in arrival order with its Idempotency-Key; a key seen before gets its first answer
    again and causes nothing (`effects` counts what happened). `block` names a path whose first
    request waits until `release` is set (the worker calling it is killed meanwhile)."""

    def __init__(self, block: str = ""):
        self.lock = threading.Lock()
        self.requests: list[tuple[str, str]] = []
        self.answers: dict[str, tuple[int, dict]] = {}
        self.effects: list[tuple[str, str]] = []
        self.block, self.blocked, self.release = block, threading.Event(), threading.Event()
        # A killed worker's dropped connection is not reported.
        self.server, self.url = serve_json(self.handle, quiet_errors=True, poll_interval=0.05)

    def handle(self, path: str, key: str, body: dict) -> tuple[int, dict]:
        with self.lock:
            self.requests.append((path, key))
            first_block = path == self.block and not self.blocked.is_set()
            if first_block:
                self.blocked.set()
        if first_block:
            self.release.wait(timeout=120)
        with self.lock:
            if path == "/fail":
                return 500, {"error": "out of stock"}
            if key in self.answers:
                return self.answers[key]
            self.effects.append((path, key))
            self.answers[key] = answer = (200, {"ok": True, "path": path, "body": body})
            return answer

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


def saga(url: str) -> list[dict]:
    def book(key, after=None):
        return {"key": key, "task_type": "http_request", "depends_on": [after] if after else [],
                "compensate_with": f"undo_{key}", "max_retries": 0,
                "config": {"method": "POST", "url": f"{url}/do/{key}", "json": {"order": "{{ input.order }}"}}}

    def undo(key):
        return {"key": f"undo_{key}", "task_type": "http_request", "max_retries": 3, "retry_base_delay": 0.1,
                "timeout_seconds": 90, "config": {
                    "method": "POST", "url": f"{url}/undo/{key}",
                    "json": {"order": "{{ input.order }}", "undoes": "{{ compensating.step }}",
                             "booked": "{{ steps." + key + ".output.body.path }}"}}}

    return [book("flight"), book("hotel", "flight"), book("car", "hotel"),
            {"key": "pay", "task_type": "http_request", "depends_on": ["car"], "max_retries": 0,
             "config": {"method": "POST", "url": f"{url}/fail", "json": {}}},
            undo("flight"), undo("hotel"), undo("car")]


def start(client, url: str, steps=None) -> str:
    workflow = client.post("/api/v1/workflows/", {"name": "trip", "status": "active",
                                                  "steps": steps or saga(url)}, format="json")
    assert workflow.status_code == 201, workflow.data
    run = client.post(f"/api/v1/workflows/{workflow.data['id']}/run/", {"input_data": {"order": "o-1"}},
                      format="json")
    assert run.status_code == 201, run.data
    return run.data["id"]


def finished(client, run_id: str, timeout: float = 90) -> dict:
    wait_for(lambda: WorkflowExecution.objects.get(pk=run_id).status in EXECUTION_TERMINAL, timeout=timeout,
             message="the run to end")
    return client.get(f"/api/v1/executions/{run_id}/").data


@pytest.fixture
def client(user):
    api = APIClient()
    api.force_authenticate(user)
    return api


def test_a_failed_run_compensates_in_exactly_reverse_order_once_each(client):
    bookings = Bookings()
    try:
        with fresh_cluster() as cluster:
            cluster.start_worker("w1", concurrency=2)
            cluster.start_beat()
            run = finished(client, start(client, bookings.url))
    finally:
        bookings.close()
    assert run["status"] == "failed" and run["phase"] == "compensated", run
    assert [p for p, _ in bookings.effects] == ["/do/flight", "/do/hotel", "/do/car",
                                                "/undo/car", "/undo/hotel", "/undo/flight"]
    assert [p for p, _ in bookings.requests if p.startswith("/undo/")] == ["/undo/car", "/undo/hotel", "/undo/flight"]
    keys = [k for p, k in bookings.effects if p.startswith("/undo/")]
    assert len(set(keys)) == 3 and all(k.startswith(run["id"]) for k in keys)
    rows = {t["step_key"]: t for t in run["task_executions"] if t["compensates"]}
    assert {k: (r["compensates"], r["attempt_number"], r["status"]) for k, r in rows.items()} == {
        "undo_car": ("car", 1, "completed"), "undo_hotel": ("hotel", 1, "completed"),
        "undo_flight": ("flight", 1, "completed")}
    sent = rows["undo_hotel"]["input_data"]["json"]
    assert sent == {"order": "o-1", "undoes": "hotel", "booked": "/do/hotel"}
    assert run["error_message"].startswith("step 'pay' failed")


def test_a_worker_killed_during_a_compensation_loses_and_repeats_nothing(client):
    bookings = Bookings(block="/undo/hotel")
    try:
        with fresh_cluster() as cluster:
            cluster.start_beat()
            cluster.start_worker("w1", concurrency=1)
            run_id = start(client, bookings.url)
            wait_for(bookings.blocked.is_set, timeout=90, message="undo_hotel to reach the receiver")
            held = TaskExecution.objects.get(execution_id=run_id, step_key="undo_hotel")
            assert held.status == "running" and held.compensates == "hotel"
            cluster.kill("w1")  # SIGKILL mid-call: the worker and its pool die at once
            bookings.release.set()
            cluster.start_worker("w2", concurrency=1)
            run = finished(client, run_id, timeout=120)
            log = cluster.log("w2")
    finally:
        bookings.close()
    assert run["status"] == "failed" and run["phase"] == "compensated", (run, log)
    assert [p for p, _ in bookings.effects] == ["/do/flight", "/do/hotel", "/do/car",
                                                "/undo/car", "/undo/hotel", "/undo/flight"]
    hotel = [k for p, k in bookings.requests if p == "/undo/hotel"]
    assert len(hotel) == 2 and hotel[0] == hotel[1]  # the killed attempt's call again, with the same key
    rows = [t for t in run["task_executions"] if t["step_key"] == "undo_hotel"]
    assert [(t["attempt_number"], t["status"]) for t in sorted(rows, key=lambda t: t["attempt_number"])] == [
        (1, "failed"), (2, "completed")]
    assert len({t["idempotency_key"] for t in rows}) == 1 and rows[0]["worker_id"] != rows[1]["worker_id"]


def test_cancel_with_compensate_on_a_real_worker(client):
    bookings = Bookings()
    steps = [*saga(bookings.url)[:2], {"key": "wait", "task_type": "wait_for_signal", "depends_on": ["hotel"],
                                       "config": {"signal": "paid"}}, *saga(bookings.url)[4:6]]
    try:
        with fresh_cluster() as cluster:
            cluster.start_worker("w1", concurrency=2)
            cluster.start_beat()
            run_id = start(client, bookings.url, steps)
            wait_for(lambda: TaskExecution.objects.filter(execution_id=run_id, step_key="wait",
                                                          status="waiting").exists(),
                     timeout=60, message="the run to wait")
            answer = client.post(f"/api/v1/executions/{run_id}/cancel/", {"compensate": True}, format="json")
            assert answer.status_code == 200 and answer.data["phase"] == "compensating", answer.data
            run = finished(client, run_id)
    finally:
        bookings.close()
    assert run["status"] == "cancelled" and run["phase"] == "compensated", run
    assert [p for p, _ in bookings.effects] == ["/do/flight", "/do/hotel", "/undo/hotel", "/undo/flight"]
