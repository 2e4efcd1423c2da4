"""Issue 12, finding 1: every number a user can set is bounded where it is accepted (API, import, code
workflows, triggers), the engine clamps what it computes from stored values, and one bad row never
stops the sweeper for everyone else. Real PostgreSQL, the engine in this process (SynchronousExecutor)."""

from datetime import datetime, timedelta
from datetime import timezone as dt_timezone

import pytest
from django.db import connection
from django.utils import timezone
from prometheus_client import REGISTRY
from pydantic import BaseModel

from triggers import services as trigger_services
from triggers.models import Trigger
from workflows import bounds, services
from workflows.engine.children import WAITING_FOR_CHILDREN
from workflows.code import Retry, wait
from workflows.code import sleep as code_sleep
from workflows.code import step as code_step
from workflows.code.registry import CodeWorkflowError, _build, event_workflow
from workflows.code.runtime import outcome
from workflows.engine.definition import Definition, for_version
from workflows.models import TaskExecution, WorkflowExecution, WorkflowVersion
from workflows.services.recovery import row_failed, sweep
from workflows.engine.planner.retry import RetryPolicy
from workflows.engine.planner.states import ExecutionStatus as E
from workflows.engine.planner.states import TaskStatus as T
from workflows.steps.base import StepError
from workflows.steps.delay import delay_step
from workflows.steps.wait_for_signal import wait_for_signal_step
from workflows.tests.factories import active_workflow, step

HOSTILE = {"retry_base_delay": 1e12, "retry_max_delay": 1e12, "retry_backoff_factor": 1e308}


def later(seconds):
    return timezone.now() + timedelta(seconds=seconds)


def attempts(execution):
    return list(TaskExecution.objects.filter(execution=execution).order_by("attempt"))


def poison_version(workflow, **definition_changes):
    """Write straight into the stored version, as data saved before the bounds existed would be."""
    version = WorkflowVersion.objects.get(workflow=workflow, number=workflow.version)
    version.definition = {**version.definition, **definition_changes}
    version.save(update_fields=["definition"])
    for_version.cache_clear()


# --- accepted only within bounds -------------------------------------------------------------------

def test_the_api_refuses_every_number_past_its_bound_naming_the_field_and_the_bound(api):
    high = bounds.max_retry_delay()
    response = api.post("/api/v1/workflows/", {
        "name": "hostile", **HOSTILE, "max_concurrency": 10**9, "max_retries": 10**6,
        "steps": [{"key": "a", "task_type": "log", "config": {"message": "x"}, **HOSTILE,
                   "timeout_seconds": 10**9}],
    }, format="json")
    assert response.status_code == 400, response.data
    fields = response.json()["fields"]
    for name in ("retry_base_delay", "retry_max_delay", "steps[0].retry_base_delay", "steps[0].retry_max_delay"):
        assert fields[name] == [f"Ensure this value is less than or equal to {high}."]
    assert fields["retry_backoff_factor"] == [f"Ensure this value is less than or equal to {bounds.max_backoff_factor()}."]
    assert fields["max_concurrency"] == [f"Ensure this value is less than or equal to {bounds.max_concurrency()}."]
    assert fields["max_retries"] == [f"Ensure this value is less than or equal to {bounds.MAX_RETRIES}."]
    assert fields["steps[0].timeout_seconds"] == [
        f"Ensure this value is less than or equal to {int(bounds.max_step_timeout())}."]

    # Waits of the step types that wait: their config schema carries the same bound.
    wait = api.post("/api/v1/workflows/", {"name": "sleepy", "steps": [
        {"key": "d", "task_type": "delay", "config": {"seconds": 1e12}},
        {"key": "s", "task_type": "wait_for_signal", "config": {"signal": "go", "timeout_seconds": 1e12}}]},
        format="json")
    assert wait.status_code == 400, wait.data
    wait_fields = wait.json()["fields"]
    assert any(f"{bounds.max_wait():g}".rstrip(".0") in m or str(int(bounds.max_wait())) in m
               for m in wait_fields["steps.d.config.seconds"])
    assert "steps.s.config.timeout_seconds" in wait_fields


