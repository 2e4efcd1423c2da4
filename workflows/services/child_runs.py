"""Checking a parent step that waits for child runs: start more children if slots are free, finish
the step when all are done (workflows/engine/children.py has the rest of child runs).

Above the services (it starts runs with execution_start and retries them with execution_retry) and
the orchestrator (its lock, fail_attempt): the orchestrator reaches it through the
children.parent_check_due signal, the sweeper calls `check` for parents whose check was lost.
"""

from __future__ import annotations

from django.dispatch import receiver
from django.utils import timezone

from ..engine import search_index
from ..engine.children import WAITING_FOR_CHILDREN, output_of, parent_check_due
from ..models import LogLevel, TaskExecution, TriggerSource, Workflow, WorkflowExecution
from ..engine.orchestrator import fail_attempt, locked_run
from . import execution_retry, execution_start
from ..engine.planner.states import EXECUTION_TERMINAL
from ..engine.planner.states import ExecutionStatus as E
from ..engine.planner.states import TaskStatus as T
from ..engine.planner.states import Note
from ..engine.transitions import transition_rows
from ..steps.base import RunChildren, StepError


@receiver(parent_check_due)
def _parent_check_due(sender, *, task_id, **kwargs) -> None:
    check(task_id)


def check(task_id) -> bool:
    """Start more children if slots are free; finish the parent step when all are done."""
    with locked_run(task_id=task_id, advance=False) as run:  # advanced once the step is over
        execution, events = run.execution, run.events
        task = TaskExecution.objects.filter(pk=task_id, status=T.WAITING, signal_name=WAITING_FOR_CHILDREN).first()
        if task is None or execution.status != E.RUNNING:
            return False
        spec = RunChildren(**task.output["children"])
        children = list(WorkflowExecution.objects.filter(parent_task=task).order_by("child_index"))
        active = sum(c.status not in EXECUTION_TERMINAL for c in children)
        for index in range(len(children), min(len(spec.inputs), len(children) + spec.parallelism - active)):
            children.append(_start_child(execution, task, spec, index))
        now = timezone.now()
        if len(children) == len(spec.inputs) and all(c.status in EXECUTION_TERMINAL for c in children):
            failed = [c for c in children if c.status != E.COMPLETED]
            if failed and not spec.collect_errors:
                first = failed[0]
                what = "sub-workflow" if spec.single else f"item {first.child_index}"
                fail_attempt(execution, task, StepError(f"{what} failed: {first.error_message or first.status}",
                                                        retryable=False, details={"child_execution": str(first.pk)}),
                             events, now=now, source=T.WAITING)
            else:
                output = output_of(spec, children)
                transition_rows(TaskExecution.objects.filter(pk=task.pk), T.WAITING, T.COMPLETED, now=now,
                                output=output, events=events,
                                notes=[Note(execution.pk, f"Step {task.step_key!r}: {len(children)} child run(s) "
                                            f"done, {len(failed)} failed", task=task,
                                            level=LogLevel.WARNING if failed else LogLevel.INFO)])
                search_index.step_completed(execution, task.step_key, output, events)
            run.advance_after(now=now)
        return True


def _start_child(execution: WorkflowExecution, task: TaskExecution, spec: RunChildren, index: int) -> WorkflowExecution:
    workflow = Workflow.objects.get(pk=spec.workflow_id)
    key = f"{execution.pk}:{task.step_key}:{task.visit}:{index}"
    child, created = execution_start(workflow=workflow, input_data=spec.inputs[index], idempotency_key=key,
                                     triggered_by=TriggerSource.WORKFLOW, parent=(task, index))
    if not created:  # a retry of the parent step: keep what completed, retry what did not
        WorkflowExecution.objects.filter(pk=child.pk).update(parent_task=task, child_index=index)
        if child.status in (E.FAILED, E.CANCELLED):
            child = execution_retry(execution=child)
        child.parent_task_id, child.child_index = task.pk, index
    return child
