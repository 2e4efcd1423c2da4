"""The orchestrator end to end in one process (SynchronousExecutor): real database, no broker."""

import uuid
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from workflows.engine import events as events_module
from workflows.engine import orchestrator
from workflows import selectors, services
from workflows.errors import Conflict
from workflows.models import ExecutionLog, TaskExecution, WorkflowExecution
from workflows.services.recovery import sweep
from workflows.engine.planner.states import ExecutionStatus as E
from workflows.engine.planner.states import Note
from workflows.engine.transitions import transition_rows
from workflows.engine.planner.states import TaskStatus as T
from workflows.tests import functions
from workflows.tests.factories import active_workflow, diamond, step


@pytest.fixture(autouse=True)
def clean_functions():
    functions.CALLS.clear()
    functions.FAULTS.clear()
    yield
    functions.FAULTS.clear()


def run(workflow, executor, **input_data):
    execution, created = services.execution_start(workflow=workflow, input_data=input_data)
    assert created
    executor.drain()
    execution.refresh_from_db()
    return execution


def attempts(execution, key):
    return list(TaskExecution.objects.filter(execution=execution, step_key=key).order_by("attempt"))


def later(seconds):
    return timezone.now() + timedelta(seconds=seconds)


def test_diamond_runs_every_step_once_and_completes(user, sync_executor):
    execution = run(diamond(user), sync_executor)
    assert execution.status == E.COMPLETED
    rows = TaskExecution.objects.filter(execution=execution)
    assert sorted(r.step_key for r in rows) == ["a", "b", "c", "d"]
    assert all(r.status == T.COMPLETED and r.attempt == 1 for r in rows)
    # b and c were queued together, after a and before d: parallel branches, one join
    queued = [log.step_key for log in ExecutionLog.objects.filter(execution=execution, event="step.queued")]
    assert queued[0] == "a" and set(queued[1:3]) == {"b", "c"} and queued[3] == "d"
    assert execution.output == {"d": {}}
    assert execution.started_at and execution.completed_at


def test_data_flows_between_steps_through_templates(user, sync_executor):
    wf = active_workflow(user, [
        step("a", function="add", kwargs={"a": "{{ input.n }}", "b": 1}),
        step("b", function="add", kwargs={"a": "{{ steps.a.output.sum }}", "b": 10}, depends_on=["a"]),
    ])
    execution = run(wf, sync_executor, n=5)
    assert execution.output == {"b": {"sum": 16}}
    assert attempts(execution, "b")[0].input == {"function": "add", "kwargs": {"a": 6, "b": 10}}


def test_if_else_join_runs_the_taken_branch_and_the_join_once(user, sync_executor):
    wf = active_workflow(user, [
        step("check", function="noop"),
        step("big", function="record", kwargs={"value": "big"}, depends_on=["check"], when="input.amount > 100"),
        step("small", function="record", kwargs={"value": "small"}, depends_on=["check"],
             when="{{ input.amount <= 100 }}"),
        step("after_big", function="noop", depends_on=["big"]),
        step("join", function="record", kwargs={"value": "join"}, depends_on=["after_big", "small"]),
    ])
    execution = run(wf, sync_executor, amount=50)
    assert execution.status == E.COMPLETED
    status = {r.step_key: r.status for r in TaskExecution.objects.filter(execution=execution)}
    assert status == {"check": T.COMPLETED, "big": T.SKIPPED, "small": T.COMPLETED, "after_big": T.SKIPPED,
                      "join": T.COMPLETED}
    assert [c["value"] for c in functions.CALLS] == ["small", "join"]


def test_a_condition_naming_a_missing_variable_fails_the_step_clearly(user, sync_executor):
    wf = active_workflow(user, [step("a", function="noop"),
                                step("b", function="noop", depends_on=["a"], when="input.vip")])
    execution = run(wf, sync_executor)
    assert execution.status == E.FAILED
    assert "step 'b' failed" in execution.error_message and "input.vip" in execution.error_message


