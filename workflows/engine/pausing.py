"""Pause and resume a run (docs/adr/0033-pause-and-resume.md): the moves under the run's lock.

A paused run starts no new step: `advance` does nothing for a run that is not running, so what a
finishing step makes ready waits; its queued, waiting and retrying attempts are `held`, a flag the
claim refuses (the message is acked and does nothing, the row stays queued: the outbox) and the
sweeper's partial indexes leave out (a timer keeps its due time and fires once the run is unpaused; a
million paused timers cost the sweeper nothing). Steps already running finish and record their
result. Unpausing clears the flags, sends the held queued attempts again and advances the run.
"""

from __future__ import annotations

from django.db.models import F
from django.utils import timezone

from flowpilot import idle

from ..models import TaskExecution, WorkflowExecution
from .events import Events
from .executors import get_executor
from .planner.states import ExecutionStatus as E
from .planner.states import Note
from .planner.states import TaskStatus as T
from .transitions import transition

# The attempts a pause holds: the ones that would move without the run deciding (a claim, a timer, a retry).
HELD_STATUSES = (T.QUEUED, T.WAITING, T.RETRYING)


def hold(execution: WorkflowExecution, events: Events, *, by: str = "", why: str = "") -> None:
    """pending or running -> paused, holding its queued, waiting and retrying attempts (caller holds
    the run's lock: locked_run)."""
    source = execution.status
    transition(execution, E.PAUSED, paused_from=source, events=events,
               note=Note(execution.pk, f"Execution paused{f' by {by}' if by else ''}{f' ({why})' if why else ''}",
                         details={"user": by, "from": source, "reason": why}))
    TaskExecution.objects.filter(execution_id=execution.pk, status__in=HELD_STATUSES, held=False).update(held=True)


def release(execution: WorkflowExecution, events: Events, *, by: str = "", now=None) -> str:
    """paused -> the status it was paused from (running, or pending if it had not started): its held
    attempts are let go (queued ones sent again; due timers and retries are the sweeper's next pass).
    Answers the status; the caller advances a running run (or admits a pending one)."""
    now = now or timezone.now()
    target = E.PENDING if execution.paused_from == E.PENDING else E.RUNNING
    transition(execution, target, paused_from="", events=events,
               note=Note(execution.pk, f"Execution unpaused{f' by {by}' if by else ''}",
                         details={"user": by, "status": str(target)}))
    held = TaskExecution.objects.filter(execution_id=execution.pk, held=True)
    queued = list(held.filter(status=T.QUEUED).values_list("pk", flat=True))
    held.update(held=False)
    if queued:
        TaskExecution.objects.filter(pk__in=queued, status=T.QUEUED).update(
            dispatched_at=now, dispatch_count=F("dispatch_count") + 1)
        get_executor().dispatch(queued)
    get_executor().after_commit(idle.work_arrived)  # a resting embedded sweeper: due timers to fire
    return target


def is_paused(execution: WorkflowExecution) -> bool:
    return execution.status == E.PAUSED
