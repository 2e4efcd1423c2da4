"""The decorators that declare a code workflow, and the one registry of them.

    @workflow("name", default_retry=Retry(...))   a class whose @step methods are its steps
    @event_workflow("event", offset_minutes=-60)  the same, started by an event (offset from its time)
    @step(start=True, retry=Retry(...))           a step; exactly one starts the run
    @action("name", serializer=...)               a waiting step fed by POST /api/v1/actions/<name>/

Registration checks the class at import time (one start step, known goto targets, a pydantic
Context) and a duplicate workflow name fails loudly, naming both places.
"""

from __future__ import annotations

import ast
import inspect
import re
import textwrap
from importlib import import_module
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.utils.module_loading import autodiscover_modules
from pydantic import BaseModel, ConfigDict

from .. import bounds, flow_limits, search_fields as search
from ..engine.planner.code import TASK_TYPE
from ..engine.planner.retry import RetryPolicy


class CodeWorkflowError(Exception):
    """A code workflow is declared wrongly (found when its module is imported)."""


class UnknownCodeWorkflow(LookupError):
    def __init__(self, name: str):
        super().__init__(name)
        self.name = name

    def __str__(self) -> str:
        return f"unknown code workflow {self.name!r}; known: {', '.join(sorted(_WORKFLOWS)) or '(none)'}"


@dataclass(frozen=True)
class Retry:
    """A step's retry policy: at most `max_attempts` attempts, waiting base_delay * backoff_factor**n
    (capped at max_delay, with jitter) between them."""

    max_attempts: int = 4
    base_delay: timedelta = timedelta(seconds=1)
    max_delay: timedelta = timedelta(minutes=5)
    backoff_factor: float = 2.0

    def __post_init__(self):
        if not isinstance(self.max_attempts, int) or not 1 <= self.max_attempts <= 101:
            raise ValueError("Retry.max_attempts must be an integer between 1 and 101")
        self.policy()  # the engine's own checks (delays, factor)

    def fields(self) -> dict:
        """The definition's retry fields (workflows/engine/definition.py)."""
        return {"max_retries": self.max_attempts - 1, "base_delay": self.base_delay.total_seconds(),
                "backoff_factor": float(self.backoff_factor),
                "max_delay": max(self.max_delay, self.base_delay).total_seconds()}

    def policy(self) -> RetryPolicy:
        return RetryPolicy(**self.fields())


@dataclass(frozen=True)
class StepSpec:
    key: str
    start: bool
    retry: Retry | None
    timeout: timedelta | None
    order: int
    action: ActionSpec | None = None
    compensate: str = ""  # the step that undoes this one (@step(compensate=...)); "" none


@dataclass(frozen=True)
class ActionSpec:
    name: str
    serializer: Any


@dataclass
class WorkflowSpec:
    """A registered code workflow: its class, steps in declaration order, and how it starts."""

    name: str
    cls: type
    steps: dict[str, StepSpec]
    start: str
    default_retry: Retry | None = None
    event_name: str = ""
    offset_minutes: int = 0
    description: str = ""
    edges: list[dict] = field(default_factory=list)
    search_fields: dict[str, str] = field(default_factory=dict)
    limits: dict = field(default_factory=dict)  # flow control (workflows/flow_limits.py), as a workflow's

    @property
    def where(self) -> str:
        return f"{self.cls.__module__}.{self.cls.__qualname__}"

    @property
    def context_model(self) -> type[BaseModel]:
        return getattr(self.cls, "Context", None) or FreeContext

    @property
    def compensations(self) -> frozenset[str]:
        """The steps that run only as compensations (named by another step's compensate=)."""
        return frozenset(s.compensate for s in self.steps.values() if s.compensate)

    def step_after(self, key: str) -> str | None:
        keys = [k for k in self.steps if k not in self.compensations or k == key]  # never into a compensation
        index = keys.index(key)
        return keys[index + 1] if index + 1 < len(keys) else None

    def definition(self) -> dict:
        """The frozen definition a version stores (workflows/engine/definition.py reads it)."""
        return {
            "name": self.name, "kind": "code", "description": self.description,
            "code": {"workflow": self.name, "start": self.start, "class": self.where,
                     "event_name": self.event_name, "offset_minutes": self.offset_minutes},
            "retry": self.default_retry.fields() if self.default_retry else {},
            **({"search_fields": dict(self.search_fields)} if self.search_fields else {}),
            **({"limits": dict(self.limits)} if self.limits else {}),
            "steps": [
                {"key": s.key, "name": s.key, "task_type": TASK_TYPE,
                 "config": {"workflow": self.name, "step": s.key}, "depends_on": [], "step_order": s.order,
                 "timeout_seconds": s.timeout.total_seconds() if s.timeout else None, "when": "",
                 "retry": s.retry.fields() if s.retry else {}, "start": s.start,
                 "action": s.action.name if s.action else "",
                 # Kept only when set: a workflow without compensations publishes the definition it did before.
                 **({"compensate_with": s.compensate} if s.compensate else {}),
                 "position": {"x": 0, "y": s.order * 120}}
                for s in self.steps.values()
            ],
            "edges": self.edges,
        }