def test_a_missing_template_variable_fails_the_step_naming_step_field_and_variable(user, sync_executor):
    wf = active_workflow(user, [step("a", function="add", kwargs={"a": "{{ input.phone.number }}"}, max_retries=3)])
    execution = run(wf, sync_executor, phone={})
    (row,) = attempts(execution, "a")
    assert row.status == T.FAILED  # not retried: a retry cannot invent the variable
    assert row.error_message == "step 'a': config.kwargs.a: undefined variable 'input.phone.number'"


def test_the_step_timeout_fails_the_attempt_and_frees_the_worker(user, sync_executor):
    wf = active_workflow(user, [step("slow", function="sleep", kwargs={"seconds": 30}, timeout_seconds=1,
                                     max_retries=0)])
    execution = run(wf, sync_executor)
    (row,) = attempts(execution, "slow")
    assert row.status == T.FAILED and row.error_message == "step timed out after 1 s"
    assert row.error_details["type"] == "StepTimeout"
    assert execution.status == E.FAILED


def test_a_timeout_follows_the_retry_policy(user, sync_executor):
    wf = active_workflow(user, [step("slow", function="sleep", kwargs={"seconds": 30}, timeout_seconds=1,
                                     max_retries=1, retry_base_delay=0)])
    execution = run(wf, sync_executor)
    sweep(now=later(1))
    sync_executor.drain()
    rows = attempts(execution, "slow")
    assert [r.status for r in rows] == [T.FAILED, T.FAILED]
    execution.refresh_from_db()
    assert execution.status == E.FAILED


def test_failed_attempts_are_retried_with_exponential_backoff_and_recorded(user, sync_executor):
    wf = active_workflow(user, [step("f", function="flaky", kwargs={"fail_times": 2}, max_retries=3,
                                     retry_base_delay=10, retry_backoff_factor=3, retry_max_delay=1000)])
    execution = run(wf, sync_executor)
    rows = attempts(execution, "f")
    assert [r.status for r in rows] == [T.FAILED, T.RETRYING]
    first_wait = (rows[1].wake_at - rows[0].completed_at).total_seconds()
    assert 5 <= first_wait <= 10.01  # base 10 s, equal jitter: between 5 and 10
    assert "RuntimeError: flaky failure on attempt 1" in rows[0].error_message
    assert "Traceback" in rows[0].error_details["traceback"]

    assert sweep(now=later(4)).retries_queued == 0  # the backoff is at least 5 s: not due yet
    sweep(now=rows[1].wake_at + timedelta(milliseconds=1))
    sync_executor.drain()
    rows = attempts(execution, "f")
    second_wait = (rows[2].wake_at - rows[1].completed_at).total_seconds()
    assert 15 <= second_wait <= 30.01  # 10 * 3, equal jitter
    sweep(now=rows[2].wake_at + timedelta(milliseconds=1))
    sync_executor.drain()
    rows = attempts(execution, "f")
    assert [r.status for r in rows] == [T.FAILED, T.FAILED, T.COMPLETED]
    assert rows[2].output == {"attempt": 3}
    execution.refresh_from_db()
    assert execution.status == E.COMPLETED


def test_a_retry_is_not_queued_before_its_time(user, sync_executor):
    wf = active_workflow(user, [step("f", function="flaky", kwargs={"fail_times": 1}, max_retries=1,
                                     retry_base_delay=60, retry_max_delay=60)])
    run(wf, sync_executor)
    assert sweep(now=timezone.now()).retries_queued == 0
    assert sweep(now=later(61)).retries_queued == 1


def test_a_non_retryable_error_fails_at_once(user, sync_executor):
    wf = active_workflow(user, [step("f", function="fail", kwargs={"message": "card declined", "retryable": False},
                                     max_retries=5)])
    execution = run(wf, sync_executor)
    assert [r.status for r in attempts(execution, "f")] == [T.FAILED]
    assert execution.error_message == "step 'f' failed: card declined"


