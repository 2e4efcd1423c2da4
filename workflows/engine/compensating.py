"""A run's compensation as the orchestrator reads and records it (docs/adr/0035-compensation.md).

The decisions are pure (planner/compensation.py); here, under the run's lock held by the caller:
entering the phase (`begin`), reading the rows those decisions weigh (`next_move`), and ending the
phase (`end`). The orchestrator writes the attempts (a compensation is an ordinary attempt row, with
`compensates` set: claimed, leased, retried and swept as any) and finishes the run.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..models import LogLevel, TaskExecution, WorkflowExecution
from .events import Events
from .planner import compensation
from .planner.compensation import COMPENSATED, COMPENSATING, COMPENSATION_FAILED, Completed, Entry, Move
from .planner.states import ExecutionStatus as E
from .planner.states import TASK_OPEN, latest_attempts
from .planner.states import TaskStatus as T

REASONS = {"failed": E.FAILED, "cancelled": E.CANCELLED}  # why it compensates -> how the run ends


def is_compensating(execution: WorkflowExecution) -> bool:
    return execution.phase == COMPENSATING


def begin(execution: WorkflowExecution, definition, events: Events, *, reason: str, error: str = "",
          details: dict | None = None) -> bool:
    """Enter the compensating phase of a locked running run that failed for good (`reason` "failed")
    or is being cancelled with compensate ("cancelled"). False, changing nothing, when no completed
    step has a compensation: the run ends as it would have."""
    if not definition.compensate_with:
        return False
    plan = _plan(execution, definition)
    if plan == []:
        return False
    execution.phase = COMPENSATING
    execution.compensation = {"reason": reason, "error": error, "details": details or {},
                              "plan": None if plan is None else [entry.as_json() for entry in plan]}
    execution.save(update_fields=["phase", "compensation"])
    what = ", ".join(f"{e.compensation!r} for {e.step!r}" for e in plan) if plan else \
        "once the steps still running have finished"
    events.add(execution.pk, "execution.compensating",
               f"Compensating ({'the run failed' if reason == 'failed' else 'cancelled with compensate'}): {what}",
               level=LogLevel.WARNING, phase=COMPENSATING, reason=reason,
               plan=execution.compensation["plan"] or [])
    return True


def _plan(execution: WorkflowExecution, definition) -> list[Entry] | None:
    """The compensations of the run's completed steps, latest completed first; None while a step of
    the normal flow is still running (a cancel with compensate waits for it: it may complete)."""
    if TaskExecution.objects.filter(execution_id=execution.pk, status__in=TASK_OPEN, compensates="").exists():
        return None
    rows = latest_attempts(TaskExecution.objects.filter(execution_id=execution.pk,
                                                        step_key__in=list(definition.compensate_with))
                           .only("step_key", "visit", "attempt", "status", "completed_at", "created_at"))
    completed = [Completed(step=row.step_key, completed_at=row.completed_at, order=row.created_at)
                 for row in rows.values() if row.status == T.COMPLETED]
    return compensation.plan(completed, definition.compensate_with)


@dataclass(frozen=True)
class Next:
    """What the orchestrator does next for a compensating run: start `move.start`, wait, or end."""

    move: Move
    plan: list[Entry]
    failed_message: str = ""


def next_move(execution: WorkflowExecution, definition) -> Next:
    """The next move of a compensating run, from its plan (fixed once the normal flow is over) and
    the statuses of its compensation attempts."""
    data = execution.compensation or {}
    if data.get("plan") is None:
        plan = _plan(execution, definition)
        if plan is None:
            return Next(Move(), [])
        data = {**data, "plan": [entry.as_json() for entry in plan]}
        execution.compensation = data
        execution.save(update_fields=["compensation"])
    plan = [Entry.from_json(item) for item in data["plan"]]
    rows = TaskExecution.objects.filter(execution_id=execution.pk).exclude(compensates="").only(
        "step_key", "visit", "attempt", "status", "error_message")
    latest: dict[tuple[str, int], TaskExecution] = {}
    for row in rows:
        held = latest.get((row.step_key, row.visit))
        if held is None or row.attempt > held.attempt:
            latest[(row.step_key, row.visit)] = row
    move = compensation.next_move(plan, {key: row.status for key, row in latest.items()})
    failed = latest.get((move.failed.compensation, move.failed.visit)) if move.failed else None
    return Next(move, plan, failed_message=failed.error_message if failed is not None else "")


def end(execution: WorkflowExecution, events: Events, found: Next) -> tuple[str, dict]:
    """Leave the phase (compensated, or compensation_failed): answers the status the run ends in and
    the fields it ends with (its error, and the compensation's outcome in error_details)."""
    data = dict(execution.compensation or {})
    move = found.move
    outcome = move.outcome or COMPENSATION_FAILED
    data["outcome"] = outcome
    message = data.get("error") or ""
    if move.failed is not None:
        data["failed"] = {**move.failed.as_json(), "error": found.failed_message}
        tail = f"compensation {move.failed.compensation!r} of step {move.failed.step!r} failed: {found.failed_message}"
        message = f"{message}; {tail}" if message else tail
    execution.phase = outcome
    execution.compensation = data
    execution.save(update_fields=["phase", "compensation"])
    if outcome == COMPENSATED:
        events.add(execution.pk, "execution.compensated",
                   f"Compensated: {len(found.plan)} compensation(s) completed, latest completed step first",
                   phase=outcome)
    else:
        events.add(execution.pk, "execution.compensation_failed", f"Compensation stopped: {message}",
                   level=LogLevel.ERROR, phase=outcome, failed=data.get("failed"))
    status = REASONS.get(data.get("reason"), E.FAILED)
    details = {**(data.get("details") or {}), "compensation": {"outcome": outcome, "plan": data.get("plan") or [],
                                                               **({"failed": data["failed"]} if "failed" in data else {})}}
    return status, {"error_message": message, "error_details": details}


def stop(execution: WorkflowExecution, events: Events, *, why: str) -> None:
    """A compensating run cancelled without compensate: its compensation stops where it is
    (compensation_failed, `stopped` saying why); the caller ends the run."""
    execution.phase = COMPENSATION_FAILED
    execution.compensation = {**(execution.compensation or {}), "outcome": COMPENSATION_FAILED, "stopped": why}
    execution.save(update_fields=["phase", "compensation"])
    events.add(execution.pk, "execution.compensation_failed", f"Compensation stopped: {why}", level=LogLevel.ERROR,
               phase=COMPENSATION_FAILED, stopped=why)


def context(execution: WorkflowExecution, task: TaskExecution) -> dict | None:
    """What a compensation's templates see as `compensating`: the step it undoes, and why (the run's
    error, or the cancel). None for an ordinary attempt."""
    if not task.compensates:
        return None
    data = execution.compensation or {}
    return {"step": task.compensates, "reason": data.get("reason", ""), "error": data.get("error", ""),
            "details": data.get("details") or {}}
