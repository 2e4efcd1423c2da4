"""End to end in services mode: PostgreSQL, Redis, real Celery worker and beat processes.

The "11:30" story: 500 patients sign up at once, create_patient fails for 200 of them, a worker is
killed with SIGKILL mid-run. Afterwards the API says exactly who failed where and why, a bulk
retry re-runs only the failed step, and nobody got two OTPs.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from celery import current_app
from django.db import connections
from rest_framework.test import APIClient

from workflows import services
from workflows.models import TaskExecution, WorkflowExecution
from workflows.engine.planner.states import ExecutionStatus as E
from workflows.engine.planner.states import TaskStatus as T
from workflows.tests.cluster import OwnRedis, Receiver, fresh_cluster, wait_for
from workflows.tests.factories import active_workflow, step

pytestmark = [pytest.mark.e2e, pytest.mark.services, pytest.mark.django_db(transaction=True),
              pytest.mark.xdist_group("test_e2e")]  # a unit of work, started early: the 1130 scenario is long


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def cluster():
    with fresh_cluster() as c:
        yield c


def http(key: str, url: str, body: dict, **fields) -> dict:
    return step(key, "http_request", config={"method": "POST", "url": url, "json": body, "timeout": 10}, **fields)


def start_many(workflow, inputs: list[dict]) -> list[WorkflowExecution]:
    def start(data):
        try:
            return services.execution_start(workflow=workflow, input_data=data,
                                            idempotency_key=f"signup-{data['phone']}")[0]
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(start, inputs))


def settled(workflow_id, total: int) -> bool:
    return WorkflowExecution.objects.filter(workflow_id=workflow_id, status__in=[E.COMPLETED, E.FAILED]) \
        .count() == total


def test_the_1130_scenario(user, receiver, cluster, settings):
    settings.FLOWPILOT_HTTP_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    patients = [{"name": f"patient-{i}", "phone": f"+9100000{i:04d}"} for i in range(500)]
    failing = {p["name"] for p in patients[::5]} | {p["name"] for p in patients[1::5]}  # 200 of them
    assert len(failing) == 200
    receiver.failing = set(failing)
    workflow = active_workflow(user, [
        http("send_otp", f"{receiver.url}/otp", {"phone": "{{ input.phone }}"}),
        http("create_patient", f"{receiver.url}/patients", {"name": "{{ input.name }}", "phone": "{{ input.phone }}"},
             depends_on=["send_otp"], max_retries=1, retry_base_delay=0.2),
        http("send_welcome", f"{receiver.url}/welcome", {"phone": "{{ input.phone }}"}, depends_on=["create_patient"]),
    ], name="patient registration")

    cluster.start_beat()
    cluster.start_worker("w1")
    start_many(workflow, patients)
    # The fault: while steps run, the worker and its pool processes die at once.
    wait_for(lambda: TaskExecution.objects.filter(execution__workflow=workflow, status=T.COMPLETED).count() >= 150,
             timeout=120, message="150 steps to complete")
    cluster.kill("w1")
    killed_mid_step = TaskExecution.objects.filter(execution__workflow=workflow, status=T.RUNNING).count()
    cluster.start_worker("w2")
    wait_for(lambda: settled(workflow.pk, 500), timeout=300, interval=0.5, message="all 500 runs to settle")

    # The API answers exactly which 200 failed, where and why, and which 300 completed.
    api = APIClient()
    api.force_authenticate(user)
    failed = api.get(f"/api/v1/executions/?workflow={workflow.pk}&status=failed&limit=1000").data
    completed = api.get(f"/api/v1/executions/?workflow={workflow.pk}&status=completed&limit=1000").data
    assert failed["count"] == 200 and completed["count"] == 300
    assert {e["input_data"]["name"] for e in failed["results"]} == failing
    assert {e["input_data"]["name"] for e in completed["results"]} == {p["name"] for p in patients} - failing
    for summary in failed["results"]:
        # The error is the receiver's 500, or (if the kill hit its last attempt) the lost worker.
        assert summary["error_message"].startswith("step 'create_patient' failed:"), summary
        assert "answered 500" in summary["error_message"] or "worker lost" in summary["error_message"]
    for summary in failed["results"][:10]:
        current = {t["step_key"]: t for t in api.get(f"/api/v1/executions/{summary['id']}/").data["task_executions"]}
        assert current["send_otp"]["status"] == "completed"
        assert current["create_patient"]["status"] == "failed" and current["send_welcome"]["status"] == "pending"

    def selected(**selection) -> int:
        return api.post("/api/v1/executions/retry-failed/", {"workflow_id": str(workflow.pk), "dry_run": True,
                                                             **selection}, format="json").data["count"]

    assert selected(step_key="send_otp") == 0
    assert selected(step_key="create_patient") == 200
    assert selected(error_contains="answered 500") + selected(error_contains="worker lost") == 200

    # The fault is fixed; a bulk retry re-runs only those 200 create_patient steps.
    receiver.failing.clear()
    otp_requests, rows_before = receiver.requests["/otp"], TaskExecution.objects.filter(
        execution__workflow=workflow).count()
    answer = api.post("/api/v1/executions/retry-failed/", {"workflow_id": str(workflow.pk),
                                                           "step_key": "create_patient"}, format="json").data
    assert answer["retried"] == 200
    wait_for(lambda: WorkflowExecution.objects.filter(workflow=workflow, status=E.COMPLETED).count() == 500,
             timeout=180, interval=0.5, message="every run to complete after the retry")

    new_rows = TaskExecution.objects.filter(execution__workflow=workflow).count() - rows_before
    assert new_rows == 200  # one new create_patient attempt per retried run; send_welcome had its row
    assert receiver.requests["/otp"] == otp_requests  # the retry sent no OTP at all
    # Each patient received exactly one OTP, one patient record and one welcome.
    for p in patients:
        assert receiver.delivered[("/otp", p["phone"])] == 1, p
        assert receiver.delivered[("/patients", p["name"])] == 1, p
        assert receiver.delivered[("/welcome", p["phone"])] == 1, p
    lost = TaskExecution.objects.filter(execution__workflow=workflow, error_message__startswith="worker lost")
    print(f"\n11:30: {killed_mid_step} steps were running when the worker was killed; "
          f"{lost.count()} attempts taken back by the sweeper; "
          f"{receiver.requests['/otp'] - 500} duplicate OTP requests deduplicated by key")


def use_broker(url: str) -> None:
    """This process's Celery app sends to `url` from now on (its connection and producer pools made anew)."""
    current_app.conf.broker_url = url
    current_app.close()
    current_app.amqp._producer_pool = None