def test_the_workflow_default_retry_policy_applies_to_steps_without_their_own(user, sync_executor):
    wf = active_workflow(user, [step("f", function="fail")], max_retries=2, retry_base_delay=0)
    execution = run(wf, sync_executor)
    for _ in range(3):
        sweep(now=later(1))
        sync_executor.drain()
    assert [r.status for r in attempts(execution, "f")] == [T.FAILED] * 3


def test_retry_resumes_at_the_failed_step_and_keeps_completed_outputs(user, sync_executor):
    wf = active_workflow(user, [
        step("send_otp", function="record", kwargs={"value": "otp"}),
        step("create_patient", function="create_patient", kwargs={"name": "{{ input.name }}"},
             depends_on=["send_otp"], max_retries=0),
        step("welcome", function="record", kwargs={"value": "welcome"}, depends_on=["create_patient"]),
    ])
    functions.FAULTS.add("john")
    execution = run(wf, sync_executor, name="john")
    assert execution.status == E.FAILED
    assert execution.error_details == {"failed_steps": {"create_patient": "database overloaded while creating john"}}
    assert attempts(execution, "welcome")[0].status == T.PENDING

    functions.FAULTS.clear()
    functions.CALLS.clear()
    services.execution_retry(execution=execution, user=user)
    sync_executor.drain()
    execution.refresh_from_db()
    assert execution.status == E.COMPLETED and execution.retry_count == 1
    assert [c["value"] for c in functions.CALLS] == ["john", "welcome"]  # no second OTP
    assert len(attempts(execution, "send_otp")) == 1
    assert [(r.attempt, r.status) for r in attempts(execution, "create_patient")] == [(1, T.FAILED), (2, T.COMPLETED)]


def test_retry_of_a_running_or_completed_execution_is_refused(user, sync_executor):
    execution = run(diamond(user), sync_executor)
    with pytest.raises(Conflict):
        services.execution_retry(execution=execution)


def test_each_step_gets_a_stable_idempotency_key_across_attempts(user, sync_executor):
    wf = active_workflow(user, [step("s", function="record", kwargs={"value": "x"})])
    execution = run(wf, sync_executor)
    assert functions.CALLS[0]["idempotency_key"] == f"{execution.pk}:s"


def test_a_second_delivery_of_the_same_attempt_does_nothing(user, sync_executor):
    wf = active_workflow(user, [step("s", function="record", kwargs={"value": "x"})])
    execution, _ = services.execution_start(workflow=wf)
    (task_id,) = list(sync_executor.queue)
    assert orchestrator.run_step(task_id) == "completed"
    assert orchestrator.run_step(task_id) == "not claimed"
    assert len(functions.CALLS) == 1


def test_cancel_stops_new_steps_and_cancels_waiting_and_pending_ones(user, sync_executor):
    wf = active_workflow(user, [step("wait", "delay", config={"seconds": 3600}),
                                step("after", function="noop", depends_on=["wait"])])
    execution = run(wf, sync_executor)
    assert attempts(execution, "wait")[0].status == T.WAITING
    services.execution_cancel(execution=execution, user=user)
    execution.refresh_from_db()
    assert execution.status == E.CANCELLED
    assert [r.status for r in TaskExecution.objects.filter(execution=execution)] == [T.CANCELLED, T.CANCELLED]
    assert sweep(now=later(7200)).timers_fired == 0
    with pytest.raises(Conflict):
        services.execution_cancel(execution=execution)
    # a cancelled run can be resumed where it stopped
    services.execution_retry(execution=execution)
    sync_executor.drain()
    assert attempts(execution, "wait")[-1].status == T.WAITING


def test_a_durable_delay_holds_no_worker_and_fires_from_the_sweeper(user, sync_executor):
    wf = active_workflow(user, [step("wait", "delay", config={"seconds": 600}),
                                step("after", function="noop", depends_on=["wait"])])
    execution = run(wf, sync_executor)
    (row,) = attempts(execution, "wait")
    assert row.status == T.WAITING and row.wake_at > later(590)
    assert sweep(now=later(10)).timers_fired == 0
    assert sweep(now=later(601)).timers_fired == 1
    sync_executor.drain()
    execution.refresh_from_db()
    assert execution.status == E.COMPLETED


