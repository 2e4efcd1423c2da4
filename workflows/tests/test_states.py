"""The state machines: every pair of statuses is either allowed by the table or refused."""

import itertools

import pytest

from workflows.errors import Conflict
from workflows.engine.events import Events
from workflows.models import LogLevel, TaskExecution, WorkflowExecution
from workflows.engine.planner.states import (
    CREATION_EVENTS,
    ACTION_SOURCES,
    EXECUTION_ACTIONS,
    EXECUTION_TRANSITIONS,
    STATUS_OF,
    TASK_TRANSITIONS,
    TRANSITION_EVENTS,
    ExecutionStatus,
    InvalidTransition,
    Note,
    TaskStatus,
    allowed_actions,
    check,
    check_action,
    event_of,
    latest_attempts,
)
from workflows.engine.transitions import transition, transition_ids, transition_rows
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


def test_terminal_statuses_have_no_way_out_except_retry_and_rerun():
    for source, target in TASK_TRANSITIONS:
        assert source not in {TaskStatus.COMPLETED, TaskStatus.FAILED, TaskStatus.SKIPPED, TaskStatus.CANCELLED}
    out_of_completed = [t for s, t in EXECUTION_TRANSITIONS if s == ExecutionStatus.COMPLETED]
    assert out_of_completed == [ExecutionStatus.PENDING]  # a rerun from a step: new attempts, never a row re-opened


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


@pytest.mark.parametrize("target", [s for s in TaskStatus.values if (TaskStatus.QUEUED, s) not in TASK_TRANSITIONS])
def test_transition_ids_refuses_illegal_targets(execution, target):
    task = TaskExecution.objects.get(execution=execution)
    with pytest.raises(InvalidTransition):
        transition_ids(TaskExecution, [task.pk], TaskStatus.QUEUED, target)
    assert TaskExecution.objects.get(pk=task.pk).status == TaskStatus.QUEUED


def test_transition_ids_writes_what_transition_rows_writes(execution):
    """The hot path's UPDATE (fixed SQL on PostgreSQL, the ORM's elsewhere): conditional, the target's
    stamp, the duration from the row's own started_at, JSON as the ORM writes it, one event per note."""
    from datetime import timedelta

    from django.utils import timezone

    task = TaskExecution.objects.get(execution=execution)
    now = timezone.now()
    assert transition_ids(TaskExecution, [task.pk], TaskStatus.QUEUED, TaskStatus.RUNNING,
                          now=now - timedelta(milliseconds=1500)) == 1
    events, note = Events(), Note(execution.pk, "done by the test", task=task)
    output = {"n": [1, 2.5, None], "text": "é'\"", "nested": {"ok": True}}
    assert transition_ids(TaskExecution, [str(task.pk)], [TaskStatus.RUNNING], TaskStatus.COMPLETED, now=now,
                          output=output, branch="left", lease_expires_at=None, events=events, notes=[note]) == 1
    row = TaskExecution.objects.get(pk=task.pk)
    assert (row.status, row.completed_at, row.duration_ms, row.output, row.branch, row.lease_expires_at) == (
        TaskStatus.COMPLETED, now, 1500, output, "left", None)
    assert [(r.event, r.message, r.task_execution_id) for r in events.rows] == [("step.completed", "done by the test", task.pk)]
    # Conditional: not running any more, so nothing moves and nothing is said.
    assert transition_ids(TaskExecution, [task.pk], TaskStatus.RUNNING, TaskStatus.COMPLETED, now=now,
                          events=events, notes=[note]) == 0
    assert len(events.rows) == 1
    assert transition_ids(TaskExecution, [], TaskStatus.RUNNING, TaskStatus.COMPLETED) == 0


# --- the event of each transition -------------------------------------------------------------------

TARGETS = sorted({("execution", t) for _, t in EXECUTION_TRANSITIONS} | {("task", t) for _, t in TASK_TRANSITIONS})
PREFIX = {"execution": "execution.", "task": "step."}


@pytest.mark.parametrize("kind,target", TARGETS)
def test_every_transition_target_has_its_event_and_status_of_agrees(kind, target):
    event = event_of(kind, target)
    assert event.startswith(PREFIX[kind])
    assert STATUS_OF[event] == target


