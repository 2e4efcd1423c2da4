"""The state machines: every pair of statuses is either allowed by the table or refused."""

import itertools

import pytest

from workflows.models import TaskExecution, WorkflowExecution
from workflows.states import (
    EXECUTION_TRANSITIONS,
    TASK_TRANSITIONS,
    ExecutionStatus,
    InvalidTransition,
    TaskStatus,
    check,
    transition,
    transition_rows,
)
from workflows.tests.factories import active_workflow, step
from workflows import services

EXECUTION_PAIRS = list(itertools.product(ExecutionStatus.values, repeat=2))
TASK_PAIRS = list(itertools.product(TaskStatus.values, repeat=2))


@pytest.mark.parametrize("source,target", EXECUTION_PAIRS)
def test_execution_pairs_follow_the_table(source, target):
    if (source, target) in EXECUTION_TRANSITIONS:
        check("execution", source, target)
    else:
        with pytest.raises(InvalidTransition):
            check("execution", source, target)


@pytest.mark.parametrize("source,target", TASK_PAIRS)
def test_task_pairs_follow_the_table(source, target):
    if (source, target) in TASK_TRANSITIONS:
        check("task", source, target)
    else:
        with pytest.raises(InvalidTransition):
            check("task", source, target)


def test_terminal_statuses_have_no_way_out_except_retry():
    for source, target in TASK_TRANSITIONS:
        assert source not in {TaskStatus.COMPLETED, TaskStatus.FAILED, TaskStatus.SKIPPED, TaskStatus.CANCELLED}
    out_of_completed = [t for s, t in EXECUTION_TRANSITIONS if s == ExecutionStatus.COMPLETED]
    assert out_of_completed == []


@pytest.fixture
def execution(user):
    wf = active_workflow(user, [step("a", function="noop")])
    execution, _ = services.execution_start(workflow=wf)
    return execution


@pytest.mark.django_db(transaction=False)
def test_transition_refuses_an_illegal_move_and_writes_nothing(execution):
    from django.db import transaction

    with transaction.atomic():
        locked = WorkflowExecution.objects.select_for_update().get(pk=execution.pk)
        with pytest.raises(InvalidTransition):
            transition(locked, ExecutionStatus.PENDING)
    execution.refresh_from_db()
    assert execution.status == ExecutionStatus.RUNNING


def test_transition_needs_a_transaction(execution):
    from django.db import transaction

    # pytest-django wraps the test in a transaction; leave it to check the guard in autocommit.
    conn = transaction.get_connection()
    saved = conn.in_atomic_block
    conn.in_atomic_block = False
    try:
        with pytest.raises(RuntimeError):
            transition(execution, ExecutionStatus.COMPLETED)
    finally:
        conn.in_atomic_block = saved


@pytest.mark.parametrize("target", [s for s in TaskStatus.values if (TaskStatus.QUEUED, s) not in TASK_TRANSITIONS])
def test_transition_rows_refuses_illegal_targets(execution, target):
    rows = TaskExecution.objects.filter(execution=execution)
    with pytest.raises(InvalidTransition):
        transition_rows(rows, TaskStatus.QUEUED, target)
    assert rows.get().status == TaskStatus.QUEUED


def test_transition_rows_is_conditional(execution):
    rows = TaskExecution.objects.filter(execution=execution)
    assert transition_rows(rows, TaskStatus.QUEUED, TaskStatus.RUNNING) == 1
    assert transition_rows(rows, TaskStatus.QUEUED, TaskStatus.RUNNING) == 0  # a second claim does nothing
    assert rows.get().started_at is not None
