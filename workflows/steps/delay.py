"""`delay`: a durable timer. The step waits in the database (wake_at), holding no worker."""

from datetime import timezone as dt_timezone

from django.utils import timezone
from django.utils.dateparse import parse_datetime

from .. import bounds
from .base import StepContext, StepError, Wait
from .registry import step_type


@step_type(
    "delay",
    side_effects=False,
    category="flow",
    description="Wait for a number of seconds, or until a time, without holding a worker.",
    config_schema={
        "type": "object",
        "properties": {
            "seconds": {"type": "number", "minimum": 0, "maximum": bounds.max_wait(), "title": "Seconds"},
            "until": {"type": "string", "title": "Until (ISO 8601 time)"},
        },
        "oneOf": [{"required": ["seconds"]}, {"required": ["until"]}],
        "additionalProperties": False,
    },
    output_schema={"type": "object", "properties": {"waited_until": {"type": "string"}}},
    example={"seconds": 3600},
)
def delay_step(config: dict, ctx: StepContext) -> Wait:
    if "until" in config:
        until = parse_datetime(str(config["until"]))
        if until is None:
            raise StepError(f"until: {config['until']!r} is not an ISO 8601 time", retryable=False)
        if timezone.is_naive(until):
            until = timezone.make_aware(until, dt_timezone.utc)
    else:
        until = bounds.after(timezone.now(), config["seconds"])
    return Wait(until=until, output={"waited_until": until.isoformat()})
