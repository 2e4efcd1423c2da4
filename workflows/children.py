"""Child runs: a step (sub_workflow, for_each) that runs other workflows and waits for them.

The parent attempt waits (status waiting, signal "__children__") holding no worker. Children are
started up to the step's parallelism; each child that finishes has the parent checked again after
its commit (and the sweeper re-checks waiting parents, should that be lost). Children carry the
idempotency key <run>:<step>:<visit>:<index>, so a retried parent step reuses the children that
completed and retries the ones that failed, instead of running everything again.
"""

from __future__ import annotations

import time
from dataclasses import asdict

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from . import concurrency, lineage
from .events import Events
from .models import LogLevel, TaskExecution, TriggerSource, Workflow, WorkflowExecution
from .states import EXECUTION_TERMINAL
from .states import ExecutionStatus as E
from .states import TaskStatus as T
from .states import Note, transition_rows
from .steps.base import RunChildren, StepError

WAITING_FOR_CHILDREN = "__children__"


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


def check(task_id) -> bool:
    """Start more children if slots are free; finish the parent step when all are done."""
    from .orchestrator import fail_attempt, locked_run

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
                transition_rows(TaskExecution.objects.filter(pk=task.pk), T.WAITING, T.COMPLETED, now=now,
                                output=_output(spec, children), events=events,
                                notes=[Note(execution.pk, f"Step {task.step_key!r}: {len(children)} child run(s) "
                                            f"done, {len(failed)} failed", task=task,
                                            level=LogLevel.WARNING if failed else LogLevel.INFO)])
            run.advance_after(now=now)
        return True


def _start_child(execution: WorkflowExecution, task: TaskExecution, spec: RunChildren, index: int) -> WorkflowExecution:
    from .services import execution_retry, execution_start

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


def _output(spec: RunChildren, children: list[WorkflowExecution]) -> dict:
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


def idle_parents(limit: int) -> list:
    """Waiting parents none of whose children is running: a missed check (a crash right after a
    child finished) or a slot that was never refilled. A parent with a running child is checked
    when that child finishes."""
    active = WorkflowExecution.objects.filter(parent_task=OuterRef("pk")).exclude(status__in=EXECUTION_TERMINAL)
    return list(TaskExecution.objects.filter(status=T.WAITING, signal_name=WAITING_FOR_CHILDREN)
                .exclude(Exists(active)).values_list("pk", flat=True)[:limit])


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
    for workflow_id in sorted(slots_freed):  # once per workflow with limits, not per run
        with transaction.atomic():
            events = Events()
            concurrency.admit(workflow_id, events)
            events.flush()
    return cancelled


def _cancel_batch(ids: list, *, skip_locked: bool, user=None) -> tuple[int, set]:
    """Cancel the pending and running runs among `ids` and their unfinished steps, in one
    transaction. Answers how many were cancelled, and the workflows (with limits) whose slots they
    freed."""
    with transaction.atomic():
        runs = list(WorkflowExecution.objects.select_for_update(of=("self",), skip_locked=skip_locked)
                    .filter(pk__in=ids, status__in=[E.PENDING, E.RUNNING]).select_related("workflow")
                    .only("id", "status", "workflow", "workflow__max_concurrency",
                          "workflow__concurrency_key").order_by("pk"))
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
    return len(runs), {run.workflow_id for run in runs
                       if run.status == E.RUNNING and concurrency.has_limits(run.workflow)}
