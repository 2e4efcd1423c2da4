"""Alerts evaluated by a real celery-beat and worker: the beat schedule sends evaluate_alerts, the
worker notifies a local HTTP receiver and writes the email; one incident, one notification each way."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from monitoring import alert_services
from monitoring.models import AlertEvent, AlertRule
from monitoring.tests.alert_history import add_runs, registration
from workflows.tests.cluster import Cluster, flush_broker, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.services, pytest.mark.django_db(transaction=True)]


def test_beat_evaluates_the_rules_and_an_incident_notifies_once_each_way(user, server, tmp_path):
    workflow = registration(user)
    rule = alert_services.alert_rule_create(owner=user, data={
        "name": "registrations failing", "workflow_id": workflow.pk, "kind": "failure_rate", "threshold": 0.10,
        "window_minutes": 15, "min_runs": 20, "cooldown_minutes": 60,
        "channels": [{"type": "webhook", "url": f"{server.url}/hook"},
                     {"type": "slack", "url": f"{server.url}/slack/T0/B0/X"},
                     {"type": "email", "to": ["ops@example.com"]}]})
    add_runs(workflow, ended=timezone.now() - timedelta(minutes=2), ok=70, failed=30)
    mail = tmp_path / "mail"
    flush_broker()
    cluster = Cluster(FLOWPILOT_ALERT_INTERVAL="0.5", EMAIL_BACKEND="django.core.mail.backends.filebased.EmailBackend",
                      EMAIL_FILE_PATH=str(mail))

    def paths():
        return [r["path"] for r in server.requests]

    try:
        cluster.start_worker(concurrency=2)
        cluster.start_beat()
        wait_for(lambda: len(paths()) >= 2, timeout=30, message="the firing notification")
        time.sleep(3)  # several more evaluations while still firing: no repeat
        assert sorted(paths()) == ["/hook", "/slack/T0/B0/X"]
        assert AlertRule.objects.get(pk=rule.pk).state == "firing"
        assert json.loads(server.requests[[*paths()].index("/hook")]["body"])["state"] == "firing"

        add_runs(workflow, ended=timezone.now() - timedelta(seconds=5), ok=300)  # 30/400 = 7.5%
        wait_for(lambda: len(paths()) >= 4, timeout=30, message="the resolved notification")
        time.sleep(3)
        assert len(paths()) == 4
        states = [json.loads(r["body"])["state"] for r in server.requests if r["path"] == "/hook"]
        assert states == ["firing", "resolved"]
    finally:
        cluster.stop()
    assert list(AlertEvent.objects.filter(rule=rule).order_by("created_at").values_list("state", flat=True)) == [
        "firing", "resolved"]
    sent = sorted(p.read_text() for p in mail.iterdir())
    assert len(sent) == 2 and any("Subject: [FlowPilot] FIRING" in m for m in sent) \
        and any("Subject: [FlowPilot] RESOLVED" in m for m in sent)
