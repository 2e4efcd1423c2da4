"""Child runs: a step (sub_workflow, for_each) that runs other workflows and waits for them.

The parent attempt waits (status waiting, signal "__children__") holding no worker. Children are
started up to the step's parallelism; each child that finishes has the parent checked again after
its commit (and the sweeper re-checks waiting parents, should that be lost). Children carry the
idempotency key <run>:<step>:<visit>:<index>, so a retried parent step reuses the children that
completed and retries the ones that failed, instead of running everything again.


This module is the engine's part, below the orchestrator: parking the parent, the children's
output, finding idle parents. Checking a parent (starting children, finishing the step) needs the
services that start runs, above the orchestrator: the orchestrator announces that a parent is due
for a check (`parent_check_due`, a signal with its `task_id`), and workflows/services/child_runs.py, which
receives it, checks it. Cancelling a run's descendants is workflows/engine/child_cancel.py.
"""

from __future__ import annotations

from dataclasses import asdict

from django.conf import settings
from django.db.models import Exists, OuterRef
from django.dispatch import Signal

from . import lineage
from .events import Events
from ..models import WAITING_FOR_CHILDREN, TaskExecution, Workflow, WorkflowExecution
from .planner.states import EXECUTION_TERMINAL
from .planner.states import ExecutionStatus as E
from .planner.states import TaskStatus as T
from .planner.states import Note
from .transitions import transition_rows
from ..steps.base import RunChildren, StepError

# Sent when a parent step may have children to start or may be done (keyword argument task_id): after
# it parked (in its transaction), and after a child run finished (once that commits).
parent_check_due = Signal()


def park(execution: WorkflowExecution, task: TaskExecution, spec: RunChildren, events: Events, *, now) -> StepError | None:
    """The handler asked for child runs: wait for them and start the first ones (parent locked)."""
    workflow = Workflow.objects.filter(pk=spec.workflow_id, owner_id=execution.workflow.owner_id).first()
    if workflow is None:
        return StepError(f"workflow {spec.workflow_id} does not exist (or is not yours)", retryable=False)
    max_depth = settings.FLOWPILOT_MAX_WORKFLOW_DEPTH
    refusal = lineage.child_refusal(lineage.ancestors(execution.pk, limit=max_depth), child_id=workflow.pk,
                                    child_name=workflow.name, max_depth=max_depth)
    if refusal:
        return StepError(refusal, retryable=False, details={"max_depth": max_depth})
    transition_rows(TaskExecution.objects.filter(pk=task.pk), T.RUNNING, T.WAITING, now=now, lease_expires_at=None,
                    signal_name=WAITING_FOR_CHILDREN, output={"children": asdict(spec)}, events=events,
                    notes=[Note(execution.pk, f"Step {task.step_key!r} runs {len(spec.inputs)} child run(s) of "
                                f"{workflow.name!r}, {spec.parallelism} at a time", task=task)])
    return None


def output_of(spec: RunChildren, children: list[WorkflowExecution]) -> dict:
    if spec.single:
        (child,) = children
        return {**child.output, "execution_id": str(child.pk)} if child.status == E.COMPLETED else \
            {"execution_id": str(child.pk), "error": child.error_message}
    return {
        "results": [c.output if c.status == E.COMPLETED else None for c in children],
        "errors": [{"index": c.child_index, "error": c.error_message or c.status, "execution_id": str(c.pk)}
                   for c in children if c.status != E.COMPLETED],
        "execution_ids": [str(c.pk) for c in children],
    }


def idle_parents(limit: int, *, after=None) -> tuple[list, object]:
    """Waiting parents none of whose children is running: a missed check (a crash right after a
    child finished) or a slot that was never refilled. A parent with a running child is checked
    when that child finishes.

    Reads at most `limit` waiting parents, in id order after `after` (through the partial index
    task_waiting_children), in one query: a million parents with running children cost a sweep no
    more than a thousand. Returns the idle ones among them and where the next call should go on
    (None: back to the start, when this window reached the end)."""
    active = WorkflowExecution.objects.filter(parent_task=OuterRef("pk")).exclude(status__in=EXECUTION_TERMINAL)
    window = TaskExecution.objects.filter(status=T.WAITING, signal_name=WAITING_FOR_CHILDREN)
    if after is not None:
        window = window.filter(pk__gt=after)
    rows = list(window.order_by("pk").annotate(busy=Exists(active)).values_list("pk", "busy")[:limit])
    return [pk for pk, busy in rows if not busy], (rows[-1][0] if len(rows) == limit else None)