def test_import_and_triggers_refuse_the_same_bounds(api):
    workflow = api.post("/api/v1/workflows/", {"name": "ok", "steps": [
        {"key": "a", "task_type": "log", "config": {"message": "x"}}]}, format="json").json()
    doc = api.get(f"/api/v1/workflows/{workflow['id']}/export/").json()
    doc["workflow"].update(HOSTILE)
    imported = api.post("/api/v1/workflows/import/", doc, format="json")
    assert imported.status_code == 400, imported.data
    assert imported.json()["fields"]["retry_base_delay"] == [
        f"Ensure this value is less than or equal to {bounds.max_retry_delay()}."]

    trigger = api.post(f"/api/v1/workflows/{workflow['id']}/triggers/",
                       {"type": "event", "event_name": "e", "offset_minutes": 10**9}, format="json")
    assert trigger.status_code == 400
    assert trigger.json()["fields"]["offset_minutes"] == [
        f"Ensure this value is less than or equal to {bounds.max_offset_minutes()}."]


def test_a_workflow_past_the_most_steps_is_refused_at_save_and_import_naming_steps_and_the_bound(api, settings):
    settings.FLOWPILOT_MAX_WORKFLOW_STEPS = 3
    steps = [{"key": f"s{i}", "task_type": "log", "config": {"message": "x"}} for i in range(4)]
    message = "at most 3 steps in one workflow; this one has 4"

    response = api.post("/api/v1/workflows/", {"name": "big", "steps": steps}, format="json")
    assert response.status_code == 400, response.data
    assert response.json()["fields"]["steps"] == [message]

    saved = api.post("/api/v1/workflows/", {"name": "ok", "steps": steps[:3]}, format="json")
    assert saved.status_code == 201, saved.data
    grown = api.put(f"/api/v1/workflows/{saved.json()['id']}/", {"name": "ok", "steps": steps}, format="json")
    assert grown.status_code == 400, grown.data
    assert grown.json()["fields"]["steps"] == [message]

    doc = api.get(f"/api/v1/workflows/{saved.json()['id']}/export/").json()
    doc["workflow"]["name"] = "imported"
    doc["workflow"]["steps"] = [*doc["workflow"]["steps"], {**doc["workflow"]["steps"][0], "key": "s3"}]
    imported = api.post("/api/v1/workflows/import/", doc, format="json")
    assert imported.status_code == 400, imported.data
    assert imported.json()["fields"]["steps"] == [message]
    assert api.get("/api/v1/limits/").json()["steps"] == {"min": 0, "max": 3}


def test_the_limits_are_published_for_the_designer(api):
    response = api.get("/api/v1/limits/")
    assert response.status_code == 200
    assert response.json()["retry_base_delay"] == {"min": 0, "max": bounds.max_retry_delay()}
    assert response.json() == bounds.limits()


def test_code_workflows_are_held_to_the_same_bounds():
    with pytest.raises(ValueError, match="base_delay must be between 0 and"):
        Retry(base_delay=timedelta(seconds=1e12))
    with pytest.raises(ValueError, match="backoff_factor must be between 1 and"):
        Retry(backoff_factor=1e308)
    with pytest.raises(CodeWorkflowError, match="FLOWPILOT_MAX_STEP_TIMEOUT_SECONDS"):
        code_step(timeout=timedelta(days=10_000))
    with pytest.raises(CodeWorkflowError, match="FLOWPILOT_MAX_OFFSET_MINUTES"):
        event_workflow("e", offset_minutes=10**9)


class Sleeper:
    class Context(BaseModel):
        n: int = 0

    @code_step(start=True)
    def first(self):
        return code_sleep(timedelta(days=10**6))


def test_a_code_step_that_sleeps_or_waits_past_the_bound_fails_clearly_without_retry():
    spec = _build("sleeper", Sleeper, default_retry=None)
    for result in (code_sleep(timedelta(days=10**6)), wait.for_signal("go", timeout=timedelta(days=10**6))):
        with pytest.raises(StepError, match="FLOWPILOT_MAX_WAIT_SECONDS") as caught:
            outcome(spec, "first", Sleeper.Context(), result)
        assert not caught.value.retryable
    assert outcome(spec, "first", Sleeper.Context(), code_sleep(timedelta(days=30))).until is not None


# --- the engine clamps what it computes ------------------------------------------------------------

