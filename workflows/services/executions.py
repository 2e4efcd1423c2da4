"""Runs: start (new, idempotent, scheduled, as a child), retry, cancel (with its descendants), signal,
and the bulk retry of failed runs."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from ..engine import admission, child_cancel, compensating, definition as definitions, pausing, search_index
from .. import bounds, flow_limits, selectors, templating
from ..bounds import APPROVAL_COMMENT_MAX_LENGTH as COMMENT_MAX_LENGTH
from ..errors import Conflict, InvalidInput, WorkflowNotActive
from ..engine.events import Events, RunLabels
from ..models import TaskExecution, TriggerSource, Workflow, WorkflowExecution, WorkflowStatus
from ..engine.orchestrator import current_attempts, deliver_signal, enter, locked_run, release, start_new
from ..engine.planner.states import ExecutionStatus as E
from ..engine.planner.states import TaskStatus as T
from ..engine.planner.states import Note, check_action
from ..engine.planner.takeover import Takeover, takeover
from ..engine.transitions import emit, transition, transition_rows
from . import debounce
from .definitions import check_storable
from .overrides import overrides_apply, overrides_shape, overrides_without_steps


def _check_payload(value, *, field: str) -> None:
    check_storable(value, field=field)
    size = len(json.dumps(value, default=str))
    if size > settings.FLOWPILOT_MAX_PAYLOAD_BYTES:
        raise InvalidInput(f"{field} is {size} bytes; the limit is {settings.FLOWPILOT_MAX_PAYLOAD_BYTES}",
                           fields={field: [f"larger than {settings.FLOWPILOT_MAX_PAYLOAD_BYTES} bytes"]})


@dataclass(frozen=True)
class StartItem:
    """One run to start: its input, and the idempotency key that makes a redelivered start answer
    the run it started the first time."""

    input_data: dict | None = None
    idempotency_key: str | None = None


def execution_start(*, workflow: Workflow, input_data: dict | None = None, idempotency_key: str | None = None,
                    triggered_by: str = TriggerSource.API, user=None,
                    parent: tuple[TaskExecution, int] | None = None,
                    scheduled_at=None, max_retries: int | None = None) -> tuple[WorkflowExecution, bool]:
    """Start a run of the workflow's current version, or return the run already started with this
    idempotency key. Answers (execution, created). Returns at once: the steps run on the workers.
    With `scheduled_at` in the future the run waits as pending (a durable timer) until then.

    The one place that says a workflow must be active to run (WorkflowNotActive otherwise), checked
    after the idempotency lookup: a redelivery of a start that happened before the workflow was
    paused answers its run. Triggers rely on this check instead of repeating it.

    `max_retries` (0..bounds.MAX_RETRIES): this run's retry count for each step that sets none of its
    own, in place of the workflow's default; stored on the run, read by the engine when a step fails."""
    [started] = executions_start(workflow=workflow, items=[StartItem(input_data, idempotency_key)],
                                 triggered_by=triggered_by, user=user, parent=parent, scheduled_at=scheduled_at,
                                 max_retries=max_retries)
    return started


