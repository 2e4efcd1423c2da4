"""Cancelling every unfinished run below a cancelled run (its child runs, theirs, ...), in bounded
time whatever the tree's depth: one recursive query for the tree, batched updates, no recursion.
The slots the cancelled runs free go to their workflows' next pending runs (orchestrator.admit)."""

from __future__ import annotations

import time

from django.db import transaction

from . import concurrency, lineage
from .events import Events
from ..models import WorkflowExecution, TaskExecution
from .orchestrator import admit, admit_limit
from .planner.states import ExecutionStatus as E
from .planner.states import TaskStatus as T
from .planner.states import Note
from .transitions import transition_rows

CANCEL_BATCH = 500  # runs cancelled per transaction
CANCEL_PASSES = 5  # walks of the tree; the last one waits for locks, run by run


def cancel_descendants(execution_id, *, user=None) -> int:
    """Cancel every unfinished run below a cancelled run, however deep: the tree is read with one
    recursive query and cancelled in batches (a few statements per batch, none per run, no recursion).
    Walked again until no unfinished run is left, since a run not yet cancelled may start a child
    meanwhile (a cancelled one cannot). A run the engine holds locked right now is skipped and
    taken in a later pass; the last pass waits for each such run's lock, one at a time."""
    cancelled, slots_freed = 0, set()
    for attempt in range(CANCEL_PASSES):
        remaining = lineage.unfinished_descendants([execution_id])
        if not remaining:
            break
        last = attempt == CANCEL_PASSES - 1
        batches = [[pk] for pk in remaining] if last else \
            [remaining[i:i + CANCEL_BATCH] for i in range(0, len(remaining), CANCEL_BATCH)]
        progress = 0
        for batch in batches:
            count, freed = _cancel_batch(batch, skip_locked=not last, user=user)
            progress += count
            slots_freed |= freed
        cancelled += progress
        if progress == 0 and not last:
            time.sleep(0.05 * (attempt + 1))  # every run was locked by the engine: let it commit
    for kind, which in sorted(slots_freed, key=str):  # once per workflow (or limit) with limits, not per run
        with transaction.atomic():
            events = Events()
            if kind == "limit":
                admit_limit(which, events)
            else:
                admit(which, events)
            events.flush()
    return cancelled


def _cancel_batch(ids: list, *, skip_locked: bool, user=None) -> tuple[int, set]:
    """Cancel the pending and running runs among `ids` and their unfinished steps, in one
    transaction. Answers how many were cancelled, and the workflows (with limits) and the concurrency
    limits whose slots they freed: ("workflow", id), ("limit", scope)."""
    with transaction.atomic():
        runs = list(WorkflowExecution.objects.select_for_update(of=("self",), skip_locked=skip_locked)
                    .filter(pk__in=ids, status__in=[E.PENDING, E.RUNNING]).select_related("workflow")
                    .only("id", "status", "workflow", "workflow__max_concurrency",
                          "workflow__concurrency_key", "limit_scope").order_by("pk"))
        if not runs:
            return 0, set()
        locked = [run.pk for run in runs]
        transition_rows(TaskExecution.objects.filter(execution_id__in=locked),
                        [T.PENDING, T.QUEUED, T.WAITING, T.RETRYING], T.CANCELLED, error_message="cancelled")
        events = Events()
        transition_rows(WorkflowExecution.objects.filter(pk__in=locked), [E.PENDING, E.RUNNING], E.CANCELLED,
                        events=events, notes=[Note(run.pk, "Execution cancelled with the run that started it",
                                                   details={"user": getattr(user, "username", "")}) for run in runs])
        events.flush()
    freed = {("workflow", run.workflow_id) for run in runs
             if run.status == E.RUNNING and concurrency.has_limits(run.workflow)}
    return len(runs), freed | {("limit", run.limit_scope) for run in runs if run.status == E.RUNNING and run.limit_scope}