def test_an_edit_during_a_run_changes_nothing_for_that_run(user, sync_executor):
    wf = active_workflow(user, [step("wait", "delay", config={"seconds": 60}),
                                step("old", function="record", kwargs={"value": "v1"}, depends_on=["wait"])])
    execution = run(wf, sync_executor)
    services.workflow_update(workflow=wf, data={}, steps=[
        step("wait", "delay", config={"seconds": 60}),
        step("new", function="record", kwargs={"value": "v2"}, depends_on=["wait"])])
    wf.refresh_from_db()
    assert wf.version == 2
    sweep(now=later(61))
    sync_executor.drain()
    execution.refresh_from_db()
    assert execution.status == E.COMPLETED and execution.workflow_version.number == 1
    assert [c["value"] for c in functions.CALLS] == ["v1"]
    second = run(wf, sync_executor)
    assert second.workflow_version.number == 2


def test_max_concurrency_keeps_extra_runs_pending_and_starts_them_fifo(user, sync_executor):
    wf = active_workflow(user, [step("wait", "delay", config={"seconds": 60})], max_concurrency=2)
    runs = [services.execution_start(workflow=wf, input_data={"n": i})[0] for i in range(5)]
    sync_executor.drain()
    statuses = lambda: [WorkflowExecution.objects.get(pk=r.pk).status for r in runs]  # noqa: E731
    assert statuses() == [E.RUNNING, E.RUNNING, E.PENDING, E.PENDING, E.PENDING]
    services.execution_cancel(execution=runs[1])
    sync_executor.drain()
    assert statuses() == [E.RUNNING, E.CANCELLED, E.RUNNING, E.PENDING, E.PENDING]
    sweep(now=later(61))
    sync_executor.drain()
    assert statuses() == [E.COMPLETED, E.CANCELLED, E.COMPLETED, E.RUNNING, E.RUNNING]


def test_a_concurrency_key_allows_one_running_execution_per_value(user, sync_executor):
    wf = active_workflow(user, [step("wait", "delay", config={"seconds": 60})],
                         concurrency_key="{{ input.phone }}")
    runs = [services.execution_start(workflow=wf, input_data={"phone": p})[0] for p in ("+1", "+1", "+2", "+1")]
    sync_executor.drain()
    statuses = lambda: [WorkflowExecution.objects.get(pk=r.pk).status for r in runs]  # noqa: E731
    assert statuses() == [E.RUNNING, E.PENDING, E.RUNNING, E.PENDING]
    assert runs[0].concurrency_key == "+1"
    sweep(now=later(61))
    sync_executor.drain()
    assert statuses() == [E.COMPLETED, E.RUNNING, E.COMPLETED, E.PENDING]


def test_a_concurrency_key_that_the_input_lacks_is_refused(user):
    from workflows.errors import InvalidInput

    wf = active_workflow(user, [step("a", function="noop")], concurrency_key="{{ input.phone }}")
    with pytest.raises(InvalidInput, match="input.phone"):
        services.execution_start(workflow=wf, input_data={})
    assert not WorkflowExecution.objects.exists()


def test_a_step_whose_worker_died_is_taken_back_and_retried(user, sync_executor):
    wf = active_workflow(user, [step("s", function="record", kwargs={"value": "x"}, max_retries=2,
                                     retry_base_delay=0)])
    execution, _ = services.execution_start(workflow=wf)
    sync_executor.queue.clear()  # the message went to a worker that then died mid-step
    (row,) = attempts(execution, "s")
    TaskExecution.objects.filter(pk=row.pk).update(status=T.RUNNING, started_at=timezone.now(),
                                                   lease_expires_at=timezone.now() - timedelta(seconds=1),
                                                   worker_id="w1:123")
    report = sweep(now=later(1))
    assert report.workers_lost == 1
    sweep(now=later(2))
    sync_executor.drain()
    rows = attempts(execution, "s")
    assert [(r.attempt, r.status) for r in rows] == [(1, T.FAILED), (2, T.COMPLETED)]
    assert "worker lost" in rows[0].error_message and rows[0].error_details["worker_id"] == "w1:123"


