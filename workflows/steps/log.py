"""`log`: write a line to the execution's log; handy for tracing data through a run.

The message takes {{ }} templates over the run's data and `{field}` placeholders from the run's
input ("Processing {order_id}", as in seed 002), rendered by the engine (templating.render_placeholders).
"""

from .base import StepContext
from .registry import step_type


@step_type(
    "log",
    side_effects=False,
    category="utility",
    description="Write a message to the execution's log.",
    config_schema={
        "type": "object",
        "required": ["message"],
        "properties": {
            "message": {"type": "string", "title": "Message", "minLength": 1,
                        "description": "Text with {{ }} templates (New signup: {{ input.email }}) and {field} "
                                       "placeholders from the run's input (Processing {order_id}, "
                                       "{customer.email}); a missing field's placeholder is shown as written."},
            "level": {"type": "string", "enum": ["debug", "info", "warning", "error"], "default": "info"},
        },
        "additionalProperties": False,
    },
    output_schema={"type": "object", "properties": {"message": {"type": "string"}}},
    example={"message": "New signup: {{ input.email }}", "level": "info"},
    example_data={"input": {"email": "ada@example.com"}},
    placeholder_fields=("message",),
)
def log_step(config: dict, ctx: StepContext) -> dict:
    ctx.log(str(config["message"]), level=config.get("level", "info"))
    return {"message": str(config["message"])}
