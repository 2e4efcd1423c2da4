"""Services: every write the API, the admin, the commands and the triggers make goes through here."""

from __future__ import annotations

import json

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Prefetch
from django.utils import timezone

from . import call_graph, child_cancel, definition as definitions, graph_rows, templating
from .errors import Conflict, InvalidInput, WorkflowNotActive
from .events import Events
from .models import (
    StepDependency,
    TaskExecution,
    TriggerSource,
    Workflow,
    WorkflowExecution,
    WorkflowKind,
    WorkflowStatus,
    WorkflowStep,
    WorkflowVersion,
)
from .orchestrator import current_attempts, deliver_signal, enter, locked_run, release
from .states import ExecutionStatus as E
from .states import TaskStatus as T
from .states import Note, check_action, emit, transition, transition_rows

WORKFLOW_FIELDS = ("name", "description", "metadata", "max_concurrency", "concurrency_key", "max_retries",
                   "retry_base_delay", "retry_backoff_factor", "retry_max_delay")
# A step's incoming edges, with the upstream step's key, in one prefetch.
UPSTREAM = Prefetch("upstream_links", queryset=StepDependency.objects.select_related("depends_on"))


# --- definitions ---------------------------------------------------------------------------------

def _steps_data(workflow: Workflow) -> list[dict]:
    return [{f: s[f] for f in (*graph_rows.STEP_FIELDS, "depends_on")} for s in graph_rows.read(workflow)]


def _nul_path(value, path: str) -> str | None:
    """Where a string (or an object's key) holds U+0000 in a JSON value; None if nowhere."""
    if isinstance(value, str):
        return path if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            if "\x00" in str(key):
                return path
            if (found := _nul_path(item, f"{path}.{key}")) is not None:
                return found
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            if (found := _nul_path(item, f"{path}[{index}]")) is not None:
                return found
    return None


def check_storable(value, *, field: str) -> None:
    """Refuse a JSON value with the NUL character (U+0000), which PostgreSQL's jsonb cannot store: an
    InvalidInput (400) naming where it is, on every database, rather than an error of the database."""
    where = _nul_path(value, field)
    if where is not None:
        raise InvalidInput(f"{where}: the NUL character (\\u0000) cannot be stored",
                           fields={where: ["contains the NUL character (\\u0000), which cannot be stored"]})


def _check(workflow_data: dict, steps: list[dict]) -> dict:
    check_storable(workflow_data.get("metadata") or {}, field="metadata")
    for step in steps:
        check_storable(step.get("config") or {}, field=f"steps.{step.get('key')}.config")
    definition = definitions.from_data(workflow=workflow_data, steps=steps)
    problems = definitions.issues(definition)
    if workflow_data.get("concurrency_key"):
        error = templating.syntax_error(workflow_data["concurrency_key"])
        if error:
            problems.append(definitions.dag.Issue("", "concurrency_key", error))
    if problems:
        fields: dict[str, list[str]] = {}
        for p in problems:
            name = f"steps.{p.step}.{p.field}" if p.step else p.field
            fields.setdefault(name, []).append(p.message)
        raise InvalidInput("; ".join(str(p) for p in problems), fields=fields)
    return definition


def version_publish(workflow: Workflow, definition: dict, user=None) -> WorkflowVersion | None:
    """A new version, unless the definition is the same as the latest one (the workflow row locked)."""
    latest = workflow.versions.filter(number=workflow.version).first()
    if latest is not None and json.dumps(latest.definition, sort_keys=True) == json.dumps(definition, sort_keys=True):
        return None
    workflow.version += 1
    workflow.save(update_fields=["version", "updated_at"])
    return WorkflowVersion.objects.create(workflow=workflow, number=workflow.version, definition=definition,
                                          created_by=user)


def _workflow_data(workflow: Workflow) -> dict:
    return {f: getattr(workflow, f) for f in WORKFLOW_FIELDS}


def _create_checked(data: dict, steps: list[dict]) -> dict:
    """The checks of a new workflow's definition (a creation that activates it: not empty either);
    answers the definition, or raises InvalidInput. Writes nothing: workflow_validate runs it too."""
    definition = _check({**data}, steps)
    if data.get("status") == WorkflowStatus.ACTIVE:
        _check_activatable(definition)
    return definition


def _update_checked(workflow: Workflow, data: dict, steps: list[dict] | None) -> dict:
    """The checks of a change to `workflow`: its stored fields merged with `data`, `steps` (or its
    stored graph), and no sub-workflow cycle back to it. Answers the definition, or raises
    InvalidInput. Writes nothing: workflow_validate runs it too."""
    merged = {**_workflow_data(workflow), **{f: data[f] for f in WORKFLOW_FIELDS if f in data}}
    new_steps = steps if steps is not None else _steps_data(workflow)
    definition = _check(merged, new_steps)
    call_graph.check_acyclic(workflow=workflow, steps=new_steps)
    return definition


def workflow_validate(*, data: dict, steps: list[dict] | None = None,
                      workflow: Workflow | None = None) -> dict[str, list[str]]:
    """The problems a save would answer, by field path, without saving: those of creating a
    workflow, or with `workflow` those of changing it (including a sub-workflow cycle back to it,
    knowable only for a workflow that exists). Empty when the save would pass these checks. The
    designer asks this while the user edits, so that the server states each rule once."""
    try:
        if workflow is None:
            _create_checked(data, steps or [])
        else:
            check_editable(workflow)  # a code workflow: 409, as its save would answer
            _update_checked(workflow, data, steps)
    except InvalidInput as exc:
        return exc.fields
    return {}