def test_a_poison_step_that_kills_its_worker_every_time_ends_failed(user, sync_executor):
    wf = active_workflow(user, [step("poison", function="noop", max_retries=2, retry_base_delay=0)])
    execution, _ = services.execution_start(workflow=wf)
    for _ in range(3):
        sweep(now=later(1))
        sync_executor.queue.clear()
        row = attempts(execution, "poison")[-1]
        TaskExecution.objects.filter(pk=row.pk).update(status=T.RUNNING, lease_expires_at=later(-5))
        sweep(now=later(1))
    execution.refresh_from_db()
    assert [r.status for r in attempts(execution, "poison")] == [T.FAILED] * 3
    assert execution.status == E.FAILED and "worker lost" in execution.error_message


def test_a_renewed_lease_is_not_taken_back(user, sync_executor):
    wf = active_workflow(user, [step("s", function="noop")])
    execution, _ = services.execution_start(workflow=wf)
    row = attempts(execution, "s")[0]
    TaskExecution.objects.filter(pk=row.pk).update(status=T.RUNNING, lease_expires_at=later(30))
    assert sweep(now=timezone.now()).workers_lost == 0
    assert orchestrator.take_back(row.pk, reason="test") is False


def test_a_queued_step_whose_message_was_lost_is_sent_again_with_backoff(user, sync_executor, settings):
    settings.FLOWPILOT_REDISPATCH_AFTER_SECONDS = 30
    wf = active_workflow(user, [step("s", function="record", kwargs={"value": "x"})])
    execution, _ = services.execution_start(workflow=wf)
    (row,) = attempts(execution, "s")
    sync_executor.queue.clear()  # the broker lost the message
    assert sweep(now=later(10)).messages_resent == 0
    assert sweep(now=later(31)).messages_resent == 1
    sync_executor.queue.clear()  # lost again (or just a long queue): wait twice as long before the next copy
    assert sweep(now=later(31 + 31)).messages_resent == 0
    assert sweep(now=later(31 + 61)).messages_resent == 1
    again = TaskExecution.objects.get(pk=row.pk)
    assert again.dispatch_count == 3 and again.queued_at == row.queued_at  # ready time kept for latency figures
    sync_executor.drain()
    execution.refresh_from_db()
    assert execution.status == E.COMPLETED and len(functions.CALLS) == 1


def test_a_failure_halts_other_branches_and_waits_for_running_ones(user, sync_executor):
    wf = active_workflow(user, [
        step("root", function="noop"),
        step("bad", function="fail", kwargs={"retryable": False}, depends_on=["root"]),
        step("slow", "delay", config={"seconds": 300}, depends_on=["root"]),
        step("join", function="noop", depends_on=["bad", "slow"]),
    ])
    execution = run(wf, sync_executor)
    status = {r.step_key: r.status for r in TaskExecution.objects.filter(execution=execution)}
    assert status == {"root": T.COMPLETED, "bad": T.FAILED, "slow": T.CANCELLED, "join": T.PENDING}
    assert execution.status == E.FAILED


