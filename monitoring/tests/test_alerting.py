"""The alert decision, pure: no database. One row of the table per case (monitoring/alerting.py)."""

from datetime import datetime, timedelta, timezone

import pytest

from monitoring.alerting import Measurement, RuleState, condition_met, decide, message

NOW = datetime(2026, 11, 2, 12, 0, tzinfo=timezone.utc)
COOLDOWN = timedelta(minutes=60)
EARLIER = NOW - timedelta(minutes=30)  # inside the cooldown
LONG_AGO = NOW - timedelta(hours=3)  # outside it


def state(state, *, since=LONG_AGO, notified=None):
    return RuleState(state=state, since=since, last_notified_at=notified, cooldown=COOLDOWN)


@pytest.mark.parametrize(("rule", "met", "expected"), [
    # ok
    (state("ok"), False, ("ok", None, False)),
    (state("ok"), True, ("firing", "firing", True)),
    (state("ok", notified=LONG_AGO), True, ("firing", "firing", True)),
    (state("ok", since=EARLIER, notified=EARLIER), True, ("firing", None, True)),  # flapping: held back
    # firing, announced
    (state("firing", since=EARLIER, notified=EARLIER), True, ("firing", None, False)),  # inside the cooldown
    (state("firing", since=LONG_AGO, notified=LONG_AGO), True, ("firing", None, False)),  # and after: no reminder
    (state("firing", since=EARLIER, notified=EARLIER), False, ("ok", "resolved", True)),
    (state("firing", since=LONG_AGO, notified=LONG_AGO), False, ("ok", "resolved", True)),
    # firing, held back (a resolved one went out before it began)
    (state("firing", since=EARLIER, notified=EARLIER - timedelta(minutes=1)), True, ("firing", None, False)),
    (state("firing", since=EARLIER, notified=LONG_AGO), True, ("firing", "firing", False)),  # cooldown over
    (state("firing", since=EARLIER, notified=EARLIER - timedelta(minutes=1)), False, ("ok", None, True)),
    # cannot judge: nothing moves
    (state("ok"), None, ("ok", None, False)),
    (state("firing", since=EARLIER, notified=EARLIER), None, ("firing", None, False)),
])
def test_decision_table(rule, met, expected):
    decision = decide(rule, met, NOW)
    assert (decision.state, decision.notify, decision.changed) == expected


def test_one_incident_is_one_notification_over_a_sequence():
    """Evaluate every minute through: fine, bad for 90 min, fine, a 2-minute flap, bad for good."""
    rule = state("ok", since=NOW - timedelta(days=1))
    sent = []
    pattern = [False] * 5 + [True] * 90 + [False] * 10 + [True] * 2 + [False] * 3 + [True] * 120
    for minute, met in enumerate(pattern):
        now = NOW + timedelta(minutes=minute)
        decision = decide(rule, met, now)
        if decision.notify:
            sent.append((minute, decision.notify))
        rule = RuleState(state=decision.state, since=now if decision.changed else rule.since,
                         last_notified_at=now if decision.notify else rule.last_notified_at, cooldown=COOLDOWN)
    # The flap at 105-106 starts within the cooldown of the resolved at 95: held back and never
    # announced; the last incident (from 110) is announced when the cooldown after 95 is over.
    assert sent == [(5, "firing"), (95, "resolved"), (155, "firing")]


@pytest.mark.parametrize(("kind", "threshold", "min_runs", "hours", "value", "runs", "expected"), [
    ("failure_rate", 0.10, 20, None, 0.30, 100, True),
    ("failure_rate", 0.10, 20, None, 0.10, 100, False),  # above, not at
    ("failure_rate", 0.10, 20, None, 0.50, 19, None),  # too few runs to judge
    ("failure_rate", 0.10, 20, None, None, 0, None),
    ("failure_rate", 0.10, 0, None, None, 0, None),  # no runs at all: nothing to judge, even with min_runs 0
    ("p95_duration", 2.0, 5, None, 2.5, 5, True),
    ("p95_duration", 2.0, 5, None, 1.5, 50, False),
    ("no_success", None, 20, 6.0, 7.0, 0, True),
    ("no_success", None, 20, 6.0, None, 0, True),  # never succeeded in the window
    ("no_success", None, 20, 6.0, 0.5, 3, False),
])
def test_condition(kind, threshold, min_runs, hours, value, runs, expected):
    assert condition_met(kind=kind, threshold=threshold, min_runs=min_runs, hours=hours,
                         measurement=Measurement(value, runs)) is expected


def test_messages_say_what_and_how_much():
    m = Measurement(0.3, 100)
    fired = message(notify="firing", rule_name="registrations", subject="workflow 'signup'", kind="failure_rate",
                    condition="failure rate > 10.0% over 15 min (at least 20 runs)", measurement=m)
    assert fired == ("FIRING: registrations (workflow 'signup'): failure rate > 10.0% over 15 min (at least 20 runs); "
                     "now 30.0% over 100 runs")
    assert message(notify="resolved", rule_name="r", subject="s", kind="no_success", condition="c",
                   measurement=Measurement(None, 0)).startswith("RESOLVED: r (s): back within c; now last success never")