@pytest.mark.parametrize("values", [
    {"base_delay": 1e12, "max_delay": 1e12, "backoff_factor": 1e308},
    {"base_delay": float("nan"), "max_delay": float("inf"), "backoff_factor": float("inf"), "max_retries": 10**9},
    {"base_delay": "1e12", "max_delay": None, "backoff_factor": -5, "max_retries": -3},
])
def test_a_stored_policy_is_clamped_and_its_delays_never_overflow(values):
    policy = RetryPolicy.clamped(values)
    for retry_number in (1, 2, 50, 10_000):
        low, high = policy.delay_bounds(retry_number)
        assert 0 <= low <= high <= bounds.max_retry_delay()
    assert 0 <= policy.max_retries <= bounds.MAX_RETRIES


def test_a_poisoned_stored_policy_fails_its_attempt_and_retries_at_the_clamped_maximum(user, other_user,
                                                                                        sync_executor, settings):
    """The issue's case: the first failure computed now + 1e12 s and raised OverflowError, the
    attempt's lease expired, and from then on every sweep crashed before it re-sent lost messages
    or started scheduled runs: another user's event run waited until the poisoned run was cancelled."""
    settings.FLOWPILOT_REDISPATCH_AFTER_SECONDS = 30
    poisoned = active_workflow(other_user, [step("boom", function="fail", max_retries=3)], name="poisoned")
    poison_version(poisoned, retry={"max_retries": 3, "base_delay": 1e12, "backoff_factor": 1e308,
                                    "max_delay": 1e12})
    WorkflowVersion.objects.filter(workflow=poisoned).update(definition=_with_step_retry(poisoned, HOSTILE))
    for_version.cache_clear()

    # At its first failure (in the worker): failed, and a retry at the clamped maximum.
    run, _ = services.execution_start(workflow=poisoned)
    sync_executor.drain()
    first, retry = attempts(run)
    assert first.status == T.FAILED and first.error_message == "boom"
    assert retry.status == T.RETRYING
    wait = (retry.wake_at - first.completed_at).total_seconds()
    assert bounds.max_retry_delay() / 2 - 1 <= wait <= bounds.max_retry_delay() + 1

    # A second poisoned run whose worker died mid-step: the sweeper takes it back (fail_attempt again),
    # and in the same sweep re-sends alice's lost message and starts her event's scheduled run.
    lost_worker, _ = services.execution_start(workflow=poisoned)
    sync_executor.queue.clear()
    TaskExecution.objects.filter(execution=lost_worker).update(
        status=T.RUNNING, started_at=timezone.now(), lease_expires_at=later(-5), worker_id="w:1")
    mine = active_workflow(user, [step("s", function="noop")], name="mine")
    lost_message, _ = services.execution_start(workflow=mine)
    sync_executor.queue.clear()  # the broker lost the message
    event_run, _ = services.execution_start(workflow=mine, triggered_by="event", scheduled_at=later(20))

    report = sweep(now=later(40))
    assert report.workers_lost == 1 and report.messages_resent == 1 and report.scheduled_started == 1
    assert report.rows_failed == 0
    taken_back = attempts(lost_worker)
    assert [r.status for r in taken_back] == [T.FAILED, T.RETRYING]
    assert (taken_back[1].wake_at - later(40)).total_seconds() <= bounds.max_retry_delay()
    sync_executor.drain()
    for execution in (lost_message, event_run):
        execution.refresh_from_db()
        assert execution.status == E.COMPLETED


def _with_step_retry(workflow, fields):
    definition = WorkflowVersion.objects.get(workflow=workflow, number=workflow.version).definition
    for s in definition["steps"]:
        s["retry"] = {"max_retries": 3, "base_delay": fields["retry_base_delay"],
                      "backoff_factor": fields["retry_backoff_factor"], "max_delay": fields["retry_max_delay"]}
    return definition


def test_waits_and_timeouts_computed_from_stored_values_are_clamped():
    """A stored config or definition past the bounds (written before they existed) is clamped where
    the engine computes a time from it: no OverflowError in a worker or the sweeper."""
    latest = later(bounds.max_wait() + 5)
    assert later(1) < delay_step({"seconds": 1e300}, None).until <= latest
    assert later(1) < wait_for_signal_step({"signal": "go", "timeout_seconds": 1e300}, None).until <= latest
    assert delay_step({"seconds": float("nan")}, None).until <= later(1)
    definition = Definition({"steps": [{"key": "a", "task_type": "log", "timeout_seconds": 1e308,
                                        "retry": {"base_delay": 1e12, "backoff_factor": 1e308, "max_delay": 1e12}}]})
    assert definition.steps["a"].timeout_seconds == bounds.max_step_timeout()
    assert definition.steps["a"].retry.delay_bounds(10**6)[1] == bounds.max_retry_delay()