def executions_start(*, workflow: Workflow, items: Sequence[StartItem], triggered_by: str = TriggerSource.API,
                     user=None, parent: tuple[TaskExecution, int] | None = None, scheduled_at=None,
                     field_of: Callable[[int], str] | None = None,
                     max_retries: int | None = None, fields: dict | None = None,
                     said: str = "") -> list[tuple[WorkflowExecution, bool]]:
    """Start a run for each item, all or none, in one transaction: answers (execution, created) per
    item, in order. An item whose idempotency key already started a run (before, or earlier in the
    same list) answers that run. Every input is checked before anything is written; an item that is
    refused refuses the whole call (InvalidInput naming `inputs[i]`), so nothing is created.

    The queries do not grow with the number of items: one lookup of the keys, one INSERT of the
    runs, one of their step rows, one UPDATE that starts them, one that queues their first steps
    (sent after commit together), one INSERT of their events. `field_of(i)`: how errors name item
    i's input (default `inputs[i]`; `input_data` for a single item). `fields`, `said`: as runs_create's
    (a test run's flag and pins)."""
    if max_retries is not None and not 0 <= max_retries <= bounds.MAX_RETRIES:
        raise InvalidInput(f"max_retries must be between 0 and {bounds.MAX_RETRIES}",
                           fields={"max_retries": [f"must be between 0 and {bounds.MAX_RETRIES}"]})
    high = bounds.max_bulk_start()
    if len(items) > high:
        raise InvalidInput(f"at most {high} runs in one start; this one has {len(items)}",
                           fields={"inputs": [f"at most {high} items"]})
    if field_of is None:
        field_of = (lambda i: "input_data") if len(items) == 1 else (lambda i: f"inputs[{i}]")
    inputs, key_values = [], []
    for index, item in enumerate(items):
        field = field_of(index)
        value = {} if item.input_data is None else item.input_data
        if not isinstance(value, dict):
            raise InvalidInput(f"{field} must be a JSON object", fields={field: ["must be a JSON object"]})
        _check_payload(value, field=field)
        inputs.append(value)
    keys = [item.idempotency_key or None for item in items]
    answers: list[tuple[WorkflowExecution, bool] | None] = [None] * len(items)
    with transaction.atomic():
        for _ in range(3):  # a concurrent start with the same key may win the INSERT: look again
            existing = _started_with(workflow, {key for key in keys if key})
            todo = [i for i, key in enumerate(keys) if not key or key not in existing]
            for i, key in enumerate(keys):
                if key in existing:
                    answers[i] = (existing[key], False)
            if todo and (workflow.status != WorkflowStatus.ACTIVE or not workflow.version):
                raise WorkflowNotActive(f"workflow {workflow.name!r} is {workflow.status}; activate it before "
                                        "running it")
            if not todo:
                return answers
            if not key_values:
                key_values = [_concurrency_key(workflow, value, field=field_of(i))
                              for i, value in enumerate(inputs)]
            debounce_limit = _debounce_of(workflow, parent=parent, fields=fields)
            try:
                if debounce_limit is not None:  # each trigger replaces its key's pending run, or creates it
                    with transaction.atomic():
                        for i in todo:
                            answers[i] = _start_debounced(
                                workflow, debounce_limit, inputs[i], keys[i], key_values[i], field=field_of(i),
                                triggered_by=triggered_by, user=user, scheduled_at=scheduled_at,
                                max_retries=max_retries, said=said)
                    return answers
                with transaction.atomic() if any(keys[i] for i in todo) else nullcontext():
                    created = runs_create(workflow, [(i, inputs[i], keys[i], key_values[i]) for i in todo],
                                      triggered_by=triggered_by, user=user, parent=parent, scheduled_at=scheduled_at,
                                      max_retries=max_retries, fields=fields, said=said)
            except IntegrityError:
                if not any(keys[i] for i in todo):
                    raise
                continue
            for i, execution, new in created:
                answers[i] = (execution, new)
            return answers
        raise Conflict("the runs could not be started: their idempotency keys were taken meanwhile; try again")


def _debounce_of(workflow: Workflow, *, parent, fields: dict | None) -> flow_limits.Debounce | None:
    """The debounce of the workflow's current version for a trigger's start (not a child run's, nor a
    test run's or a replay's). The definition is cached: no query for a workflow without one."""
    if parent is not None or fields:
        return None
    return definitions.for_version(definitions.version_id(workflow.pk, workflow.version)).limits.debounce


def _start_debounced(workflow: Workflow, limit: flow_limits.Debounce, input_data: dict, idempotency_key: str | None,
                     concurrency_key: str, *, field: str, triggered_by: str, user, scheduled_at, max_retries,
                     said: str) -> tuple[WorkflowExecution, bool]:
    """One trigger of a debounced workflow: (its key's pending run, replaced, False) or (a new run
    scheduled `seconds` from now, True). The run answered carries `debounced` (True when replaced)."""
    key = debounce.key_of(limit, input_data, field=field)
    debounce.lock(workflow, key)
    starts = debounce.start_at(limit, now=timezone.now(), scheduled_at=scheduled_at)
    replaced = debounce.replace_pending(workflow, key, input_data=input_data, starts=starts,
                                        concurrency_key=concurrency_key)
    if replaced is not None:
        return replaced, False
    [(_, execution, created)] = runs_create(
        workflow, [(0, input_data, idempotency_key, concurrency_key)], triggered_by=triggered_by, user=user,
        parent=None, scheduled_at=starts, max_retries=max_retries, fields={"debounce_key": key},
        said=said or f", debounced {limit.seconds:g} s")
    execution.debounced = False
    return execution, created


