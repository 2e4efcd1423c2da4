"""/api/v1/alert-rules/: CRUD with validation in the house error shape, history, test notification."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone
from rest_framework.test import APIClient

from monitoring import alert_services
from monitoring.tests.alert_history import add_runs, registration

pytestmark = pytest.mark.django_db


@pytest.fixture
def workflow(user):
    return registration(user)


def test_create_read_update_delete(api, workflow):
    created = api.post("/api/v1/alert-rules/", {
        "name": "registrations failing", "workflow_id": str(workflow.pk), "kind": "failure_rate",
        "threshold": 0.1, "channels": [{"type": "email", "to": ["ops@example.com"]},
                                       {"type": "slack", "credential": "slack_alerts"}]}, format="json")
    assert created.status_code == 201, created.json()
    rule = created.json()
    assert set(rule) == {"id", "name", "enabled", "workflow_id", "step_key", "kind", "threshold", "window_minutes",
                         "min_runs", "hours", "cooldown_minutes", "channels", "state", "since", "last_value",
                         "last_runs", "last_evaluated_at", "last_notified_at", "created_at", "updated_at"}
    assert (rule["state"], rule["window_minutes"], rule["min_runs"], rule["cooldown_minutes"]) == ("ok", 15, 20, 60)
    assert rule["channels"] == [{"type": "email", "to": ["ops@example.com"]},
                                {"type": "slack", "credential": "slack_alerts"}]
    url = f"/api/v1/alert-rules/{rule['id']}/"
    assert api.get(url).json() == rule
    assert [r["id"] for r in api.get("/api/v1/alert-rules/").json()["results"]] == [rule["id"]]

    patched = api.patch(url, {"threshold": 0.2, "enabled": False}, format="json")
    assert patched.status_code == 200 and patched.json()["threshold"] == 0.2 and not patched.json()["enabled"]
    assert patched.json()["channels"] == rule["channels"]  # untouched by a partial update
    assert api.patch(url, {"kind": "no_success"}, format="json").status_code == 400  # needs hours
    assert api.delete(url).status_code == 204 and api.get(url).status_code == 404


@pytest.mark.parametrize(("body", "fields"), [
    ({"kind": "failure_rate", "threshold": 0.1}, {"name"}),
    ({"name": "x", "kind": "sometimes"}, {"kind"}),
    ({"name": "x", "kind": "failure_rate"}, {"threshold"}),
    ({"name": "x", "kind": "failure_rate", "threshold": 1.5}, {"threshold"}),
    ({"name": "x", "kind": "p95_duration", "threshold": 0}, {"threshold"}),
    ({"name": "x", "kind": "no_success"}, {"hours"}),
    ({"name": "x", "kind": "no_success", "hours": 1, "channels": [{"type": "pager"}]}, {"channels[0].type"}),
    ({"name": "x", "kind": "no_success", "hours": 1, "channels": [{"type": "email"}]}, {"channels[0].to"}),
    ({"name": "x", "kind": "no_success", "hours": 1, "channels": [{"type": "email", "to": ["nope"]}]},
     {"channels[0].to"}),
    ({"name": "x", "kind": "no_success", "hours": 1, "channels": [{"type": "webhook"}]}, {"channels[0].url"}),
    ({"name": "x", "kind": "no_success", "hours": 1, "channels": [{"type": "webhook", "url": "ftp://x"}]},
     {"channels[0].url"}),
    ({"name": "x", "kind": "no_success", "hours": 1,
      "channels": [{"type": "slack", "url": "https://hooks.slack.com/x", "credential": "c"}]}, {"channels[0].url"}),
    ({"name": "x", "kind": "no_success", "hours": 1, "workflow_id": "7f1c2a52-5b1e-4f36-9d0e-3d2f5f0c9a11"},
     {"workflow_id"}),
])
def test_bad_input_is_a_400_naming_the_fields(api, body, fields):
    response = api.post("/api/v1/alert-rules/", body, format="json")
    assert response.status_code == 400
    data = response.json()
    assert set(data) == {"message", "fields"} and set(data["fields"]) == fields, data
    assert data["message"].startswith("Invalid input: ")


def test_a_step_must_exist_and_a_workflow_must_be_yours(api, workflow, other_user):
    theirs = registration(other_user, name="theirs")
    bad_step = api.post("/api/v1/alert-rules/", {"name": "x", "workflow_id": str(workflow.pk), "step_key": "nope",
                                                 "kind": "no_success", "hours": 1}, format="json")
    assert bad_step.status_code == 400 and set(bad_step.json()["fields"]) == {"step_key"}
    other = api.post("/api/v1/alert-rules/", {"name": "x", "workflow_id": str(theirs.pk), "kind": "no_success",
                                              "hours": 1}, format="json")
    assert other.status_code == 400 and other.json()["fields"] == {"workflow_id": ["no such workflow"]}


def test_rules_and_their_history_are_the_owners_only(api, user, other_user, workflow):
    theirs = alert_services.alert_rule_create(owner=other_user, data={"name": "theirs", "kind": "no_success",
                                                                      "hours": 1})
    assert api.get("/api/v1/alert-rules/").json()["count"] == 0
    for method, path in (("get", ""), ("patch", ""), ("delete", ""), ("get", "events/"), ("post", "test/")):
        assert getattr(api, method)(f"/api/v1/alert-rules/{theirs.pk}/{path}", {}, format="json").status_code == 404
    assert APIClient().get("/api/v1/alert-rules/").status_code in (401, 403)


def test_history_and_test_notification(api, user, workflow, server, allow_loopback):
    now = timezone.now()
    rule = alert_services.alert_rule_create(owner=user, data={
        "name": "registrations failing", "workflow_id": workflow.pk, "kind": "failure_rate", "threshold": 0.1,
        "channels": [{"type": "webhook", "url": f"{server.url}/hook"}, {"type": "email", "to": ["ops@example.com"]}]})
    add_runs(workflow, ended=now - timedelta(minutes=1), ok=15, failed=5)
    alert_services.alert_rule_evaluate(rule_id=rule.pk, now=now)
    add_runs(workflow, ended=now + timedelta(seconds=10), ok=40)
    alert_services.alert_rule_evaluate(rule_id=rule.pk, now=now + timedelta(minutes=1))

    events = api.get(f"/api/v1/alert-rules/{rule.pk}/events/").json()
    assert events["count"] == 2
    resolved, fired = events["results"]  # newest first
    assert fired == {"id": fired["id"], "rule_id": rule.pk, "state": "firing", "value": 0.25, "runs": 20,
                     "message": "FIRING: registrations failing (workflow 'patient registration'): failure rate > "
                                "10.0% over 15 min (at least 20 runs); now 25.0% over 20 runs",
                     "deliveries": [
                         {"channel": 0, "type": "webhook", "target": f"{server.url}/...", "ok": True, "error": ""},
                         {"channel": 1, "type": "email", "target": "ops@example.com", "ok": True, "error": ""}],
                     "created_at": fired["created_at"]}
    assert resolved["state"] == "resolved" and resolved["runs"] == 60

    sent = len(server.requests)
    tested = api.post(f"/api/v1/alert-rules/{rule.pk}/test/")
    assert tested.status_code == 200
    assert tested.json() == {"ok": True, "deliveries": [
        {"channel": 0, "type": "webhook", "target": f"{server.url}/...", "ok": True, "error": ""},
        {"channel": 1, "type": "email", "target": "ops@example.com", "ok": True, "error": ""}]}
    body = json.loads(server.requests[sent]["body"])
    assert body["state"] == "test" and body["message"].startswith("TEST: registrations failing")
    assert mail.outbox[-1].subject.startswith("[FlowPilot] TEST: registrations failing")
    assert api.get(f"/api/v1/alert-rules/{rule.pk}/events/").json()["count"] == 2  # a test is not history
    assert api.get(f"/api/v1/alert-rules/{rule.pk}/").json()["state"] == "ok"


def test_a_failing_test_notification_says_so(api, user):
    rule = alert_services.alert_rule_create(owner=user, data={
        "name": "x", "kind": "no_success", "hours": 1, "channels": [{"type": "slack", "credential": "missing"}]})
    tested = api.post(f"/api/v1/alert-rules/{rule.pk}/test/").json()
    assert tested == {"ok": False, "deliveries": [{"channel": 0, "type": "slack", "target": "credential 'missing'",
                                                   "ok": False, "error": "credential 'missing' does not exist"}]}
