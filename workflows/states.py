"""The two state machines (execution and task), their allowed transitions, the event each one
emits, and the one writer of `status`.

Every status change in FlowPilot goes through `transition()` (one locked instance) or
`transition_rows()` (a conditional UPDATE on many rows). Both refuse a pair that is not in the table,
so an illegal transition is impossible rather than merely unlikely; given the Events of the
transaction, both record the change's event, named here (TRANSITION_EVENTS), with the caller's words.
The log, the live monitor (workflows/live.py) and the metrics (monitoring/prometheus.py) read the
status an event leaves behind from STATUS_OF, derived from the same table. The rules that follow from
the table live here too: which actions a run may take now (`allowed_actions`, which the API serves and
the retry/cancel services decide by), and which attempt is a step's latest (`latest_attempts`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from django.db import models, transaction
from django.db.models import F, Value
from django.utils import timezone

from .errors import Conflict
from .signatures import signature
from .sql import MillisecondsBetween

if TYPE_CHECKING:
    from django.db.models import Model, QuerySet

    from .events import Events


class InvalidTransition(Conflict):
    """A status change the state machine does not allow. A Conflict (409 in the house error shape):
    a request that raced a change of the row, or a rule checked too loosely upstream, is refused
    and changes nothing (the transaction rolls back), never answered as a server error."""

    def __init__(self, kind: str, source: str, target: str):
        self.kind, self.source, self.target = kind, source, target
        source, target = str(source), str(target)  # the plain values, as the API shows statuses
        super().__init__(f"{kind} cannot go from {source!r} to {target!r}",
                         extra={"transition": {"kind": kind, "source": source, "target": target}})


class ExecutionStatus(models.TextChoices):
    PENDING = "pending", "Pending"  # created; waiting for a concurrency slot
    RUNNING = "running", "Running"
    COMPLETED = "completed", "Completed"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


class TaskStatus(models.TextChoices):
    PENDING = "pending", "Pending"  # waiting for its dependencies, or for its retry time (wake_at)
    QUEUED = "queued", "Queued"  # a message was sent; the row is the outbox
    RUNNING = "running", "Running"  # claimed by a worker, under a lease
    WAITING = "waiting", "Waiting"  # a durable timer or a signal; holds no worker
    RETRYING = "retrying", "Retrying"  # a new attempt, due at wake_at (backoff)
    COMPLETED = "completed", "Completed"
    FAILED = "failed", "Failed"
    SKIPPED = "skipped", "Skipped"
    CANCELLED = "cancelled", "Cancelled"


E, T = ExecutionStatus, TaskStatus


class AttemptRow(Protocol):
    step_key: str
    visit: int
    attempt: int


R = TypeVar("R", bound=AttemptRow)  # a task execution row

EXECUTION_TRANSITIONS: frozenset[tuple[str, str]] = frozenset(
    {
        (E.PENDING, E.RUNNING),
        (E.PENDING, E.CANCELLED),
        (E.RUNNING, E.COMPLETED),
        (E.RUNNING, E.FAILED),
        (E.RUNNING, E.CANCELLED),
        (E.FAILED, E.PENDING),  # retry: resume at the failed steps, through admission again
        (E.CANCELLED, E.PENDING),  # retry of a cancelled run resumes where it stopped
        (E.FAILED, E.CANCELLED),  # given up: out of the bulk-retry selections
    }
)

TASK_TRANSITIONS: frozenset[tuple[str, str]] = frozenset(
    {
        (T.PENDING, T.QUEUED),
        (T.PENDING, T.SKIPPED),
        (T.PENDING, T.FAILED),  # its `when` could not be evaluated
        (T.PENDING, T.CANCELLED),
        (T.QUEUED, T.RUNNING),  # the claim
        (T.QUEUED, T.CANCELLED),
        (T.RUNNING, T.COMPLETED),
        (T.RUNNING, T.FAILED),  # an attempt failed (a retry is a new attempt row)
        (T.RUNNING, T.WAITING),
        (T.WAITING, T.COMPLETED),
        (T.WAITING, T.FAILED),
        (T.WAITING, T.CANCELLED),
        (T.RETRYING, T.QUEUED),
        (T.RETRYING, T.CANCELLED),
    }
)

EXECUTION_TERMINAL = frozenset({E.COMPLETED, E.FAILED, E.CANCELLED})
TASK_TERMINAL = frozenset({T.COMPLETED, T.FAILED, T.SKIPPED, T.CANCELLED})
# Statuses in which a step holds its place in the run: it will finish by itself.
TASK_ACTIVE = frozenset({T.QUEUED, T.RUNNING, T.WAITING, T.RETRYING})
# A step whose latest attempt is in one of these is not over (a tuple: an index condition names it).
TASK_OPEN = (T.PENDING, T.QUEUED, T.RUNNING, T.WAITING, T.RETRYING)

# The commands a caller may give a run as a whole (POST /api/v1/executions/<id>/<action>/), each by the
# transition it makes: an action is allowed exactly when the table allows that transition from the
# run's status, so the API's `allowed_actions`, the endpoints' refusals and the UI's buttons agree.
# (A signal, or a code workflow's @action, is for a step that waits: not decided by the run's status.)
EXECUTION_ACTIONS: dict[str, str] = {
    "retry": E.PENDING,  # resume at the failed and cancelled steps (services.execution_retry)
    "cancel": E.CANCELLED,  # stop: no new step starts (services.execution_cancel)
}

_TABLES = {"execution": EXECUTION_TRANSITIONS, "task": TASK_TRANSITIONS}

# The event each transition emits, by (kind, target status). The names are read by the UI, the
# WebSocket clients and the metrics: add a line when a target is added, never rename one.
TRANSITION_EVENTS: dict[tuple[str, str], str] = {
    ("execution", E.PENDING): "execution.retried",  # failed or cancelled -> pending: a retry
    ("execution", E.RUNNING): "execution.started",
    ("execution", E.COMPLETED): "execution.completed",
    ("execution", E.FAILED): "execution.failed",
    ("execution", E.CANCELLED): "execution.cancelled",
    ("task", T.QUEUED): "step.queued",
    ("task", T.RUNNING): "step.started",
    ("task", T.WAITING): "step.waiting",
    ("task", T.COMPLETED): "step.completed",
    ("task", T.FAILED): "step.failed",
    ("task", T.SKIPPED): "step.skipped",
    ("task", T.CANCELLED): "step.cancelled",
}
# The event of a row created in a status rather than moved to it: a new run (pending), and the next
# attempt of a step whose attempt failed (retrying; the line is about the attempt that failed).
CREATION_EVENTS: dict[tuple[str, str], str] = {
    ("execution", E.PENDING): "execution.created",
    ("task", T.RETRYING): "step.retry_scheduled",
}
# The status (of the step, or of the execution) an event leaves behind; events not named here are
# log lines (step.log, execution.signal...).
STATUS_OF: dict[str, str] = {event: status for (_, status), event in
                             (*TRANSITION_EVENTS.items(), *CREATION_EVENTS.items())}
# The timestamp each target status sets, where it has one.
_STAMPS = {
    "execution": {E.RUNNING: "started_at", E.COMPLETED: "completed_at", E.FAILED: "completed_at",
                  E.CANCELLED: "completed_at"},
    "task": {T.QUEUED: "queued_at", T.RUNNING: "started_at", T.COMPLETED: "completed_at",
             T.FAILED: "completed_at", T.SKIPPED: "completed_at", T.CANCELLED: "completed_at"},
}


def _derived(model: type[Model], fields: dict[str, Any], *, instance: Model | None = None) -> None:
    """Columns kept with what a transition writes, for the metrics (monitoring/metrics.py): the
    signature of the error it records, and the duration when it sets completed_at (from started_at:
    the instance's, or each row's in the UPDATE; none if the row never started)."""
    names = {f.name for f in model._meta.concrete_fields}
    if "error_message" in fields and "error_signature" in names:
        fields["error_signature"] = signature(fields["error_message"]) if fields["error_message"] else ""
    if "duration_ms" not in names or "completed_at" not in fields:
        return
    end = fields["completed_at"]
    if end is None:
        fields["duration_ms"] = None
    elif instance is not None:
        started = fields.get("started_at", instance.started_at)
        fields["duration_ms"] = (end - started) // timedelta(milliseconds=1) if started else None
    else:
        fields["duration_ms"] = MillisecondsBetween(F("started_at"), Value(end, output_field=models.DateTimeField()))


def is_allowed(kind: str, source: str, target: str) -> bool:
    return (source, target) in _TABLES[kind]


def check(kind: str, source: str, target: str) -> None:
    if not is_allowed(kind, source, target):
        raise InvalidTransition(kind, source, target)


@dataclass(frozen=True)
class Note:
    """What one row's status change says in the log: the caller's words. The event's name is the
    table's. `task`: the attempt the line is about (its id, step key and attempt number go with it)."""

    execution_id: Any
    message: str
    task: Any = None
    level: str = "info"
    details: Mapping[str, Any] = field(default_factory=dict)


