""""Try a step" in the designer: one step type's handler, run once in the web process on sample data.

The same call as an attempt in a worker (workflows/engine/invoke.py: templating, schema check, the
requesting user's credentials resolved late and redacted, a time limit), but no execution exists
and nothing is recorded. A Wait or RunChildren answer is reported, not acted on.
"""

from __future__ import annotations

import math
import time
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any

from django.conf import settings

from ..credentials import Resolver
from ..errors import InvalidInput, NotFound
from ..engine.invoke import ConfigError, Outcome, invoke
from ..steps import registry
from ..steps.base import StepContext


@dataclass
class TrialResult:
    status: str  # completed | failed | waiting | would_start_children
    output: Any = None
    error: str | None = None  # the message; its type and retryability in error_details
    error_details: dict | None = None
    traceback: str = ""
    rendered_config: Any = None
    logs: list[dict] = field(default_factory=list)
    duration_ms: float = 0.0


def check_step_type(*, name: str) -> None:
    """NotFound (listing the known types) unless `name` is a registered step type."""
    try:
        registry.get(name)
    except registry.UnknownStepType as exc:
        raise NotFound(str(exc)) from None


def step_try(*, user, task_type: str, config: dict, input_data: dict, steps: dict[str, dict], key: str = "step",
             timeout_seconds: float | None = None) -> TrialResult:
    """Run `task_type` on `config`, its templates rendered over `input_data` and the sample outputs of
    upstream `steps` ({"<key>": {"output": {...}}}). InvalidInput when the config does not render
    or breaks the type's schema."""
    check_step_type(name=task_type)
    timeout = min(timeout_seconds or settings.FLOWPILOT_TRY_DEFAULT_SECONDS, settings.FLOWPILOT_TRY_MAX_SECONDS)
    trial_id = str(uuid.uuid4())
    secrets = Resolver(owner_id=user.pk)
    ctx = StepContext(execution_id=trial_id, step_key=key, attempt=1, idempotency_key=f"try:{trial_id}:{key}",
                      timeout_seconds=timeout, input=input_data, secret=secrets.get,
                      upstream=tuple(steps))  # the sample outputs given are those of its upstream steps
    data = {"input": input_data, "context": {}, "steps": steps,
            "execution": {"id": trial_id, "workflow_id": None, "retry_count": 0}}
    started = time.monotonic()
    outcome = invoke(task_type=task_type, config=config, step_key=key, ctx=ctx, secrets=secrets,
                     run_data=lambda: dict(data), timeout=timeout)
    duration_ms = round((time.monotonic() - started) * 1000, 1)
    if isinstance(outcome.error, ConfigError):
        fields = outcome.error.fields
        summary = "; ".join(f"{path}: {' '.join(messages)}" for path, messages in fields.items())
        raise InvalidInput(f"Invalid input: {summary}", fields=fields)
    return _result(outcome, duration_ms)


def _result(outcome: Outcome, duration_ms: float) -> TrialResult:
    result = TrialResult(status="completed", output=outcome.output, traceback=outcome.traceback,
                         rendered_config=outcome.rendered, duration_ms=duration_ms,
                         logs=[{"level": level, "message": message, "details": details}
                               for level, message, details in outcome.logs])
    if outcome.error is not None:
        error = outcome.error
        result.status = "failed"
        result.error = error.message
        result.error_details = {"type": type(error).__name__, "retryable": error.retryable, **error.details}
    elif outcome.wait is not None:
        result.status = "waiting"
        result.output = {"until": outcome.wait.until.isoformat() if outcome.wait.until else None,
                         "signal": outcome.wait.signal, "output": outcome.wait.output}
    elif outcome.children is not None:
        result.status = "would_start_children"
        result.output = asdict(outcome.children)
    return TrialResult(**plain(asdict(result)))


def plain(value: Any) -> Any:
    """`value` as strict JSON: what a handler or a template made may hold dates, tuples or infinities."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [plain(v) for v in value]
    return value.isoformat() if hasattr(value, "isoformat") else str(value)
