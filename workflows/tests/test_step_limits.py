"""A step's own limits (rate, concurrency) and a workflow's debounce, in one process
(SynchronousExecutor, real database): engine/step_limits.py, services/debounce.py, the sweeper's
throttled phase and the why endpoint's reasons. The real-worker tests are in test_step_limits_e2e.py."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from workflows import services
from workflows.engine import orchestrator
from workflows.engine.planner import why
from workflows.engine.planner.states import ExecutionStatus as E
from workflows.engine.planner.states import TaskStatus as T
from workflows.models import ExecutionLog, RateBucket, TaskExecution, WorkflowExecution
from workflows.services.recovery import sweep
from workflows.tests.factories import active_workflow
from workflows.tests.http_server import allow_loopback, server  # noqa: F401
from monitoring.why import execution_why


def call(key: str, url: str, *depends_on: str, limits: dict | None = None) -> dict:
    return {"key": key, "task_type": "http_request", "depends_on": list(depends_on), "max_retries": 0,
            "config": {"method": "POST", "url": url, "json": {"step": key, "n": "{{ input.n }}"}},
            **({"limits": limits} if limits else {})}


def row(execution, key: str = "sms") -> TaskExecution:
    return TaskExecution.objects.filter(execution=execution, step_key=key).order_by("-attempt").first()


def start(workflow, **input_data) -> WorkflowExecution:
    execution, created = services.execution_start(workflow=workflow, input_data=input_data)
    assert created
    return execution


@pytest.fixture
def client(api):
    return api  # conftest's authenticated client, by the name these tests use


# --- rate ------------------------------------------------------------------------------------------

def test_a_rate_limited_step_reserves_evenly_spaced_slots_and_waits_durably_for_a_far_one(user, sync_executor,
                                                                                            settings):
    settings.FLOWPILOT_RATE_SLOT_HOLD_SECONDS = 2.0
    wf = active_workflow(user, [call("sms", "http://127.0.0.1:9/x",
                                     limits={"rate": {"limit": 1, "per_seconds": 5}})])
    before = timezone.now()
    runs = [start(wf, n=i) for i in range(3)]
    first, second, third = (row(run) for run in runs)
    # The first goes now; the second's slot is 5 s later, the third's 10 s: held back, pending.
    assert first.status == T.QUEUED and first.rate_slot_at is not None and first.rate_slot_at >= before
    assert (second.status, second.throttled, third.status, third.throttled) == (T.PENDING, "rate", T.PENDING, "rate")
    assert second.rate_slot_at - first.rate_slot_at == timedelta(seconds=5)
    assert third.rate_slot_at - second.rate_slot_at == timedelta(seconds=5)
    assert second.wake_at == second.rate_slot_at - timedelta(seconds=2)  # the sweeper queues it 2 s before its slot
    assert RateBucket.objects.get(scope=f"queue:step:{wf.pk}:sms").tat == third.rate_slot_at + timedelta(seconds=5)
    assert ExecutionLog.objects.filter(execution=runs[1], event="step.throttled").count() == 1

    # The why endpoint: waiting on the rate limit until its slot.
    [reason] = [r for r in execution_why(runs[2], user=user) if r.step_key == "sms"]
    assert (reason.reason, reason.until) == (why.RATE_LIMIT, third.rate_slot_at)
    assert reason.detail.startswith("waiting: rate limit step sms, next slot at ")

    # A sweep before its wake time changes nothing; at it, the second is queued with the slot it had.
    sweep(now=second.wake_at - timedelta(seconds=0.5))
    assert row(runs[1]).status == T.PENDING
    report = sweep(now=second.wake_at + timedelta(seconds=0.1))
    assert report.throttled_queued == 1
    again = row(runs[1])
    assert (again.status, again.throttled, again.rate_slot_at) == (T.QUEUED, "", second.rate_slot_at)
    assert row(runs[2]).status == T.PENDING
    # No second slot was taken by the sweep: the bucket did not move.
    assert RateBucket.objects.get(scope=f"queue:step:{wf.pk}:sms").tat == third.rate_slot_at + timedelta(seconds=5)


def test_a_named_rate_limit_is_shared_by_the_owners_workflows_and_keyed(user, sync_executor):
    limits = {"rate": {"limit": 1, "per_seconds": 60, "name": "sms-provider", "key": "{{ input.region }}"}}
    one = active_workflow(user, [call("sms", "http://127.0.0.1:9/x", limits=limits)], name="one")
    two = active_workflow(user, [call("sms", "http://127.0.0.1:9/x", limits=limits)], name="two")
    a = start(one, region="eu")
    b = start(two, region="eu")  # the same name and key: the next slot, a minute later
    c = start(two, region="us")  # another key: its own bucket
    assert row(a).status == T.QUEUED and row(c).status == T.QUEUED
    assert (row(b).status, row(b).throttled) == (T.PENDING, "rate")
    assert set(RateBucket.objects.values_list("scope", "key")) == {
        (f"queue:named:{user.pk}:sms-provider", "eu"), (f"queue:named:{user.pk}:sms-provider", "us")}


def test_steps_without_limits_take_no_slot(user, sync_executor):
    wf = active_workflow(user, [call("sms", "http://127.0.0.1:9/x")])
    execution = start(wf)
    assert row(execution).status == T.QUEUED and row(execution).rate_slot_at is None
    assert not RateBucket.objects.exists()


@pytest.mark.django_db(transaction=True)  # the call's slot is taken on the step's thread, its own connection
def test_a_retry_of_a_rate_limited_step_takes_a_new_slot_once(user, sync_executor, server, allow_loopback,  # noqa: F811
                                                              settings):
    settings.FLOWPILOT_RATE_SLOT_HOLD_SECONDS = 2.0
    step = call("sms", f"{server.url}/status/500", limits={"rate": {"limit": 1, "per_seconds": 30}})
    step.update(max_retries=1, retry_base_delay=1)
    wf = active_workflow(user, [step])
    execution = start(wf, n=1)
    sync_executor.drain()
    failed, retrying = TaskExecution.objects.filter(execution=execution).order_by("attempt")
    assert (failed.status, retrying.status, retrying.rate_slot_at) == (T.FAILED, T.RETRYING, None)
    # The attempt that ran took its slot of the limit's own bucket when it started (at its pacing slot: now).
    started = RateBucket.objects.get(scope=f"step:{wf.pk}:sms")
    assert failed.rate_slot_at <= failed.started_at + timedelta(seconds=1)
    paced = RateBucket.objects.get(scope=f"queue:step:{wf.pk}:sms").tat
    # Its backoff ends: the sweeper takes its slot (30 s after the first attempt's) and holds it back.
    sweep(now=retrying.wake_at + timedelta(seconds=0.1))
    held = row(execution)
    assert (held.status, held.throttled) == (T.RETRYING, "rate")
    assert held.rate_slot_at == paced  # the pacing bucket's next slot, 30 s after the first attempt's
    tat = RateBucket.objects.get(scope=f"queue:step:{wf.pk}:sms").tat
    sweep(now=held.wake_at + timedelta(seconds=0.1))  # its slot is near: queued, no second slot taken
    assert row(execution).status == T.QUEUED
    assert RateBucket.objects.get(scope=f"queue:step:{wf.pk}:sms").tat == tat
    assert RateBucket.objects.get(scope=f"step:{wf.pk}:sms").tat == started.tat  # not started yet


# --- concurrency ------------------------------------------------------------------------------------

def test_a_step_concurrency_limit_holds_back_attempts_until_a_slot_is_free(user, sync_executor, server,  # noqa: F811
                                                                           allow_loopback):
    wf = active_workflow(user, [call("sms", f"{server.url}/ok", limits={"concurrency": {"max": 1}})])
    first, second = start(wf, n=1), start(wf, n=2)
    assert row(first).status == T.QUEUED
    assert (row(second).status, row(second).throttled) == (T.PENDING, "concurrency")
    [reason] = [r for r in execution_why(second, user=user) if r.step_key == "sms"]
    assert reason.reason == why.CONCURRENCY and "concurrency limit step sms, all 1 slots" in reason.detail
    sweep()
    assert row(second).status == T.PENDING  # the slot is still held by the queued first attempt
    sync_executor.drain()  # the first completes; its slot freed, the second is queued at once and runs
    assert WorkflowExecution.objects.get(pk=first.pk).status == E.COMPLETED
    assert WorkflowExecution.objects.get(pk=second.pk).status == E.COMPLETED
    assert sweep().throttled_queued == 0


def test_a_running_attempt_whose_lease_expired_frees_its_slot(user, sync_executor):
    wf = active_workflow(user, [call("sms", "http://127.0.0.1:9/x", limits={"concurrency": {"max": 1}})])
    first, second = start(wf, n=1), start(wf, n=2)
    TaskExecution.objects.filter(pk=row(first).pk).update(status=T.RUNNING,
                                                          lease_expires_at=timezone.now() - timedelta(seconds=1))
    assert orchestrator.queue_throttled(row(second).pk) is True  # its worker is dead: its slot is free
    assert row(second).status == T.QUEUED


# --- debounce ---------------------------------------------------------------------------------------

def test_debounce_replaces_the_pending_run_and_pushes_its_start(user, client, sync_executor):
    wf = active_workflow(user, [{"key": "a", "task_type": "python", "config": {"function": "noop", "kwargs": {}}}],
                         limits={"debounce": {"key": "{{ input.user }}", "seconds": 30}})
    answers = [client.post(f"/api/v1/workflows/{wf.pk}/run/", {"input_data": {"user": "u1", "n": n}},
                           format="json") for n in range(3)]
    other = client.post("/api/v1/executions/", {"workflow_id": str(wf.pk), "input_data": {"user": "u2", "n": 9}},
                        format="json")
    assert [a.status_code for a in answers] == [201, 200, 200] and other.status_code == 201
    assert answers[0].data["debounced"] is False and answers[1].data["debounced"] is True
    assert len({a.data["id"] for a in answers}) == 1 and other.data["id"] != answers[0].data["id"]
    run = WorkflowExecution.objects.get(pk=answers[0].data["id"])
    assert run.status == E.PENDING and run.input == {"user": "u1", "n": 2}
    assert run.scheduled_at > timezone.now() + timedelta(seconds=28)
    assert WorkflowExecution.objects.filter(workflow=wf).count() == 2
    assert ExecutionLog.objects.filter(execution=run, event="execution.debounced").count() == 2
    # Its time comes: it starts with the latest input; a trigger after that starts a new run.
    sweep(now=run.scheduled_at + timedelta(seconds=0.1))
    run.refresh_from_db()
    assert run.status == E.RUNNING
    later = client.post(f"/api/v1/workflows/{wf.pk}/run/", {"input_data": {"user": "u1", "n": 3}}, format="json")
    assert later.status_code == 201 and later.data["id"] != str(run.pk)


def test_a_debounce_key_that_cannot_be_rendered_is_a_clear_400(user, client):
    wf = active_workflow(user, [{"key": "a", "task_type": "python", "config": {"function": "noop", "kwargs": {}}}],
                         limits={"debounce": {"key": "{{ input.user.name }}", "seconds": 30}})
    answer = client.post(f"/api/v1/workflows/{wf.pk}/run/", {"input_data": {"user": 5}}, format="json")
    assert answer.status_code in (201, 400)  # a missing attribute renders empty in the sandbox, or is refused
    if answer.status_code == 400:
        assert "debounce key" in str(answer.data)


def test_a_paused_runs_held_step_waits_for_the_unpause_and_keeps_its_place(user, sync_executor, settings):
    settings.FLOWPILOT_RATE_SLOT_HOLD_SECONDS = 2.0
    wf = active_workflow(user, [call("sms", "http://127.0.0.1:9/x", limits={"rate": {"limit": 1, "per_seconds": 5}})])
    first, second = start(wf, n=1), start(wf, n=2)
    held = row(second)
    services.execution_pause(execution=second)
    assert sweep(now=held.wake_at + timedelta(seconds=0.1)).throttled_queued == 0  # not swept while paused
    assert row(second).status == T.PENDING
    services.execution_unpause(execution=WorkflowExecution.objects.get(pk=second.pk))
    again = row(second)  # its place is kept: no second one taken
    assert again.rate_slot_at == held.rate_slot_at and again.status == T.PENDING
    assert sweep(now=held.wake_at + timedelta(seconds=0.1)).throttled_queued == 1
    assert row(second).status == T.QUEUED and row(first).status == T.QUEUED


def test_a_named_concurrency_limit_is_shared_across_workflows_per_key(user, sync_executor):
    limits = {"concurrency": {"max": 1, "name": "crm", "key": "{{ input.account }}"}}
    one = active_workflow(user, [call("sms", "http://127.0.0.1:9/x", limits=limits)], name="one")
    two = active_workflow(user, [call("sms", "http://127.0.0.1:9/x", limits=limits)], name="two")
    a = start(one, account="acme", n=1)
    b = start(two, account="acme", n=2)  # the same name and key: waits for a's slot
    c = start(two, account="initech", n=3)  # another key: its own slot
    assert (row(a).status, row(b).status, row(c).status) == (T.QUEUED, T.PENDING, T.QUEUED)
    assert (row(a).limit_scope, row(a).limit_key) == (f"named:{user.pk}:crm", "acme")
    [reason] = [r for r in execution_why(b, user=user) if r.step_key == "sms"]
    assert reason.reason == why.CONCURRENCY and "concurrency limit crm" in reason.detail and "'acme'" in reason.detail


def test_a_webhook_trigger_is_debounced_too(user, client):
    wf = active_workflow(user, [{"key": "a", "task_type": "python", "config": {"function": "noop", "kwargs": {}}}],
                         limits={"debounce": {"key": "{{ input.user }}", "seconds": 30}})
    hook = client.post(f"/api/v1/workflows/{wf.pk}/triggers/", {"type": "webhook", "require_signature": False},
                       format="json")
    assert hook.status_code == 201, hook.data
    first = Client().post(hook.data["url"], b'{"user": "u1", "n": 1}', content_type="application/json")
    second = Client().post(hook.data["url"], b'{"user": "u1", "n": 2}', content_type="application/json")
    assert (first.status_code, second.status_code) == (202, 202)
    assert first.json()["created"] is True and "debounced" not in first.json()
    assert second.json()["created"] is False and second.json()["debounced"] is True
    assert second.json()["execution_id"] == first.json()["execution_id"]
    assert WorkflowExecution.objects.get(pk=first.json()["execution_id"]).input["n"] == 2