def event_of(kind: str, status: str, *, created: bool = False) -> str:
    """The event of a move to `status` (or, `created`, of a row created in it)."""
    return (CREATION_EVENTS if created else TRANSITION_EVENTS)[(kind, status)]


def emit(events: Events, kind: str, status: str, notes: Note | Iterable[Note], *, created: bool = False) -> None:
    """Record the event of a change already written: a row created in `status` (`created`), or a
    move whose words could only be known after it (the claim reads the attempt it won)."""
    name = event_of(kind, status, created=created)
    for note in [notes] if isinstance(notes, Note) else notes:
        events.add(note.execution_id, name, note.message, level=note.level, task=note.task, **note.details)
def allowed_actions(status: str) -> list[str]:
    """The actions (EXECUTION_ACTIONS) a run in `status` may take now, in the table's order."""
    return [action for action, target in EXECUTION_ACTIONS.items() if is_allowed("execution", status, target)]


def check_action(status: str, action: str) -> None:
    """Refuse (Conflict, 409) an action the run's status does not allow: the one decision of the
    retry and cancel services, from the same table as `allowed_actions`."""
    allowed = allowed_actions(status)
    if action not in allowed:
        raise Conflict(f"cannot {action} an execution that is {status} (allowed now: {', '.join(allowed) or 'none'})",
                       extra={"allowed_actions": allowed})