def _started_with(workflow: Workflow, keys: set[str]) -> dict[str, WorkflowExecution]:
    """The runs of `workflow` already started with these idempotency keys, by key (no query for none)."""
    if not keys:
        return {}
    return {execution.idempotency_key: execution
            for execution in WorkflowExecution.objects.filter(workflow=workflow, idempotency_key__in=keys)}


def _concurrency_key(workflow: Workflow, input_data: dict, *, field: str) -> str:
    if not workflow.concurrency_key:
        return ""
    try:
        return str(templating.render(workflow.concurrency_key, {"input": input_data}, field="concurrency_key"))[:255]
    except templating.TemplateError as exc:
        raise InvalidInput(str(exc), fields={field: [f"concurrency key: {exc.message}"]}) from None


def runs_create(workflow: Workflow, runs: list[tuple[int, dict, str | None, str]], *, triggered_by: str, user,
            parent, scheduled_at, max_retries: int | None = None, version: int | None = None,
            fields: dict | None = None, said: str = "") -> list[tuple[int, WorkflowExecution, bool]]:
    """INSERT the runs (pending) and their first step rows, record their events and start them.
    A key repeated within `runs` starts one run; the later items answer it (not created).
    `version`: the version's number (default: the workflow's current); `fields`: more of the runs'
    columns (a replay's); `said`: more words for the creation's event."""
    version = workflow.version if version is None else version
    version_id = definitions.version_id(workflow.pk, version)
    definition = definitions.for_version(version_id)
    first = [(key, definition.steps[key].task_type) for key in definition.initial_steps]
    by_key: dict[str, WorkflowExecution] = {}
    answers, executions = [], []
    for index, input_data, key, key_value in runs:
        if key and key in by_key:
            answers.append((index, by_key[key], False))
            continue
        limited = _limit_fields(definition, workflow, input_data, index=index, alone=len(runs) == 1) \
            if definition.limits else {}
        execution = WorkflowExecution(
            workflow=workflow, workflow_version_id=version_id, input=input_data, idempotency_key=key,
            triggered_by=triggered_by, triggered_by_user=user if getattr(user, "is_authenticated", False) else None,
            concurrency_key=key_value, parent_task=parent[0] if parent else None,
            child_index=parent[1] if parent else None, scheduled_at=scheduled_at, max_retries=max_retries,
            **limited, **(fields or {}))
        executions.append(execution)
        answers.append((index, execution, True))
        if key:
            by_key[key] = execution
    WorkflowExecution.objects.bulk_create(executions)
    rows = {execution.pk: [TaskExecution(execution=execution, step_key=key, task_type=task_type,
                                         workflow_version=version)
                           for key, task_type in first] for execution in executions}
    TaskExecution.objects.bulk_create([row for run in rows.values() for row in run])
    events = Events()
    search_index.at_start(definition, executions, events)
    labels = RunLabels(workflow_id=workflow.pk, workflow_name=workflow.name, owner_id=workflow.owner_id)
    for execution in executions:
        events.describe(execution.pk, labels)
    emit(events, "execution", E.PENDING, [
        Note(execution.pk, f"Execution created ({triggered_by}{said})",
             details={"idempotency_key": execution.idempotency_key or ""})
        for execution in executions], created=True)
    if workflow.paused:  # a paused workflow's new runs start paused (docs/adr/0033-pause-and-resume.md)
        for execution in executions:
            pausing.hold(execution, events, why="its workflow is paused")
    else:
        start_new(workflow, [(execution, rows[execution.pk]) for execution in executions], events)
    events.flush()
    return answers


def _limit_fields(definition, workflow: Workflow, input_data: dict, *, index: int, alone: bool) -> dict:
    """A new run's columns from its version's limits (engine/admission.py): a key or a priority that
    does not render over its input refuses the start (400)."""
    try:
        return admission.at_create(definition.limits, workflow, input_data)
    except templating.TemplateError as exc:
        field = "input_data" if alone else f"inputs[{index}]"
        raise InvalidInput(str(exc), fields={field: [f"{exc.field or 'limits'}: {exc.message}"]}) from None