class FreeContext(BaseModel):
    """The context of a workflow that declares none: any JSON fields."""

    model_config = ConfigDict(extra="allow")


_WORKFLOWS: dict[str, WorkflowSpec] = {}
_ACTIONS: dict[str, tuple[str, str]] = {}  # action name -> (workflow, step)
_STEP_ATTR = "__flowpilot_step__"
_ACTION_ATTR = "__flowpilot_action__"


def step(*, start: bool = False, retry: Retry | None = None, timeout: timedelta | None = None,
         compensate: str | Callable | None = None) -> Callable:
    """Mark a method of a @workflow class as a step. `compensate`: the step (its name, or the method
    itself) that undoes this one when a run fails for good (or is cancelled with compensate) after
    this step completed; it runs only as a compensation (docs/adr/0035-compensation.md)."""
    if compensate is not None and not isinstance(compensate, str):
        compensate = getattr(compensate, "__name__", None)
        if not isinstance(compensate, str):
            raise CodeWorkflowError("step(compensate=...) takes a step's name or its method")
    if retry is not None and not isinstance(retry, Retry):
        raise CodeWorkflowError("step(retry=...) takes a Retry")
    high = bounds.max_step_timeout()
    if timeout is not None and not (isinstance(timeout, timedelta) and 0 < timeout.total_seconds() <= high):
        raise CodeWorkflowError(f"step(timeout=...) takes a timedelta above 0 and at most {high:g} seconds "
                                "(FLOWPILOT_MAX_STEP_TIMEOUT_SECONDS)")

    def mark(fn: Callable) -> Callable:
        setattr(fn, _STEP_ATTR, {"start": start, "retry": retry, "timeout": timeout, "compensate": compensate or ""})
        return fn

    return mark


def action(name: str, *, serializer: Any) -> Callable:
    """Expose a step as POST /api/v1/actions/<name>/: a run reaching it waits; the validated fields
    of the request become the step's keyword arguments."""

    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9_-]{1,90}", name):
        raise CodeWorkflowError(f"action name {name!r}: use 1 to 90 letters, digits, _ or - (it is a URL path)")

    def mark(fn: Callable) -> Callable:
        setattr(fn, _ACTION_ATTR, ActionSpec(name=name, serializer=serializer))
        return fn

    return mark


