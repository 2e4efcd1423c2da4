"""The sweeper: repairs what crashes and lost messages leave behind, and wakes due timers.

Run every second by celery-beat (and inside the embedded process). Safe to run on many machines
at once: every move is a conditional update or is re-checked under the execution's lock.

One bad row never stops the others: each phase, and each row of it, runs in its own savepoint. A row
that makes its phase raise (a definition stored corrupt, a number out of range) is logged and set
aside (its attempt and its run end with an error naming the phase), or, if even that fails, skipped
and counted; the rows and phases after it run in the same sweep. A transient database error (a
deadlock, a lost connection) only skips the row until the next sweep. `row_failed` (a signal: phase, row,
error) is how monitoring counts them (flowpilot_sweep_row_failures_total).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import timedelta

from django.conf import settings
from django.db import InterfaceError, OperationalError, transaction
from django.db.models import F
from django.dispatch import Signal
from django.utils import timezone

from . import child_runs
from ..engine import children, orchestrator
from ..engine import definition as definitions
from ..engine.events import Events
from ..engine.executors import get_executor
from ..models import TaskExecution, WorkflowExecution
from ..engine.planner.states import TASK_ACTIVE
from ..engine.planner.states import ExecutionStatus as E
from ..engine.planner.states import Note
from ..engine.planner.states import TaskStatus as T

log = logging.getLogger(__name__)
BATCH = 500
# Waiting parents (child runs) looked at per sweep: the phase walks them all, a window per sweep.
PARENTS_WINDOW = 2000
# A row that hit one of these (a deadlock, a serialization failure, a lost connection) is not bad: it
# is skipped, counted, and handled by a later sweep, never set aside.
TRANSIENT = (OperationalError, InterfaceError)
# Sent once per row a phase could not handle: sender is the phase's name, with `row` (its id),
# `error` (the exception) and `set_aside` (whether its attempt and run were ended).
row_failed = Signal()


@dataclass
class SweepReport:
    retries_queued: int = 0
    timers_fired: int = 0
    workers_lost: int = 0
    messages_resent: int = 0
    parents_checked: int = 0
    scheduled_started: int = 0
    throttled_queued: int = 0  # ready attempts held back by their step's limits, queued now
    rows_failed: int = 0  # rows a phase could not handle (logged, set aside or skipped)

    def as_dict(self) -> dict:
        return asdict(self)


def sweep(now=None) -> SweepReport:
    now = now or timezone.now()
    report = SweepReport()
    report.retries_queued = _batch_phase("retries", report, now, queue_due_retries,
                                         lambda: _due_retries(now).values_list("pk", flat=True)[:BATCH])
    report.timers_fired = _row_phase(
        "timers", report, now,
        lambda: TaskExecution.objects.due(now).filter(status=T.WAITING).order_by("wake_at")
        .values_list("pk", flat=True)[:BATCH],
        lambda task_id: orchestrator.wake(task_id, now=now))
    report.workers_lost = _row_phase(
        "leases", report, now,
        lambda: TaskExecution.objects.lease_expired(now).order_by("lease_expires_at")
        .values_list("pk", flat=True)[:BATCH],
        lambda task_id: orchestrator.take_back(
            task_id, now=now, reason="worker lost: the step's lease expired (the worker died or was killed)"))
    report.throttled_queued = _row_phase(
        "throttled", report, now,
        lambda: TaskExecution.objects.throttled_due(now).order_by("wake_at").values_list("pk", flat=True)[:BATCH],
        lambda task_id: orchestrator.queue_throttled(task_id, now=now))
    report.messages_resent = _batch_phase("resend", report, now, resend_lost,
                                          lambda: _stale_queued(now).values_list("pk", flat=True)[:BATCH])
    report.scheduled_started = _row_phase(
        "scheduled", report, now,
        lambda: WorkflowExecution.objects.scheduled_due(now).order_by("scheduled_at").values_list("pk", flat=True)[:BATCH],
        lambda execution_id: start_scheduled_one(execution_id, now=now), rows_are="executions")
    report.parents_checked = _row_phase("parents", report, now, _idle_parents, child_runs.check)
    if any(asdict(report).values()):
        log.info("sweep: %s", report.as_dict())
    return report


def nothing_in_flight() -> bool:
    """No run unfinished and no attempt queued, running, waiting or retrying: nothing a sweep could
    have to do until something starts (the embedded sweeper rests then; flowpilot/idle.py)."""
    return not (WorkflowExecution.objects.filter(status__in=[E.PENDING, E.RUNNING]).exists()
                or TaskExecution.objects.filter(status__in=TASK_ACTIVE).exists())


# --- isolation ---------------------------------------------------------------------------------

def _row_phase(phase: str, report: SweepReport, now, candidates: Callable[[], list],
               handle: Callable[[object], bool], *, rows_are: str = "tasks") -> int:
    """Each candidate row handled in its own savepoint; a row that raises is set aside."""
    try:
        ids = list(candidates())
    except Exception:
        log.exception("sweep: phase %r could not list its rows; the other phases go on", phase)
        report.rows_failed += 1
        row_failed.send(phase, row=None, error=None, set_aside=False)
        return 0
    done = 0
    for pk in ids:
        try:
            with transaction.atomic():
                done += int(bool(handle(pk)))
        except TRANSIENT as exc:
            report.rows_failed += 1
            log.warning("sweep: phase %r skipped %s %s after a transient database error (%s); a later sweep "
                        "handles it", phase, rows_are[:-1], pk, exc)
            row_failed.send(phase, row=str(pk), error=exc, set_aside=False)
        except Exception as exc:
            _set_aside(phase, report, pk, exc, rows_are=rows_are, now=now)
    return done


def _batch_phase(phase: str, report: SweepReport, now, handle: Callable[..., int],
                 candidates: Callable[[], list]) -> int:
    """The whole batch in one savepoint (the fast path); if it raises, row by row, to set aside only
    the rows that raise."""
    try:
        with transaction.atomic():
            return handle(now)
    except Exception:
        log.warning("sweep: phase %r failed as a batch; going row by row", phase, exc_info=True)
    return _row_phase(phase, report, now, candidates, lambda pk: handle(now, only=[pk]))


def _set_aside(phase: str, report: SweepReport, pk, exc: Exception, *, rows_are: str, now) -> None:
    report.rows_failed += 1
    log.error("sweep: phase %r could not handle %s %s; setting it aside", phase, rows_are[:-1], pk, exc_info=exc)
    message = (f"The sweeper could not handle this run ({phase}): {type(exc).__name__}: {exc}")[:2000]
    details = {"type": "SweepError", "retryable": False, "phase": phase, "error": type(exc).__name__}
    set_aside = False
    try:
        with transaction.atomic():
            if rows_are == "executions":
                set_aside = orchestrator.set_aside(pk, message=message, details=details, now=now)
            else:
                execution_id = TaskExecution.objects.values_list("execution_id", flat=True).get(pk=pk)
                set_aside = orchestrator.set_aside(execution_id, task_id=pk, message=message, details=details,
                                                   now=now)
    except Exception:
        log.exception("sweep: phase %r could not set %s %s aside either; skipped", phase, rows_are[:-1], pk)
    row_failed.send(phase, row=str(pk), error=exc, set_aside=set_aside)


# --- the phases ----------------------------------------------------------------------------------

def _due_retries(now):
    return TaskExecution.objects.due(now).filter(status=T.RETRYING).order_by("wake_at")


def _stale_queued(now):
    return TaskExecution.objects.stale_queued(now - timedelta(seconds=settings.FLOWPILOT_REDISPATCH_AFTER_SECONDS)) \
        .order_by("dispatched_at")


_parents_after = None  # where this process's next parents window starts (None: the first parent)


def _idle_parents() -> list:
    global _parents_after
    idle, after = children.idle_parents(PARENTS_WINDOW, after=_parents_after)
    if len(idle) > BATCH:  # more than a batch: the next sweep goes on after the last one handled
        idle, after = idle[:BATCH], idle[BATCH - 1]
    _parents_after = after
    return idle


def queue_due_retries(now, *, only: list | None = None) -> int:
    """Retrying attempts whose backoff is over: retrying -> queued, then send. `only`: these rows."""
    with transaction.atomic():
        due = _due_retries(now) if only is None else _due_retries(now).filter(pk__in=only)
        ids = list(due.select_for_update(skip_locked=True).values_list("pk", flat=True)[:BATCH])
        if not ids:
            return 0
        events = Events()
        tasks = list(TaskExecution.objects.filter(pk__in=ids).select_related("execution__workflow"))
        limited = [task for task in tasks if definitions.for_version(
            task.execution.workflow_version_id).steps[task.step_key].limits]
        queued = len(tasks) - len(limited)
        if limited:  # attempts of steps with their own limits: through their gate, run by run
            for task in limited:
                queued += orchestrator.queue_steps(
                    task.execution, definitions.for_version(task.execution.workflow_version_id), [task],
                    T.RETRYING, now=now, events=events,
                    notes=[Note(task.execution_id, f"Step {task.step_key!r} attempt {task.attempt} queued", task=task)])
            tasks = [task for task in tasks if task not in limited]
        if tasks:
            orchestrator.queue([task.pk for task in tasks], T.RETRYING, now=now, events=events, notes=[
                Note(task.execution_id, f"Step {task.step_key!r} attempt {task.attempt} queued", task=task)
                for task in tasks])
        events.flush()
    return queued


def resend_lost(now, *, only: list | None = None) -> int:
    """Queued attempts whose message nobody picked up: it was lost (broker restart, a crash between
    commit and send), or the queue is long. Send again, waiting twice as long before each new
    re-send so that a backlog is not flooded with copies; the claim makes a duplicate harmless."""
    base = settings.FLOWPILOT_REDISPATCH_AFTER_SECONDS
    with transaction.atomic():
        stale = _stale_queued(now) if only is None else _stale_queued(now).filter(pk__in=only)
        candidates = stale.select_for_update(skip_locked=True).values_list("pk", "dispatched_at", "dispatch_count")[:BATCH]
        ids = [pk for pk, sent, count in candidates
               if sent < now - timedelta(seconds=base * 2 ** min(max(count - 1, 0), 6))]
        if not ids:
            return 0
        TaskExecution.objects.filter(pk__in=ids, status=T.QUEUED).update(dispatched_at=now,
                                                                         dispatch_count=F("dispatch_count") + 1)
        get_executor().dispatch(ids)
    return len(ids)


def start_scheduled_one(execution_id, *, now) -> bool:
    """A run scheduled for a later start (an event's offset) whose time has come."""
    # Admission starts (and advances) it, or leaves it pending for a free slot.
    with orchestrator.locked_run(execution_id, advance=False, status=E.PENDING) as run:
        if run is None:
            return False
        orchestrator.enter(run.execution, run.events, now=now)
        return True
