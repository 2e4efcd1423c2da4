"""Rerun from a step: a finished run re-opened at one step, which and whose descendants run again as
new attempts while everything upstream keeps its outputs; one run or a bounded selection
(docs/adr/0025-rerun-from-a-step-and-edit-and-resume.md)."""

from __future__ import annotations

from dataclasses import dataclass

from .. import bounds, selectors
from ..engine import definition as definitions
from ..engine.orchestrator import current_attempts, enter, locked_run
from ..engine.planner.rerun import reopen
from ..engine.planner.states import EXECUTION_TERMINAL, check_action
from ..engine.planner.states import ExecutionStatus as E
from ..engine.planner.states import Note
from ..engine.transitions import transition
from ..errors import Conflict, InvalidInput
from ..models import TaskExecution, WorkflowExecution


def check_rerun(definition, status: str, from_step: str, *, compensated: bool = False) -> None:
    """What refuses a rerun from `from_step` before the run's attempts are read: Conflict for a run that
    has not ended, a code workflow's or one that went through compensation, InvalidInput for a step its
    version does not have."""
    check_action(status, "rerun", code=definition.kind == "code", compensated=compensated)
    if from_step not in definition.steps:
        raise InvalidInput(f"from_step: {from_step!r} is not a step of this run's version "
                           f"(v{definition.number})", fields={"from_step": [
                               f"not a step of v{definition.number}; its steps: {', '.join(definition.steps)}"]})


def execution_rerun(*, execution: WorkflowExecution, from_step: str, user=None) -> WorkflowExecution:
    """Re-open a finished (completed, failed or cancelled) run at `from_step` (planner/rerun.py):
    a new attempt for it and each of its descendants that ended, and for each failed or cancelled
    step elsewhere; upstream steps keep their outputs. The run resumes on its own version, with
    its overrides, through admission as a retry does. Conflict (409) for a run that has not ended
    and for a code workflow's run; InvalidInput (400) for a step its version does not have."""
    with locked_run(execution.pk, advance=False) as run:  # admission starts (and advances) it, or it waits
        execution, events = run.execution, run.events
        definition = definitions.for_version(execution.workflow_version_id)
        check_rerun(definition, execution.status, from_step, compensated=bool(execution.phase))
        attempts = current_attempts(execution.pk)
        plan = reopen(definition.graph, {key: row.status for key, row in attempts.items()}, from_step)
        if plan.problems:
            raise Conflict(f"cannot rerun from {from_step!r}: {'; '.join(plan.problems)}",
                           extra={"problems": list(plan.problems)})
        rows = [attempts[key] for key in (*plan.again, *plan.resumed)]
        TaskExecution.objects.bulk_create([
            TaskExecution(execution_id=execution.pk, step_key=row.step_key,
                          task_type=definition.steps[row.step_key].task_type, visit=row.visit,
                          attempt=row.attempt + 1, round_first_attempt=row.attempt + 1,
                          workflow_version=definition.number)
            for row in rows])
        by = getattr(user, "username", "")
        count = execution.retry_count + 1
        events.add(execution.pk, "execution.rerun",
                   f"Rerun from step {from_step!r}{' by ' + by if by else ''} (the run was {execution.status}): "
                   f"again {', '.join(plan.again) or 'nothing'}"
                   + (f"; resumed {', '.join(plan.resumed)}" if plan.resumed else ""),
                   step_key=from_step, user=by, from_step=from_step, previous_status=execution.status,
                   steps=list(plan.again), resumed=list(plan.resumed), kept=list(plan.kept))
        transition(execution, E.PENDING, retry_count=count, completed_at=None, output={}, events=events, note=Note(
            execution.pk, f"Rerun from step {from_step!r} (resumption {count})",
            details={"from_step": from_step, "user": by, "steps": list(plan.again)}))
        enter(execution, events)
    return execution


RERUN_STATUSES = tuple(sorted(EXECUTION_TERMINAL))


@dataclass(frozen=True)
class BulkRerun:
    """What a bulk rerun did (or, dry, would do): the runs re-opened and those refused, with why."""

    execution_ids: list
    refused: dict  # execution id -> message


def executions_rerun(*, executions, from_step: str, status: str | None = None, step_key: str | None = None,
                     error_contains: str | None = None, dry_run: bool = False, user=None) -> BulkRerun:
    """Rerun each selected run from `from_step` (execution_rerun). The selection: `executions` that
    have ended (of `status` only, if given), or, with `step_key` / `error_contains`, the failed runs
    retry-failed would select. At most bounds.max_bulk_rerun() runs: a larger selection is refused
    whole (InvalidInput), never cut. A run that cannot be rerun (a code workflow's, one whose version
    has no such step, one re-opened meanwhile) is named in `refused`; the others are rerun. A dry run
    answers the runs that would be rerun and those their version refuses (a code workflow's, no such
    step), without changing anything (a run's own state is checked only when it is rerun)."""
    if status is not None and status not in RERUN_STATUSES:
        raise InvalidInput(f"status must be one of {', '.join(RERUN_STATUSES)}",
                           fields={"status": [f"must be one of {', '.join(RERUN_STATUSES)}"]})
    if step_key or error_contains:
        selected = selectors.failed_executions(executions, step_key=step_key, error_contains=error_contains)
    else:
        selected = executions.filter(status__in=[status] if status else RERUN_STATUSES)
    if status is not None:
        selected = selected.filter(status=status)
    rows = list(selected.order_by("created_at").values_list("pk", "workflow_version_id", "status")
                [:bounds.max_bulk_rerun() + 1])
    ids = [row[0] for row in rows]
    if len(ids) > bounds.max_bulk_rerun():
        raise InvalidInput(f"the selection has more than {bounds.max_bulk_rerun()} runs; a bulk rerun takes at most "
                           f"{bounds.max_bulk_rerun()}: narrow it (execution_ids, workflow_id, status, step_key)",
                           fields={"execution_ids": [f"at most {bounds.max_bulk_rerun()} runs"]})
    if dry_run:  # what the versions refuse (checked once per version and status); the rest would be rerun
        said: dict = {}
        for version_id, status_now in {(row[1], row[2]) for row in rows}:
            try:
                check_rerun(definitions.for_version(version_id), status_now, from_step)
            except (Conflict, InvalidInput) as exc:
                said[version_id, status_now] = exc.message
        refused = {pk: said[version_id, status_now] for pk, version_id, status_now in rows
                   if (version_id, status_now) in said}
        return BulkRerun([pk for pk in ids if pk not in refused], refused)
    rerun, refused = [], {}
    for execution_id in ids:
        try:
            execution_rerun(execution=WorkflowExecution(pk=execution_id), from_step=from_step, user=user)
        except (Conflict, InvalidInput) as exc:
            refused[execution_id] = exc.message
            continue
        rerun.append(execution_id)
    return BulkRerun(rerun, refused)
