"""Steps as API actions: POST /api/v1/actions/<name>/ feeds the step a run waits at.

A run that reaches an @action step parks there (a waiting attempt, signal "action:<name>");
`action_submit` completes that wait with the request's validated fields, and the step's next
visit runs with them as its keyword arguments.
"""

from __future__ import annotations

from django.utils import timezone

from ..errors import Conflict
from ..models import TaskExecution, WorkflowExecution, WorkflowKind
from ..engine import search_index
from ..engine.orchestrator import locked_run
from ..engine.planner.states import ExecutionStatus as E
from ..engine.planner.states import Note
from ..engine.planner.states import TaskStatus as T
from ..engine.transitions import transition_rows
from .registry import ActionTarget
from .runtime import ACTION_PREFIX


def action_submit(*, action: ActionTarget, execution: WorkflowExecution, data: dict, user=None) -> TaskExecution:
    """Resume `execution`, waiting at `action`'s step, with `data` (JSON) as the step's arguments.
    Conflict when the run is not waiting there."""
    with locked_run(execution.pk, advance=False) as run:  # advanced once the step took the action
        execution = run.execution
        if execution.workflow.kind != WorkflowKind.CODE or execution.workflow.name != action.workflow:
            raise Conflict(f"this run is not of workflow {action.workflow!r}, which action {action.name!r} feeds")
        if execution.status != E.RUNNING:
            raise Conflict(f"the run is {execution.status}; only a running run takes actions")
        task = TaskExecution.objects.filter(execution_id=execution.pk, status=T.WAITING, step_key=action.step,
                                            signal_name=(ACTION_PREFIX + action.name)[:100]).first()
        if task is None:
            current = (TaskExecution.objects.filter(execution_id=execution.pk)
                       .order_by("-created_at", "-visit", "-attempt").values_list("step_key", "status").first())
            where = f" (it is at step {current[0]!r}, {current[1]})" if current else ""
            raise Conflict(f"the run is not waiting at step {action.step!r}{where}")
        output = {**(task.output or {}), "branch": "received", "kwargs": data}
        now = timezone.now()
        transition_rows(TaskExecution.objects.filter(pk=task.pk), T.WAITING, T.COMPLETED, now=now, output=output,
                        branch="received", events=run.events,
                        notes=[Note(execution.pk, f"Step {task.step_key!r} received action {action.name!r}", task=task,
                                    details={"user": getattr(user, "username", ""), "keys": sorted(data)})])
        search_index.step_completed(execution, task.step_key, output, run.events)
        run.advance_after(now=now)
    return task
