"""The `code` step type: one visit of a code workflow's step, run like any other handler.

The orchestrator hands the step its run's context (as persisted after the last completed step) and
input in the config; the step's method runs with that context as `get_context()`, and its result
becomes the step's output: the validated context and the next move, which the pure planner
(plan.py) reads. A sleep or a wait becomes a `Wait` (a durable timer or a signal), holding no worker.
"""

from __future__ import annotations

import contextvars
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.apps import apps
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from pydantic import BaseModel, ValidationError

from .. import bounds
from ..steps.base import StepContext, StepError, Wait
from ..steps.registry import step_type
from . import registry
from .registry import TASK_TYPE, WorkflowSpec
from .results import Complete, Fail, Goto, Sleep, WaitForSignal

_current: contextvars.ContextVar[BaseModel] = contextvars.ContextVar("flowpilot_code_context")
EVENT_PREFIX = "event:"
ACTION_PREFIX = "action:"


def get_context() -> Any:
    """The context of the run whose step is running (a pydantic model; changes are persisted when
    the step completes)."""
    try:
        return _current.get()
    except LookupError:
        raise RuntimeError("get_context() is only available inside a running workflow step") from None


@dataclass(frozen=True)
class CodeEvent:
    """What `create_context(event=...)` receives in an event workflow."""

    id: str
    name: str
    at: datetime | None
    payload: dict

    @property
    def entity_id(self):
        return self.payload.get("entity_id")

    @property
    def entity(self):
        """The model instance the event is about, named in its payload by `entity_type`
        ("app_label.ModelName") and `entity_id` (its primary key); None when the payload names none.
        Read from the database each time (the step may run long after the event)."""
        label, pk = self.payload.get("entity_type"), self.payload.get("entity_id")
        if not label or pk is None:
            return None
        try:
            model = apps.get_model(str(label))
        except (LookupError, ValueError):
            raise LookupError(f"event {self.name!r}: entity_type {label!r} is not a model (app_label.ModelName)") \
                from None
        return model._default_manager.get(pk=pk)


def initial_context(spec: WorkflowSpec, input_data: dict) -> BaseModel:
    """The context a run starts with: `create_context(**input)` if the class has one, else the
    Context model validated from the input (an event workflow's create_context gets `event=`)."""
    model = spec.context_model
    create = getattr(spec.cls, "create_context", None)
    data = dict(input_data or {})
    if spec.event_name and "_event" in data:
        meta = data.pop("_event") or {}
        event = CodeEvent(id=str(meta.get("id", "")), name=str(meta.get("name", spec.event_name)),
                          at=parse_datetime(meta["at"]) if meta.get("at") else None, payload=data)
        if create is not None:
            return _checked(spec, create(event=event))
        fields = set(model.model_fields)
        return model.model_validate({k: v for k, v in data.items() if k in fields or model is registry.FreeContext})
    if create is not None:
        return _checked(spec, create(**data))
    return model.model_validate(data)


def _checked(spec: WorkflowSpec, context: Any) -> BaseModel:
    if not isinstance(context, spec.context_model):
        raise TypeError(f"{spec.where}.create_context must return a {spec.context_model.__name__}")
    return context


def dump(spec: WorkflowSpec, context: BaseModel, extra: dict | None = None) -> dict:
    """The context as JSON, validated again (a step may have assigned a wrong type); `extra` (what
    complete() was given) is merged in, keeping keys the Context does not declare."""
    extra = extra or {}
    validated = spec.context_model.model_validate({**context.model_dump(mode="json"), **extra}).model_dump(mode="json")
    return {**validated, **{k: v for k, v in extra.items() if k not in validated}}


def _next_of(step_key: str | None) -> dict:
    return {"step": step_key} if step_key else {"complete": True}


