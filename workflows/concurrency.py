"""Admission: which pending executions may start, under max_concurrency and the concurrency key.

A workflow without limits starts every execution at once, without taking any shared lock. A
workflow with limits admits under a lock on its row: first in, first out, at most
`max_concurrency` running, and at most one running execution per concurrency-key value.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.utils import timezone

from .states import ExecutionStatus as E
from .states import Note, transition

if TYPE_CHECKING:
    from .events import Events
    from .models import Workflow, WorkflowExecution


def has_limits(workflow: Workflow) -> bool:
    return bool(workflow.max_concurrency or workflow.concurrency_key)


def start_now(execution: WorkflowExecution, events: Events) -> None:
    """pending -> running, and queue its first steps (caller holds the execution's lock: locked_run,
    or admit's lock on many runs at once)."""
    from .orchestrator import advance_locked

    transition(execution, E.RUNNING, error_message="", error_details={}, completed_at=None, events=events,
               note=Note(execution.pk, "Execution started" if not execution.retry_count
                         else f"Execution resumed (retry {execution.retry_count})"))
    advance_locked(execution, events)


def admit(workflow_id, events: Events, *, now=None) -> list:
    """Start the pending executions of a workflow that its limits allow now; answers their ids."""
    from .models import Workflow, WorkflowExecution

    workflow = Workflow.objects.select_for_update().get(pk=workflow_id)
    running = WorkflowExecution.objects.filter(workflow_id=workflow_id, status=E.RUNNING)
    slots = (workflow.max_concurrency - running.count()) if workflow.max_concurrency else None
    if slots is not None and slots <= 0:
        return []
    busy = set(running.exclude(concurrency_key="").values_list("concurrency_key", flat=True)) \
        if workflow.concurrency_key else set()
    chosen = []
    for candidate in WorkflowExecution.objects.filter(workflow_id=workflow_id).pending_fifo().due(now or timezone.now()) \
            .only("id", "concurrency_key").iterator(chunk_size=500):
        if candidate.concurrency_key and candidate.concurrency_key in busy:
            continue
        chosen.append(candidate.pk)
        if candidate.concurrency_key:
            busy.add(candidate.concurrency_key)
        if slots is not None and len(chosen) >= slots:
            break
    for execution in WorkflowExecution.objects.select_for_update(of=("self",)).filter(
            pk__in=chosen, status=E.PENDING).order_by("created_at"):
        start_now(execution, events)
    return chosen


def enter(execution: WorkflowExecution, events: Events, *, now=None) -> None:
    """A new (or retried) pending execution: start it now, or leave it pending for a free slot (or
    for its scheduled time: the sweeper brings it back then)."""
    now = now or timezone.now()
    if execution.scheduled_at and execution.scheduled_at > now:
        return
    if has_limits(execution.workflow):
        admit(execution.workflow_id, events, now=now)
    else:
        start_now(execution, events)


def release(execution: WorkflowExecution, events: Events) -> None:
    """An execution left `running`: its slot (and its key) may go to the next pending one."""
    if has_limits(execution.workflow):
        admit(execution.workflow_id, events)