def _calls_in(method: Callable) -> list[tuple[str, str]]:
    """(kind, target) of the step references in a method's code: goto(self.x) / goto("x"),
    on_timeout= and then= of a wait. Found by reading the code (ast), for the graph only."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(method)))
    except (OSError, TypeError, SyntaxError):
        return []

    def target(node: ast.AST) -> str | None:
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"):
            return node.attr
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value
        return None

    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        fname = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
        if fname == "goto" and node.args and (t := target(node.args[0])):
            found.append(("goto", t))
        if fname in ("for_signal", "for_event", "wait_for_event"):
            for kw in node.keywords:
                if kw.arg in ("on_timeout", "then") and (t := target(kw.value)):
                    found.append(("timeout" if kw.arg == "on_timeout" else "then", t))
            found.append(("wait", ""))
        if fname == "sleep":
            found.append(("sleep", ""))
    return found


# The kinds of move _edges finds between steps (the API's CodeEdge and a definition's edges).
EDGE_KINDS = ("goto", "then", "timeout", "sleep")


def _edges(steps: dict[str, StepSpec], cls: type) -> list[dict]:
    edges = []
    for key in steps:
        calls = _calls_in(getattr(cls, key))
        for kind, to in calls:
            if kind in ("goto", "timeout", "then") and to in steps:
                edges.append({"from": key, "to": to, "kind": kind})
            elif kind == "sleep":
                edges.append({"from": key, "to": key, "kind": "sleep"})
        waits = any(kind == "wait" for kind, _ in calls) or steps[key].action is not None
        has_then = any(kind == "then" for kind, _ in calls)
        if waits and not has_then:
            compensations = {s.compensate for s in steps.values() if s.compensate}
            keys = [k for k in steps if k not in compensations or k == key]
            index = keys.index(key)
            if index + 1 < len(keys):
                edges.append({"from": key, "to": keys[index + 1], "kind": "then"})
    unique = []
    for edge in edges:
        if edge not in unique:
            unique.append(edge)
    return unique


def _check_compensations(name: str, steps: dict[str, StepSpec], *, start: str, edges: list[dict]) -> None:
    """A step's compensate= names another step of the workflow that runs only as a compensation: not
    the start step, no step moves to it, and it is not compensated itself."""
    reached = {edge["to"] for edge in edges if edge["from"] != edge["to"]}
    named = {s.compensate for s in steps.values() if s.compensate}
    for key, spec in steps.items():
        target = spec.compensate
        if not target:
            continue
        where = f"workflow {name!r}: step {key!r}: compensate={target!r}"
        if target == key:
            raise CodeWorkflowError(f"{where}: a step cannot compensate itself")
        if target not in steps:
            raise CodeWorkflowError(f"{where}: no such step; its steps: {', '.join(steps)}")
        if target == start or target in reached:
            raise CodeWorkflowError(f"{where}: {target!r} is part of the normal flow (the start step, or a goto/wait "
                                    "target); a compensation step runs only as a compensation")
        if steps[target].compensate or key in named:
            raise CodeWorkflowError(f"{where}: a compensation step is not compensated itself")


def _build(name: str, cls: type, *, default_retry: Retry | None, event_name: str = "",
           offset_minutes: int = 0, search_fields: dict[str, str] | None = None,
           limits: dict | None = None) -> WorkflowSpec:
    if not isinstance(cls, type):
        raise CodeWorkflowError(f"@workflow({name!r}) decorates a class")
    if default_retry is not None and not isinstance(default_retry, Retry):
        raise CodeWorkflowError(f"workflow {name!r}: default_retry takes a Retry")
    context = getattr(cls, "Context", None)
    if context is not None and not (isinstance(context, type) and issubclass(context, BaseModel)):
        raise CodeWorkflowError(f"workflow {name!r}: Context must be a pydantic BaseModel")
    steps: dict[str, StepSpec] = {}
    for attr, value in vars(cls).items():
        marks = getattr(value, _STEP_ATTR, None)
        act = getattr(value, _ACTION_ATTR, None)
        if marks is None and act is None:
            continue
        marks = marks or {"start": False, "retry": None, "timeout": None, "compensate": ""}
        if len(attr) > 100 or not attr.isidentifier():
            raise CodeWorkflowError(f"workflow {name!r}: step name {attr!r} is too long")
        steps[attr] = StepSpec(key=attr, start=marks["start"], retry=marks["retry"], timeout=marks["timeout"],
                               order=len(steps), action=act, compensate=marks.get("compensate") or "")
    if not steps:
        raise CodeWorkflowError(f"workflow {name!r} ({cls.__qualname__}) has no @step methods")
    starts = [k for k, s in steps.items() if s.start]
    if len(starts) > 1:
        raise CodeWorkflowError(f"workflow {name!r} has more than one start step: {', '.join(starts)}")
    start = starts[0] if starts else next(iter(steps))
    edges = _edges(steps, cls)
    _check_compensations(name, steps, start=start, edges=edges)
    problems = {**search.problems(search_fields or {}, step_keys=steps),
                **flow_limits.problems(limits or {}, step_keys=steps)}
    if problems:
        raise CodeWorkflowError(f"workflow {name!r}: " + "; ".join(f"{path}: {' '.join(messages)}"
                                                                  for path, messages in problems.items()))
    return WorkflowSpec(name=name, cls=cls, steps=steps, start=start, default_retry=default_retry,
                        event_name=event_name, offset_minutes=offset_minutes,
                        description=inspect.cleandoc(cls.__doc__ or ""), edges=edges,
                        search_fields=dict(search_fields or {}), limits=dict(limits or {}))


def register(spec: WorkflowSpec) -> WorkflowSpec:
    existing = _WORKFLOWS.get(spec.name)
    if existing is not None and existing.where != spec.where:
        raise CodeWorkflowError(f"code workflow {spec.name!r} is defined twice: in {existing.where} and in "
                                f"{spec.where}")
    for st in spec.steps.values():
        if st.action is None:
            continue
        other = _ACTIONS.get(st.action.name)
        if other is not None and other[0] != spec.name:
            raise CodeWorkflowError(f"action {st.action.name!r} is declared twice: by workflow {other[0]!r} "
                                    f"({_WORKFLOWS[other[0]].where}) and by {spec.name!r} ({spec.where})")
    for key, st in spec.steps.items():
        if st.action is not None:
            _ACTIONS[st.action.name] = (spec.name, key)
    _WORKFLOWS[spec.name] = spec
    return spec


@dataclass(frozen=True)
class ActionTarget:
    name: str
    workflow: str
    step: str
    serializer: Any


def actions() -> list[ActionTarget]:
    """Every registered action, by name: the workflow and step it feeds, and its input serializer."""
    found = []
    for name in sorted(_ACTIONS):
        workflow_name, key = _ACTIONS[name]
        found.append(ActionTarget(name=name, workflow=workflow_name, step=key,
                                  serializer=_WORKFLOWS[workflow_name].steps[key].action.serializer))
    return found


def workflow(name: str, *, default_retry: Retry | None = None,
             search_fields: dict[str, str] | None = None, limits: dict | None = None) -> Callable[[type], type]:
    """Register a class as the code workflow `name`. `search_fields`: {"phone": "{{ input.phone }}"},
    templates over the input or step outputs whose values its runs keep for search (search_fields.py).
    `limits`: its flow control, as a designed workflow's (workflows/flow_limits.py)."""
    if not isinstance(name, str) or not name.strip() or len(name) > 200:
        raise CodeWorkflowError("a workflow name is a non-empty string of at most 200 characters")

    def decorate(cls: type) -> type:
        cls.__flowpilot_workflow__ = register(_build(name, cls, default_retry=default_retry,
                                                     search_fields=search_fields, limits=limits))
        return cls

    return decorate


