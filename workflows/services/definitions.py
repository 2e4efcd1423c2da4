"""Workflow definitions: saving (create, update, add a step), checking without saving (validate),
activating (a frozen version) and deleting a workflow and its graph."""

from __future__ import annotations

import json
import re
import unicodedata

from django.db import transaction
from django.db.models import Prefetch

from .. import bounds, call_graph, graph_rows, selectors, templating
from ..engine import definition as definitions
from ..errors import Conflict, InvalidInput, NotFound
from ..models import StepDependency, Workflow, WorkflowKind, WorkflowStatus, WorkflowStep, WorkflowVersion

WORKFLOW_FIELDS = ("name", "description", "metadata", "max_concurrency", "concurrency_key", "search_fields",
                   "limits", "max_retries", "retry_base_delay", "retry_backoff_factor", "retry_max_delay")
# A step's incoming edges, with the upstream step's key, in one prefetch.
UPSTREAM = Prefetch("upstream_links", queryset=StepDependency.objects.select_related("depends_on"))


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
    check_storable(workflow_data.get("search_fields") or {}, field="search_fields")
    check_storable(workflow_data.get("limits") or {}, field="limits")
    for step in steps:
        check_storable(step.get("config") or {}, field=f"steps.{step.get('key')}.config")
        check_storable(step.get("limits") or {}, field=f"steps.{step.get('key')}.limits")
    definition = definitions.from_data(workflow=workflow_data, steps=steps)
    problems = definitions.issues(definition)
    if workflow_data.get("concurrency_key"):
        error = templating.syntax_error(workflow_data["concurrency_key"])
        if error:
            problems.append(definitions.dag.Issue("", "concurrency_key", error))
    limits = workflow_data.get("limits")
    if isinstance(limits, dict) and limits.get("concurrency") and (
            workflow_data.get("max_concurrency") or workflow_data.get("concurrency_key")):
        # One admission per run (docs/adr/0038): limits.concurrency generalises the two.
        problems.append(definitions.dag.Issue(
            "", "limits.concurrency", "set either limits.concurrency or max_concurrency/concurrency_key, not both "
                                      "(limits.concurrency {\"key\": ..., \"max\": 1} is concurrency_key)"))
    if problems:
        fields: dict[str, list[str]] = {}
        for p in problems:
            name = f"steps.{p.step}.{p.field}" if p.step else p.field
            fields.setdefault(name, []).append(p.message)
        raise InvalidInput("; ".join(str(p) for p in problems), fields=fields)
    return definition


def error_workflow_check(*, owner, error_workflow_id, workflow: Workflow | None = None,
                         field: str = "error_workflow_id") -> Workflow | None:
    """The workflow `error_workflow_id` names, if it may be an error workflow (for `workflow`, or as
    `owner`'s default): theirs, active, not `workflow` itself; InvalidInput (400) otherwise. None
    clears the setting."""
    if error_workflow_id in (None, ""):
        return None
    target = Workflow.objects.filter(pk=error_workflow_id, owner=owner).first()
    if target is None:
        raise InvalidInput(f"{field}: no workflow {error_workflow_id} of yours",
                           fields={field: ["no such workflow of yours"]})
    if workflow is not None and target.pk == workflow.pk:
        raise InvalidInput(f"{field}: a workflow cannot be its own error workflow",
                           fields={field: ["cannot be the workflow itself"]})
    if target.status != WorkflowStatus.ACTIVE:
        raise InvalidInput(f"{field}: workflow {target.name!r} is {target.status}; activate it first",
                           fields={field: [f"workflow {target.name!r} is {target.status}, not active"]})
    return target


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
                      workflow: Workflow | None = None, owner=None) -> dict[str, list[str]]:
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
        if data.get("error_workflow_id") and owner is not None:
            error_workflow_check(owner=owner, workflow=workflow, error_workflow_id=data["error_workflow_id"])
    except InvalidInput as exc:
        return exc.fields
    return {}


@transaction.atomic
def workflow_create(*, owner, data: dict, steps: list[dict] | None = None) -> Workflow:
    steps = steps or []
    definition = _create_checked(data, steps)
    error_workflow = error_workflow_check(owner=owner, error_workflow_id=data.get("error_workflow_id"))
    workflow = Workflow.objects.create(owner=owner, error_workflow=error_workflow,
                                       **{f: data[f] for f in WORKFLOW_FIELDS if f in data})
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
    if "error_workflow_id" in data:
        workflow.error_workflow = error_workflow_check(owner=workflow.owner, workflow=workflow,
                                                       error_workflow_id=data["error_workflow_id"])
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


@transaction.atomic
def workflow_delete(*, workflow: Workflow) -> None:
    """Delete a workflow with its versions, triggers and finished runs; refused (Conflict, naming how
    many) while runs of it are pending or running."""
    check_editable(workflow)
    in_flight = selectors.workflow_runs_in_flight(workflow)
    if in_flight:
        raise Conflict(f"workflow {workflow.name!r} has {in_flight} run{'s' if in_flight != 1 else ''} pending or "
                       "running; cancel them (or wait for them to end) before deleting it, or archive it",
                       extra={"runs_in_flight": in_flight})
    # Its finished runs go with it, first: a run protects the version it ran (WorkflowExecution.workflow_version).
    workflow.executions.all().delete()
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


