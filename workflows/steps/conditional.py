"""`conditional`: choose a branch. Steps after it that depend on "key:<branch>" run only on that
branch; the others are skipped (and skipping propagates until a join).

Conditions are templates that render to true or false: `"{{ input.amount > 100 }}"`.
"""

from .base import StepContext
from .registry import step_type

CONDITION = {"type": "boolean", "description": "A template that renders to true or false, e.g. "
                                              "{{ input.amount > 100 }}"}


def branches(config: dict) -> list[str]:
    if config.get("cases"):
        names = [c.get("branch", "") for c in config["cases"] if isinstance(c, dict)]
        return [*names, config.get("default") or "default"]
    return ["true", "false"]


@step_type(
    "conditional",
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
)
def conditional_step(config: dict, ctx: StepContext) -> dict:
    if "condition" in config:
        return {"branch": "true" if config["condition"] else "false"}
    for case in config["cases"]:
        if case["when"]:
            return {"branch": case["branch"]}
    return {"branch": config.get("default") or "default"}
