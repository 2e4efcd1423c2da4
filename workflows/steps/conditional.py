"""`conditional`: choose a branch. Steps after it that depend on "key:<branch>" run only on that
branch; the others are skipped (and skipping propagates until a join).

A condition is a template that renders to true or false (`"{{ input.amount > 100 }}"`), or a
structured one, `{"field": "amount", "operator": "gt", "value": 100}` (workflows/conditions.py).
"""

from .. import conditions
from .base import StepContext, StepError
from .registry import step_type

# A template renders to a boolean; an object is a structured condition. ("required" and "properties"
# apply to objects only, so a refused structured form is named field by field.)
CONDITION = {
    "type": ["boolean", "object"],
    "description": "A template that renders to true or false, e.g. {{ input.amount > 100 }}; or a field "
                   "condition, e.g. {\"field\": \"amount\", \"operator\": \"gt\", \"value\": 100}",
    **{k: v for k, v in conditions.SCHEMA.items() if k not in ("type", "title")},
}


def _check(config: dict) -> list[tuple[str, str]]:
    """The structured conditions' patterns (what a schema cannot check)."""
    found = []
    if isinstance(config.get("condition"), dict):
        found += [(f"condition.{f}", m) for f, m in conditions.problems(config["condition"])]
    for index, case in enumerate(config.get("cases") or []):
        if isinstance(case, dict) and isinstance(case.get("when"), dict):
            found += [(f"cases.{index}.when.{f}", m) for f, m in conditions.problems(case["when"])]
    return found


def _has_structured_condition(config: dict) -> bool:
    if not isinstance(config, dict):
        return False
    cases = config.get("cases") if isinstance(config.get("cases"), list) else []
    return isinstance(config.get("condition"), dict) or any(
        isinstance(c, dict) and isinstance(c.get("when"), dict) for c in cases)


def _holds(condition, ctx: StepContext) -> bool:
    if not isinstance(condition, dict):
        return bool(condition)
    try:
        return conditions.evaluate(condition, ctx.run_data())
    except conditions.ConditionError as exc:
        raise StepError(f"condition: {exc}", retryable=False, details={"condition": condition}) from None


def branches(config: dict) -> list[str]:
    if config.get("cases"):
        names = [c.get("branch", "") for c in config["cases"] if isinstance(c, dict)]
        return [*names, config.get("default") or "default"]
    return ["true", "false"]


@step_type(
    "conditional",
    side_effects=False,
    category="flow",
    description="Choose a branch: true/false from one condition, or the first matching case.",
    config_schema={
        "type": "object",
        "properties": {
            "condition": {**CONDITION, "title": "Condition"},
            "cases": {
                "type": "array", "title": "Cases (the first true one wins)", "minItems": 1,
                "items": {"type": "object", "required": ["branch", "when"], "additionalProperties": False,
                          "properties": {"branch": {"type": "string", "pattern": r"^[A-Za-z0-9_-]{1,100}$"},
                                         "when": CONDITION}},
            },
            "default": {"type": "string", "title": "Branch when no case matches", "default": "default",
                        "pattern": r"^[A-Za-z0-9_-]{1,100}$"},
        },
        "oneOf": [{"required": ["condition"]}, {"required": ["cases"]}],
        "additionalProperties": False,
    },
    output_schema={"type": "object", "properties": {"branch": {"type": "string"}}},
    example={"condition": "{{ input.plan == 'pro' }}"},
    example_data={"input": {"plan": "pro"}},
    branches=branches,
    check_config=_check,
    reads_run_data=_has_structured_condition,
)
def conditional_step(config: dict, ctx: StepContext) -> dict:
    if "condition" in config:
        return {"branch": "true" if _holds(config["condition"], ctx) else "false"}
    for case in config["cases"]:
        if _holds(case["when"], ctx):
            return {"branch": case["branch"]}
    return {"branch": config.get("default") or "default"}