@transaction.atomic
def workflow_create(*, owner, data: dict, steps: list[dict] | None = None) -> Workflow:
    steps = steps or []
    definition = _create_checked(data, steps)
    workflow = Workflow.objects.create(owner=owner, **{f: data[f] for f in WORKFLOW_FIELDS if f in data})
    graph_rows.replace(workflow, steps)
    if data.get("status") == WorkflowStatus.ACTIVE:
        _activate(workflow, definition, steps, user=owner)  # checked above: not read back and checked again
    return workflow


def check_editable(workflow: Workflow) -> None:
    """A code workflow's definition follows its Python class: the API cannot change it."""
    if workflow.kind == WorkflowKind.CODE:
        where = (workflow.metadata.get("code") or {}).get("class", "")
        raise Conflict(f"workflow {workflow.name!r} is defined in code{f' ({where})' if where else ''}; "
                       "change the code instead", extra={"kind": WorkflowKind.CODE})


@transaction.atomic
def workflow_update(*, workflow: Workflow, data: dict, steps: list[dict] | None = None, user=None) -> Workflow:
    """Change a workflow; `steps` (if given) replaces the whole graph. An active workflow publishes
    the change as a new version at once; runs already started keep the version they began with."""
    check_editable(workflow)
    workflow = Workflow.objects.select_for_update().get(pk=workflow.pk)
    definition = _update_checked(workflow, data, steps)
    for f in WORKFLOW_FIELDS:
        if f in data:
            setattr(workflow, f, data[f])
    workflow.save()
    if steps is not None:
        graph_rows.replace(workflow, steps)
    status = data.get("status", workflow.status)
    if status == WorkflowStatus.ACTIVE:
        version_publish(workflow, definition, user)
    if status != workflow.status:
        workflow.status = status
        workflow.save(update_fields=["status", "updated_at"])
    return workflow


def workflow_has_runs_in_flight(workflow: Workflow) -> bool:
    """A workflow with pending or running executions may not be deleted (archive it instead)."""
    return workflow.executions.filter(status__in=[E.PENDING, E.RUNNING]).exists()


@transaction.atomic
def workflow_delete(*, workflow: Workflow) -> None:
    check_editable(workflow)
    if workflow_has_runs_in_flight(workflow):
        raise Conflict("the workflow has pending or running executions; cancel them or archive the workflow")
    workflow.delete()


@transaction.atomic
def workflow_activate(*, workflow: Workflow, user=None) -> Workflow:
    """Freeze the current definition as a version (if it changed) and make the workflow runnable."""
    check_editable(workflow)
    workflow = Workflow.objects.select_for_update().get(pk=workflow.pk)
    steps = _steps_data(workflow)
    _activate(workflow, _check(_workflow_data(workflow), steps), steps, user=user)
    return workflow


def _check_activatable(definition: dict) -> None:
    if not definition["steps"]:
        raise InvalidInput("a workflow needs at least one step to be activated", fields={"steps": ["is empty"]})


def _activate(workflow: Workflow, definition: dict, steps: list[dict], *, user) -> None:
    """Publish a checked definition of the (locked) workflow and make it runnable."""
    call_graph.check_acyclic(workflow=workflow, steps=steps)
    _check_activatable(definition)
    version_publish(workflow, definition, user)
    workflow.status = WorkflowStatus.ACTIVE
    workflow.save(update_fields=["status", "updated_at"])


@transaction.atomic
def step_add(*, workflow: Workflow, step: dict, user=None) -> WorkflowStep:
    check_editable(workflow)
    workflow = Workflow.objects.select_for_update().get(pk=workflow.pk)
    steps = _steps_data(workflow)
    if any(s["key"] == step["key"] for s in steps):
        raise InvalidInput(f"step {step['key']!r}: key: is used by another step of this workflow",
                           fields={"key": ["is used by another step of this workflow"]})
    workflow_update(workflow=workflow, data={}, steps=[*steps, step], user=user)
    return workflow.steps.get(key=step["key"])


# --- executions ----------------------------------------------------------------------------------

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


def failed_executions(executions, *, step_key: str | None = None, error_contains: str | None = None,
                      error_signature: str | None = None, failed_since=None, failed_until=None):
    """Failed executions whose current attempt of `step_key` (any step if None) failed with an error
    containing `error_contains`, or of signature `error_signature` (workflows/signatures.py), at or
    after `failed_since` and before `failed_until`: the selection of a bulk retry."""
    failed_now = TaskExecution.objects.filter(execution=OuterRef("pk"), status=T.FAILED).current()
    if step_key:
        failed_now = failed_now.filter(step_key=step_key)
    if error_contains:
        failed_now = failed_now.filter(error_message__icontains=error_contains)
    if error_signature:
        failed_now = failed_now.filter(error_signature=error_signature)
    if failed_since is not None:
        failed_now = failed_now.filter(completed_at__gte=failed_since)
    if failed_until is not None:
        failed_now = failed_now.filter(completed_at__lt=failed_until)
    return executions.filter(status=E.FAILED).filter(Exists(failed_now))


def executions_retry_failed(*, executions, step_key: str | None = None, error_contains: str | None = None,
                            error_signature: str | None = None, failed_since=None, failed_until=None,
                            dry_run: bool = False, user=None) -> list:
    """Bulk retry: resume every selected failed execution (failed_executions). Answers the ids it
    retried, or with `dry_run` the ids it would retry, changing nothing."""
    selected = failed_executions(executions, step_key=step_key, error_contains=error_contains,
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
