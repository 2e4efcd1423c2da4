"""`log`: write a (templated) line to the execution's log; handy for tracing data through a run."""

from .base import StepContext
from .registry import step_type


@step_type(
    "log",
    category="utility",
    description="Write a message to the execution's log.",
    config_schema={
        "type": "object",
        "required": ["message"],
        "properties": {
            "message": {"type": "string", "title": "Message", "minLength": 1},
            "level": {"type": "string", "enum": ["debug", "info", "warning", "error"], "default": "info"},
        },
        "additionalProperties": False,
    },
    output_schema={"type": "object", "properties": {"message": {"type": "string"}}},
    example={"message": "New signup: {{ input.email }}", "level": "info"},
    example_data={"input": {"email": "ada@example.com"}},
)
def log_step(config: dict, ctx: StepContext) -> dict:
    ctx.log(str(config["message"]), level=config.get("level", "info"))
    return {"message": str(config["message"])}