@pytest.fixture
def own_broker():
    """A Redis of the test's own as the broker of this process and of its cluster's: restarting it loses every
    queued message, and no other test (another xdist worker's, another checkout's) sees it go."""
    redis, shared = OwnRedis(), current_app.conf.broker_url
    use_broker(redis.url)
    try:
        with current_app.connection_for_write() as connection:
            assert connection.as_uri().endswith(f":{redis.port}/0"), connection.as_uri()
        with fresh_cluster(REDIS_URL=redis.url) as cluster:
            yield redis, cluster
    finally:
        use_broker(shared)
        redis.stop()


def test_a_redis_restart_mid_run_loses_nothing(user, own_broker):
    redis, cluster = own_broker
    workflow = active_workflow(user, [
        step("one", function="sleep", kwargs={"seconds": 0.05}),
        step("two", function="sleep", kwargs={"seconds": 0.05}, depends_on=["one"]),
        step("three", function="sleep", kwargs={"seconds": 0.05}, depends_on=["two"]),
    ], name="redis restart")
    cluster.start_beat()
    # Under a supervisor, as in production: Celery's worker may itself die of the broker going away
    # ("Unrecoverable error" in its reconnect, seen in CI); what the engine owes is that nothing is lost.
    cluster.start_worker("w1", restart=True)
    runs = [services.execution_start(workflow=workflow, input_data={"i": i})[0] for i in range(150)]
    wait_for(lambda: TaskExecution.objects.filter(execution__workflow=workflow, status=T.COMPLETED).count() >= 60,
             timeout=120, message="some steps to complete")
    queued_before = TaskExecution.objects.filter(execution__workflow=workflow, status=T.QUEUED).count()
    redis.stop()  # every queued message in Redis is gone
    redis.start()
    assert queued_before > 0
    wait_for(lambda: WorkflowExecution.objects.filter(workflow=workflow, status=E.COMPLETED).count() == len(runs),
             timeout=240, interval=0.5, message="every run to complete after the Redis restart")
    assert not TaskExecution.objects.filter(execution__workflow=workflow).exclude(status=T.COMPLETED).exists()
    assert TaskExecution.objects.filter(execution__workflow=workflow).count() == 450  # nothing ran twice
    print(f"\nredis restart: {queued_before} steps were queued; the worker was restarted {cluster.restarts['w1']} times")


def test_fifty_identical_triggers_at_once_start_one_execution(user):
    from workflows.tests.factories import diamond

    workflow = diamond(user)

    def trigger(_):
        try:
            execution, created = services.execution_start(workflow=workflow, idempotency_key="same-key")
            return execution.pk, created
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=50) as pool:
        results = list(pool.map(trigger, range(50)))
    assert len({pk for pk, _ in results}) == 1
    assert sum(created for _, created in results) == 1
    assert WorkflowExecution.objects.filter(workflow=workflow).count() == 1
    assert TaskExecution.objects.filter(execution__workflow=workflow).count() == 4
