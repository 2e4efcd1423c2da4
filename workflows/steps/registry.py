"""The one registry of step types. Built-ins and user types register here; names are unique."""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module

from jsonschema import Draft202012Validator, validators
from jsonschema.exceptions import SchemaError

from .base import Handler, StepType

_TYPES: dict[str, StepType] = {}


class UnknownStepType(KeyError):
    def __init__(self, name: str):
        super().__init__(name)
        self.name = name

    def __str__(self) -> str:
        return f"unknown step type {self.name!r}; known types: {', '.join(names())}"


def register(step_type: StepType) -> StepType:
    if step_type.name in _TYPES and _TYPES[step_type.name] is not step_type:
        raise ValueError(f"step type {step_type.name!r} is already registered")
    try:
        Draft202012Validator.check_schema(step_type.config_schema)
    except SchemaError as exc:
        raise ValueError(f"step type {step_type.name!r} has an invalid config schema: {exc.message}") from exc
    _TYPES[step_type.name] = step_type
    return step_type


def step_type(name: str, *, config_schema: dict, description: str = "", category: str = "custom",
              output_schema: dict | None = None, example: dict | None = None, example_data: dict | None = None,
              check_config: Callable[[dict], list[tuple[str, str]]] | None = None,
              branches: Callable[[dict], list[str]] | None = None,
              raw_fields: tuple[str, ...] = (), internal: bool = False,
              reads_run_data: bool | Callable[[dict], bool] = False,
              placeholder_fields: tuple[str, ...] = (), per_owner: bool = False,
              side_effects: bool | Callable[[dict], bool] = True,
              side_effects_note: str = "", calls_hosts: bool = False) -> Callable[[Handler], Handler]:
    """Decorator: register `execute(config, ctx)` as a step type. `side_effects` (True unless said
    otherwise: the safe answer) tells a replay whether a step may run for real (docs/adr/0026)."""

    def decorate(execute: Handler) -> Handler:
        register(StepType(name=name, description=description or (execute.__doc__ or "").strip(),
                          category=category, config_schema=config_schema, execute=execute,
                          output_schema=output_schema or {"type": "object"}, example=example or {},
                          example_data=example_data or {}, check_config=check_config, branches=branches,
                          raw_fields=raw_fields, internal=internal, reads_run_data=reads_run_data,
                          placeholder_fields=placeholder_fields, per_owner=per_owner,
                          side_effects=side_effects, side_effects_note=side_effects_note,
                          calls_hosts=calls_hosts))
        return execute

    return decorate


def get(name: str) -> StepType:
    try:
        return _TYPES[name]
    except KeyError:
        raise UnknownStepType(name) from None


def branches_of(name: str, config: dict) -> list[str] | None:
    """The branches a step of type `name` with this config can choose; None if it never chooses."""
    step = get(name)
    return step.branches(config) if step.branches else None


def has_side_effects(name: str, config: dict) -> bool:
    """Whether a step of type `name` with this (unrendered) config has side effects; an unknown type has."""
    try:
        return get(name).has_side_effects(config)
    except UnknownStepType:
        return True


def names() -> list[str]:
    """The step types a designed workflow may use (internal ones are the engine's own)."""
    return sorted(n for n, t in _TYPES.items() if not t.internal)


def calling_hosts() -> list[str]:
    """The step types that call hosts (and so may set their own `limits`)."""
    return [n for n in names() if _TYPES[n].calls_hosts]


def all_types() -> list[StepType]:
    return [_TYPES[n] for n in names()]


def _lenient(keyword_validator):
    """At save time a template string stands for a value of any type: its check waits for run time."""

    def check(validator, value, instance, schema):
        if isinstance(instance, str) and ("{{" in instance or "{%" in instance):
            return
        yield from keyword_validator(validator, value, instance, schema)

    return check


_SaveTimeValidator = validators.extend(
    Draft202012Validator,
    {kw: _lenient(Draft202012Validator.VALIDATORS[kw])
     for kw in ("type", "enum", "const", "format", "pattern", "minimum", "maximum", "exclusiveMinimum",
                "exclusiveMaximum", "minLength", "maxLength")},
)


_validators: dict[tuple[str, bool], tuple[dict, Draft202012Validator]] = {}


def _validator(step: StepType, *, rendered: bool) -> Draft202012Validator:
    """The type's schema validator, built once (building it cost more than a check: a workflow of
    10,000 steps is checked in one pass)."""
    cached = _validators.get((step.name, rendered))
    if cached is None or cached[0] is not step.config_schema:
        cached = (step.config_schema, (Draft202012Validator if rendered else _SaveTimeValidator)(step.config_schema))
        _validators[(step.name, rendered)] = cached
    return cached[1]


def config_errors(name: str, config: dict, *, rendered: bool = True) -> list[tuple[str, str]]:
    """(field path, message) for each way `config` breaks the type's schema.

    With rendered=False (save time, templates not yet rendered), template strings pass any type
    check; the rendered config is checked strictly when the step runs.
    """
    step = get(name)
    validator = _validator(step, rendered=rendered)
    errors = []
    for error in sorted(validator.iter_errors(config), key=lambda e: list(e.absolute_path)):
        path = ".".join(str(p) for p in error.absolute_path)
        if error.validator == "required":
            missing = error.message.split("'")[1] if "'" in error.message else ""
            path = ".".join(p for p in (path, missing) if p)
            errors.append((path, "this field is required"))
        else:
            errors.append((path, error.message))
    if not errors and step.check_config:
        errors.extend(step.check_config(config))
    return errors


def load_modules(modules: list[str]) -> None:
    """Import modules that register step types or functions (the FLOWPILOT_STEP_MODULES setting)."""
    for module in modules:
        import_module(module)
