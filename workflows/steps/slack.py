"""`slack`: post a message to a Slack incoming webhook.

The webhook URL is a secret (anyone holding it can post): give it as `webhook_url` or, better, as
the name of a stored `credential`. Either way it never appears in the output or in an error, which
name only the webhook's host. The call goes through workflows.http_client (network guard, circuit
breaker, size cap) with the attempt's Idempotency-Key. 2xx is success; 5xx, 408, 429 (with Slack's
Retry-After), timeouts and connection errors are retried; other 4xx (invalid_payload,
channel_not_found, no_service, ...) fail at once.
"""

from __future__ import annotations

import json as jsonlib
from urllib.parse import urlsplit

from .. import http_client
from ..secrets import redact, redact_error
from .base import StepContext, StepError
from .registry import step_type

TIMEOUT_SECONDS = 10

CONFIG_SCHEMA = {
    "type": "object",
    "required": ["text"],
    "properties": {
        "webhook_url": {"type": "string", "minLength": 1, "title": "Webhook URL",
                        "description": "A secret: prefer `credential`"},
        "credential": {"type": "string", "minLength": 1, "title": "Credential holding the webhook URL",
                       "format": "credential"},
        "text": {"type": "string", "minLength": 1, "title": "Text",
                 "description": "The message, or the notification fallback when `blocks` are given"},
        "blocks": {"type": "array", "items": {"type": "object"}, "title": "Blocks (Block Kit)"},
        "username": {"type": "string", "title": "Username"},
        "icon_emoji": {"type": "string", "title": "Icon emoji", "examples": [":robot_face:"]},
        "channel": {"type": "string", "title": "Channel", "examples": ["#alerts"]},
    },
    "additionalProperties": False,
}
MESSAGE_FIELDS = ("text", "blocks", "username", "icon_emoji", "channel")


def _check_config(config: dict) -> list[tuple[str, str]]:
    given = [f for f in ("webhook_url", "credential") if f in config]
    if not given:
        return [("webhook_url", "give webhook_url or credential")]
    if len(given) == 2:
        return [("credential", "give webhook_url or credential, not both")]
    if "{{" in config.get("credential", "") or "{%" in config.get("credential", ""):
        return [("credential", "must be a credential name, not a template")]
    return []


def _describe(url: str) -> str:
    """How the webhook appears in messages: its host, never its path (which is the secret)."""
    parts = urlsplit(url)
    if not (parts.scheme and parts.hostname):
        return "the webhook URL"
    return f"{parts.scheme}://{parts.netloc.rsplit('@', 1)[-1]}/..."


@step_type(
    "slack",
    side_effects=True,
    calls_hosts=True,
    category="integration",
    description="Post a message to a Slack incoming webhook.",
    config_schema=CONFIG_SCHEMA,
    output_schema={"type": "object", "properties": {"status_code": {"type": "integer"}, "ok": {"type": "boolean"}}},
    example={"credential": "slack_alerts_webhook", "text": "New signup: {{ input.email }}"},
    example_data={"input": {"email": "ada@example.com"}},
    check_config=_check_config,
)
def slack_step(config: dict, ctx: StepContext) -> dict:
    url = str(ctx.secret(config["credential"])).strip() if "credential" in config else config["webhook_url"]
    message = {f: config[f] for f in MESSAGE_FIELDS if f in config}
    try:
        response = http_client.send(
            method="POST", url=url, timeout=min(TIMEOUT_SECONDS, ctx.timeout_seconds),
            headers={"Content-Type": "application/json", "Idempotency-Key": ctx.idempotency_key},
            content=jsonlib.dumps(message).encode(), describe=_describe, before_send=ctx.before_call)
    except StepError as exc:
        raise redact_error(exc, [url]) from None
    status = response.status_code
    if not 200 <= status < 300:
        retryable = http_client.is_retryable_status(status)
        # Slack says what was wrong in a short text body (e.g. "invalid_payload", "no_service").
        reason = redact(response.text[:200].strip(), [url])
        raise StepError(f"Slack webhook {_describe(url)} answered {status}" + (f": {reason}" if reason else ""),
                        retryable=retryable, details={"status_code": status, "body": reason},
                        retry_after=http_client.retry_after_seconds(response.headers) if retryable else None)
    return {"status_code": status, "ok": True}