def test_bulk_retry_selects_by_workflow_step_and_error(user, sync_executor):
    wf = active_workflow(user, [
        step("otp", function="noop"),
        step("create_patient", function="create_patient", kwargs={"name": "{{ input.name }}"},
             depends_on=["otp"], max_retries=0),
    ])
    functions.FAULTS.update({"a", "b"})
    for name in ("a", "b", "c"):
        run(wf, sync_executor, name=name)
    other = active_workflow(user, [step("x", function="fail", kwargs={"retryable": False})], name="other")
    run(other, sync_executor)
    executions = WorkflowExecution.objects.all()
    assert selectors.failed_executions(executions, step_key="otp").count() == 0
    assert selectors.failed_executions(executions, error_contains="overloaded").count() == 2
    functions.FAULTS.clear()
    retried = services.executions_retry_failed(executions=executions.filter(workflow=wf),
                                               step_key="create_patient")
    assert len(retried) == 2
    sync_executor.drain()
    assert WorkflowExecution.objects.filter(workflow=wf, status=E.COMPLETED).count() == 3
    assert WorkflowExecution.objects.filter(workflow=other, status=E.FAILED).count() == 1


def test_idempotent_start_returns_the_first_execution(user, sync_executor):
    wf = diamond(user)
    first, created = services.execution_start(workflow=wf, idempotency_key="order-1")
    again, created_again = services.execution_start(workflow=wf, idempotency_key="order-1")
    assert created and not created_again and first.pk == again.pk
    assert WorkflowExecution.objects.count() == 1


def test_a_draft_workflow_does_not_run(user):
    wf = services.workflow_create(owner=user, data={"name": "draft"}, steps=[step("a", function="noop")])
    with pytest.raises(Conflict, match="activate"):
        services.execution_start(workflow=wf)


def test_an_error_with_retry_after_delays_the_next_attempt_at_least_that_long(user, sync_executor):
    from workflows.steps import StepError, step_function

    @step_function("busy_service")
    def busy_service() -> dict:
        raise StepError("circuit open", retry_after=120)

    wf = active_workflow(user, [step("call", function="busy_service", max_retries=1, retry_base_delay=1)])
    execution = run(wf, sync_executor)
    first, retry = attempts(execution, "call")
    assert (retry.wake_at - first.completed_at).total_seconds() >= 120


def test_an_attempt_that_never_reached_its_target_does_not_use_up_the_retry_budget(user, sync_executor):
    from workflows.steps import StepError, step_function

    calls = []

    @step_function("behind_open_circuit")
    def behind_open_circuit() -> dict:
        calls.append(1)
        if len(calls) <= 2:
            raise StepError("circuit open; not calling", retry_after=5, consumes_attempt=False)
        raise StepError("answered 503")

    wf = active_workflow(user, [step("call", function="behind_open_circuit", max_retries=1, retry_base_delay=0)])
    execution = run(wf, sync_executor)
    for _ in range(4):
        sweep(now=later(10))
        sync_executor.drain()
    rows = attempts(execution, "call")
    # two fail-fast answers, then the budget (1 try + 1 retry) is spent on real calls
    assert [r.error_message for r in rows] == ["circuit open; not calling"] * 2 + ["answered 503"] * 2
    execution.refresh_from_db()
    assert execution.status == E.FAILED


def test_a_delay_until_a_time_without_a_zone_is_taken_as_utc(user, sync_executor):
    wf = active_workflow(user, [step("wait", "delay", config={"until": "2099-01-01T09:00:00"})])
    execution = run(wf, sync_executor)
    (row,) = attempts(execution, "wait")
    assert row.status == T.WAITING and row.wake_at.isoformat() == "2099-01-01T09:00:00+00:00"


# --- locked_run: one transaction under the run's lock, its events written at the end ----------------

class Interrupted(Exception):
    pass


def _waiting_then_after(user, sync_executor):
    wf = active_workflow(user, [step("wait", "delay", config={"seconds": 3600}),
                                step("after", function="noop", depends_on=["wait"])])
    execution = run(wf, sync_executor)
    assert [r.status for r in attempts(execution, "wait")] == [T.WAITING]
    return execution


def _complete_wait(held):
    """What wake() does, in the caller's locked_run: the waiting step completes, the run advances after it."""
    (task,) = TaskExecution.objects.filter(execution_id=held.execution.pk, step_key="wait")
    transition_rows(TaskExecution.objects.filter(pk=task.pk), T.WAITING, T.COMPLETED, events=held.events,
                    notes=[Note(held.execution.pk, "completed by the test", task=task)])
    held.advance_after("wait")