def step_key_from_name(name: str, *, taken: set[str]) -> str:
    """A step key (bounds.STEP_KEY_PATTERN) made from a step's name, as seed 002's clients give a step:
    "validate-order" -> "validate_order". Other characters become underscores (runs of them one), a
    leading digit gets an underscore before it; a key already in `taken` gets a suffix _2, _3... and
    the result is at most bounds.STEP_KEY_MAX_LENGTH characters."""
    base = re.sub(r"[^A-Za-z0-9_]+", "_", unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode())
    base = base.strip("_") or "step"
    if base[0].isdigit():
        base = f"_{base}"
    base = base[:bounds.STEP_KEY_MAX_LENGTH]
    key, number = base, 1
    while key in taken:
        number += 1
        suffix = f"_{number}"
        key = f"{base[:bounds.STEP_KEY_MAX_LENGTH - len(suffix)]}{suffix}"
    return key


def _locked_steps(workflow: Workflow) -> tuple[Workflow, list[dict]]:
    check_editable(workflow)
    workflow = Workflow.objects.select_for_update().get(pk=workflow.pk)
    return workflow, _steps_data(workflow)


def _step_index(steps: list[dict], key: str) -> int:
    for index, step in enumerate(steps):
        if step["key"] == key:
            return index
    raise NotFound(f"no step {key!r} in this workflow")


@transaction.atomic
def step_add(*, workflow: Workflow, step: dict, user=None) -> WorkflowStep:
    """Add one step (the rest of the graph kept), with workflow_update's checks and versioning: an
    active workflow publishes a new version. Without a `key`, one is made from its `name`
    (step_key_from_name), unique within the workflow."""
    workflow, steps = _locked_steps(workflow)
    taken = {s["key"] for s in steps}
    if not step.get("key"):
        if not (step.get("name") or "").strip():
            raise InvalidInput("a step needs a key or a name", fields={"key": ["give a key, or a name to make it from"]})
        step = {**step, "key": step_key_from_name(step["name"], taken=taken)}
    elif step["key"] in taken:
        raise InvalidInput(f"step {step['key']!r}: key: is used by another step of this workflow",
                           fields={"key": ["is used by another step of this workflow"]})
    workflow_update(workflow=workflow, data={}, steps=[*steps, step], user=user)
    return workflow.steps.get(key=step["key"])


def step_get(*, workflow: Workflow, key: str) -> WorkflowStep:
    step = workflow.steps.prefetch_related(UPSTREAM).filter(key=key).first()
    if step is None:
        raise NotFound(f"no step {key!r} in this workflow")
    return step


@transaction.atomic
def step_update(*, workflow: Workflow, key: str, changes: dict, user=None) -> WorkflowStep:
    """Change one step: `changes` laid over its stored fields (a PUT gives them all, a PATCH some).
    Its key may change only if no other step depends on it (the checks say which does). Same checks
    and versioning as workflow_update."""
    workflow, steps = _locked_steps(workflow)
    index = _step_index(steps, key)
    step = {**steps[index], **changes}
    new_key = step["key"] or key
    if new_key != key and any(s["key"] == new_key for s in steps):
        raise InvalidInput(f"step {new_key!r}: key: is used by another step of this workflow",
                           fields={"key": ["is used by another step of this workflow"]})
    steps[index] = {**step, "key": new_key}
    workflow_update(workflow=workflow, data={}, steps=steps, user=user)
    return step_get(workflow=workflow, key=new_key)


@transaction.atomic
def step_delete(*, workflow: Workflow, key: str, user=None) -> None:
    """Remove one step; refused (Conflict, 409: the graph's state, not the request, is in the way)
    while other steps depend on it, and for an active workflow's last step. Same checks and
    versioning as workflow_update."""
    workflow, steps = _locked_steps(workflow)
    index = _step_index(steps, key)
    rest = steps[:index] + steps[index + 1:]
    dependents = [s["key"] for s in rest if any(ref.split(":", 1)[0] == key for ref in s.get("depends_on") or ())]
    if dependents:
        raise Conflict(f"step {key!r} cannot be removed: {', '.join(map(repr, dependents))} depend on it; "
                       "change them first", extra={"dependents": dependents})
    if not rest and workflow.status == WorkflowStatus.ACTIVE:
        raise Conflict(f"step {key!r} is the last step of an active workflow, which keeps at least one")
    workflow_update(workflow=workflow, data={}, steps=rest, user=user)


DUPLICATE_SUFFIX = " (copy)"


@transaction.atomic
def workflow_duplicate(*, workflow: Workflow, owner, name: str | None = None) -> Workflow:
    """A new draft with `workflow`'s settings and graph (its current, editable steps), named `name`
    or "<name> (copy)". Its triggers and runs are not copied: a copy fires nothing until its owner
    adds triggers and activates it. A code workflow is its Python class: refused (Conflict)."""
    check_editable(workflow)
    if name is None:
        name = workflow.name[:200 - len(DUPLICATE_SUFFIX)] + DUPLICATE_SUFFIX
    elif not name.strip():
        raise InvalidInput("name may not be blank", fields={"name": ["may not be blank"]})
    data = {**_workflow_data(workflow), "name": name}
    return workflow_create(owner=owner, data=data, steps=_steps_data(workflow))


@transaction.atomic
def workflow_archive(*, workflow: Workflow, archived: bool, user=None) -> Workflow:
    """Archive a workflow (no new runs start: its triggers and the API refuse them; runs in flight
    finish; it leaves the default list), or bring it back: active again (its definition published,
    if it changed) when it had been activated before, else a draft."""
    check_editable(workflow)
    if archived:
        return workflow_update(workflow=workflow, data={"status": WorkflowStatus.ARCHIVED}, user=user)
    if workflow.status != WorkflowStatus.ARCHIVED:
        raise Conflict(f"workflow {workflow.name!r} is {workflow.status}, not archived")
    if workflow.version:
        return workflow_activate(workflow=workflow, user=user)
    return workflow_update(workflow=workflow, data={"status": WorkflowStatus.DRAFT}, user=user)
