"""The columns the metrics read are kept by the transitions themselves (workflows/engine/planner/states.py)."""

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from workflows import services
from workflows.models import TaskExecution
from workflows.signatures import signature
from workflows.engine.planner.states import ExecutionStatus as E
from workflows.engine.planner.states import TaskStatus as T
from workflows.engine.transitions import transition, transition_rows
from workflows.tests.conftest import fresh_definition_cache, sync_executor, user  # noqa: F401 (fixtures)
from workflows.tests.factories import active_workflow, step

pytestmark = pytest.mark.django_db


def test_a_failed_run_keeps_durations_and_the_error_signature(user, sync_executor):
    wf = active_workflow(user, [step("a", function="noop"),
                                step("b", "python", function="fail", kwargs={"message": "Patient 42 exists"},
                                     depends_on=["a"], max_retries=0)])
    execution, _ = services.execution_start(workflow=wf)
    sync_executor.drain()
    execution.refresh_from_db()
    assert execution.status == E.FAILED
    a, b = (TaskExecution.objects.get(execution=execution, step_key=k) for k in "ab")
    assert b.error_signature == signature("Patient 7 exists") and a.error_signature == ""
    for row in (a, b, execution):
        assert row.duration_ms == (row.completed_at - row.started_at) // timedelta(milliseconds=1)


def test_durations_are_whole_milliseconds_from_each_rows_start(user, sync_executor):
    wf = active_workflow(user, [step("a", function="noop")])
    execution, _ = services.execution_start(workflow=wf)
    end = timezone.now()
    rows = TaskExecution.objects.bulk_create([
        TaskExecution(execution=execution, step_key="x", task_type="python", attempt=n, status=T.RUNNING,
                      started_at=end - timedelta(microseconds=us)) for n, us in ((2, 1999), (3, 2_000_001), (4, 0))])
    transition_rows(TaskExecution.objects.filter(pk__in=[r.pk for r in rows]), T.RUNNING, T.FAILED, now=end,
                    error_message="lost 3 workers")
    assert list(TaskExecution.objects.filter(step_key="x").order_by("attempt")
                .values_list("duration_ms", "error_signature")) == \
        [(1, signature("lost 1 workers")), (2000, signature("lost 1 workers")), (0, signature("lost 1 workers"))]
    # Never started: no duration. A retried run loses its old one until it ends again.
    transition_rows(TaskExecution.objects.filter(execution=execution, step_key="a"), [T.PENDING, T.QUEUED],
                    T.CANCELLED, now=end)
    assert TaskExecution.objects.get(execution=execution, step_key="a").duration_ms is None
    with transaction.atomic():
        execution.refresh_from_db()
        execution.started_at = end - timedelta(seconds=3)
        transition(execution, E.CANCELLED, now=end)
        assert execution.duration_ms == 3000
        transition(execution, E.PENDING, completed_at=None)
    execution.refresh_from_db()
    assert execution.duration_ms is None
