"""Edit and resume: the overrides a retry may carry ({"input": {...}, "steps": {key: {"config": {...}}}}),
checked against the run's version and kept on the run, never on its workflow
(docs/adr/0025-rerun-from-a-step-and-edit-and-resume.md)."""

from __future__ import annotations

import json

from django.conf import settings
from django.utils import timezone

from .. import bounds
from ..engine import definition as definitions
from ..engine.events import Events
from ..errors import InvalidInput
from ..models import WorkflowExecution
from .definitions import check_storable

OVERRIDE_FIELDS = ("input", "steps")


def _refuse(field: str, message: str) -> InvalidInput:
    return InvalidInput(f"{field}: {message}", fields={field: [message]})


def overrides_shape(overrides) -> dict:
    """The overrides' shape checked before anything is locked: an object of `input` (an object) and
    `steps` (step key -> {"config": object}), bounded in size; answers them, or raises InvalidInput."""
    if not isinstance(overrides, dict):
        raise _refuse("overrides", "must be a JSON object")
    unknown = sorted(set(overrides) - set(OVERRIDE_FIELDS))
    if unknown:
        raise _refuse(f"overrides.{unknown[0]}", f"unknown field; overrides take {', '.join(OVERRIDE_FIELDS)}")
    if "input" in overrides and not isinstance(overrides["input"], dict):
        raise _refuse("overrides.input", "must be a JSON object (the run's whole input)")
    steps = overrides.get("steps", {})
    if not isinstance(steps, dict):
        raise _refuse("overrides.steps", "must be a JSON object of step key -> {\"config\": {...}}")
    if len(steps) > bounds.max_workflow_steps():
        raise _refuse("overrides.steps", f"at most {bounds.max_workflow_steps()} steps")
    for key, change in steps.items():
        if not isinstance(change, dict) or set(change) != {"config"} or not isinstance(change["config"], dict):
            raise _refuse(f"overrides.steps.{key}", "must be {\"config\": {...}}: the step's whole config")
    check_storable(overrides, field="overrides")
    size = len(json.dumps(overrides, default=str))
    if size > settings.FLOWPILOT_MAX_PAYLOAD_BYTES:
        raise _refuse("overrides", f"is {size} bytes; the limit is {settings.FLOWPILOT_MAX_PAYLOAD_BYTES}")
    return overrides


def overrides_apply(execution: WorkflowExecution, overrides: dict, *, user, events: Events) -> None:
    """Check `overrides` (overrides_shape's) against the version the locked run resumes on and keep
    them on the run, merged over earlier ones (a step's config replaced whole; the input replaced
    whole), with who and when; or raise InvalidInput (the caller's transaction changes nothing then).
    The log line names what changed, never the values (a config may hold what should not be echoed)."""
    definition = definitions.for_version(execution.workflow_version_id)
    steps = overrides.get("steps", {})
    for key, change in steps.items():
        if key not in definition.steps:
            raise _refuse(f"overrides.steps.{key}", f"{key!r} is not a step of this run's version "
                                                    f"(v{definition.number}); its steps: {', '.join(definition.steps)}")
        problems = definitions.config_problems(definition.steps[key].task_type, change["config"])
        if problems:
            raise InvalidInput("; ".join(f"overrides.steps.{key}.config{'.' + f if f else ''}: {m}"
                                         for f, m in problems),
                               fields={f"overrides.steps.{key}.config{'.' + f if f else ''}": [m]
                                       for f, m in problems})
    kept = dict(execution.overrides or {})
    if "input" in overrides:
        kept["input"] = overrides["input"]
    if steps:
        kept["steps"] = {**(kept.get("steps") or {}), **steps}
    size = len(json.dumps(kept, default=str))
    if size > settings.FLOWPILOT_MAX_PAYLOAD_BYTES:
        raise _refuse("overrides", f"with this run's earlier overrides: {size} bytes; the limit is "
                                   f"{settings.FLOWPILOT_MAX_PAYLOAD_BYTES}")
    execution.overrides = kept
    execution.overridden_by = user if getattr(user, "is_authenticated", False) else None
    execution.overridden_at = timezone.now()
    execution.save(update_fields=["overrides", "overridden_by", "overridden_at"])
    what = (["input"] if "input" in overrides else []) + [f"config of step {key!r}" for key in steps]
    by = getattr(user, "username", "")
    events.add(execution.pk, "execution.overridden",
               f"Overrides for this run{' by ' + by if by else ''}: {', '.join(what) or 'none'}",
               user=by, input="input" in overrides, steps=sorted(steps))


def overrides_without_steps(execution: WorkflowExecution) -> None:
    """A run moved to another version keeps its input override but not its steps' (they were checked
    against the version it left): the new version's configs apply."""
    if (execution.overrides or {}).get("steps"):
        execution.overrides = {k: v for k, v in execution.overrides.items() if k != "steps"}
        execution.save(update_fields=["overrides"])