def event_workflow(event_name: str, *, offset_minutes: int = 0, name: str | None = None,
                   default_retry: Retry | None = None, search_fields: dict[str, str] | None = None,
                   limits: dict | None = None) -> Callable[[type], type]:
    """Register a class as a workflow started by event `event_name`, `offset_minutes` after the
    event's time (negative: before it). Its name defaults to the class's."""

    limit = bounds.max_offset_minutes()
    if not -limit <= int(offset_minutes) <= limit:
        raise CodeWorkflowError(f"event_workflow(offset_minutes=...) must be between {-limit} and {limit} "
                                "(FLOWPILOT_MAX_OFFSET_MINUTES)")

    def decorate(cls: type) -> type:
        spec = _build(name or cls.__name__, cls, default_retry=default_retry, event_name=event_name,
                      offset_minutes=int(offset_minutes), search_fields=search_fields, limits=limits)
        cls.__flowpilot_workflow__ = register(spec)
        return cls

    return decorate


def get(name: str) -> WorkflowSpec:
    try:
        return _WORKFLOWS[name]
    except KeyError:
        raise UnknownCodeWorkflow(name) from None


def all_workflows() -> list[WorkflowSpec]:
    return [_WORKFLOWS[n] for n in sorted(_WORKFLOWS)]


def for_event(event_name: str) -> list[WorkflowSpec]:
    return [s for s in all_workflows() if s.event_name == event_name]


def autodiscover() -> None:
    """Import the `workflows` module of every installed app (and FLOWPILOT_CODE_WORKFLOW_MODULES)."""
    autodiscover_modules("workflows")
    for module in getattr(settings, "FLOWPILOT_CODE_WORKFLOW_MODULES", []):
        import_module(module)
