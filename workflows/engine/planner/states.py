"""The two state machines (execution and task): their statuses, allowed transitions, the event each
one emits, and the rules that follow from the table. Pure data and functions, no ORM: the one writer
of `status` (engine/transitions.py) checks every move against this table, the models take their
choices from these enums, and the log, the live monitor (workflows/live.py) and the metrics
(monitoring/prometheus.py) read the status an event leaves behind from STATUS_OF.

The rules that follow from the table live here too: which actions a run may take now
(`allowed_actions`, which the API serves and the retry/cancel services decide by), and which attempt
is a step's latest (`latest_attempts`).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from ...errors import Conflict


class InvalidTransition(Conflict):
    """A status change the state machine does not allow. A Conflict (409 in the house error shape):
    a request that raced a change of the row, or a rule checked too loosely upstream, is refused
    and changes nothing (the transaction rolls back), never answered as a server error."""

    def __init__(self, kind: str, source: str, target: str):
        self.kind, self.source, self.target = kind, source, target
        source, target = str(source), str(target)  # the plain values, as the API shows statuses
        super().__init__(f"{kind} cannot go from {source!r} to {target!r}",
                         extra={"transition": {"kind": kind, "source": source, "target": target}})


class _StatusType(enum.EnumType):
    """What the models, filters and commands read off a status enum, as Django's TextChoices offers
    it, without importing the ORM: `values`, and `choices` ((value, label) pairs; the label is the
    capitalised value, as the migrations record it)."""

    @property
    def values(cls) -> list[str]:
        return [member.value for member in cls]

    @property
    def choices(cls) -> list[tuple[str, str]]:
        return [(member.value, member.label) for member in cls]


class Status(enum.StrEnum, metaclass=_StatusType):
    @property
    def label(self) -> str:
        return self.value.capitalize()


class ExecutionStatus(Status):
    PENDING = "pending"  # created; waiting for a concurrency slot
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    PAUSED = "paused"  # starts no new step until unpaused (docs/adr/0033-pause-and-resume.md)


class TaskStatus(Status):
    PENDING = "pending"  # waiting for its dependencies, or for its retry time (wake_at)
    QUEUED = "queued"  # a message was sent; the row is the outbox
    RUNNING = "running"  # claimed by a worker, under a lease
    WAITING = "waiting"  # a durable timer or a signal; holds no worker
    RETRYING = "retrying"  # a new attempt, due at wake_at (backoff)
    COMPLETED = "completed"
    FAILED = "failed"
    SKIPPED = "skipped"
    CANCELLED = "cancelled"


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
        (E.COMPLETED, E.PENDING),  # rerun from a step: that step and its descendants run again
        (E.CANCELLED, E.PENDING),  # retry of a cancelled run resumes where it stopped
        (E.FAILED, E.CANCELLED),  # given up: out of the bulk-retry selections
        (E.PENDING, E.PAUSED),  # pause: a run not started yet stays unstarted
        (E.RUNNING, E.PAUSED),  # pause: steps running finish, nothing new starts
        (E.PAUSED, E.RUNNING),  # unpause a run paused while running: it carries on where it stopped
        (E.PAUSED, E.PENDING),  # unpause a run paused before it started: admission again
        (E.PAUSED, E.CANCELLED),
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
    "edit": E.PENDING,  # retry with {"overrides": ...}: this run's input or a step's config changed
    "cancel": E.CANCELLED,  # stop: no new step starts (services.execution_cancel)
    "rerun": E.PENDING,  # re-open from a step: it and its descendants run again (services.execution_rerun)
    "pause": E.PAUSED,  # start no new step, fire no timer (services.execution_pause)
    "unpause": E.RUNNING,  # carry on where it stopped (services.execution_unpause; to pending if it never started)
}
# Actions that take their transition from some of its sources only: a completed run has nothing to
# resume (retry, edit), but may be re-opened from a step (rerun).
ACTION_SOURCES: dict[str, frozenset[str]] = {
    "retry": frozenset({E.FAILED, E.CANCELLED}),
    "edit": frozenset({E.FAILED, E.CANCELLED}),
    "rerun": frozenset({E.COMPLETED, E.FAILED, E.CANCELLED}),
    "unpause": frozenset({E.PAUSED}),
}
# Actions a code workflow's run does not take: its steps are visits the code names as it runs, not a
# graph with configs (docs/adr/0025-rerun-from-a-step-and-edit-and-resume.md).
DESIGNED_ONLY_ACTIONS = frozenset({"edit", "rerun"})
# Actions a run that went through compensation does not take: its completed steps were undone, so
# resuming at its failed steps (or re-opening it from one) would build on work that no longer
# stands; replay it or start a new run instead (docs/adr/0035-compensation.md).
NOT_AFTER_COMPENSATION = frozenset({"retry", "edit", "rerun"})

# Actions that leave the run as it is and start something new from it, allowed once the run is over:
# "replay" (a dry run of it, services.execution_replay; docs/adr/0026).
FINISHED_RUN_ACTIONS = ("replay",)
ALL_EXECUTION_ACTIONS = (*EXECUTION_ACTIONS, *FINISHED_RUN_ACTIONS)

TABLES = {"execution": EXECUTION_TRANSITIONS, "task": TASK_TRANSITIONS}

# The event each transition emits, by (kind, target status). The names are read by the UI, the
# WebSocket clients and the metrics: add a line when a target is added, never rename one.
TRANSITION_EVENTS: dict[tuple[str, str], str] = {
    ("execution", E.PENDING): "execution.retried",  # failed or cancelled -> pending: a retry
    ("execution", E.RUNNING): "execution.started",
    ("execution", E.COMPLETED): "execution.completed",
    ("execution", E.FAILED): "execution.failed",
    ("execution", E.CANCELLED): "execution.cancelled",
    ("execution", E.PAUSED): "execution.paused",
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
# The event of a move named by where it comes from rather than where it goes: an unpause goes back to
# running (or pending) but is no start and no retry.
SOURCE_EVENTS: dict[tuple[str, str, str], str] = {
    ("execution", E.PAUSED, E.RUNNING): "execution.unpaused",
    ("execution", E.PAUSED, E.PENDING): "execution.unpaused",
}
STATUS_OF: dict[str, str] = {event: status for (_, status), event in
                             (*TRANSITION_EVENTS.items(), *CREATION_EVENTS.items())}


def is_allowed(kind: str, source: str, target: str) -> bool:
    return (source, target) in TABLES[kind]


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


def event_of(kind: str, status: str, *, created: bool = False, source: str | None = None) -> str:
    """The event of a move to `status` (from `source`, when the table names moves from it: SOURCE_EVENTS;
    or, `created`, of a row created in it)."""
    if source is not None and (kind, source, status) in SOURCE_EVENTS:
        return SOURCE_EVENTS[(kind, source, status)]
    return (CREATION_EVENTS if created else TRANSITION_EVENTS)[(kind, status)]


def allowed_actions(status: str, *, code: bool = False, compensated: bool = False) -> list[str]:
    """The actions a run in `status` may take now: EXECUTION_ACTIONS in the table's order (`code`: the
    run is of a code workflow: no edit, no rerun; `compensated`: it entered compensation: no retry,
    edit or rerun), then FINISHED_RUN_ACTIONS once the run is over."""
    moves = [action for action, target in EXECUTION_ACTIONS.items()
             if is_allowed("execution", status, target) and status in ACTION_SOURCES.get(action, {status})
             and not (code and action in DESIGNED_ONLY_ACTIONS)
             and not (compensated and action in NOT_AFTER_COMPENSATION)]
    return moves + (list(FINISHED_RUN_ACTIONS) if status in EXECUTION_TERMINAL else [])


def check_action(status: str, action: str, *, code: bool = False, compensated: bool = False) -> None:
    """Refuse (Conflict, 409) an action the run's status does not allow: the one decision of the
    retry, rerun and cancel services, from the same table as `allowed_actions`."""
    allowed = allowed_actions(status, code=code, compensated=compensated)
    if action not in allowed:
        if compensated and action in NOT_AFTER_COMPENSATION and action in allowed_actions(status, code=code):
            raise Conflict(f"cannot {action} a run that went through compensation: its completed steps were undone, "
                           "so resuming it would build on work that no longer stands; replay it or start a new run",
                           extra={"allowed_actions": allowed})
        if code and action in DESIGNED_ONLY_ACTIONS and action in allowed_actions(status):
            raise Conflict(f"cannot {action} a run of a code workflow: its steps are visits its code names as it "
                           "runs, not a graph of configs; retry it, or start a new run",
                           extra={"allowed_actions": allowed})
        running = " while it runs; wait for it to end, or cancel it" if status in (E.PENDING, E.RUNNING, E.PAUSED) \
            and action not in ("pause", "unpause") else ""
        raise Conflict(f"cannot {action} an execution that is {status}{running} "
                       f"(allowed now: {', '.join(allowed) or 'none'})", extra={"allowed_actions": allowed})


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