def latest_attempts(rows: Iterable[R]) -> dict[str, R]:
    """The current row of each step, by step key: the highest attempt of its latest visit (a retry is
    a new attempt row, a loop's next pass a new visit). The one statement of which attempt is the
    latest: the orchestrator reads a run's state with it and the API marks `is_latest` with it
    (TaskExecutionQuerySet.current() is the same rule in SQL, tested to pick the same rows)."""
    latest: dict[str, R] = {}
    for row in rows:
        held = latest.get(row.step_key)
        if held is None or (row.visit, row.attempt) > (held.visit, held.attempt):
            latest[row.step_key] = row
    return latest


def _kind_of(model: type[Model]) -> str:
    kind = getattr(model, "state_machine", None)
    if kind not in _TABLES:
        raise TypeError(f"{model.__name__} has no state machine")
    return kind


def transition(obj: Model, target: str, *, now=None, events: Events | None = None, note: Note | None = None,
               **fields: Any) -> Model:
    """Move one row, locked by the caller (select_for_update inside atomic), to `target`.

    The stamp field of the target (started_at, completed_at...) is set unless given, and only the
    changed fields are written. With `events`, the move's event is recorded with `note`.
    """
    if (events is None) != (note is None):
        raise TypeError("transition() records its event with both `events` and a `note`, or neither")
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("transition() needs a transaction holding the row's lock")
    kind = _kind_of(type(obj))
    check(kind, obj.status, target)
    stamp = _STAMPS[kind].get(target)
    if stamp and stamp not in fields and not (target == E.RUNNING and kind == "execution"
                                               and obj.started_at):
        fields[stamp] = now or timezone.now()
    _derived(type(obj), fields, instance=obj)
    obj.status = target
    for name, value in fields.items():
        setattr(obj, name, value)
    obj.save(update_fields=["status", *fields])
    if events is not None:
        emit(events, kind, target, note)
    return obj


def transition_rows(queryset: QuerySet, source: str | Iterable[str], target: str, *, now=None,
                    events: Events | None = None, notes: Iterable[Note] = (), **fields: Any) -> int:
    """Conditionally move the rows of `queryset` that are in `source` to `target`; returns how many moved.

    The condition is in the UPDATE itself, so two workers racing for one row cannot both win.
    With `events`, the move's event is recorded with each of `notes` (one per row the caller names)
    when the UPDATE moved a row: a claim that lost says nothing.
    """
    notes = list(notes)
    if notes and events is None:
        raise TypeError("transition_rows() needs the `events` to record its notes in")
    kind = _kind_of(queryset.model)
    sources = [source] if isinstance(source, str) else list(source)
    for src in sources:
        check(kind, src, target)
    stamp = _STAMPS[kind].get(target)
    if stamp and stamp not in fields:
        fields[stamp] = now or timezone.now()
    _derived(queryset.model, fields)
    moved = queryset.filter(status__in=sources).update(status=target, **fields)
    if moved and notes:
        emit(events, kind, target, notes)
    return moved
