"""Admission: which pending executions may start, under max_concurrency and the concurrency key.

A workflow without limits starts every execution at once, without taking any shared lock. A
workflow with limits admits under a lock on its row: highest priority first (limits.priority, with
aging: engine/admission.py's `ordered`; first in, first out among equals), at most `max_concurrency`
running, and at most one running execution per concurrency-key value. `limits.concurrency` is
admitted by engine/admission.py, under its own lock row.
The choice is made here; starting the chosen runs is the orchestrator's (orchestrator.admit).
"""

from __future__ import annotations

from django.utils import timezone

from ..models import Workflow, WorkflowExecution
from .admission import aging_seconds, pending_in_order


def has_limits(workflow: Workflow) -> bool:
    return bool(workflow.max_concurrency or workflow.concurrency_key)


def choose(workflow_id, *, now=None) -> list:
    """The pending executions of a workflow that its limits let start now, highest priority first, then
    first in first out (the workflow's row locked until the transaction ends: one admission at a time
    per workflow)."""
    workflow = Workflow.objects.select_for_update().get(pk=workflow_id)
    running = WorkflowExecution.objects.filter(workflow_id=workflow_id).holding_slots()
    slots = (workflow.max_concurrency - running.count()) if workflow.max_concurrency else None
    if slots is not None and slots <= 0:
        return []
    busy = set(running.exclude(concurrency_key="").values_list("concurrency_key", flat=True)) \
        if workflow.concurrency_key else set()
    chosen = []
    for candidate in pending_in_order(WorkflowExecution.objects.filter(workflow_id=workflow_id), now or timezone.now(),
                                      aging_seconds()):
        if candidate.concurrency_key and candidate.concurrency_key in busy:
            continue
        chosen.append(candidate.pk)
        if candidate.concurrency_key:
            busy.add(candidate.concurrency_key)
        if slots is not None and len(chosen) >= slots:
            break
    return chosen
