"""Waiting is free: a sweep's work does not grow with the number of waiting runs (issue 14; ADR 14).

Counted, not timed: the queries of one `sweep()` with nothing due are the same with 0 and with 200
waiting runs (timers, signals, parents waiting for running children); due rows are still woken.
benchmarks/scale.py measures the same with 1,000,000.
"""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from workflows.engine.planner.states import ExecutionStatus as E
from workflows.engine.planner.states import TaskStatus as T
from workflows.models import WAITING_FOR_CHILDREN, TaskExecution, WorkflowExecution, WorkflowVersion
from workflows.services import recovery
from workflows.services.recovery import sweep
from workflows.tests.factories import active_workflow, step

pytestmark = pytest.mark.django_db


@pytest.fixture
def workflows(user):
    timer = active_workflow(user, [step("wait", "delay", config={"seconds": 3600})], name="timer")
    signal = active_workflow(user, [step("payment", "wait_for_signal", config={"signal": "payment"})], name="signal")
    return timer, signal


def add_waiting(workflows, count: int, *, parents: int = 0) -> list[TaskExecution]:
    """`count` runs waiting on a timer an hour away or a signal, and `parents` runs waiting for a running
    child run: rows as the engine leaves them, written in bulk."""
    timer, signal = workflows
    versions = {w.pk: WorkflowVersion.objects.get(workflow=w) for w in workflows}
    now = timezone.now()
    kinds = ["timer" if i % 2 == 0 else "signal" for i in range(count)] + ["parent"] * parents
    runs = WorkflowExecution.objects.bulk_create([
        WorkflowExecution(workflow=w, workflow_version=versions[w.pk], status=E.RUNNING, started_at=now)
        for w in (timer if kind != "signal" else signal for kind in kinds)])
    tasks = TaskExecution.objects.bulk_create([
        TaskExecution(execution=run, status=T.WAITING, step_key="payment" if kind == "signal" else "wait",
                      task_type={"timer": "delay", "signal": "wait_for_signal", "parent": "sub_workflow"}[kind],
                      wake_at=now + timedelta(hours=1) if kind == "timer" else None,
                      signal_name={"timer": "", "signal": "payment", "parent": WAITING_FOR_CHILDREN}[kind],
                      output={"on_timeout": "branch"} if kind == "signal" else {})
        for run, kind in zip(runs, kinds)])
    version = versions[timer.pk]
    WorkflowExecution.objects.bulk_create([  # each parent's child is still running: not idle
        WorkflowExecution(workflow=timer, workflow_version=version, status=E.RUNNING, started_at=now,
                          parent_task=task, child_index=0)
        for task in tasks if task.signal_name == WAITING_FOR_CHILDREN])
    return tasks


def queries_of_one_sweep(now) -> tuple[int, recovery.SweepReport]:
    with CaptureQueriesContext(connection) as captured:
        report = sweep(now=now)
    return len(captured.captured_queries), report


def test_a_sweep_costs_the_same_queries_with_0_and_200_waiting_runs(workflows):
    now = timezone.now()
    empty, report = queries_of_one_sweep(now)
    assert not any(report.as_dict().values())

    add_waiting(workflows, 200, parents=20)
    full, report = queries_of_one_sweep(now)
    assert not any(report.as_dict().values())  # nothing was due, nothing was done
    assert full == empty
    assert TaskExecution.objects.filter(status=T.WAITING).count() == 220


def test_due_rows_among_many_waiting_ones_are_still_woken(workflows):
    tasks = add_waiting(workflows, 200)
    timers = [t for t in tasks if not t.signal_name][:3]
    timed_out = [t for t in tasks if t.signal_name == "payment"][:2]
    past = timezone.now() - timedelta(seconds=1)
    TaskExecution.objects.filter(pk__in=[t.pk for t in timers + timed_out]).update(wake_at=past)

    report = sweep(now=timezone.now())

    assert report.timers_fired == 5 and report.rows_failed == 0
    woken = {t.pk: t for t in TaskExecution.objects.filter(pk__in=[t.pk for t in timers + timed_out])}
    assert all(woken[t.pk].status == T.COMPLETED for t in timers + timed_out)
    assert all(woken[t.pk].branch == "timeout" for t in timed_out)
    assert set(WorkflowExecution.objects.filter(pk__in=[t.execution_id for t in timers + timed_out])
               .values_list("status", flat=True)) == {E.COMPLETED}
    assert TaskExecution.objects.filter(status=T.WAITING).count() == 195  # the others still wait
    assert not any(sweep(now=timezone.now()).as_dict().values())  # and the next sweep has nothing to do


def test_the_parents_phase_walks_waiting_parents_a_window_per_sweep(workflows, monkeypatch):
    """Parents whose children run are not read all at once: a window per sweep, until the idle
    one (its child finished, its check lost) is found."""
    monkeypatch.setattr(recovery, "PARENTS_WINDOW", 3)
    monkeypatch.setattr(recovery, "_parents_after", None)
    parents = sorted(add_waiting(workflows, 0, parents=7), key=lambda t: t.pk)
    idle = parents[-1]  # the last in the walk's order: found only by the third window
    WorkflowExecution.objects.filter(parent_task=idle).update(status=E.COMPLETED)
    checked = []
    monkeypatch.setattr(recovery.child_runs, "check", lambda task_id: checked.append(task_id) or False)

    counts = [queries_of_one_sweep(timezone.now())[0] for _ in range(3)]

    assert checked == [idle.pk]
    assert counts[0] == counts[1]  # a window costs the same wherever it is (the third one handled a row)
    assert recovery._parents_after is None  # the third window reached the end: the next starts over
    sweep(now=timezone.now())
    assert checked == [idle.pk]  # a window without it
