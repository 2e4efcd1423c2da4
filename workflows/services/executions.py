"""Runs: start (new, idempotent, scheduled, as a child), retry, cancel (with its descendants), signal,
and the bulk retry of failed runs."""

from __future__ import annotations

import json

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from ..engine import child_cancel, definition as definitions
from .. import selectors, templating
from ..errors import Conflict, InvalidInput, WorkflowNotActive
from ..engine.events import Events
from ..models import TaskExecution, TriggerSource, Workflow, WorkflowExecution, WorkflowStatus, WorkflowVersion
from ..engine.orchestrator import current_attempts, deliver_signal, enter, locked_run, release
from ..engine.planner.states import ExecutionStatus as E
from ..engine.planner.states import TaskStatus as T
from ..engine.planner.states import Note, check_action
from ..engine.transitions import emit, transition, transition_rows
from .definitions import check_storable


def _check_payload(value, *, field: str) -> None:
    check_storable(value, field=field)
    size = len(json.dumps(value, default=str))
    if size > settings.FLOWPILOT_MAX_PAYLOAD_BYTES:
        raise InvalidInput(f"{field} is {size} bytes; the limit is {settings.FLOWPILOT_MAX_PAYLOAD_BYTES}",
                           fields={field: [f"larger than {settings.FLOWPILOT_MAX_PAYLOAD_BYTES} bytes"]})


def execution_start(*, workflow: Workflow, input_data: dict | None = None, idempotency_key: str | None = None,
                    triggered_by: str = TriggerSource.API, user=None,
                    parent: tuple[TaskExecution, int] | None = None,
                    scheduled_at=None) -> tuple[WorkflowExecution, bool]:
    """Start a run of the workflow's current version, or return the run already started with this
    idempotency key. Answers (execution, created). Returns at once: the steps run on the workers.
    With `scheduled_at` in the future the run waits as pending (a durable timer) until then.

    The one place that says a workflow must be active to run (WorkflowNotActive otherwise), checked
    after the idempotency lookup: a redelivery of a start that happened before the workflow was
    paused answers its run. Triggers rely on this check instead of repeating it."""
    input_data = {} if input_data is None else input_data
    if not isinstance(input_data, dict):
        raise InvalidInput("input_data must be a JSON object", fields={"input_data": ["must be a JSON object"]})
    _check_payload(input_data, field="input_data")
    if idempotency_key:
        existing = WorkflowExecution.objects.filter(workflow=workflow, idempotency_key=idempotency_key).first()
        if existing:
            return existing, False
    if workflow.status != WorkflowStatus.ACTIVE or not workflow.version:
        raise WorkflowNotActive(f"workflow {workflow.name!r} is {workflow.status}; activate it before running it")
    key_value = ""
    if workflow.concurrency_key:
        try:
            key_value = str(templating.render(workflow.concurrency_key, {"input": input_data},
                                              field="concurrency_key"))[:255]
        except templating.TemplateError as exc:
            raise InvalidInput(str(exc), fields={"input_data": [f"concurrency key: {exc.message}"]}) from None
    with transaction.atomic():
        version_id = WorkflowVersion.objects.values_list("pk", flat=True).get(workflow=workflow,
                                                                             number=workflow.version)
        try:
            with transaction.atomic():
                execution = WorkflowExecution.objects.create(
                    workflow=workflow, workflow_version_id=version_id, input=input_data,
                    idempotency_key=idempotency_key or None, triggered_by=triggered_by,
                    triggered_by_user=user if getattr(user, "is_authenticated", False) else None,
                    concurrency_key=key_value, parent_task=parent[0] if parent else None,
                    child_index=parent[1] if parent else None, scheduled_at=scheduled_at)
        except IntegrityError:
            if not idempotency_key:
                raise
            return WorkflowExecution.objects.get(workflow=workflow, idempotency_key=idempotency_key), False
        execution.workflow = workflow
        definition = definitions.for_version(version_id)
        TaskExecution.objects.bulk_create([
            TaskExecution(execution=execution, step_key=key, task_type=definition.steps[key].task_type)
            for key in definition.initial_steps
        ])
        events = Events()
        emit(events, "execution", E.PENDING, Note(execution.pk, f"Execution created ({triggered_by})",
                                                  details={"idempotency_key": idempotency_key or ""}), created=True)
        enter(execution, events)
        events.flush()
    return execution, True


