"""Alert rules evaluated against real runs in the database, notifying a real local HTTP receiver
(webhook and Slack channels) and Django's locmem outbox (email)."""

from __future__ import annotations

import json
import threading
from datetime import timedelta

import pytest
from django.core import mail
from django.db import connections, transaction
from django.utils import timezone

from monitoring import alert_services
from monitoring.models import AlertEvent, AlertRule
from monitoring.tests.alert_history import add_runs, registration
from workflows import credentials

pytestmark = pytest.mark.django_db


@pytest.fixture
def workflow(user):
    return registration(user)


def channels(server, **extra):
    return [{"type": "webhook", "url": f"{server.url}/hook"},
            {"type": "slack", "url": f"{server.url}/slack/T000/B000/XXXX"},
            {"type": "email", "to": ["ops@example.com"]}]


def failure_rule(user, workflow, server, **fields):
    data = {"name": "registrations failing", "workflow_id": workflow.pk, "kind": "failure_rate", "threshold": 0.10,
            "window_minutes": 15, "min_runs": 20, "cooldown_minutes": 60, "channels": channels(server)}
    data.update(fields)
    return alert_services.alert_rule_create(owner=user, data=data)


def received(server, path_start: str) -> list[dict]:
    return [r for r in server.requests if r["path"].startswith(path_start)]


def evaluate(rule, now):
    return alert_services.alert_rule_evaluate(rule_id=rule.pk, now=now)


def test_failures_crossing_10_percent_notify_once_then_resolve_once(user, workflow, server, allow_loopback):
    now = timezone.now()
    rule = failure_rule(user, workflow, server)
    add_runs(workflow, ended=now - timedelta(minutes=20), failed=30)  # before the window: not counted
    add_runs(workflow, ended=now - timedelta(minutes=10), ok=18, failed=2)  # 2/20 = 10%: not above

    first = evaluate(rule, now)
    assert (first.decision.state, first.decision.notify, first.measurement.runs) == ("ok", None, 20)
    assert first.measurement.value == pytest.approx(0.10)
    assert server.requests == [] and mail.outbox == []

    add_runs(workflow, ended=now - timedelta(minutes=5), failed=3)  # 5/23 = 21.7%
    now += timedelta(minutes=1)
    fired = evaluate(rule, now)
    assert (fired.decision.state, fired.decision.notify) == ("firing", "firing")
    assert len(received(server, "/hook")) == 1 and len(received(server, "/slack/")) == 1 and len(mail.outbox) == 1

    hook = received(server, "/hook")[0]
    body = json.loads(hook["body"])
    assert body["state"] == "firing" and body["runs"] == 23 and body["value"] == pytest.approx(5 / 23)
    assert body["rule"] == {"id": rule.pk, "name": "registrations failing", "kind": "failure_rate",
                            "workflow_id": str(workflow.pk), "step_key": ""}
    assert body["message"] == ("FIRING: registrations failing (workflow 'patient registration'): failure rate > "
                               "10.0% over 15 min (at least 20 runs); now 21.7% over 23 runs")
    # The app's pages, not the API's JSON (monitoring/tests/test_alert_links.py checks the base URL).
    assert body["links"]["failed_executions"].endswith(f"/executions?workflow={workflow.pk}&status=failed")
    assert not any("/api/" in link for link in body["links"].values())
    assert hook["headers"]["Idempotency-Key"].startswith(f"flowpilot-alert:{rule.pk}:firing:")
    slack = json.loads(received(server, "/slack/")[0]["body"])
    assert slack["text"].startswith("FIRING: registrations failing")
    assert mail.outbox[0].to == ["ops@example.com"]
    assert mail.outbox[0].subject.startswith("[FlowPilot] FIRING: registrations failing")

    # Still firing, evaluated again and again inside the cooldown (and after it): no repeat.
    for minutes in (1, 5, 30, 90):
        again = evaluate(rule, now + timedelta(minutes=minutes, seconds=-59))
        assert (again.decision.state, again.decision.notify) == ("firing", None)
    assert len(server.requests) == 2 and len(mail.outbox) == 1

    # Back under 10%: one resolved notification, and nothing more after it.
    later = now + timedelta(minutes=2)
    add_runs(workflow, ended=later - timedelta(seconds=30), ok=40)  # 5/63 = 7.9%
    resolved = evaluate(rule, later)
    assert (resolved.decision.state, resolved.decision.notify) == ("ok", "resolved")
    assert evaluate(rule, later + timedelta(minutes=1)).decision.notify is None
    assert len(received(server, "/hook")) == 2 and len(received(server, "/slack/")) == 2 and len(mail.outbox) == 2
    assert json.loads(received(server, "/hook")[1]["body"])["state"] == "resolved"
    assert mail.outbox[1].subject.startswith("[FlowPilot] RESOLVED: registrations failing")

    history = list(AlertEvent.objects.filter(rule=rule).order_by("created_at"))
    assert [e.state for e in history] == ["firing", "resolved"]
    assert [d["ok"] for d in history[0].deliveries] == [True, True, True]
    assert history[0].deliveries[0] == {"channel": 0, "type": "webhook", "target": f"{server.url}/...", "ok": True,
                                        "error": ""}
    rule.refresh_from_db()
    assert rule.state == "ok" and rule.since == later and rule.last_notified_at == later
    assert rule.last_runs == 63 and rule.last_value == pytest.approx(5 / 63)