def test_the_event_table_names_only_targets_of_the_state_table_and_each_event_once():
    assert sorted(TRANSITION_EVENTS) == TARGETS
    for kind, status in CREATION_EVENTS:  # rows created in a status: a new run, the next attempt of a step
        assert status in {"execution": ExecutionStatus.values, "task": TaskStatus.values}[kind]
    names = [*TRANSITION_EVENTS.values(), *CREATION_EVENTS.values()]
    assert len(names) == len(set(names))
    assert STATUS_OF == {event: status for (_, status), event in [*TRANSITION_EVENTS.items(),
                                                                  *CREATION_EVENTS.items()]}


def test_the_event_names_the_clients_read_stay_as_they_were():
    assert STATUS_OF == {
        "step.queued": TaskStatus.QUEUED, "step.started": TaskStatus.RUNNING, "step.completed": TaskStatus.COMPLETED,
        "step.failed": TaskStatus.FAILED, "step.retry_scheduled": TaskStatus.RETRYING,
        "step.waiting": TaskStatus.WAITING, "step.skipped": TaskStatus.SKIPPED, "step.cancelled": TaskStatus.CANCELLED,
        "execution.created": ExecutionStatus.PENDING, "execution.started": ExecutionStatus.RUNNING,
        "execution.completed": ExecutionStatus.COMPLETED, "execution.failed": ExecutionStatus.FAILED,
        "execution.cancelled": ExecutionStatus.CANCELLED, "execution.retried": ExecutionStatus.PENDING,
        "execution.paused": ExecutionStatus.PAUSED,
    }


def test_an_unpause_is_named_by_where_it_comes_from():
    """paused -> running is no start and paused -> pending no retry: the event says unpaused."""
    assert event_of("execution", ExecutionStatus.RUNNING, source=ExecutionStatus.PAUSED) == "execution.unpaused"
    assert event_of("execution", ExecutionStatus.PENDING, source=ExecutionStatus.PAUSED) == "execution.unpaused"
    assert event_of("execution", ExecutionStatus.RUNNING, source=ExecutionStatus.PENDING) == "execution.started"


def test_transition_records_its_event_with_the_callers_words(execution):
    from django.db import transaction

    events = Events()
    with transaction.atomic():
        locked = WorkflowExecution.objects.select_for_update().get(pk=execution.pk)
        transition(locked, ExecutionStatus.CANCELLED, events=events,
                   note=Note(execution.pk, "Execution cancelled", level=LogLevel.WARNING, details={"user": "alice"}))
    (row,) = events.rows
    assert (row.execution_id, row.event, row.message, row.level, row.details) == (
        execution.pk, "execution.cancelled", "Execution cancelled", LogLevel.WARNING, {"user": "alice"})
    with pytest.raises(TypeError):  # an event needs its words, and words need the events to go in
        transition(locked, ExecutionStatus.PENDING, events=events)


def test_transition_rows_records_one_event_per_note_and_none_when_nothing_moved(execution):
    task = TaskExecution.objects.get(execution=execution)
    rows = TaskExecution.objects.filter(pk=task.pk)
    events = Events()
    note = Note(execution.pk, "claimed by the test", task=task)
    assert transition_rows(rows, TaskStatus.QUEUED, TaskStatus.RUNNING, events=events, notes=[note]) == 1
    assert [(r.event, r.message, r.task_execution_id, r.step_key) for r in events.rows] == [
        ("step.started", "claimed by the test", task.pk, "a")]
    assert transition_rows(rows, TaskStatus.QUEUED, TaskStatus.RUNNING, events=events, notes=[note]) == 0
    assert len(events.rows) == 1  # a claim that lost says nothing
# The product's rule, written out once more on purpose: a change of the table that changes what a
# user may do to a run shows up here, not only as a changed button.
ACTIONS_BY_STATUS = {
    "pending": ["cancel", "pause"],
    "running": ["cancel", "pause"],
    "completed": ["rerun", "replay"],  # re-open a finished run from a step; replay: a dry run (docs/adr/0026)
    "failed": ["retry", "edit", "cancel", "rerun", "replay"],  # cancel a failed run: given up, out of the bulk-retry selections
    "cancelled": ["retry", "edit", "rerun", "replay"],  # retry a cancelled run: it resumes where it stopped
    "paused": ["cancel", "unpause"],  # docs/adr/0033-pause-and-resume.md
}


