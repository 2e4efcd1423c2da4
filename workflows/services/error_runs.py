"""A workflow's error workflow (ADR 0034): when a run fails for good, the workflow it names (or its
owner's default) is started with the failed run's data as input.

The start happens in the transaction that moves the run to `failed` (the orchestrator's
`execution_failed` signal, sent from its one place for that move): both commit or neither does, so
a crash cannot lose the start. Its idempotency key, `error:<run>:<retry count>`, makes it at most
once per failure (a retried run that fails again is a new failure). An error workflow's own run
(triggered_by "error") that fails starts nothing: no loops.

Setting it (definitions.error_workflow_check) is the one rule for what may be named: a workflow of the same
owner, active, not the workflow itself.
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.dispatch import receiver

from ..engine.events import Events
from ..engine.orchestrator import execution_failed
from ..engine.planner.states import TaskStatus as T
from ..errors import InvalidInput, WorkflowNotActive
from ..models import ErrorWorkflowDefault, LogLevel, TaskExecution, TriggerSource, Workflow, WorkflowExecution
from .definitions import error_workflow_check
from .executions import execution_start

log = logging.getLogger(__name__)

EVENT = "execution.error_workflow"


@transaction.atomic
def error_workflow_default_set(*, owner, error_workflow_id) -> ErrorWorkflowDefault:
    """Set (or with None clear) the owner's default error workflow."""
    target = error_workflow_check(owner=owner, error_workflow_id=error_workflow_id)
    row, _ = ErrorWorkflowDefault.objects.update_or_create(owner=owner, defaults={"error_workflow": target})
    return row


def error_workflow_of(workflow: Workflow):
    """The id of the workflow started when a run of `workflow` fails: its own, else its owner's default."""
    if workflow.error_workflow_id:
        return workflow.error_workflow_id
    return (ErrorWorkflowDefault.objects.filter(owner_id=workflow.owner_id)
            .values_list("error_workflow_id", flat=True).first())


def error_input(failed: WorkflowExecution) -> dict:
    """What the error workflow receives: the failed run's ids, its workflow, the error, the step that
    failed (its current failed attempt, the latest), its input and its context."""
    step = (TaskExecution.objects.filter(execution_id=failed.pk, status=T.FAILED)
            .order_by("-completed_at", "-attempt").values("step_key", "attempt", "error_message", "error_details")
            .first()) or {}
    return {
        "execution_id": str(failed.pk),
        "workflow_id": str(failed.workflow_id),
        "workflow_name": failed.workflow.name,
        "retry_count": failed.retry_count,
        "failed_at": failed.completed_at.isoformat() if failed.completed_at else None,
        "error": {"message": failed.error_message, "details": failed.error_details,
                  "step_message": step.get("error_message", ""), "step_details": step.get("error_details") or {}},
        "failed_step": step.get("step_key", ""),
        "attempt": step.get("attempt"),
        "input": failed.input,
        "context": failed.context,
    }


@receiver(execution_failed)
def _execution_failed(sender, *, execution: WorkflowExecution, events: Events, **kwargs) -> None:
    error_run_start(failed=execution, events=events)


def error_run_start(*, failed: WorkflowExecution, events: Events) -> WorkflowExecution | None:
    """Start the error workflow of a run that has just failed (in its transaction); None when there
    is none to start: no error workflow set, the run is a replay or an error workflow's own run."""
    if failed.triggered_by == TriggerSource.ERROR or failed.replay_of_id:
        return None
    target_id = error_workflow_of(failed.workflow)
    if target_id is None or target_id == failed.workflow_id:
        return None
    target = Workflow.objects.filter(pk=target_id, owner_id=failed.workflow.owner_id).first()
    if target is None:
        return None
    data = error_input(failed)
    key = f"error:{failed.pk}:{failed.retry_count}"
    try:
        with transaction.atomic():  # a refused start must not undo the failure it reports
            try:
                run, created = execution_start(workflow=target, input_data=data, idempotency_key=key,
                                               triggered_by=TriggerSource.ERROR)
            except InvalidInput:  # too large a payload: the ids and the error still go
                run, created = execution_start(workflow=target, idempotency_key=key, triggered_by=TriggerSource.ERROR,
                                               input_data={**data, "input": None, "context": None, "truncated": True})
    except (WorkflowNotActive, InvalidInput) as exc:
        events.add(failed.pk, EVENT, f"Error workflow {target.name!r} not started: {exc}", level=LogLevel.WARNING,
                   error_workflow_id=str(target.pk))
        return None
    if created:
        events.add(failed.pk, EVENT, f"Error workflow {target.name!r} started", level=LogLevel.INFO,
                   error_workflow_id=str(target.pk), error_execution_id=str(run.pk))
    return run
