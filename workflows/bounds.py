"""Bounds on every number a workflow can ask for: one place, read by every entry point (the API's
serializers, the definition check that saves, imports and code workflows go through, the designer
through GET /api/v1/limits/) and by the engine, which clamps what it computes from stored values.

Pure: no ORM. The highs are settings (FLOWPILOT_MAX_*), read when asked, so tests and deployers
can change them.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from django.conf import settings

MAX_RETRIES = 100  # retries after the first attempt: at most 101 attempts
# A step's key: how templates name it (steps.<key>.output), so an identifier. The model's column and
# the API's fields read it from here, and the designer through GET /api/v1/limits/.
STEP_KEY_MAX_LENGTH = 100
STEP_KEY_PATTERN = rf"^[A-Za-z_][A-Za-z0-9_]{{0,{STEP_KEY_MAX_LENGTH - 1}}}$"
STEP_KEY_HELP = "use letters, digits and underscores, starting with a letter or underscore"
# The longest comment an approval's decision keeps (the step's output, the log).
APPROVAL_COMMENT_MAX_LENGTH = 2000
# A workflow's search fields (workflows/search_fields.py, docs/adr/0028-search-by-business-data.md):
# how many, their names (identifiers, as in ?search.<name>=), their templates, the values stored and
# how many search.<name> filters one request may give.
SEARCH_FIELDS_MAX = 10
SEARCH_FIELD_NAME_MAX_LENGTH = 50
SEARCH_FIELD_NAME_PATTERN = rf"^[A-Za-z_][A-Za-z0-9_]{{0,{SEARCH_FIELD_NAME_MAX_LENGTH - 1}}}$"
SEARCH_TEMPLATE_MAX_LENGTH = 500
SEARCH_VALUE_MAX_LENGTH = 200
SEARCH_FILTERS_MAX = 5
# The most mocks one replay (POST /api/v1/executions/{id}/replay/) may give; their size together is
# bounded by FLOWPILOT_MAX_PAYLOAD_BYTES.
REPLAY_MAX_MOCKS = 500


def max_retry_delay() -> float:
    """Seconds: the longest wait between two attempts (retry_base_delay, retry_max_delay)."""
    return float(settings.FLOWPILOT_MAX_RETRY_DELAY_SECONDS)


def max_backoff_factor() -> float:
    return float(settings.FLOWPILOT_MAX_BACKOFF_FACTOR)


def max_step_timeout() -> float:
    """Seconds: the longest a step's attempt may run (timeout_seconds)."""
    return float(settings.FLOWPILOT_MAX_STEP_TIMEOUT_SECONDS)


def max_wait() -> float:
    """Seconds: the longest a step may wait (a delay, a signal's timeout, a code step's sleep)."""
    return float(settings.FLOWPILOT_MAX_WAIT_SECONDS)


def max_concurrency() -> int:
    return int(settings.FLOWPILOT_MAX_CONCURRENCY)


# Flow control (workflows/flow_limits.py): a rate limit's period and a debounce window, in seconds.
MIN_RATE_PERIOD_SECONDS = 0.001
MIN_DEBOUNCE_SECONDS = 0.1


def max_rate_limit() -> int:
    """The most a rate limit may allow per period (its `limit`, its `burst`)."""
    return int(settings.FLOWPILOT_MAX_RATE_LIMIT)


def max_rate_period() -> float:
    """Seconds: the longest period of a rate limit."""
    return float(settings.FLOWPILOT_MAX_RATE_PERIOD_SECONDS)


def max_debounce() -> float:
    """Seconds: the longest debounce window."""
    return float(settings.FLOWPILOT_MAX_DEBOUNCE_SECONDS)


def max_offset_minutes() -> int:
    """An event trigger's offset from the event's time, either way."""
    return int(settings.FLOWPILOT_MAX_OFFSET_MINUTES)


def max_workflow_steps() -> int:
    """The most steps one workflow (a graph workflow's definition) may have."""
    return int(settings.FLOWPILOT_MAX_WORKFLOW_STEPS)


def max_bulk_start() -> int:
    """The most runs one bulk start (POST /api/v1/executions/bulk/) may ask for."""
    return int(settings.FLOWPILOT_MAX_BULK_START)


def max_bulk_rerun() -> int:
    """The most runs one bulk rerun (POST /api/v1/executions/rerun/) may select."""
    return int(settings.FLOWPILOT_MAX_BULK_RERUN)


def max_bulk_pause() -> int:
    """The most runs one bulk pause or unpause (POST /api/v1/executions/pause/, /unpause/) may select."""
    return int(settings.FLOWPILOT_MAX_BULK_PAUSE)


def limits() -> dict[str, dict[str, float | str]]:
    """Every bound by field name, as the API and the designer show it: {"field": {"min":, "max":}}.
    For "step_key", min and max bound its length, with the pattern it must match and the message
    a save answers when it does not."""
    return {
        "max_retries": {"min": 0, "max": MAX_RETRIES},
        "retry_base_delay": {"min": 0, "max": max_retry_delay()},
        "retry_max_delay": {"min": 0, "max": max_retry_delay()},
        "retry_backoff_factor": {"min": 1, "max": max_backoff_factor()},
        "timeout_seconds": {"min": 1, "max": max_step_timeout()},
        "max_concurrency": {"min": 1, "max": max_concurrency()},
        "wait_seconds": {"min": 0, "max": max_wait()},
        "offset_minutes": {"min": -max_offset_minutes(), "max": max_offset_minutes()},
        "steps": {"min": 0, "max": max_workflow_steps()},
        "step_key": {"min": 1, "max": STEP_KEY_MAX_LENGTH, "pattern": STEP_KEY_PATTERN, "message": STEP_KEY_HELP},
        "approval_comment": {"min": 0, "max": APPROVAL_COMMENT_MAX_LENGTH},
        "search_fields": {"min": 0, "max": SEARCH_FIELDS_MAX},
        "search_field_name": {"min": 1, "max": SEARCH_FIELD_NAME_MAX_LENGTH, "pattern": SEARCH_FIELD_NAME_PATTERN,
                              "message": STEP_KEY_HELP},
        "search_template": {"min": 1, "max": SEARCH_TEMPLATE_MAX_LENGTH},
        "search_value": {"min": 1, "max": SEARCH_VALUE_MAX_LENGTH},
        "replay_mocks": {"min": 0, "max": REPLAY_MAX_MOCKS},
    }


def clamp(value, low: float, high: float, *, default: float | None = None) -> float:
    """`value` as a float within [low, high]: past the maximum is the maximum. What is not a finite
    number (None, NaN, a string) is `default` (or `low`); never raises."""
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        return low if default is None else default
    if math.isnan(number):
        return low if default is None else default
    return min(max(number, low), high)


def after(now: datetime, seconds, *, high: float | None = None, low: float = 0.0) -> datetime:
    """`now` plus `seconds` clamped to [low, high] (default: [0, the longest wait]), so that no stored
    or computed number can overflow the date arithmetic; past the calendar's end is its end."""
    seconds = clamp(seconds, low, max_wait() if high is None else high)
    try:
        return now + timedelta(seconds=seconds)
    except OverflowError:
        return (datetime.max if seconds > 0 else datetime.min).replace(tzinfo=now.tzinfo)
