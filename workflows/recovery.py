"""The sweeper: repairs what crashes and lost messages leave behind, and wakes due timers.

Run every second by celery-beat (and inside the embedded process). Safe to run on many machines
at once: every move is a conditional update or is re-checked under the execution's lock.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from . import children, orchestrator
from .events import Events
from .executors import get_executor
from .models import TaskExecution
from .states import TaskStatus as T

log = logging.getLogger(__name__)
BATCH = 500


@dataclass
class SweepReport:
    retries_queued: int = 0
    timers_fired: int = 0
    workers_lost: int = 0
    messages_resent: int = 0
    parents_checked: int = 0
    scheduled_started: int = 0

    def as_dict(self) -> dict:
        return asdict(self)


def sweep(now=None) -> SweepReport:
    now = now or timezone.now()
    report = SweepReport()
    report.retries_queued = queue_due_retries(now)
    for task_id in TaskExecution.objects.due(now).filter(status=T.WAITING).values_list("pk", flat=True)[:BATCH]:
        report.timers_fired += orchestrator.wake(task_id, now=now)
    for task_id in TaskExecution.objects.lease_expired(now).values_list("pk", flat=True)[:BATCH]:
        report.workers_lost += orchestrator.take_back(
            task_id, now=now, reason="worker lost: the step's lease expired (the worker died or was killed)")
    report.messages_resent = resend_lost(now)
    report.scheduled_started = start_scheduled(now)
    for task_id in children.idle_parents(BATCH):
        report.parents_checked += children.check(task_id)
    if any(asdict(report).values()):
        log.info("sweep: %s", report.as_dict())
    return report


def queue_due_retries(now) -> int:
    """Retrying attempts whose backoff is over: retrying -> queued, then send."""
    with transaction.atomic():
        ids = list(TaskExecution.objects.due(now).filter(status=T.RETRYING).order_by("wake_at")
                   .select_for_update(skip_locked=True).values_list("pk", flat=True)[:BATCH])
        if not ids:
            return 0
        events = Events()
        for task in TaskExecution.objects.filter(pk__in=ids).only("pk", "execution_id", "step_key", "attempt"):
            events.add(task.execution_id, "step.queued", f"Step {task.step_key!r} attempt {task.attempt} queued",
                       task=task)
        events.flush()
        orchestrator.queue(ids, T.RETRYING, now=now)
    return len(ids)


def resend_lost(now) -> int:
    """Queued attempts whose message nobody picked up: it was lost (broker restart, a crash between
    commit and send), or the queue is long. Send again, waiting twice as long before each new
    re-send so that a backlog is not flooded with copies; the claim makes a duplicate harmless."""
    base = settings.FLOWPILOT_REDISPATCH_AFTER_SECONDS
    with transaction.atomic():
        candidates = (TaskExecution.objects.stale_queued(now - timedelta(seconds=base)).order_by("dispatched_at")
                      .select_for_update(skip_locked=True).values_list("pk", "dispatched_at", "dispatch_count")[:BATCH])
        ids = [pk for pk, sent, count in candidates
               if sent < now - timedelta(seconds=base * 2 ** min(max(count - 1, 0), 6))]
        if not ids:
            return 0
        TaskExecution.objects.filter(pk__in=ids, status=T.QUEUED).update(dispatched_at=now,
                                                                         dispatch_count=F("dispatch_count") + 1)
        get_executor().dispatch(ids)
    return len(ids)


def start_scheduled(now) -> int:
    """Runs scheduled for a later start (an event's offset) whose time has come."""
    from . import concurrency
    from .models import WorkflowExecution

    started = 0
    for execution_id in WorkflowExecution.objects.scheduled_due(now).order_by("scheduled_at") \
            .values_list("pk", flat=True)[:BATCH]:
        with transaction.atomic():
            execution = WorkflowExecution.objects.select_for_update(of=("self",)).select_related("workflow") \
                .filter(pk=execution_id, status="pending").first()
            if execution is None:
                continue
            events = Events()
            concurrency.enter(execution, events, now=now)
            events.flush()
            started += 1
    return started