RETRY_VERSIONS = ("original", "latest")


def execution_retry(*, execution: WorkflowExecution, user=None, version: str = "original",
                    overrides: dict | None = None) -> WorkflowExecution:
    """Resume a failed (or cancelled) run at its failed, cancelled and not-yet-run steps; completed
    steps keep their outputs and are not run again.

    `version`: "original" resumes on the version the run has; "latest" moves the run to its
    workflow's latest published version first (planner/takeover.py says how each step fares;
    Conflict naming why, when that version cannot take over the run: nothing is changed then).

    `overrides` (edit and resume, services/overrides.py): this run's input and steps' configs from
    now on, checked against the version it resumes on (InvalidInput, nothing changed, when one does
    not fit); kept on the run with who and when, never on the workflow."""
    if version not in RETRY_VERSIONS:
        raise InvalidInput(f"version must be one of {', '.join(RETRY_VERSIONS)}",
                           fields={"version": [f"must be one of {', '.join(RETRY_VERSIONS)}"]})
    if overrides:
        overrides_shape(overrides)
    with locked_run(execution.pk, advance=False) as run:  # admission starts (and advances) it, or it waits
        execution, events = run.execution, run.events
        code = definitions.for_version(execution.workflow_version_id).kind == "code"
        check_action(execution.status, "edit" if overrides else "retry", code=code, compensated=bool(execution.phase))
        attempts = current_attempts(execution.pk)
        number = definitions.for_version(execution.workflow_version_id).number
        moved_from = None
        if version == "latest" and execution.workflow.version != number:
            moved_from, number = number, execution.workflow.version
            _move_to_latest(execution, attempts, events)
            overrides_without_steps(execution)
        if overrides:
            overrides_apply(execution, overrides, user=user, events=events)
        definition = definitions.for_version(execution.workflow_version_id)
        # A step the run's (new) version no longer has is not run again.
        again = [row for row in attempts.values()
                 if row.status in (T.FAILED, T.CANCELLED) and row.step_key in definition.steps]
        TaskExecution.objects.bulk_create([
            TaskExecution(execution_id=execution.pk, step_key=row.step_key,
                          task_type=definition.steps[row.step_key].task_type, visit=row.visit,
                          attempt=row.attempt + 1, round_first_attempt=row.attempt + 1, workflow_version=number)
            for row in again
        ])
        count = execution.retry_count + 1
        on = f" on v{number} (was v{moved_from})" if moved_from is not None else ""
        transition(execution, E.PENDING, retry_count=count, completed_at=None, events=events, note=Note(
            execution.pk,
            f"Retry {count}{on}{' with overrides' if overrides else ''}: resuming at "
            f"{', '.join(r.step_key for r in again) or 'the pending steps'}",
            details={"steps": [r.step_key for r in again], "user": getattr(user, "username", ""),
                     "version": version, "workflow_version": number, "overrides": bool(overrides)}))
        enter(execution, events)
    return execution


def retry_takeover(execution: WorkflowExecution, attempts: dict[str, TaskExecution] | None = None) -> Takeover:
    """How the workflow's latest version would take over `execution` (its problems empty when it can)."""
    if attempts is None:
        attempts = current_attempts(execution.pk)
    workflow = execution.workflow
    latest = definitions.for_version(definitions.version_id(workflow.pk, workflow.version))
    states = {key: row.status for key, row in attempts.items()}
    if latest.kind == "code" or definitions.for_version(execution.workflow_version_id).kind == "code":
        return Takeover(kept=(), rerun=(), pending=(), added=(), removed=(), problems=(
            "a code workflow's run resumes on the version it started with; start a new run for the new code",))
    return takeover(latest.graph, states)


