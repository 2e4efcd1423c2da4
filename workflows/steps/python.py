"""`python`: call a registered Python function, the reusable task written as a plain function.

    from workflows.steps.python import step_function

    @step_function("create_patient")
    def create_patient(name: str, phone: str, idempotency_key: str = "") -> dict:
        ...

Arguments come from the step's `kwargs` (templates allowed) and are validated and converted by
their type hints (pydantic). A function may also take `idempotency_key`, `execution_id`, `attempt`
or `log` by name. Raise StepError(..., retryable=False) for a failure that a retry cannot fix.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable

from pydantic import ValidationError, validate_call

from .base import StepContext, StepError
from .registry import step_type

_FUNCTIONS: dict[str, Callable] = {}
_PURE: set[str] = set()  # functions registered pure=True
_CONTEXT_ARGS = ("idempotency_key", "execution_id", "attempt", "log")


def step_function(name: str | None = None, *, pure: bool = False) -> Callable[[Callable], Callable]:
    """Register a function for the `python` step type (name defaults to the function's name).
    `pure=True` declares that it changes nothing outside the run, so a replay runs it for real
    (docs/adr/0026); undeclared, it is taken to have side effects."""

    def decorate(fn: Callable) -> Callable:
        key = name or fn.__name__
        if key in _FUNCTIONS and _FUNCTIONS[key].__wrapped__ is not fn:
            raise ValueError(f"a step function named {key!r} is already registered")
        _FUNCTIONS[key] = validate_call(fn)
        if pure:
            _PURE.add(key)
        else:
            _PURE.discard(key)
        return fn

    return decorate


def function_names() -> list[str]:
    return sorted(_FUNCTIONS)


def _check(config: dict) -> list[tuple[str, str]]:
    name = config.get("function")
    if isinstance(name, str) and "{{" not in name and name not in _FUNCTIONS:
        known = ", ".join(function_names()) or "none registered"
        return [("function", f"unknown function {name!r}; registered functions: {known}")]
    return []


@step_type(
    "python",
    category="code",
    description="Call a registered Python function with keyword arguments.",
    config_schema={
        "type": "object",
        "required": ["function"],
        "properties": {
            "function": {"type": "string", "title": "Function", "minLength": 1},
            "kwargs": {"type": "object", "title": "Arguments", "default": {}},
        },
        "additionalProperties": False,
    },
    output_schema={"type": "object", "description": "The function's dict, or {\"result\": value}."},
    example={"function": "create_patient", "kwargs": {"name": "{{ input.name }}", "phone": "{{ input.phone }}"}},
    example_data={"input": {"name": "Ada Lovelace", "phone": "+15550001"}},
    check_config=_check,
    side_effects=lambda config: config.get("function") not in _PURE,
    side_effects_note="a function not registered with pure=True",
)
def python_step(config: dict, ctx: StepContext) -> dict:
    fn = _FUNCTIONS.get(config["function"])
    if fn is None:
        raise StepError(_check(config)[0][1], retryable=False)
    kwargs = dict(config.get("kwargs") or {})
    params = inspect.signature(fn.__wrapped__).parameters
    extras = {"idempotency_key": ctx.idempotency_key, "execution_id": ctx.execution_id,
              "attempt": ctx.attempt, "log": ctx.log}
    for arg in _CONTEXT_ARGS:
        if arg in params and arg not in kwargs:
            kwargs[arg] = extras[arg]
    try:
        result = fn(**kwargs)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise StepError(f"bad arguments for {config['function']}: {problems}", retryable=False) from None
    return result if isinstance(result, dict) else {"result": result}