@pytest.mark.parametrize("status", ExecutionStatus.values)
def test_allowed_actions_are_the_transitions_the_table_allows(status):
    assert allowed_actions(status) == ACTIONS_BY_STATUS[status]
    for action, target in EXECUTION_ACTIONS.items():
        assert (action in allowed_actions(status)) == ((status, target) in EXECUTION_TRANSITIONS
                                                        and status in ACTION_SOURCES.get(action, {status}))


@pytest.mark.parametrize("status", ExecutionStatus.values)
def test_a_code_workflows_run_is_neither_edited_nor_rerun(status):
    assert allowed_actions(status, code=True) == [a for a in ACTIONS_BY_STATUS[status] if a not in ("edit", "rerun")]
    if "rerun" in allowed_actions(status):
        with pytest.raises(Conflict, match="code workflow"):
            check_action(status, "rerun", code=True)


def test_a_running_run_is_not_rerun_and_the_refusal_says_why():
    with pytest.raises(Conflict) as refused:
        check_action(ExecutionStatus.RUNNING, "rerun")
    assert "while it runs" in refused.value.message


@pytest.mark.parametrize("status,action", list(itertools.product(ExecutionStatus.values, EXECUTION_ACTIONS)))
def test_check_action_refuses_exactly_what_allowed_actions_leaves_out(status, action):
    if action in allowed_actions(status):
        check_action(status, action)
    else:
        with pytest.raises(Conflict) as refused:
            check_action(status, action)
        assert status in refused.value.message and refused.value.status_code == 409
        assert refused.value.extra == {"allowed_actions": allowed_actions(status)}


def test_an_invalid_transition_is_a_conflict():
    with pytest.raises(Conflict) as refused:
        check("execution", ExecutionStatus.COMPLETED, ExecutionStatus.RUNNING)
    assert isinstance(refused.value, InvalidTransition) and refused.value.status_code == 409
    assert refused.value.message == "execution cannot go from 'completed' to 'running'"


class Row:
    def __init__(self, step_key: str, visit: int, attempt: int):
        self.step_key, self.visit, self.attempt = step_key, visit, attempt

    def __repr__(self) -> str:
        return f"Row({self.step_key!r}, {self.visit}, {self.attempt})"


def test_the_latest_attempt_is_the_highest_attempt_of_the_latest_visit_in_any_order():
    rows = [Row("crm", 1, 3), Row("crm", 1, 1), Row("poll", 2, 1), Row("crm", 1, 2), Row("poll", 1, 4),
            Row("only", 1, 1)]
    for ordering in itertools.permutations(rows):
        latest = latest_attempts(ordering)
        assert {key: (row.visit, row.attempt) for key, row in latest.items()} == {
            "crm": (1, 3), "poll": (2, 1), "only": (1, 1)}
    assert latest_attempts([]) == {}


def test_the_sql_form_of_the_latest_attempt_picks_the_same_rows(execution, other_user):
    # Rows as retries and a loop's visits leave them (statuses do not matter to the rule), next to a
    # second run whose rows must not count against the first's.
    other, _ = services.execution_start(workflow=active_workflow(other_user, [step("a", function="noop")]))
    TaskExecution.objects.filter(execution=other).update(visit=9, attempt=9)
    rows = [("b", 1, 1), ("b", 1, 2), ("b", 1, 3), ("poll", 1, 1), ("poll", 1, 2), ("poll", 2, 1), ("poll", 3, 1),
            ("c", 2, 1), ("c", 1, 5)]
    TaskExecution.objects.bulk_create([TaskExecution(execution=execution, step_key=key, visit=visit, attempt=attempt)
                                       for key, visit, attempt in rows])
    mine = TaskExecution.objects.filter(execution=execution)
    by_rule = {row.pk for row in latest_attempts(mine).values()}
    assert {(row.step_key, row.visit, row.attempt) for row in mine.filter(pk__in=by_rule)} == {
        ("a", 1, 1), ("b", 1, 3), ("poll", 3, 1), ("c", 2, 1)}
    assert set(mine.current().values_list("pk", flat=True)) == by_rule