def test_a_stored_event_offset_past_its_bound_never_stops_the_event_reaching_other_users(user, other_user):
    """emit() from Python reaches every user's trigger for the event. `at + timedelta(minutes=offset)`
    with one trigger's offset written straight into the database (2**31 - 1 minutes) and an event
    time late in the calendar raised OverflowError inside emit(): no trigger of the event ran."""
    mine = active_workflow(user, [step("s", function="noop")], name="mine")
    theirs = active_workflow(other_user, [step("s", function="noop")], name="theirs")
    hostile, _ = trigger_services.trigger_create(workflow=theirs, type="event",
                                                 data={"event_name": "user.signed_up", "offset_minutes": 5})
    trigger_services.trigger_create(workflow=mine, type="event", data={"event_name": "user.signed_up"})
    Trigger.objects.filter(pk=hostile.pk).update(offset_minutes=2**31 - 1)

    at = datetime(7000, 1, 1, tzinfo=dt_timezone.utc)
    trigger_services.emit("user.signed_up", {"id": 1}, at=at)
    assert WorkflowExecution.objects.get(workflow=mine).scheduled_at == at
    clamped = WorkflowExecution.objects.get(workflow=theirs).scheduled_at
    assert clamped == at + timedelta(minutes=bounds.max_offset_minutes())


# --- the sweeper isolates failures -----------------------------------------------------------------

def test_one_poisoned_row_in_each_sweeper_phase_leaves_every_other_row_and_phase_running(user, other_user,
                                                                                          sync_executor, settings):
    settings.FLOWPILOT_REDISPATCH_AFTER_SECONDS = 30
    now = later(120)
    mine = active_workflow(user, [step("s", function="noop")], name="mine")
    # Mallory's workflow: its stored version is corrupt (as a bad migration or a hand edit would leave
    # it), so every phase that reads it raises.
    bad = active_workflow(other_user, [step("s", function="noop")], name="bad")

    def run_of(workflow, **task_fields):
        execution, _ = services.execution_start(workflow=workflow)
        sync_executor.queue.clear()
        TaskExecution.objects.filter(execution=execution).update(**task_fields)
        return execution, TaskExecution.objects.get(execution=execution)

    rows = {}
    for owner, workflow in (("good", mine), ("bad", bad)):
        rows[owner, "retries"] = run_of(workflow, status=T.RETRYING, wake_at=later(-1), attempt=2)
        rows[owner, "timers"] = run_of(workflow, status=T.WAITING, wake_at=later(-1))
        rows[owner, "leases"] = run_of(workflow, status=T.RUNNING, started_at=later(-5), lease_expires_at=later(-1))
        rows[owner, "resend"] = run_of(workflow, status=T.QUEUED, dispatched_at=later(-60), dispatch_count=1)
        rows[owner, "parents"] = run_of(workflow, status=T.WAITING, signal_name=WAITING_FOR_CHILDREN, output={
            "children": {"workflow_id": str(workflow.pk), "inputs": []}})
        rows[owner, "scheduled"] = services.execution_start(workflow=workflow, triggered_by="event",
                                                            scheduled_at=later(60))[0], None
    bad_parent = rows["bad", "parents"][1]
    TaskExecution.objects.filter(pk=bad_parent.pk).update(output={"children": {"not": "a spec"}})
    # A lost message re-sent 32767 times: one more overflows its smallint counter.
    TaskExecution.objects.filter(pk=rows["bad", "resend"][1].pk).update(dispatch_count=32767,
                                                                        dispatched_at=later(-7200))
    # A retry row the database refuses to queue (a trigger standing in for any row-level fault).
    with connection.cursor() as cursor:
        cursor.execute("CREATE FUNCTION flowpilot_test_poison() RETURNS trigger AS $$ BEGIN "
                       "RAISE EXCEPTION 'poisoned row'; END $$ LANGUAGE plpgsql")
        cursor.execute(f"CREATE TRIGGER flowpilot_test_poison BEFORE UPDATE ON {TaskExecution._meta.db_table} "
                       f"FOR EACH ROW WHEN (OLD.id = '{rows['bad', 'retries'][1].pk}' AND NEW.status = 'queued') "
                       "EXECUTE FUNCTION flowpilot_test_poison()")
    WorkflowVersion.objects.filter(workflow=bad).update(definition={"name": "bad", "retry": {}})
    for_version.cache_clear()
    def counted(phase):
        return REGISTRY.get_sample_value("flowpilot_sweep_row_failures_total",
                                         {"phase": phase, "set_aside": "true"}) or 0

    phases = ("retries", "timers", "leases", "resend", "parents", "scheduled")
    before = {phase: counted(phase) for phase in phases}
    failures = []
    row_failed.connect(lambda sender, **kw: failures.append((sender, kw["row"], kw["set_aside"])), weak=False,
                       dispatch_uid="test-row-failed")
    try:
        report = sweep(now=now)
    finally:
        row_failed.disconnect(dispatch_uid="test-row-failed")

    assert report.retries_queued == 1 and report.timers_fired == 1 and report.workers_lost == 1
    assert report.messages_resent == 1 and report.parents_checked == 1 and report.scheduled_started == 1
    assert report.rows_failed == 6
    assert sorted(phase for phase, _, _ in failures) == sorted(
        ["retries", "timers", "leases", "resend", "parents", "scheduled"])
    assert all(set_aside for _, _, set_aside in failures)
    assert {phase: counted(phase) - before[phase] for phase in phases} == dict.fromkeys(phases, 1)

    def status(key):
        execution, task = rows[key]
        execution.refresh_from_db()
        return execution.status, (TaskExecution.objects.get(pk=task.pk).status if task else None)

    # Every good row moved on, in this one sweep.
    assert status(("good", "retries"))[1] == T.QUEUED
    assert status(("good", "timers")) == (E.COMPLETED, T.COMPLETED)
    assert status(("good", "leases"))[1] == T.FAILED  # taken back; its retry follows the policy
    assert TaskExecution.objects.get(pk=rows["good", "resend"][1].pk).dispatch_count == 2
    assert status(("good", "parents")) == (E.COMPLETED, T.COMPLETED)
    assert status(("good", "scheduled"))[0] == E.RUNNING
    # Every bad row was set aside with an error naming its phase: it will not come back every second.
    for phase in ("retries", "timers", "leases", "resend", "parents", "scheduled"):
        execution, _ = rows["bad", phase]
        execution.refresh_from_db()
        assert execution.status in (E.FAILED, E.CANCELLED), phase
        assert f"The sweeper could not handle this run ({phase})" in execution.error_message
    again = sweep(now=now + timedelta(seconds=1))
    assert again.rows_failed == 0