def run(config: dict, ctx: StepContext) -> dict | Wait:
    spec = registry.get(config["workflow"])
    key = config["step"]
    if key not in spec.steps:
        raise StepError(f"workflow {spec.name!r} has no step {key!r} (the code changed since the run started)",
                        retryable=False)
    try:
        context = spec.context_model.model_validate(config["context"]) if config.get("context") \
            else initial_context(spec, config.get("input") or {})
    except (ValidationError, TypeError) as exc:
        raise StepError(f"context: {exc}", retryable=False) from None
    action = spec.steps[key].action
    if action is not None and config.get("kwargs") is None:
        # Reached by a move, not by its action: wait for POST /api/v1/actions/<name>/, whose
        # validated fields are the keyword arguments of the step's next visit.
        return Wait(signal=(ACTION_PREFIX + action.name)[:100],
                    output={"context": dump(spec, context), "action": action.name, "next": {"step": key}})
    token = _current.set(context)
    try:
        result = getattr(spec.cls(), key)(**(config.get("kwargs") or {}))
    finally:
        _current.reset(token)
    return outcome(spec, key, context, result)


def outcome(spec: WorkflowSpec, key: str, context: BaseModel, result: Any) -> dict | Wait:
    """A step's result as the engine records it."""
    try:
        if isinstance(result, Complete):
            data = dump(spec, context, _jsonable(result.data))
        else:
            data = dump(spec, context)
    except (ValidationError, TypeError, ValueError) as exc:
        raise StepError(f"step {key!r} left an invalid context: {exc}", retryable=False) from None
    if isinstance(result, Goto):
        if result.step not in spec.steps:
            raise StepError(f"goto({result.step!r}): workflow {spec.name!r} has no such step; its steps: "
                            f"{', '.join(spec.steps)}", retryable=False)
        return {"context": data, "next": {"step": result.step}}
    if isinstance(result, Complete) or (result is None and key in spec.compensations):
        # A compensation's result ends it (the run's compensation goes on): returning nothing is enough.
        return {"context": data, "next": {"complete": True}}
    if isinstance(result, Fail):
        raise StepError(result.message, retryable=False, details={"failed_by": "fail()"})
    if isinstance(result, Sleep):
        _check_wait("sleep()", result.duration)
        until = timezone.now() + result.duration
        return Wait(until=until, output={"context": data, "next": {"step": key}, "slept_until": until.isoformat()})
    if isinstance(result, WaitForSignal):
        for ref in (result.on_timeout, result.then):
            if ref is not None and ref not in spec.steps:
                raise StepError(f"wait: workflow {spec.name!r} has no step {ref!r}", retryable=False)
        _check_wait("wait(timeout=...)", result.timeout)
        until = timezone.now() + result.timeout if result.timeout else None
        signal = (EVENT_PREFIX + result.name) if result.event else result.name
        parked = {"context": data, "next": _next_of(result.then or spec.step_after(key)),
                  "on_timeout": "branch" if result.on_timeout else "fail"}
        if result.on_timeout:
            parked["timeout_next"] = {"step": result.on_timeout}
        return Wait(until=until, signal=signal[:100], output=parked)
    raise StepError(f"step {key!r} returned {type(result).__name__}; a step returns goto(), complete(), "
                    "fail(), sleep(), wait.for_signal() or wait_for_event()", retryable=False)


def _check_wait(what: str, duration) -> None:
    high = bounds.max_wait()
    if duration is not None and duration.total_seconds() > high:
        raise StepError(f"{what}: waits at most {high:g} seconds (FLOWPILOT_MAX_WAIT_SECONDS)", retryable=False,
                        details={"bound": "FLOWPILOT_MAX_WAIT_SECONDS", "max_seconds": high})


def _jsonable(data: dict) -> dict:
    from pydantic_core import to_jsonable_python

    return to_jsonable_python(data)


@step_type(
    TASK_TYPE,
    category="code",
    description="A step of a workflow written in Python (workflows.code); runs its method.",
    config_schema={"type": "object", "required": ["workflow", "step"],
                   "properties": {"workflow": {"type": "string"}, "step": {"type": "string"},
                                  "context": {"type": "object"}, "input": {"type": "object"},
                                  "kwargs": {"type": ["object", "null"]}}},
    raw_fields=("context", "input", "kwargs"),
    internal=True,
    side_effects=True,  # a method may do anything: a replay answers it from the recording (docs/adr/0026)
)
def code_step(config: dict, ctx: StepContext) -> dict | Wait:
    return run(config, ctx)