def test_locked_run_writes_its_events_and_advances_when_the_block_succeeds(user, sync_executor, monkeypatch,
                                                                          django_capture_on_commit_callbacks):
    execution = _waiting_then_after(user, sync_executor)
    logged = ExecutionLog.objects.filter(execution=execution).count()
    published = []
    monkeypatch.setattr(events_module, "subscribers", [published.extend])
    with django_capture_on_commit_callbacks(execute=True):
        with orchestrator.locked_run(execution.pk, advance=False) as held:
            assert held.execution.pk == execution.pk and held.execution.status == E.RUNNING
            assert transaction.get_connection().in_atomic_block
            _complete_wait(held)
            assert ExecutionLog.objects.filter(execution=execution).count() == logged  # written at the end, at once
    new = list(ExecutionLog.objects.filter(execution=execution).order_by("id")[logged:].values_list("event", "message"))
    assert new == [("step.completed", "completed by the test"), ("step.queued", "Step 'after' queued")]
    assert [row.event for row in published] == ["step.completed", "step.queued"]  # after the commit
    assert [r.status for r in attempts(execution, "after")] == [T.QUEUED]


def test_locked_run_writes_nothing_when_the_block_raises(user, sync_executor, monkeypatch,
                                                         django_capture_on_commit_callbacks):
    execution = _waiting_then_after(user, sync_executor)
    logged = ExecutionLog.objects.filter(execution=execution).count()
    published = []
    monkeypatch.setattr(events_module, "subscribers", [published.extend])
    with django_capture_on_commit_callbacks(execute=True) as callbacks, pytest.raises(Interrupted):
        with orchestrator.locked_run(execution.pk, advance=False) as held:
            _complete_wait(held)
            held.events.add(execution.pk, "step.log", "a line before the error")
            raise Interrupted
    assert ExecutionLog.objects.filter(execution=execution).count() == logged
    assert callbacks == [] and published == []
    assert [r.status for r in attempts(execution, "wait")] == [T.WAITING]  # rolled back
    assert [r.status for r in attempts(execution, "after")] == [T.PENDING]


def test_locked_run_does_not_advance_unless_asked(user, sync_executor):
    execution = _waiting_then_after(user, sync_executor)
    (task,) = TaskExecution.objects.filter(execution=execution, step_key="wait")
    with orchestrator.locked_run(execution.pk, advance=False) as held:
        transition_rows(TaskExecution.objects.filter(pk=task.pk), T.WAITING, T.COMPLETED, events=held.events,
                        notes=[Note(execution.pk, "completed by the test", task=task)])
    assert [r.status for r in attempts(execution, "after")] == [T.PENDING]
    orchestrator.advance(execution.pk)  # the whole run decided: what was left undone is done now
    assert [r.status for r in attempts(execution, "after")] == [T.QUEUED]


def test_locked_run_of_a_missing_or_other_status_run_yields_none(user, sync_executor):
    execution = _waiting_then_after(user, sync_executor)
    with orchestrator.locked_run(execution.pk, status=E.PENDING) as held:
        assert held is None
    missing = uuid.uuid4()
    with orchestrator.locked_run(missing, missing_ok=True) as held:
        assert held is None
    with pytest.raises(WorkflowExecution.DoesNotExist), orchestrator.locked_run(missing):
        pass


def test_the_sweeper_may_rest_only_when_nothing_is_in_flight_and_a_scheduled_run_wakes_it(user, sync_executor):
    """The embedded sweeper rests while nothing is in flight (flowpilot/idle.py). A run scheduled for
    later sends no message, so scheduling it must say that work arrived, or a resting sweeper would
    start it up to FLOWPILOT_SWEEP_IDLE_INTERVAL late."""
    from flowpilot import idle
    from workflows.services.recovery import nothing_in_flight

    workflow = active_workflow(user, [step("a", function="noop")])
    assert nothing_in_flight()
    before = idle.published()
    execution, _ = services.execution_start(workflow=workflow, scheduled_at=later(60))
    assert not nothing_in_flight()  # a pending run, scheduled: the sweeper has to start it
    sync_executor.drain()  # runs what was to happen after the commit
    assert idle.published() == before + 1
    WorkflowExecution.objects.filter(pk=execution.pk).update(scheduled_at=timezone.now())
    sweep()
    sync_executor.drain()
    execution.refresh_from_db()
    assert execution.status == E.COMPLETED and nothing_in_flight()