def test_too_few_runs_are_not_judged(user, workflow, server, allow_loopback):
    now = timezone.now()
    rule = failure_rule(user, workflow, server)
    add_runs(workflow, ended=now - timedelta(minutes=1), failed=19)
    result = evaluate(rule, now)
    assert (result.decision.state, result.decision.notify) == ("ok", None) and server.requests == []


def test_p95_duration_of_a_step(user, workflow, server, allow_loopback):
    now = timezone.now()
    rule = alert_services.alert_rule_create(owner=user, data={
        "name": "slow EHR", "workflow_id": workflow.pk, "step_key": "create_patient", "kind": "p95_duration",
        "threshold": 2.0, "window_minutes": 15, "min_runs": 10, "channels": [{"type": "webhook", "url": f"{server.url}/hook"}]})
    add_runs(workflow, ended=now - timedelta(minutes=3), ok=19, duration_ms=500)
    add_runs(workflow, ended=now - timedelta(minutes=2), ok=1, duration_ms=3000)  # 1 in 20: p95 is rank 19
    calm = evaluate(rule, now)
    assert calm.measurement.value == pytest.approx(0.5) and calm.decision.notify is None

    add_runs(workflow, ended=now - timedelta(minutes=1), ok=1, duration_ms=3000)  # rank 20 of 21 is 3 s
    slow = evaluate(rule, now + timedelta(seconds=1))
    assert slow.measurement.value == pytest.approx(3.0) and slow.measurement.runs == 21
    assert slow.decision.notify == "firing"
    assert json.loads(received(server, "/hook")[0]["body"])["message"] == (
        "FIRING: slow EHR (step 'create_patient' of workflow 'patient registration'): p95 duration > 2.00 s over "
        "15 min (at least 10 runs); now 3.00 s over 21 runs")


def test_no_successful_run_in_n_hours(user, workflow, server, allow_loopback):
    now = timezone.now()
    add_runs(workflow, ended=now - timedelta(hours=3), ok=1)
    add_runs(workflow, ended=now - timedelta(minutes=10), failed=4)
    rule = alert_services.alert_rule_create(owner=user, data={
        "name": "registrations stalled", "workflow_id": workflow.pk, "kind": "no_success", "hours": 2,
        "channels": [{"type": "webhook", "url": f"{server.url}/hook"}]})
    stalled = evaluate(rule, now)
    assert stalled.decision.notify == "firing" and stalled.measurement.value == pytest.approx(3.0, abs=0.01)
    add_runs(workflow, ended=now + timedelta(seconds=30), ok=1)
    back = evaluate(rule, now + timedelta(minutes=1))
    assert back.decision.notify == "resolved" and back.measurement.value == pytest.approx(0.5 / 60, abs=0.001)
    assert [json.loads(r["body"])["state"] for r in received(server, "/hook")] == ["firing", "resolved"]


def test_a_rule_over_all_workflows_counts_only_the_owners_runs(user, other_user, server, allow_loopback):
    now = timezone.now()
    mine, theirs = registration(user), registration(other_user, name="theirs")
    add_runs(mine, ended=now - timedelta(minutes=1), ok=20)
    add_runs(theirs, ended=now - timedelta(minutes=1), failed=50)
    rule = failure_rule(user, mine, server, workflow_id=None)
    result = evaluate(rule, now)
    assert result.measurement.runs == 20 and result.measurement.value == 0 and result.decision.notify is None


