"""What a step type is, what a handler receives, and what it may answer.

Handlers never touch models: they get plain JSON config and a StepContext, and answer a dict
(the output), a Wait (a durable timer or signal), or raise StepError (saying whether to retry).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


class StepError(Exception):
    """A step failed. `retryable=False` fails it at once, whatever its retry policy.

    `retry_after` (seconds) is the earliest a retry can help, e.g. while a circuit is open or as a
    server's Retry-After: the engine waits at least this long before the next attempt.
    `consumes_attempt=False` (a call that was never made, e.g. an open circuit) leaves the step's
    retry budget as it was.
    """

    def __init__(self, message: str, *, retryable: bool = True, details: dict | None = None,
                 retry_after: float | None = None, consumes_attempt: bool = True):
        super().__init__(message)
        self.message = message
        self.retryable = retryable
        self.details = details or {}
        self.retry_after = retry_after
        self.consumes_attempt = consumes_attempt


class StepTimeout(StepError):
    def __init__(self, seconds: float):
        super().__init__(f"step timed out after {seconds:g} s", retryable=True, details={"timeout_seconds": seconds})


@dataclass(frozen=True)
class Wait:
    """Park the step without holding a worker until `until` (a durable timer) or a signal."""

    until: datetime | None = None
    signal: str | None = None
    output: dict = field(default_factory=dict)


def _no_secrets(name: str) -> str:
    raise StepError(f"credential {name!r} is not available here", retryable=False)


def _nothing() -> None:
    return None


@dataclass(frozen=True)
class RunChildren:
    """Run another workflow once per input (at most `parallelism` at a time) and wait for them,
    holding no worker. The step completes with their outputs in order, or fails with the first
    failure (unless `collect_errors`). `single`: the step's output is the one child's output."""

    workflow_id: str
    inputs: list
    parallelism: int = 1
    collect_errors: bool = False
    single: bool = False


@dataclass
class StepContext:
    """What a handler knows of the run it is part of."""

    execution_id: str
    step_key: str
    attempt: int
    idempotency_key: str
    timeout_seconds: float
    input: dict
    logs: list[tuple[str, str, dict]] = field(default_factory=list)
    # secret(name) -> the value of the workflow owner's credential `name` (StepError if unknown).
    # The engine redacts every value handed out this way from the step's output, errors and logs.
    secret: Callable[[str], str] = _no_secrets
    # The keys of the steps this one depends on (a branch edge "plan:true" names "plan").
    upstream: tuple[str, ...] = ()
    # The workflow owner's id, for step types registered `per_owner` (None for the others).
    owner_id: object = None
    # data() -> the run's data as templates see it ({"input", "context", "steps": {"<key>": {"output"}},
    # "execution"}): set by the engine for a type that reads_run_data (or whose config has a template).
    # Handlers ask run_data().
    data: Callable[[], dict] | None = None
    # A type that calls hosts calls before_call() right before it contacts the host (http_client.send
    # does, given it): the engine waits there for the step's rate-limit slot (engine/step_limits.py).
    # Calling it again does nothing.
    before_call: Callable[[], None] = _nothing

    def run_data(self) -> dict:
        """The run's data as templates see it; without the engine's (a handler called directly), the
        input alone."""
        if self.data is not None:
            return self.data()
        return {"input": self.input, "context": {}, "steps": {},
                "execution": {"id": self.execution_id, "workflow_id": None, "retry_count": 0}}

    def upstream_output(self) -> tuple[bool, Any]:
        """(True, output) of the one step this one depends on, if there is exactly one and it
        completed; else (False, None)."""
        if len(self.upstream) != 1:
            return False, None
        found = (self.run_data().get("steps") or {}).get(self.upstream[0])
        return (True, found.get("output")) if isinstance(found, dict) and "output" in found else (False, None)

    def log(self, message: str, *, level: str = "info", **details: Any) -> None:
        """A line for the execution's log (written by the engine with the step's result)."""
        self.logs.append((level, str(message), details))


Handler = Callable[[dict, StepContext], "dict | Wait | RunChildren"]


@dataclass(frozen=True)
class StepType:
    """A registered step type: its name, its config's JSON Schema, what it outputs, and its handler."""

    name: str
    description: str
    category: str
    config_schema: dict
    execute: Handler
    output_schema: dict = field(default_factory=lambda: {"type": "object"})
    example: dict = field(default_factory=dict)
    # What the example's templates are rendered over, as in a run ({"input": ..., "steps": {"<key>":
    # {"output": ...}}}): with it the example can be run, by "try a step" and by the contract test.
    example_data: dict = field(default_factory=dict)
    # Checks a schema cannot express, at save time: answers (field, message) pairs.
    check_config: Callable[[dict], list[tuple[str, str]]] | None = None
    # The branches a step of this type can choose (its output's "branch"), for labelled edges.
    branches: Callable[[dict], list[str]] | None = None
    # Config fields the engine does not render, because the handler renders them itself (per item):
    # paths like "template" or "transforms[].template" ("[]": any list index).
    raw_fields: tuple[str, ...] = ()
    # Run by the engine for its own purposes (a code workflow's step): not offered to designed
    # workflows, not listed, but found by name when a run's step has it.
    internal: bool = False
    # String fields that take `{field}` placeholders from the run's input besides templates, rendered by
    # the engine ("Processing {order_id}": templating.render_placeholders). Paths as raw_fields.
    placeholder_fields: tuple[str, ...] = ()
    # Its handler reads the run's data beyond its rendered config (ctx.run_data(), ctx.upstream_output()):
    # the engine then hands it over even when the config has no template. A callable answers for one
    # (unrendered) config.
    reads_run_data: bool | Callable[[dict], bool] = False
    # Its data belongs to the workflow's owner (the file step's directory): the engine then hands the
    # owner's id over as ctx.owner_id, asked before the handler's thread starts.
    per_owner: bool = False
    # Whether running a step of this type changes something outside the run (sends, writes, starts
    # runs): a replay (docs/adr/0026) answers such a step from a recording instead of running it. A
    # callable answers for one (unrendered) config; `side_effects_note` then says the rule in words.
    # True, the safe answer, unless the type says otherwise.
    side_effects: bool | Callable[[dict], bool] = True
    side_effects_note: str = ""
    # Whether it calls hosts (HTTP, SMTP, chat webhooks): such a step may set its own flow control
    # (`limits`: concurrency and rate, workflows/flow_limits.py).
    calls_hosts: bool = False

    def has_side_effects(self, config: dict) -> bool:
        """Whether a step of this type with this (unrendered) config has side effects; a config the
        rule cannot read (a templated method, say) has them."""
        if not callable(self.side_effects):
            return bool(self.side_effects)
        try:
            return bool(self.side_effects(config if isinstance(config, dict) else {}))
        except Exception:  # noqa: BLE001  (a rule that cannot read the config answers the safe way)
            return True

    def describe(self) -> dict:
        side_effects = "by_config" if callable(self.side_effects) else ("always" if self.side_effects else "never")
        return {"name": self.name, "description": self.description, "category": self.category,
                "config_schema": self.config_schema, "output_schema": self.output_schema, "example": self.example,
                "example_data": self.example_data,
                "branches": self.branches(self.example) if self.branches else None,
                "side_effects": side_effects, "side_effects_note": self.side_effects_note,
                "calls_hosts": self.calls_hosts}