# --- starting runs ---------------------------------------------------------------------------------

def test_a_bulk_start_queues_every_runs_first_steps_and_sends_them_after_commit_together(
        user, monkeypatch, django_capture_on_commit_callbacks):
    from workflows.engine import executors

    sends = []
    executor = executors.CeleryExecutor()
    monkeypatch.setattr(executor, "send", lambda ids: sends.append(list(ids)))
    executors.set_executor(executor)
    wf = active_workflow(user, [step("a", function="noop"), step("b", function="noop"),
                                step("c", function="noop", depends_on=["a", "b"])])
    with django_capture_on_commit_callbacks(execute=True):
        started = services.executions_start(workflow=wf, items=[services.StartItem({"n": i}) for i in range(3)])
        assert sends == []  # the rows are the outbox: nothing is sent before the commit
    first = TaskExecution.objects.filter(execution__workflow=wf, status=T.QUEUED)
    assert sorted(sends[0]) == sorted(str(pk) for pk in first.values_list("pk", flat=True)) and len(sends) == 1
    assert first.count() == 6 and not TaskExecution.objects.filter(step_key="c").exclude(status=T.PENDING).exists()
    assert [execution.status for execution, created in started] == [E.RUNNING] * 3


def test_a_bulk_start_of_a_workflow_whose_first_step_is_skipped_decides_it_as_any_run(user, sync_executor):
    wf = active_workflow(user, [step("a", function="noop", when="{{ input.go }}"),
                                step("b", function="noop", depends_on=["a"])])
    started = services.executions_start(workflow=wf, items=[services.StartItem({"go": True}),
                                                            services.StartItem({"go": False})])
    sync_executor.drain()
    go, skip = (WorkflowExecution.objects.get(pk=execution.pk) for execution, _ in started)
    assert go.status == E.COMPLETED
    assert dict(go.task_executions.values_list("step_key", "status")) == {"a": T.COMPLETED, "b": T.COMPLETED}
    assert dict(skip.task_executions.values_list("step_key", "status")) == {"a": T.SKIPPED, "b": T.SKIPPED}
    assert skip.status == E.COMPLETED


def test_celery_executor_sends_a_commits_steps_through_one_producer(monkeypatch):
    from contextlib import contextmanager

    from celery import current_app
    from workflows.engine import executors

    producers, sent = [], []

    @contextmanager
    def producer_or_acquire(producer=None):
        producers.append(object())
        yield producers[-1]

    def send_task(name, *, args, task_id, producer):
        if task_id == "boom":
            raise ConnectionError("broker down")
        sent.append((name, args, task_id, producer))

    deferred = []
    monkeypatch.setattr(current_app, "producer_or_acquire", producer_or_acquire)
    monkeypatch.setattr(current_app, "send_task", send_task)
    monkeypatch.setattr(executors.fail_open, "dispatch_deferred", lambda task, count, exc: deferred.append(count))
    executors.CeleryExecutor().send(["1", "2", "3"])
    assert [(args, task_id) for _, args, task_id, _ in sent] == [(["1"], "1"), (["2"], "2"), (["3"], "3")]
    assert len(producers) == 1 and {p for *_, p in sent} == {producers[0]}
    assert {name for name, *_ in sent} == {executors.RUN_STEP}
    executors.CeleryExecutor().send(["4", "boom", "5"])  # the broker fails: the rest are left to the sweeper
    assert deferred == [2] and sent[-1][2] == "4"
