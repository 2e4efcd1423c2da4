"""GET /api/v1/executions/{id}/why/ over HTTP on the test database: each reason from the real state
the engine leaves (steps run in this process by the synchronous executor), the owner rule."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from monitoring import presence
from monitoring import why as why_selector
from workflows import services
from workflows.code import SynchronousExecutor, engine
from workflows.circuit import Breaker, Policy, Ticket, origin
from workflows.engine.planner import why as diagnosis
from workflows.engine.planner.states import ExecutionStatus as E
from workflows.engine.planner.states import TaskStatus as T
from workflows.models import TaskExecution, WorkflowExecution
from workflows.tests import functions  # noqa: F401 (registers the step functions)
from workflows.tests.factories import active_workflow, step

QUEUE = "flowpilot.steps"


def why(api, execution) -> dict:
    response = api.get(f"/api/v1/executions/{execution.pk}/why/")
    assert response.status_code == 200, response.content
    return response.json()


def by_step(body: dict) -> dict:
    return {r["step_key"]: r for r in body["reasons"]}


def start(workflow, sync_executor=None, **input_data):
    execution, _ = services.execution_start(workflow=workflow, input_data=input_data)
    if sync_executor is not None:
        sync_executor.drain()
    execution.refresh_from_db()
    return execution


def test_a_run_waiting_for_a_concurrency_slot_names_the_run_holding_it(api, user, sync_executor):
    workflow = active_workflow(user, [step("a", function="noop")], max_concurrency=1)
    holder = start(workflow)  # running: its step is queued (not drained)
    waiting = start(workflow)
    assert (holder.status, waiting.status) == (E.RUNNING, E.PENDING)
    body = why(api, waiting)
    assert body["status"] == "pending"
    (reason,) = body["reasons"]
    assert reason["step_key"] is None and reason["reason"] == "concurrency" and reason["until"] is None
    assert reason["runs"] == [str(holder.pk)] and str(holder.pk) in reason["detail"]


def test_holders_the_asker_may_not_see_are_counted_not_named(user, sync_executor):
    workflow = active_workflow(user, [step("a", function="noop")], max_concurrency=1)
    start(workflow)
    waiting = start(workflow)
    (reason,) = diagnosis.diagnose(why_selector.run_state(waiting, now=timezone.now(),
                                                          visible=WorkflowExecution.objects.none()))
    assert (reason.reason, reason.runs) == ("concurrency", ()) and reason.detail.endswith("held by 1 other run")


def test_a_queued_step_is_no_worker_until_a_worker_listens_on_its_queue(api, user, sync_executor):
    execution = start(active_workflow(user, [step("a", function="noop")]))
    (reason,) = why(api, execution)["reasons"]
    assert (reason["step_key"], reason["reason"], reason["queue"]) == ("a", "no_worker", QUEUE)
    assert f"no worker listening on queue {QUEUE}" in reason["detail"]

    presence.record(name="control@h:1", role="worker", info={"queues": ["flowpilot.control"]})
    assert why(api, execution)["reasons"][0]["reason"] == "no_worker"  # alive, but not on this queue
    presence.record(name="old@h:2", role="worker", info={"queues": [QUEUE]},
                    now=timezone.now() - timedelta(minutes=5))
    assert why(api, execution)["reasons"][0]["reason"] == "no_worker"  # on the queue, but not seen lately
    presence.record(name="steps@h:3", role="worker", info={"queues": [QUEUE]})
    (reason,) = why(api, execution)["reasons"]
    assert reason["reason"] == "queued" and "1 worker listens" in reason["detail"]


def test_timer_signal_and_approval_waits_say_until_when(api, user, sync_executor):
    workflow = active_workflow(user, [
        step("nap", "delay", config={"seconds": 600}),
        step("paid", "wait_for_signal", config={"signal": "payment", "timeout_seconds": 3600}),
        step("ok", "approval", config={"message": "Refund?", "timeout_seconds": 7200}),
    ])
    execution = start(workflow, sync_executor)
    rows = {t.step_key: t for t in TaskExecution.objects.filter(execution=execution)}
    assert {k: r.status for k, r in rows.items()} == {"nap": T.WAITING, "paid": T.WAITING, "ok": T.WAITING}
    reasons = by_step(why(api, execution))
    assert set(reasons) == {"nap", "paid", "ok"}
    assert reasons["nap"]["reason"] == "timer" and reasons["nap"]["until"] is not None
    assert abs((_parse(reasons["nap"]["until"]) - rows["nap"].wake_at).total_seconds()) < 1
    assert reasons["paid"]["reason"] == "signal" and "'payment'" in reasons["paid"]["detail"]
    assert abs((_parse(reasons["paid"]["until"]) - rows["paid"].wake_at).total_seconds()) < 1
    assert reasons["ok"]["reason"] == "approval" and reasons["ok"]["until"] is not None


def test_a_failed_attempt_backs_off_until_the_next_one(api, user, sync_executor):
    workflow = active_workflow(user, [step("call", function="flaky", kwargs={"fail_times": 9},
                                           max_retries=3, retry_base_delay=120)])
    execution = start(workflow, sync_executor)
    retry = TaskExecution.objects.get(execution=execution, step_key="call", attempt=2)
    assert retry.status == T.RETRYING
    (reason,) = why(api, execution)["reasons"]
    assert reason["reason"] == "backoff" and reason["step_key"] == "call"
    assert abs((_parse(reason["until"]) - retry.wake_at).total_seconds()) < 1
    assert reason["detail"].startswith("attempt 1 failed: RuntimeError: flaky failure on attempt 1; attempt 2 at ")


def test_a_step_refused_by_an_open_circuit_names_the_host_until_it_closes(api, user, sync_executor, settings,
                                                                          allow_loopback):
    settings.FLOWPILOT_CIRCUIT_FAILURES = 1
    settings.FLOWPILOT_CIRCUIT_COOLDOWN_SECONDS = 300
    url = "http://127.0.0.1:9/crm"
    host = origin(url)
    Breaker(policy=Policy(failures=1, cooldown_seconds=300)).failed(Ticket(host))  # the host failed before
    execution = start(active_workflow(user, [step("crm", "http_request", config={"url": url})]), sync_executor)
    (reason,) = why(api, execution)["reasons"]
    assert (reason["reason"], reason["host"], reason["step_key"]) == ("circuit_open", host, "crm")
    open_until = _parse(reason["until"])
    assert timedelta(seconds=200) < open_until - timezone.now() <= timedelta(seconds=300)

    Breaker().succeeded(Ticket(host))  # closed meanwhile (another run reached the host): only the backoff is left
    assert why(api, execution)["reasons"][0]["reason"] == "backoff"


def test_a_failed_run_says_where_it_failed_and_what_it_halted(api, user, sync_executor):
    workflow = active_workflow(user, [
        step("a", function="flaky", kwargs={"fail_times": 9}, max_retries=0),
        step("b", function="noop", depends_on=["a"]),
        step("c", function="noop"),
    ])
    execution = start(workflow, sync_executor)
    assert execution.status == E.FAILED
    body = why(api, execution)
    assert body["status"] == "failed"
    # c was queued beside a, and halted (cancelled before a worker took it) when a failed.
    assert [(r["step_key"], r["reason"]) for r in body["reasons"]] == [(None, "failed"), ("a", "failed"),
                                                                       ("b", "halted"), ("c", "halted")]
    assert body["reasons"][0]["detail"].startswith("failed at step a:")
    assert body["reasons"][2]["detail"] == "not run: step a failed"


def test_a_completed_run_says_so(api, user, sync_executor):
    execution = start(active_workflow(user, [step("a", function="noop")]), sync_executor)
    assert [(r["step_key"], r["reason"]) for r in why(api, execution)["reasons"]] == [(None, "completed")]


def test_a_parent_waiting_for_its_child_run_names_it(api, user, sync_executor):
    child = active_workflow(user, [step("nap", "delay", config={"seconds": 600})], name="child")
    parent = active_workflow(user, [step("sub", "sub_workflow", config={"workflow_id": str(child.pk)})],
                             name="parent")
    execution = start(parent, sync_executor)
    (reason,) = why(api, execution)["reasons"]
    child_run = WorkflowExecution.objects.get(parent_task__execution=execution)
    assert reason["reason"] == "children" and reason["runs"] == [str(child_run.pk)]
    assert why(api, child_run)["reasons"][0]["reason"] == "timer"


def test_only_the_run_s_owner_may_ask(api, user, other_user, settings, sync_executor):
    execution = start(active_workflow(user, [step("a", function="noop")]), sync_executor)
    settings.FLOWPILOT_API_RATE_USER = "1000000/minute"
    other = APIClient()
    other.force_authenticate(other_user)
    assert other.get(f"/api/v1/executions/{execution.pk}/why/").status_code == 404
    assert APIClient().get(f"/api/v1/executions/{execution.pk}/why/").status_code in (401, 403)
    assert api.get("/api/v1/executions/00000000-0000-0000-0000-000000000000/why/").status_code == 404


def _parse(value: str):
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def test_the_answer_costs_a_few_queries_whatever_the_number_of_waiting_steps(api, user, sync_executor,
                                                                             django_assert_max_num_queries):
    def run_of(width: int):
        return start(active_workflow(user, [
            *(step(f"call{i}", function="flaky", kwargs={"fail_times": 9}, max_retries=3, retry_base_delay=120)
              for i in range(width)),
            *(step(f"ok{i}", "approval", config={"message": "?"}) for i in range(width)),
        ], name=f"wide{width}"), sync_executor)

    small, wide = run_of(1), run_of(12)
    assert len(why(api, wide)["reasons"]) == 24
    with django_assert_max_num_queries(12) as small_queries:
        why(api, small)
    with django_assert_max_num_queries(len(small_queries.captured_queries)):
        assert {r["reason"] for r in why(api, wide)["reasons"]} == {"backoff", "approval"}


def test_a_code_workflow_s_current_step_says_what_it_waits_for(api, user, sync_executor):
    engine.set_executor(SynchronousExecutor())
    try:
        review = engine.start_run("expense_approval", {"expense_id": 1, "amount": 12.5}, user=user)
        (reason,) = why(api, review)["reasons"]
        assert (reason["step_key"], reason["reason"]) == ("review", "signal")
        assert "'action:expense_submit_review'" in reason["detail"]
        reminder = engine.start_run("reminder_loop", {"user_id": 1}, user=user)
        (reason,) = why(api, reminder)["reasons"]
        assert (reason["step_key"], reason["reason"]) == ("send_reminder", "timer") and reason["until"]
    finally:
        engine.set_executor(None)


def test_a_due_timer_names_the_missing_scheduler(api, user, sync_executor):
    execution = start(active_workflow(user, [step("nap", "delay", config={"seconds": 600})]), sync_executor)
    # Ten minutes later, as the clock would have it: the timer is due and nothing has woken it.
    TaskExecution.objects.filter(execution=execution).update(wake_at=timezone.now() - timedelta(seconds=5))
    (reason,) = why(api, execution)["reasons"]
    assert reason["reason"] == "timer" and "no scheduler (celery beat) tick was seen lately" in reason["detail"]
    presence.beat_ticked()
    (reason,) = why(api, execution)["reasons"]
    assert reason["detail"].endswith("due: the sweeper takes it at its next pass")
