"""Step functions the tests use (registered in the test process and in the workers they start)."""

from __future__ import annotations

import time

from workflows.steps import StepError, step_function

CALLS: list[dict] = []


@step_function("add")
def add(a: int, b: int = 0) -> dict:
    return {"sum": a + b}


@step_function("noop")
def noop() -> dict:
    return {}


@step_function("record")
def record(value: object = "", idempotency_key: str = "", attempt: int = 0) -> dict:
    CALLS.append({"value": value, "idempotency_key": idempotency_key, "attempt": attempt})
    return {"value": value}


@step_function("sleep")
def sleep(seconds: float) -> dict:
    time.sleep(seconds)
    return {"slept": seconds}


@step_function("flaky")
def flaky(fail_times: int, attempt: int = 0) -> dict:
    """Fails on its first `fail_times` attempts, then succeeds."""
    if attempt <= fail_times:
        raise RuntimeError(f"flaky failure on attempt {attempt}")
    return {"attempt": attempt}


@step_function("fail")
def fail(message: str = "boom", retryable: bool = True) -> dict:
    raise StepError(message, retryable=retryable)


FAULTS: set[str] = set()


@step_function("create_patient")
def create_patient(name: str, phone: str = "", idempotency_key: str = "") -> dict:
    """Fails while `name` is in FAULTS (the test's switch for "the database is overloaded")."""
    CALLS.append({"value": name, "idempotency_key": idempotency_key})
    if name in FAULTS:
        raise StepError(f"database overloaded while creating {name}")
    return {"patient": name}


# A custom step type, as a user would write one (see the README): registered because this module is
# listed in FLOWPILOT_STEP_MODULES.
from workflows.steps import StepContext, step_type  # noqa: E402

SENT_SMS: list[dict] = []


@step_type(
    "test_sms",
    category="integration",
    description="Send an SMS (test double of a gateway).",
    config_schema={"type": "object", "required": ["to", "text"], "additionalProperties": False,
                   "properties": {"to": {"type": "string", "pattern": r"^\+?[0-9{} .a-z_]+$"},
                                  "text": {"type": "string", "maxLength": 160}}},
    output_schema={"type": "object", "properties": {"message_id": {"type": "string"}}},
    example={"to": "{{ input.phone }}", "text": "Your code is 1234"},
    example_data={"input": {"phone": "+15550001"}},
)
def test_sms(config: dict, ctx: StepContext) -> dict:
    SENT_SMS.append({**config, "idempotency_key": ctx.idempotency_key})
    ctx.log(f"SMS to {config['to']}")
    return {"message_id": f"sms-{len(SENT_SMS)}"}