def _move_to_latest(execution: WorkflowExecution, attempts: dict[str, TaskExecution], events: Events) -> None:
    """Move a locked, failed run to its workflow's latest version, or raise Conflict saying why it
    cannot: new rows for the steps it adds, a skip for the pending steps it removed, its version on
    the steps that have not run yet."""
    workflow = execution.workflow
    plan = retry_takeover(execution, attempts)
    if plan.problems:
        raise Conflict(f"the latest version (v{workflow.version}) cannot take over this run: "
                       f"{'; '.join(plan.problems)}", extra={"problems": list(plan.problems)})
    version_id = definitions.version_id(workflow.pk, workflow.version)
    latest = definitions.for_version(version_id)
    skipped = [attempts[key] for key in plan.removed if attempts[key].status == T.PENDING]
    if skipped:
        transition_rows(TaskExecution.objects.filter(pk__in=[row.pk for row in skipped]), T.PENDING, T.SKIPPED,
                        events=events, notes=[Note(execution.pk, f"Step {row.step_key!r} skipped: not in "
                                                   f"v{workflow.version}", task=row) for row in skipped])
    if plan.pending:
        TaskExecution.objects.filter(pk__in=[attempts[key].pk for key in plan.pending]) \
            .update(workflow_version=workflow.version)
        for key in plan.pending:  # a step may have changed its type in the new version
            if attempts[key].task_type != latest.steps[key].task_type:
                TaskExecution.objects.filter(pk=attempts[key].pk).update(task_type=latest.steps[key].task_type)
    TaskExecution.objects.bulk_create([
        TaskExecution(execution_id=execution.pk, step_key=key, task_type=latest.steps[key].task_type,
                      workflow_version=workflow.version) for key in plan.added])
    execution.workflow_version_id = version_id
    execution.save(update_fields=["workflow_version"])
    events.add(execution.pk, "execution.version_changed",
               f"Run moved to v{workflow.version} for its retry"
               + (f"; added steps: {', '.join(plan.added)}" if plan.added else "")
               + (f"; steps not in v{workflow.version}: {', '.join(plan.removed)}" if plan.removed else ""),
               workflow_version=workflow.version, added=list(plan.added), removed=list(plan.removed),
               kept=list(plan.kept))


def execution_cancel(*, execution: WorkflowExecution, user=None, compensate: bool = False) -> WorkflowExecution:
    """Stop a run: no new step starts; pending, queued, waiting and retrying steps are cancelled.
    A step already running finishes and its result is kept.

    `compensate`: first undo the completed steps that name a compensation (docs/adr/0035): the run
    stays running in its compensating phase, its compensations run once the steps still running
    finished, latest completed first, and it ends cancelled after them. Without completed steps to
    undo it is cancelled at once. A plain cancel of a compensating run stops its compensation."""
    with locked_run(execution.pk, advance=False) as run:  # a cancelled run has nothing to advance
        execution, events = run.execution, run.events
        check_action(execution.status, "cancel")
        by = {"user": getattr(user, "username", "")}
        if compensate and compensating.is_compensating(execution):
            raise Conflict("the run is already compensating", extra={"phase": execution.phase})
        if compensate and execution.status == E.PAUSED:
            raise Conflict("cannot cancel a paused run with compensate: unpause it first (its compensations are "
                           "steps, and a paused run starts none), or cancel it without compensate")
        held_slot = execution.status == E.RUNNING or (execution.status == E.PAUSED and execution.paused_from == E.RUNNING)
        transition_rows(TaskExecution.objects.filter(execution_id=execution.pk),
                        [T.PENDING, T.QUEUED, T.WAITING, T.RETRYING], T.CANCELLED,
                        error_message="cancelled")
        definition = definitions.for_version(execution.workflow_version_id)
        if compensate and execution.status == E.RUNNING and compensating.begin(
                execution, definition, events, reason="cancelled", error="cancelled with compensate", details=by):
            run.advance_after()  # its first compensation is queued, or it waits for the steps still running
        else:
            if compensating.is_compensating(execution):
                compensating.stop(execution, events, why="cancelled")
            transition(execution, E.CANCELLED, events=events, note=Note(execution.pk, "Execution cancelled", details=by))
            if held_slot:
                release(execution, events)
    child_cancel.cancel_descendants(execution.pk, user=user)  # after the commit: never hold a parent's lock for a child's
    return execution


@dataclass(frozen=True)
class BulkRetry:
    """What a bulk retry did (or, dry, would do): the runs retried, the runs refused with the reason
    (a latest version that cannot take them over), and how many of the selected runs are on an older
    version than their workflow's latest."""

    execution_ids: list
    refused: dict  # execution id -> message
    outdated: int