def test_a_failing_channel_is_recorded_and_the_others_still_get_it(user, workflow, server, allow_loopback):
    now = timezone.now()
    credentials.credential_save(owner=user, name="slack_hook", value=f"{server.url}/slack/secret-path-123")
    rule = failure_rule(user, workflow, server, channels=[
        {"type": "webhook", "url": f"{server.url}/status/500?body=down"},
        {"type": "slack", "credential": "missing"},
        {"type": "slack", "credential": "slack_hook"},
        {"type": "webhook", "url": "http://127.0.0.1:1/nothing-listens"},
        {"type": "email", "to": ["ops@example.com"]},
    ])
    add_runs(workflow, ended=now - timedelta(minutes=1), failed=20)
    event = evaluate(rule, now).event
    assert [(d["ok"], d["target"]) for d in event.deliveries] == [
        (False, f"{server.url}/..."), (False, "credential 'missing'"), (True, "credential 'slack_hook'"),
        (False, "http://127.0.0.1:1/..."), (True, "ops@example.com")]
    errors = [d["error"] for d in event.deliveries]
    assert errors[0] == f"{server.url}/... answered 500: down"
    assert errors[1] == "credential 'missing' does not exist"
    assert "failed" in errors[3] and "nothing-listens" not in errors[3]
    assert received(server, "/slack/secret-path-123") and len(mail.outbox) == 1
    assert AlertRule.objects.get(pk=rule.pk).state == "firing"  # recorded: not announced again


def test_the_network_guard_applies(user, workflow, server):
    """Without FLOWPILOT_HTTP_ALLOWED_NETWORKS, a channel cannot reach a loopback address."""
    now = timezone.now()
    rule = failure_rule(user, workflow, server, channels=[{"type": "webhook", "url": f"{server.url}/hook"}])
    add_runs(workflow, ended=now - timedelta(minutes=1), failed=20)
    delivery = evaluate(rule, now).event.deliveries[0]
    assert not delivery["ok"] and delivery["error"].startswith("refused: 127.0.0.1 resolves to 127.0.0.1")
    assert server.requests == []


def test_evaluate_all_skips_disabled_rules(user, workflow, server, allow_loopback):
    now = timezone.now()
    on = failure_rule(user, workflow, server, channels=[{"type": "webhook", "url": f"{server.url}/hook"}])
    failure_rule(user, workflow, server, enabled=False, channels=[{"type": "webhook", "url": f"{server.url}/off"}])
    add_runs(workflow, ended=now - timedelta(minutes=1), failed=20)
    report = alert_services.alerts_evaluate(now=now)
    assert report.as_dict() == {"evaluated": 1, "skipped": 0, "notified": 1, "errors": 0}
    assert [r["path"] for r in server.requests] == ["/hook"]
    assert AlertRule.objects.get(pk=on.pk).state == "firing"


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_a_rule_locked_by_another_evaluator_is_skipped_not_announced_twice(user, workflow, server, allow_loopback):
    now = timezone.now()
    rule = failure_rule(user, workflow, server, channels=[{"type": "webhook", "url": f"{server.url}/hook"}])
    add_runs(workflow, ended=now - timedelta(minutes=1), failed=20)
    locked, release = threading.Event(), threading.Event()

    def hold():
        try:
            with transaction.atomic():
                AlertRule.objects.select_for_update().get(pk=rule.pk)
                locked.set()
                release.wait(10)
        finally:
            connections.close_all()

    holder = threading.Thread(target=hold)
    holder.start()
    assert locked.wait(10)
    try:
        assert alert_services.alerts_evaluate(now=now).as_dict() == {"evaluated": 0, "skipped": 1, "notified": 0,
                                                                      "errors": 0}
    finally:
        release.set()
        holder.join()
    assert server.requests == []

    # Two evaluators at once: one announces, the other skips or sees the incident already announced.
    results = []

    def run():
        try:
            results.append(alert_services.alerts_evaluate(now=now).as_dict())
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(r["notified"] for r in results) == 1
    assert len(received(server, "/hook")) == 1 and AlertEvent.objects.count() == 1
