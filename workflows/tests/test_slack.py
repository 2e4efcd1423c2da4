"""The slack step against a real HTTP server on 127.0.0.1 standing in for Slack's webhook endpoint."""

from __future__ import annotations

import json

import pytest

from workflows.steps import StepContext, StepError, registry
from workflows.tests.http_server import allow_loopback, fresh_circuits, server  # noqa: F401

WEBHOOK_PATH = "/slack/T0001/B0002/s3cr3tWebhookToken"


def call(config: dict, *, timeout: float = 10, secrets: dict | None = None) -> dict:
    def secret(name: str) -> str:
        if name not in (secrets or {}):
            raise StepError(f"credential {name!r} does not exist", retryable=False)
        return secrets[name]

    ctx = StepContext(execution_id="e1", step_key="notify", attempt=2, idempotency_key="e1:notify",
                      timeout_seconds=timeout, input={}, secret=secret)
    return registry.get("slack").execute(config, ctx)


def error_text(error: StepError) -> str:
    return json.dumps({"message": error.message, "details": error.details, "args": [str(a) for a in error.args]})


def test_posts_the_message_as_json_with_the_idempotency_key(server, allow_loopback):
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*New signup*"}}]
    out = call({"webhook_url": server.url + WEBHOOK_PATH, "text": "New signup: asha@example.com", "blocks": blocks,
                "username": "FlowPilot", "icon_emoji": ":robot_face:", "channel": "#signups"})
    assert out == {"status_code": 200, "ok": True}
    [sent] = server.requests
    assert sent["method"] == "POST" and sent["path"] == WEBHOOK_PATH
    assert sent["headers"]["Content-Type"] == "application/json"
    assert sent["headers"]["Idempotency-Key"] == "e1:notify"
    assert json.loads(sent["body"]) == {"text": "New signup: asha@example.com", "blocks": blocks,
                                        "username": "FlowPilot", "icon_emoji": ":robot_face:", "channel": "#signups"}


def test_only_the_given_fields_are_sent(server, allow_loopback):
    call({"webhook_url": server.url + WEBHOOK_PATH, "text": "hi"})
    assert json.loads(server.requests[0]["body"]) == {"text": "hi"}


def test_the_webhook_url_can_come_from_a_credential(server, allow_loopback):
    url = server.url + WEBHOOK_PATH
    out = call({"credential": "slack_alerts", "text": "hi"}, secrets={"slack_alerts": url})
    assert out == {"status_code": 200, "ok": True}
    assert server.requests[0]["path"] == WEBHOOK_PATH


def test_an_unknown_credential_fails_at_once(server, allow_loopback):
    with pytest.raises(StepError) as error:
        call({"credential": "nope", "text": "hi"})
    assert not error.value.retryable and "nope" in error.value.message


def test_5xx_is_retried_and_the_webhook_url_stays_secret(server, allow_loopback):
    url = f"{server.url}/status/500?token=s3cr3tWebhookToken"
    with pytest.raises(StepError) as error:
        call({"credential": "slack_alerts", "text": "hi"}, secrets={"slack_alerts": url})
    assert error.value.retryable and "answered 500" in error.value.message
    assert f"{server.url}/..." in error.value.message  # the host, to know which service failed
    assert "s3cr3tWebhookToken" not in error_text(error.value) and "/status/500" not in error_text(error.value)


def test_429_is_retried_after_slacks_retry_after(server, allow_loopback):
    with pytest.raises(StepError) as error:
        call({"webhook_url": f"{server.url}/status/429?retry_after=30", "text": "hi"})
    assert error.value.retryable and error.value.retry_after == 30


def test_4xx_fails_at_once_with_slacks_reason(server, allow_loopback):
    with pytest.raises(StepError) as error:
        call({"webhook_url": f"{server.url}/status/400?body=invalid_payload", "text": "hi"})
    assert not error.value.retryable
    assert error.value.message.endswith("answered 400: invalid_payload")
    assert error.value.details == {"status_code": 400, "body": "invalid_payload"}


def test_a_timeout_is_retried_without_naming_the_webhook(server, allow_loopback):
    url = f"{server.url}/slow?seconds=2&token=s3cr3tWebhookToken"
    with pytest.raises(StepError) as error:
        call({"credential": "slack_alerts", "text": "hi"}, timeout=0.3, secrets={"slack_alerts": url})
    assert error.value.retryable and "timed out after 0.3 s" in error.value.message
    assert "s3cr3tWebhookToken" not in error_text(error.value)


def test_a_redirect_to_a_private_address_is_refused(server, allow_loopback):
    with pytest.raises(StepError) as error:
        call({"webhook_url": f"{server.url}/redirect-private", "text": "hi"})
    assert not error.value.retryable and "refused" in error.value.message and "10.0.0.1" in error.value.message


def test_a_webhook_on_a_private_address_is_refused_by_default(server, settings):
    settings.FLOWPILOT_HTTP_ALLOWED_NETWORKS = []
    with pytest.raises(StepError) as error:
        call({"webhook_url": server.url + WEBHOOK_PATH, "text": "hi"})
    assert not error.value.retryable and "refused" in error.value.message
    assert server.requests == []


def test_a_credential_that_is_not_a_url_is_not_echoed(allow_loopback):
    with pytest.raises(StepError) as error:
        call({"credential": "slack_alerts", "text": "hi"}, secrets={"slack_alerts": "xoxb-s3cr3t-token"})
    assert not error.value.retryable and "xoxb" not in error_text(error.value)


@pytest.mark.parametrize("config, field", [
    ({"text": "hi"}, "webhook_url"),
    ({"webhook_url": "https://hooks.slack.com/x", "credential": "c", "text": "hi"}, "credential"),
    ({"credential": "{{ input.webhook }}", "text": "hi"}, "credential"),
    ({"credential": "c"}, "text"),
    ({"credential": "c", "text": "hi", "blocks": "not a list"}, "blocks"),
    ({"credential": "c", "text": "hi", "color": "red"}, ""),
])
def test_config_is_checked_when_saved(config, field):
    errors = registry.config_errors("slack", config, rendered=False)
    assert field in [path for path, _ in errors], errors


def test_a_good_config_passes():
    assert registry.config_errors("slack", {"credential": "c", "text": "{{ input.msg }}", "channel": "#a"},
                                  rendered=False) == []
    assert registry.get("slack").describe()["config_schema"]["required"] == ["text"]
