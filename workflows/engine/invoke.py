"""One call of a step type's handler: render its config over the run's data, check it against the
type's schema, run the handler within a time limit, and redact the credentials it was handed from
everything it leaves behind.

The orchestrator runs every attempt through `invoke()`; the designer's "try a step"
(workflows/services/step_trial.py) runs one with sample data. Neither records anything here.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from django.conf import settings
from django.db import connections

from .. import json_values, template_limits, templating
from ..credentials import Resolver, named_in
from ..runner import run_with_timeout
from ..secrets import redact, redact_error, redacted_from_logs
from ..steps import registry
from ..steps.base import RunChildren, StepContext, StepError, StepTimeout, Wait


class ConfigError(StepError):
    """The config does not render, or breaks its type's schema: no retry can help. `fields` maps
    config paths ("config.url") to their messages."""

    def __init__(self, message: str, *, fields: dict[str, list[str]]):
        super().__init__(message, retryable=False, details={"fields": fields})

    @property
    def fields(self) -> dict[str, list[str]]:
        return self.details.get("fields", {})


@dataclass
class Outcome:
    """What one handler call left: exactly one of output, wait, children or error."""

    output: dict | None = None
    wait: Wait | None = None
    children: RunChildren | None = None
    error: StepError | None = None
    traceback: str = ""
    rendered: Any = None
    logs: list = field(default_factory=list)
    # Answered by a replay's mock or recording instead of the handler (workflows/engine/replay.py).
    mocked: bool = False


def _config_path(path: str) -> str:
    return f"config.{path}" if path else "config"


def _per_owner(task_type: str) -> bool:
    try:
        return registry.get(task_type).per_owner
    except registry.UnknownStepType:
        return False  # said when the handler is looked up


def _wants_run_data(task_type: str, config: Any) -> bool:
    """Whether the run's data is needed beyond the config's templates: by a handler that reads it, or
    for `{field}` placeholders."""
    try:
        step_type = registry.get(task_type)
    except registry.UnknownStepType:
        return False  # said when the handler is looked up
    reads = step_type.reads_run_data
    if reads(config) if callable(reads) else reads:
        return True
    return bool(step_type.placeholder_fields) and any(
        templating.has_placeholders(config.get(name)) for name in step_type.placeholder_fields
        if isinstance(config, dict))


def invoke(*, task_type: str, config: Any, step_key: str, ctx: StepContext, secrets: Resolver,
           run_data: Callable[[], dict], timeout: float) -> Outcome:
    """Run `task_type`'s handler once on `config`. `run_data()` (what templates see) is asked only
    when the config has a template or the type reads the run's data (ctx.run_data()); credentials
    come from `secrets`, resolved only where named."""
    outcome = Outcome(logs=ctx.logs)
    try:
        secrets.preload(named_in(config))
        # Asked here, in the calling thread (the handler runs in another, and must not query).
        data = run_data() if _wants_run_data(task_type, config) or templating.is_template(str(config)) else {}
        if _per_owner(task_type):
            ctx.owner_id = secrets.owner()
        if names := templating.secret_names(config):
            data["secrets"] = {name: secrets.get(name) for name in sorted(names)}
    except StepError as exc:
        outcome.error = exc
        return outcome

    if data:  # what the handler's ctx.run_data() answers: the data its config was rendered over
        ctx.data = lambda: data
    deadline = time.monotonic() + timeout

    def work() -> None:
        try:
            with template_limits.step_deadline(deadline):  # no template work goes on past the timeout
                _work()
        except templating.TemplateError as exc:
            outcome.error = ConfigError(f"step {step_key!r}: config.{exc.field}: {exc.message}",
                                        fields={_config_path(exc.field): [exc.message]})
        except StepError as exc:
            outcome.error = exc
        except Exception as exc:  # noqa: BLE001  (whatever the handler raised is the step's error)
            outcome.error = StepError(f"{type(exc).__name__}: {exc}")
            outcome.traceback = traceback.format_exc()
        finally:
            connections.close_all()  # this thread's own connections, if the handler opened any

    def _work() -> None:
        step_type = registry.get(task_type)
        outcome.rendered = templating.render_config(config, data, raw=step_type.raw_fields,
                                                    placeholders=step_type.placeholder_fields) if data else config
        problems = registry.config_errors(task_type, outcome.rendered)
        if problems:
            fields: dict[str, list[str]] = {}
            for path, message in problems:
                fields.setdefault(_config_path(path), []).append(message)
            raise ConfigError("config " + "; ".join(f"{f or '(root)'}: {m}" for f, m in problems), fields=fields)
        result = step_type.execute(outcome.rendered, ctx)
        if isinstance(result, Wait):
            outcome.wait = result
        elif isinstance(result, RunChildren):
            outcome.children = result
        else:
            outcome.output = result if isinstance(result, dict) else {"result": result}
        not_json = json_values.problem(outcome.output if outcome.wait is None else outcome.wait.output,
                                       max_depth=settings.FLOWPILOT_JSON_MAX_DEPTH)
        if not_json:  # recorded as jsonb: anything else would fail the recording, not the step
            outcome.output = outcome.wait = None
            raise StepError(f"step {step_key!r}: output: {not_json}", retryable=False)

    with redacted_from_logs(secrets.used):  # the handler's thread inherits this (runner copies the context)
        finished = run_with_timeout(work, timeout)
    if not finished:  # its result, if it ever comes, is ignored
        outcome = Outcome(error=StepTimeout(timeout), rendered=outcome.rendered)
    return redacted(outcome, secrets.used)


def redacted(outcome: Outcome, used: set[str]) -> Outcome:
    """`outcome` with every credential value in `used` replaced by [redacted], wherever it appears."""
    if not used:
        return outcome
    error = outcome.error and redact_error(outcome.error, used)
    wait = outcome.wait and Wait(until=outcome.wait.until, signal=outcome.wait.signal,
                                 output=redact(outcome.wait.output, used))
    spawn = outcome.children and RunChildren(**{**asdict(outcome.children),
                                                 "inputs": redact(outcome.children.inputs, used)})
    return Outcome(output=redact(outcome.output, used), wait=wait, error=error, children=spawn,
                   traceback=redact(outcome.traceback, used), rendered=redact(outcome.rendered, used),
                   logs=[(level, redact(message, used), redact(details, used)) for level, message, details in outcome.logs],
                   mocked=outcome.mocked)
