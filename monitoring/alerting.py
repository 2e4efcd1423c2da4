"""Alert decisions, pure: from a rule's state and a measurement to the next state and what to send.

No ORM, no I/O: the effects (measuring, notifying, writing history) are in alert_services.py.

One incident is one notification:

    state   condition  incident announced  cooldown over  ->  state   notify
    ok      not met    -                   -                  ok      -
    ok      met        -                   yes                firing  firing
    ok      met        -                   no                 firing  -          (flapping: held back)
    firing  met        yes                 -                  firing  -          (never repeated)
    firing  met        no                  yes                firing  firing     (held back, still there)
    firing  met        no                  no                 firing  -
    firing  not met    yes                 -                  ok      resolved
    firing  not met    no                  -                  ok      -          (never announced)
    any     unknown    -                   -                  same    -          (too few runs to judge)

"Announced" means a notification went out since the incident began. "Cooldown over" means no
notification went out in the last cooldown_minutes: an incident that starts again right after a
resolved one is held back, and announced once the cooldown is over if it still holds, so a flapping
measure sends one pair of notifications per cooldown, not one per flap. There are no reminders
while an incident lasts: the rule's `since` and its history say how long it has been firing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

Notify = Literal["firing", "resolved"] | None


@dataclass(frozen=True)
class Measurement:
    """What the metrics say about a rule: `value` in the rule's unit (fraction, seconds, hours;
    None: nothing to measure, e.g. no success at all), and the runs it was measured over."""

    value: float | None
    runs: int


@dataclass(frozen=True)
class RuleState:
    state: str  # "ok" | "firing"
    since: datetime | None
    last_notified_at: datetime | None
    cooldown: timedelta


@dataclass(frozen=True)
class Decision:
    state: str
    notify: Notify
    changed: bool  # the state changed (since moves to now)


def condition_met(*, kind: str, threshold: float | None, min_runs: int, hours: float | None,
                  measurement: Measurement) -> bool | None:
    """True when the rule's condition holds, False when it does not, None when it cannot be judged."""
    if kind == "no_success":
        # value: hours since the last success; None: no success in the window at all.
        return measurement.value is None or measurement.value >= (hours or 0)
    if measurement.runs < max(min_runs, 1) or measurement.value is None or threshold is None:
        return None
    return measurement.value > threshold


def decide(rule: RuleState, met: bool | None, now: datetime) -> Decision:
    """The next state of a rule and the notification to send, if any (the table above)."""
    if met is None:
        return Decision(rule.state, None, changed=False)
    cooled = rule.last_notified_at is None or now - rule.last_notified_at >= rule.cooldown
    if rule.state == "ok":
        if not met:
            return Decision("ok", None, changed=False)
        return Decision("firing", "firing" if cooled else None, changed=True)
    announced = (rule.last_notified_at is not None and rule.since is not None
                 and rule.last_notified_at >= rule.since)
    if met:
        return Decision("firing", "firing" if not announced and cooled else None, changed=False)
    return Decision("ok", "resolved" if announced else None, changed=True)


def describe_value(kind: str, value: float | None) -> str:
    if kind == "failure_rate":
        return "n/a" if value is None else f"{value * 100:.1f}%"
    if kind == "p95_duration":
        return "n/a" if value is None else f"{value:.2f} s"
    return "never" if value is None else f"{value:.1f} h ago"


def describe_condition(*, kind: str, threshold: float | None, window_minutes: int, min_runs: int,
                       hours: float | None) -> str:
    if kind == "failure_rate":
        return f"failure rate > {describe_value(kind, threshold)} over {window_minutes} min (at least {min_runs} runs)"
    if kind == "p95_duration":
        return f"p95 duration > {describe_value(kind, threshold)} over {window_minutes} min (at least {min_runs} runs)"
    return f"no successful run in {hours:g} h"


def message(*, notify: str, rule_name: str, subject: str, kind: str, condition: str,
            measurement: Measurement) -> str:
    """One line: what happened, to what, with the figure that decided it."""
    value = describe_value(kind, measurement.value)
    measured = f"last success {value}" if kind == "no_success" else f"{value} over {measurement.runs} runs"
    if notify == "firing":
        return f"FIRING: {rule_name} ({subject}): {condition}; now {measured}"
    if notify == "resolved":
        return f"RESOLVED: {rule_name} ({subject}): back within {condition}; now {measured}"
    return f"TEST: {rule_name} ({subject}): a test notification; condition {condition}"