def executions_retry_failed(*, executions, step_key: str | None = None, error_contains: str | None = None,
                            error_signature: str | None = None, failed_since=None, failed_until=None,
                            dry_run: bool = False, user=None, version: str = "original") -> list:
    """Bulk retry: resume every selected failed execution (failed_executions). Answers the ids it
    retried, or with `dry_run` the ids it would retry, changing nothing. See executions_retry."""
    return executions_retry(executions=executions, step_key=step_key, error_contains=error_contains,
                            error_signature=error_signature, failed_since=failed_since, failed_until=failed_until,
                            dry_run=dry_run, user=user, version=version).execution_ids


def executions_retry(*, executions, step_key: str | None = None, error_contains: str | None = None,
                     error_signature: str | None = None, failed_since=None, failed_until=None,
                     dry_run: bool = False, user=None, version: str = "original") -> BulkRetry:
    """Bulk retry of the selected failed executions (failed_executions), each on its own version or
    (`version` "latest") on its workflow's latest; a run the latest version cannot take over is
    refused (named in `refused` with the reason), the others are retried. With `dry_run`, the ids
    that would be retried and nothing changed (whether the latest version takes each over is known
    only when trying it, under the run's lock)."""
    if version not in RETRY_VERSIONS:
        raise InvalidInput(f"version must be one of {', '.join(RETRY_VERSIONS)}",
                           fields={"version": [f"must be one of {', '.join(RETRY_VERSIONS)}"]})
    selected = selectors.failed_executions(executions, step_key=step_key, error_contains=error_contains,
                                           error_signature=error_signature, failed_since=failed_since,
                                           failed_until=failed_until).order_by("created_at")
    outdated = selected.exclude(workflow_version__number=F("workflow__version")).count()
    if dry_run:
        return BulkRetry(list(selected.values_list("pk", flat=True)), {}, outdated)
    retried, refused = [], {}
    for execution in selected.only("pk"):
        try:
            execution_retry(execution=execution, user=user, version=version)
        except Conflict as exc:
            if "problems" in exc.extra:
                refused[execution.pk] = exc.message
            continue  # else: retried meanwhile by someone else
        retried.append(execution.pk)
    return BulkRetry(retried, refused, outdated)


def execution_signal(*, execution: WorkflowExecution, name: str, payload: dict | None = None,
                     user=None, task_id=None, via: str = "api", comment: str = "",
                     recipient: str = "") -> TaskExecution:
    """Deliver signal `name` to the step of the run that waits for it (the attempt `task_id`, if
    given); the payload is merged into the run's context (templates: {{ context.<field> }}) and
    becomes the step's output. Who answered (the user, or a link's recipient), how (`via`: api,
    app, link) and why (`comment`) are kept in the step's output `decision` and in the log."""
    payload = {} if payload is None else payload
    if not isinstance(payload, dict):
        raise InvalidInput("payload must be a JSON object", fields={"payload": ["must be a JSON object"]})
    _check_payload(payload, field="payload")
    if len(comment) > COMMENT_MAX_LENGTH:
        raise InvalidInput(f"comment is {len(comment)} characters; the limit is {COMMENT_MAX_LENGTH}",
                           fields={"comment": [f"at most {COMMENT_MAX_LENGTH} characters"]})
    by = getattr(user, "username", "") or recipient
    with locked_run(execution.pk) as run:
        execution, events = run.execution, run.events
        if execution.status != E.RUNNING:
            raise Conflict(f"execution is {execution.status}; only a running execution takes signals")
        task = deliver_signal(execution, name, payload, events, now=timezone.now(), task_id=task_id,
                              answered_by={"by": by, "via": via, "comment": comment, "recipient": recipient})
        if task is None:
            if task_id is not None:
                raise Conflict("this step is no longer waiting: it was answered, timed out or cancelled")
            raise Conflict(f"no step of this execution is waiting for signal {name!r}")
        execution.context = {**execution.context, **payload}
        execution.save(update_fields=["context"])
        events.add(execution.pk, "execution.signal", f"Signal {name!r} received", task=task,
                   user=by, via=via, keys=sorted(payload), **({"comment": comment} if comment else {}))
    return task

