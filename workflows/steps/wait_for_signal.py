"""`wait_for_signal` and `approval`: park the run until someone sends a signal, holding no worker.

POST /api/v1/executions/<id>/signal/ {"name": ..., "payload": {...}} completes the step; the
payload is merged into the run's context ({{ context.<field> }}) and is the step's output. After
`timeout_seconds` the step takes its "timeout" branch instead (or fails, with on_timeout "fail").
An approval is a signal named "approval" whose payload says {"approved": true|false}: its branches
are "approved", "rejected" and "timeout". It is answered too from the Approvals page and
POST /api/v1/approvals/<task_execution_id>/, and by the signed approve/reject links its waiting
output carries (approve_url, reject_url; workflows/approval_links.py) for a message to include.
"""

from django.utils import timezone

from .. import approval_links, bounds
from .base import StepContext, Wait
from .registry import step_type

NAME = {"type": "string", "pattern": r"^[A-Za-z0-9_.:-]{1,100}$"}
TIMEOUT = {"type": "number", "exclusiveMinimum": 0, "maximum": bounds.max_wait(), "title": "Timeout (s)",
           "description": "Wait at most this long; then take the timeout branch (or fail)."}
ON_TIMEOUT = {"type": "string", "enum": ["branch", "fail"], "default": "branch", "title": "On timeout"}


def _wait(signal: str, config: dict, **parked) -> Wait:
    seconds = config.get("timeout_seconds")
    until = bounds.after(timezone.now(), seconds) if seconds else None
    return Wait(until=until, signal=signal, output={**parked, "on_timeout": config.get("on_timeout", "branch")})


@step_type(
    "wait_for_signal",
    side_effects=False,
    category="flow",
    description="Wait until a signal arrives (POST .../signal/), or until a timeout.",
    config_schema={
        "type": "object", "required": ["signal"], "additionalProperties": False,
        "properties": {"signal": {**NAME, "title": "Signal name"}, "timeout_seconds": TIMEOUT,
                       "on_timeout": ON_TIMEOUT},
    },
    output_schema={"type": "object", "properties": {"branch": {"enum": ["received", "timeout"]},
                                                    "payload": {"type": "object"}}},
    example={"signal": "payment_received", "timeout_seconds": 172800},
    branches=lambda config: ["received", "timeout"],
)
def wait_for_signal_step(config: dict, ctx: StepContext) -> Wait:
    return _wait(config["signal"], config)


@step_type(
    "approval",
    side_effects=False,
    category="flow",
    description="Human in the loop: wait for an approve/reject decision, or a timeout.",
    config_schema={
        "type": "object", "additionalProperties": False,
        "properties": {"message": {"type": "string", "title": "What to approve"},
                       "recipient": {"type": "string", "title": "Links are for", "maxLength": approval_links.RECIPIENT_MAX_LENGTH,
                                     "description": "Who the approve/reject links are sent to (logged when one "
                                                    "is used), e.g. an email address. Optional."},
                       "timeout_seconds": TIMEOUT, "on_timeout": ON_TIMEOUT},
    },
    output_schema={"type": "object", "properties": {"branch": {"enum": ["approved", "rejected", "timeout"]},
                                                    "payload": {"type": "object"}}},
    example={"message": "Refund {{ input.amount }} EUR to {{ input.customer }}?", "timeout_seconds": 86400},
    example_data={"input": {"amount": 120, "customer": "Ada Lovelace"}},
    branches=lambda config: ["approved", "rejected", "timeout"],
)
def approval_step(config: dict, ctx: StepContext) -> Wait:
    ctx.log(f"Waiting for approval: {config.get('message', '')}".strip())
    links = approval_links.links(execution_id=ctx.execution_id, step_key=ctx.step_key,
                                 recipient=config.get("recipient", ""))
    return _wait("approval", config, approval=True, message=config.get("message", ""), **links)
