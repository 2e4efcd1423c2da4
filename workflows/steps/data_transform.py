"""`data_transform`: reshape JSON between steps with an ordered list of transforms.

The operations themselves are pure (workflows/transforms.py). This module declares the config
schema the designer builds its form from, refuses a bad transform at save time naming its field,
and turns a transform that cannot apply to the run's data into a non-retryable error.

The engine renders the config's templates over the run's data before the handler runs, so `source`
and each `value` may be `"{{ steps.x.output }}"`. Without `source`, a step that depends on exactly one
step transforms that step's output (data flowing down a chain, as users of sequential engines
expect); any other transforms the run's input. It leaves a `map` template and a `filter`
condition alone (RAW_FIELDS): the handler evaluates them once per item, over `item` and `index` only.
"""

from __future__ import annotations

from .. import templating, transforms
from .base import StepContext, StepError
from .registry import step_type

RAW_FIELDS = ("transforms[].template", "transforms[].condition")

# For each transform type: the fields it requires, then the ones it may also have.
FIELDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "pick": (("fields",), ()),
    "omit": (("fields",), ()),
    "rename": (("from", "to"), ()),
    "set": (("field", "value"), ()),
    "merge": (("value",), ()),
    "map": (("template",), ("field",)),
    "filter": (("condition",), ("field",)),
    "default": (("field", "value"), ()),
}
assert set(FIELDS) == set(transforms.TYPES)

_PATH = {"type": "string", "minLength": 1}
_ONLY_FOR: dict[str, dict] = {  # per-type constraints beyond "required"
    "set": {"properties": {"field": {"minLength": 1}}},
    "default": {"properties": {"field": {"minLength": 1}}},
    "merge": {"properties": {"value": {"type": "object"}}},
}

TRANSFORM_SCHEMA = {
    "type": "object",
    "title": "Transform",
    "required": ["type"],
    "properties": {
        "type": {"type": "string", "enum": list(transforms.TYPES), "title": "Type",
                 "description": "pick or omit fields, rename, set, merge an object, map or filter a list, "
                                "or set a default."},
        "fields": {"type": "array", "items": _PATH, "minItems": 1, "title": "Fields",
                   "description": "pick, omit: dotted paths (customer.email) to keep or to drop. A path "
                                  "that is missing is left out."},
        "from": {**_PATH, "title": "From",
                 "description": "rename: the dotted path to move. If it is missing, nothing changes."},
        "to": {**_PATH, "title": "To", "description": "rename: the dotted path to move it to."},
        "field": {"type": "string", "title": "Field",
                  "description": "set, default: the dotted path to write. map, filter: the dotted path of "
                                 "the list (empty or absent: the value itself must be a list)."},
        "value": {"title": "Value",
                  "description": "set, default: any JSON value (default writes it only where the field is "
                                 "missing). merge: an object, merged deeply on top."},
        "template": {"title": "Item template",
                     "description": "map: what each item becomes, an object or a string. Its strings are "
                                    "templates rendered per item over `item` and `index` only: "
                                    "{\"email\": \"{{ item.email }}\", \"position\": \"{{ index + 1 }}\"}."},
        "condition": {**_PATH, "title": "Condition",
                      "description": "filter: an expression over `item` and `index` only, bare or in "
                                     "{{ }} (item.active and item.age >= 18). Items for which it is false "
                                     "are dropped."},
    },
    "additionalProperties": False,
    "allOf": [
        {"if": {"properties": {"type": {"const": kind}}, "required": ["type"]},
         "then": {"required": list(required), **_ONLY_FOR.get(kind, {})}}
        for kind, (required, _) in FIELDS.items()
    ],
}

CONFIG_SCHEMA = {
    "type": "object",
    "properties": {
        "source": {"title": "Source",
                   "description": "The value to transform, e.g. \"{{ steps.<key>.output.body }}\". Without it: "
                                  "the output of the step this one depends on when it depends on exactly one, "
                                  "else (no upstream step, or several) the run's input."},
        "transforms": {"type": "array", "items": TRANSFORM_SCHEMA, "default": [], "title": "Transforms",
                       "description": "Applied in order, each to the result of the one before."},
    },
    "additionalProperties": False,
}


def _check(config: dict) -> list[tuple[str, str]]:
    """What the schema leaves open: fields a transform's type does not use, and conditions that do
    not parse as one expression (a raw field: `item.x > {{ input.y }}` is refused, not rendered)."""
    problems: list[tuple[str, str]] = []
    items = config.get("transforms")
    for index, transform in enumerate(items if isinstance(items, list) else []):
        kind = transform.get("type") if isinstance(transform, dict) else None
        if kind not in FIELDS:
            continue
        required, optional = FIELDS[kind]
        for name in transform:
            if name != "type" and name not in required + optional:
                problems.append((f"transforms.{index}.{name}", f"not used by a {kind!r} transform, which takes "
                                                               f"{', '.join(required + optional)}"))
        condition = transform.get("condition")
        if kind == "filter" and isinstance(condition, str):
            error = templating.condition_syntax_error(condition)
            if error:
                problems.append((f"transforms.{index}.condition", error))
    return problems


def _source(config: dict, ctx: StepContext):
    """What is transformed: `source`; without it, the single upstream step's output, or the run's input."""
    if "source" in config:
        return config["source"]
    found, output = ctx.upstream_output()
    if found:
        return output
    if len(ctx.upstream) == 1:  # it runs after its upstream step completed: its output must be there
        raise StepError(f"no output of upstream step {ctx.upstream[0]!r} to transform; set source",
                        retryable=False)
    return ctx.input


@step_type(
    "data_transform",
    side_effects=False,
    category="data",
    description="Reshape data: pick, omit, rename, set, merge, map and filter lists, defaults.",
    config_schema=CONFIG_SCHEMA,
    output_schema={"type": "object", "required": ["result"],
                   "properties": {"result": {"description": "The source after every transform."}}},
    example={"source": "{{ steps.fetch_user.output.body }}", "transforms": [
        {"type": "pick", "fields": ["id", "email", "profile.name", "orders"]},
        {"type": "rename", "from": "profile.name", "to": "name"},
        {"type": "default", "field": "plan", "value": "free"},
        {"type": "filter", "field": "orders", "condition": "item.status == 'paid'"},
        {"type": "map", "field": "orders", "template": {"id": "{{ item.id }}", "position": "{{ index + 1 }}"}},
    ]},
    example_data={"steps": {"fetch_user": {"output": {"body": {
        "id": 7, "email": "ada@example.com", "profile": {"name": "Ada Lovelace"}, "created": "2026-11-30",
        "orders": [{"id": 1, "status": "paid"}, {"id": 2, "status": "refunded"}, {"id": 3, "status": "paid"}],
    }}}}},
    check_config=_check,
    raw_fields=RAW_FIELDS,
    reads_run_data=lambda config: isinstance(config, dict) and "source" not in config,
)
def data_transform_step(config: dict, ctx: StepContext) -> dict:
    try:
        result = transforms.apply(_source(config, ctx), config.get("transforms") or [])
    except transforms.TransformError as exc:
        raise StepError(str(exc), retryable=False,
                        details={"transform": exc.index, "type": exc.type, "field": exc.field}) from None
    return {"result": result}
