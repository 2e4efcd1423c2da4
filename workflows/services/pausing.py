"""Pause and resume runs: one, a selection, or every run of a workflow (docs/adr/0033-pause-and-resume.md).

The moves are the engine's (engine/pausing.py), each under the run's lock; which runs may be paused
or unpaused is the state table's (`pause`, `unpause` in allowed_actions).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from .. import bounds, selectors
from ..engine import pausing
from ..engine.orchestrator import enter, locked_run
from ..engine.planner.states import ExecutionStatus as E
from ..engine.planner.states import check_action
from ..errors import Conflict, InvalidInput
from ..models import Workflow, WorkflowExecution


def _who(user) -> str:
    return getattr(user, "username", "") or ""


def execution_pause(*, execution: WorkflowExecution, user=None, why: str = "") -> WorkflowExecution:
    """Pause a pending or running run: no new step starts, its timers and retries wait (keeping their
    due time), its queued steps are not claimed; steps already running finish and record their result.
    Conflict (409) from any other status."""
    with locked_run(execution.pk, advance=False) as run:
        check_action(run.execution.status, "pause")
        pausing.hold(run.execution, run.events, by=_who(user), why=why)
    return run.execution


def execution_unpause(*, execution: WorkflowExecution, user=None) -> WorkflowExecution:
    """Carry on where the run stopped: what became ready is queued, held queued steps are sent again,
    due timers fire at the sweeper's next pass; a run paused before it started goes through admission.
    Conflict (409) unless paused."""
    with locked_run(execution.pk, advance=False) as run:
        check_action(run.execution.status, "unpause")
        if pausing.release(run.execution, run.events, by=_who(user)) == E.PENDING:
            enter(run.execution, run.events)
        else:
            run.advance_after()  # the whole run decided: steps made ready while paused are queued
    return run.execution


@dataclass(frozen=True)
class BulkPause:
    """What a bulk pause or unpause did (or, dry, would do): the runs moved, and the runs that had
    moved meanwhile (ended, or paused by someone else) with why."""

    execution_ids: list
    refused: dict  # execution id -> message


def executions_pause(*, executions, unpause: bool = False, step_key: str | None = None,
                     error_contains: str | None = None, host: str | None = None, dry_run: bool = False,
                     user=None) -> BulkPause:
    """Pause (or `unpause`) each selected run (selectors.runs_to_pause). At most bounds.max_bulk_pause()
    runs: a larger selection is refused whole (InvalidInput), never cut. Each run in its own
    transaction, under its lock."""
    selected = selectors.runs_to_pause(executions, step_key=step_key, error_contains=error_contains, host=host,
                                       paused=unpause)
    most = bounds.max_bulk_pause()
    ids = list(selected.order_by("created_at").values_list("pk", flat=True)[:most + 1])
    if len(ids) > most:
        raise InvalidInput(f"the selection has more than {most} runs; a bulk {'un' if unpause else ''}pause takes at "
                           f"most {most}: narrow it (execution_ids, workflow_id, step_key, host)",
                           fields={"execution_ids": [f"at most {most} runs"]})
    if dry_run:
        return BulkPause(ids, {})
    done, refused = [], {}
    act = execution_unpause if unpause else execution_pause
    for execution_id in ids:
        try:
            act(execution=WorkflowExecution(pk=execution_id), user=user)
        except Conflict as exc:
            refused[execution_id] = exc.message
            continue
        done.append(execution_id)
    return BulkPause(done, refused)


def workflow_pause(*, workflow: Workflow, user=None) -> BulkPause:
    """Pause the workflow: its runs in flight are paused, and its new runs start paused, until
    workflow_unpause. Runs in flight beyond bounds.max_bulk_pause() are paused too, a batch at a time."""
    Workflow.objects.filter(pk=workflow.pk).update(paused=True)
    workflow.paused = True
    return _all_runs(workflow, unpause=False, user=user)


def workflow_unpause(*, workflow: Workflow, user=None) -> BulkPause:
    """Unpause the workflow and every paused run of it (paused one by one or with it)."""
    Workflow.objects.filter(pk=workflow.pk).update(paused=False)
    workflow.paused = False
    return _all_runs(workflow, unpause=True, user=user)


def _all_runs(workflow: Workflow, *, unpause: bool, user) -> BulkPause:
    done, refused = [], {}
    act = execution_unpause if unpause else execution_pause
    seen: set = set()
    while True:
        batch = [pk for pk in selectors.runs_to_pause(WorkflowExecution.objects.filter(workflow_id=workflow.pk),
                                                      paused=unpause)
                 .order_by("created_at").values_list("pk", flat=True)[:bounds.max_bulk_pause()] if pk not in seen]
        if not batch:
            return BulkPause(done, refused)
        for execution_id in batch:
            seen.add(execution_id)
            try:
                with transaction.atomic():
                    act(execution=WorkflowExecution(pk=execution_id), user=user)
            except Conflict as exc:
                refused[execution_id] = exc.message
                continue
            done.append(execution_id)