def execution_retry(*, execution: WorkflowExecution, user=None) -> WorkflowExecution:
    """Resume a failed (or cancelled) run at its failed, cancelled and not-yet-run steps; completed
    steps keep their outputs and are not run again."""
    with locked_run(execution.pk, advance=False) as run:  # admission starts (and advances) it, or it waits
        execution, events = run.execution, run.events
        check_action(execution.status, "retry")
        again = [row for row in current_attempts(execution.pk).values() if row.status in (T.FAILED, T.CANCELLED)]
        TaskExecution.objects.bulk_create([
            TaskExecution(execution_id=execution.pk, step_key=row.step_key, task_type=row.task_type,
                          visit=row.visit, attempt=row.attempt + 1, round_first_attempt=row.attempt + 1)
            for row in again
        ])
        count = execution.retry_count + 1
        transition(execution, E.PENDING, retry_count=count, completed_at=None, events=events, note=Note(
            execution.pk, f"Retry {count}: resuming at {', '.join(r.step_key for r in again) or 'the pending steps'}",
            details={"steps": [r.step_key for r in again], "user": getattr(user, "username", "")}))
        enter(execution, events)
    return execution


def execution_cancel(*, execution: WorkflowExecution, user=None) -> WorkflowExecution:
    """Stop a run: no new step starts; pending, queued, waiting and retrying steps are cancelled.
    A step already running finishes and its result is kept."""
    with locked_run(execution.pk, advance=False) as run:  # a cancelled run has nothing to advance
        execution, events = run.execution, run.events
        check_action(execution.status, "cancel")
        held_slot = execution.status == E.RUNNING
        transition_rows(TaskExecution.objects.filter(execution_id=execution.pk),
                        [T.PENDING, T.QUEUED, T.WAITING, T.RETRYING], T.CANCELLED,
                        error_message="cancelled")
        transition(execution, E.CANCELLED, events=events,
                   note=Note(execution.pk, "Execution cancelled", details={"user": getattr(user, "username", "")}))
        if held_slot:
            release(execution, events)
    child_cancel.cancel_descendants(execution.pk, user=user)  # after the commit: never hold a parent's lock for a child's
    return execution


def executions_retry_failed(*, executions, step_key: str | None = None, error_contains: str | None = None,
                            error_signature: str | None = None, failed_since=None, failed_until=None,
                            dry_run: bool = False, user=None) -> list:
    """Bulk retry: resume every selected failed execution (failed_executions). Answers the ids it
    retried, or with `dry_run` the ids it would retry, changing nothing."""
    selected = selectors.failed_executions(executions, step_key=step_key, error_contains=error_contains,
                                 error_signature=error_signature, failed_since=failed_since,
                                 failed_until=failed_until).order_by("created_at")
    if dry_run:
        return list(selected.values_list("pk", flat=True))
    retried = []
    for execution in selected.only("pk"):
        try:
            execution_retry(execution=execution, user=user)
        except Conflict:
            continue  # retried meanwhile by someone else
        retried.append(execution.pk)
    return retried


def execution_signal(*, execution: WorkflowExecution, name: str, payload: dict | None = None,
                     user=None) -> TaskExecution:
    """Deliver signal `name` to the step of the run that waits for it; the payload is merged into
    the run's context (templates: {{ context.<field> }}) and becomes the step's output."""
    payload = {} if payload is None else payload
    if not isinstance(payload, dict):
        raise InvalidInput("payload must be a JSON object", fields={"payload": ["must be a JSON object"]})
    _check_payload(payload, field="payload")
    with locked_run(execution.pk) as run:
        execution, events = run.execution, run.events
        if execution.status != E.RUNNING:
            raise Conflict(f"execution is {execution.status}; only a running execution takes signals")
        task = deliver_signal(execution, name, payload, events, now=timezone.now())
        if task is None:
            raise Conflict(f"no step of this execution is waiting for signal {name!r}")
        execution.context = {**execution.context, **payload}
        execution.save(update_fields=["context"])
        events.add(execution.pk, "execution.signal", f"Signal {name!r} received",
                   user=getattr(user, "username", ""), keys=sorted(payload))
    return task