def test_a_transient_database_error_skips_the_row_until_the_next_sweep_without_ending_its_run(user,
                                                                                                sync_executor):
    """A deadlock on one row is not a bad row: the run must not be failed for it."""
    wf = active_workflow(user, [step("s", function="noop")], name="mine")
    execution, _ = services.execution_start(workflow=wf)
    sync_executor.queue.clear()
    task = TaskExecution.objects.get(execution=execution)
    TaskExecution.objects.filter(pk=task.pk).update(status=T.RUNNING, started_at=later(-5),
                                                    lease_expires_at=later(-1))
    with connection.cursor() as cursor:
        cursor.execute("CREATE FUNCTION flowpilot_test_deadlock() RETURNS trigger AS $$ BEGIN "
                       "RAISE EXCEPTION 'deadlock detected' USING ERRCODE = '40P01'; END $$ LANGUAGE plpgsql")
        cursor.execute(f"CREATE TRIGGER flowpilot_test_deadlock BEFORE UPDATE ON {TaskExecution._meta.db_table} "
                       f"FOR EACH ROW WHEN (OLD.id = '{task.pk}' AND NEW.error_message LIKE 'worker lost%') "
                       "EXECUTE FUNCTION flowpilot_test_deadlock()")
    report = sweep(now=later(1))
    assert report.workers_lost == 0 and report.rows_failed == 1
    execution.refresh_from_db()
    assert execution.status == E.RUNNING and TaskExecution.objects.get(pk=task.pk).status == T.RUNNING
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TRIGGER flowpilot_test_deadlock ON {TaskExecution._meta.db_table}")
    assert sweep(now=later(2)).workers_lost == 1
