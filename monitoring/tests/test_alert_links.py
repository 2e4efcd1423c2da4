"""Links in alert notifications go to the app's pages (/workflows/<id>, /executions/<id>, ...), never
to the API's JSON, under FLOWPILOT_PUBLIC_URL; without it, under the host the request came to, else
the address `manage.py serve` listens on. Sent to a real local HTTP receiver and the locmem outbox."""

from __future__ import annotations

import json
import socket
from datetime import timedelta

import pytest
from django.core import mail
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone

from flowpilot import public_url
from flowpilot.env import env_public_url
from monitoring import alert_services
from monitoring.tests.alert_history import add_runs, registration
from workflows.models import WorkflowExecution

pytestmark = pytest.mark.django_db
PUBLIC = "https://flow.example.com/fp"


@pytest.fixture
def workflow(user):
    return registration(user)


@pytest.fixture
def unconfigured(settings, monkeypatch):
    """No FLOWPILOT_PUBLIC_URL, and no address left by `manage.py serve`."""
    settings.FLOWPILOT_PUBLIC_URL = ""
    for name in (public_url.SERVED_URL_ENV, "HOST", "PORT"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def rule_for(user, workflow, server, **fields):
    return alert_services.alert_rule_create(owner=user, data={
        "name": "registrations failing", "workflow_id": workflow.pk if workflow else None, "kind": "failure_rate",
        "threshold": 0.1, "window_minutes": 15, "min_runs": 5, **fields,
        "channels": [{"type": "webhook", "url": f"{server.url}/hook"},
                     {"type": "slack", "url": f"{server.url}/slack/T0/B0/X"},
                     {"type": "email", "to": ["ops@example.com"]}]})


def sent_links(server) -> dict:
    hooks = [r for r in server.requests if r["path"] == "/hook"]
    return json.loads(hooks[-1]["body"])["links"]


def test_a_firing_alert_links_the_apps_pages_under_the_public_url(settings, user, workflow, server, allow_loopback):
    settings.FLOWPILOT_PUBLIC_URL = PUBLIC
    now = timezone.now()
    add_runs(workflow, ended=now - timedelta(minutes=2), ok=5, failed=4)
    add_runs(workflow, ended=now - timedelta(minutes=1), failed=1)
    newest_failure = WorkflowExecution.objects.filter(status="failed").latest("created_at").pk
    rule = rule_for(user, workflow, server)
    assert alert_services.alert_rule_evaluate(rule_id=rule.pk, now=now).decision.notify == "firing"

    links = sent_links(server)
    assert links == {
        "rule": f"{PUBLIC}/alerts",
        "workflow": f"{PUBLIC}/workflows/{workflow.pk}",
        "failed_executions": f"{PUBLIC}/executions?workflow={workflow.pk}&status=failed",
        "latest_failed_execution": f"{PUBLIC}/executions/{newest_failure}",
    }
    slack = json.loads([r for r in server.requests if r["path"].startswith("/slack/")][-1]["body"])["text"]
    assert f"<{PUBLIC}/executions/{newest_failure}|latest_failed_execution>" in slack
    assert f"workflow: {PUBLIC}/workflows/{workflow.pk}" in mail.outbox[-1].body
    assert "127.0.0.1" not in slack + mail.outbox[-1].body and "/api/" not in slack + mail.outbox[-1].body


def test_a_rule_over_all_workflows_links_their_failed_runs_and_a_step_rule_its_steps_failures(
        settings, user, workflow, server, allow_loopback):
    settings.FLOWPILOT_PUBLIC_URL = env_public_url_of(PUBLIC + "/")  # as a deployment might write it
    everything = rule_for(user, None, server)
    assert alert_services.links(everything) == {"rule": f"{PUBLIC}/alerts",
                                                "failed_executions": f"{PUBLIC}/executions?status=failed"}
    add_runs(workflow, ended=timezone.now(), failed=1, step_key="validate")
    at_validate = WorkflowExecution.objects.get(status="failed").pk
    step_rule = rule_for(user, workflow, server, step_key="create_patient")
    assert "latest_failed_execution" not in alert_services.links(step_rule)  # failed elsewhere: not this step's
    assert alert_services.links(rule_for(user, workflow, server, step_key="validate"))[
        "latest_failed_execution"] == f"{PUBLIC}/executions/{at_validate}"


def env_public_url_of(value: str) -> str:
    """What settings.py makes of FLOWPILOT_PUBLIC_URL=value."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv("FLOWPILOT_PUBLIC_URL", value)
        return env_public_url("FLOWPILOT_PUBLIC_URL", "FLOWPILOT_BASE_URL")


def test_without_a_public_url_a_test_notification_links_to_the_host_the_request_came_to(
        unconfigured, settings, api, user, workflow, server, allow_loopback):
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "flow.internal"]
    rule = rule_for(user, workflow, server)
    tested = api.post(f"/api/v1/alert-rules/{rule.pk}/test/", HTTP_HOST="flow.internal:8443", secure=True)
    assert tested.status_code == 200 and tested.json()["ok"] is True
    assert sent_links(server)["workflow"] == f"https://flow.internal:8443/workflows/{workflow.pk}"
    # A host outside ALLOWED_HOSTS is refused, not put into links.
    assert api.post(f"/api/v1/alert-rules/{rule.pk}/test/", HTTP_HOST="evil.example").status_code == 400


def test_without_a_request_links_point_to_the_address_served(unconfigured, user, workflow, server):
    rule = rule_for(user, workflow, server)
    unconfigured.setenv("HOST", "10.1.2.3")  # what `manage.py serve` would listen on, from the same variables
    unconfigured.setenv("PORT", "8123")
    assert alert_services.links(rule)["rule"] == "http://10.1.2.3:8123/alerts"
    unconfigured.setenv(public_url.SERVED_URL_ENV, public_url.served_url("flow-box", 9000))  # as serve leaves it
    assert alert_services.links(rule)["workflow"] == f"http://flow-box:9000/workflows/{workflow.pk}"


def test_the_served_address_names_the_machine_when_listening_everywhere():
    assert public_url.served_url("0.0.0.0", 8000) == f"http://{socket.getfqdn()}:8000"
    assert public_url.served_url("::", 80) == f"http://{socket.getfqdn()}:80"
    assert public_url.served_url("::1", 8000) == "http://[::1]:8000"
    assert public_url.served_url("flow.example.com", 443) == "http://flow.example.com:443"


@pytest.mark.parametrize("value", ["flow.example.com", "ftp://flow.example.com", "https://", "https://x.com/?a=1",
                                   "https://x.com/#top", "https://x.com/a b", "https://x.com/" + "a" * 500])
def test_a_public_url_that_is_not_one_refuses_to_start(monkeypatch, value):
    monkeypatch.setenv("FLOWPILOT_PUBLIC_URL", value)
    with pytest.raises(ImproperlyConfigured, match="FLOWPILOT_PUBLIC_URL must be an http"):
        env_public_url("FLOWPILOT_PUBLIC_URL", "FLOWPILOT_BASE_URL")


def test_the_public_url_setting_and_its_older_name(monkeypatch):
    monkeypatch.delenv("FLOWPILOT_PUBLIC_URL", raising=False)
    monkeypatch.delenv("FLOWPILOT_BASE_URL", raising=False)
    assert env_public_url("FLOWPILOT_PUBLIC_URL", "FLOWPILOT_BASE_URL") == ""
    monkeypatch.setenv("FLOWPILOT_BASE_URL", "http://old.example.com:8000/")
    assert env_public_url("FLOWPILOT_PUBLIC_URL", "FLOWPILOT_BASE_URL") == "http://old.example.com:8000"
    monkeypatch.setenv("FLOWPILOT_PUBLIC_URL", " https://flow.example.com/fp/ ")
    assert env_public_url("FLOWPILOT_PUBLIC_URL", "FLOWPILOT_BASE_URL") == "https://flow.example.com/fp"
