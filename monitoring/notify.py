"""Alert notification channels: email (Django's email backend), Slack incoming webhook, generic
webhook (a JSON POST).

HTTP goes through workflows.http_client, so the network guard, the circuit breaker and the size
cap apply as to any step. A URL can be given as the name of one of the owner's stored credentials
(`credential`), resolved here, at send time; a URL is a secret either way, so targets and errors
name only its host. A channel that fails is reported in its delivery, never raised: the other
channels are still tried.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.core.validators import validate_email

from workflows import http_client
from workflows.credentials import Resolver
from workflows.secrets import redact
from workflows.steps.base import StepError

from .models import ChannelType

TYPES = tuple(ChannelType.values)
TIMEOUT_SECONDS = 10
MAX_CHANNELS = 10


@dataclass(frozen=True)
class Notification:
    """What every channel is told."""

    rule: dict  # id, name, kind, workflow_id, step_key
    state: str  # firing | resolved | test
    value: float | None
    runs: int | None
    message: str
    links: dict
    sent_at: str
    idempotency_key: str

    def payload(self) -> dict:
        data = asdict(self)
        data.pop("idempotency_key")
        return data


@dataclass(frozen=True)
class Delivery:
    channel: int
    type: str
    target: str
    ok: bool
    error: str = ""


def channel_problems(channels) -> dict[str, list[str]]:
    """What is wrong with a channels list, by field path ({} when nothing is)."""
    if not isinstance(channels, list):
        return {"channels": ["must be a list of channels"]}
    if len(channels) > MAX_CHANNELS:
        return {"channels": [f"at most {MAX_CHANNELS} channels"]}
    problems: dict[str, list[str]] = {}
    for index, channel in enumerate(channels):
        path = f"channels[{index}]"
        if not isinstance(channel, dict):
            problems[path] = ["must be an object"]
            continue
        kind = channel.get("type")
        if kind not in TYPES:
            problems[f"{path}.type"] = [f"must be one of {', '.join(TYPES)}"]
            continue
        allowed = {"type", "to"} if kind == "email" else {"type", "url", "credential"}
        for extra in sorted(set(channel) - allowed, key=str):
            problems.setdefault(f"{path}.{extra}", []).append(f"unknown field for a {kind} channel")
        if kind == "email":
            to = channel.get("to")
            addresses = [to] if isinstance(to, str) else to
            if not addresses or not isinstance(addresses, list) or not all(isinstance(a, str) for a in addresses):
                problems[f"{path}.to"] = ["one address or a list of addresses"]
                continue
            for address in addresses:
                try:
                    validate_email(address)
                except ValidationError:
                    problems.setdefault(f"{path}.to", []).append(f"{address!r} is not a valid email address")
            continue
        given = [f for f in ("url", "credential") if f in channel]
        if len(given) != 1:
            problems[f"{path}.url"] = ["give url or credential (the name of a stored credential), one of them"]
        elif "credential" in channel:
            if not isinstance(channel["credential"], str) or not channel["credential"].strip():
                problems[f"{path}.credential"] = ["must be a credential name"]
        elif not _is_http_url(channel["url"]):
            problems[f"{path}.url"] = ["must be an http(s) URL"]
    return problems


def _is_http_url(url) -> bool:
    if not isinstance(url, str) or len(url) > 2000:
        return False
    try:
        parts = urlsplit(url)
        _ = parts.port
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def describe_target(channel: dict) -> str:
    """How a channel is shown: addresses for email, the host only for a URL, the credential's name."""
    if channel.get("type") == "email":
        to = channel.get("to")
        return ", ".join([to] if isinstance(to, str) else list(to or []))
    if "credential" in channel:
        return f"credential {channel['credential']!r}"
    return _describe_url(str(channel.get("url", "")))


def _describe_url(url: str) -> str:
    parts = urlsplit(url)
    if not (parts.scheme and parts.hostname):
        return "the URL"
    return f"{parts.scheme}://{parts.netloc.rsplit('@', 1)[-1]}/..."


def deliver(*, channels: list[dict], notification: Notification, owner_id: int) -> list[Delivery]:
    """Send `notification` to every channel; each answer (or error) in a Delivery."""
    secrets = Resolver(owner_id)
    deliveries = []
    for index, channel in enumerate(channels):
        kind = channel.get("type", "")
        target = describe_target(channel)
        try:
            if kind == "email":
                _send_email(channel, notification)
            elif kind in ("slack", "webhook"):
                _post(channel, notification, secrets)
            else:
                raise StepError(f"unknown channel type {kind!r}")
        except StepError as exc:
            deliveries.append(Delivery(index, kind, target, ok=False,
                                       error=str(redact(exc.message, secrets.used))[:1000]))
        except Exception as exc:  # an email backend's error, anything: recorded, never raised
            deliveries.append(Delivery(index, kind, target, ok=False,
                                       error=str(redact(f"{type(exc).__name__}: {exc}", secrets.used))[:1000]))
        else:
            deliveries.append(Delivery(index, kind, target, ok=True))
    return deliveries


def _send_email(channel: dict, notification: Notification) -> None:
    to = channel["to"]
    links = "\n".join(f"{name}: {url}" for name, url in notification.links.items())
    subject = f"[FlowPilot] {notification.message}"[:200]
    body = f"{notification.message}\n\n{links}\n"
    EmailMessage(subject=" ".join(subject.split()), body=body, from_email=settings.DEFAULT_FROM_EMAIL,
                 to=[to] if isinstance(to, str) else list(to),
                 headers={"X-FlowPilot-Idempotency-Key": notification.idempotency_key}).send(fail_silently=False)


def _post(channel: dict, notification: Notification, secrets: Resolver) -> None:
    url = secrets.get(channel["credential"]).strip() if "credential" in channel else channel["url"]
    if channel["type"] == "slack":
        links = " ".join(f"<{link}|{name}>" for name, link in notification.links.items())
        body = {"text": f"{notification.message}\n{links}".strip()}
    else:
        body = notification.payload()
    response = http_client.send(
        method="POST", url=url, timeout=TIMEOUT_SECONDS, content=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Idempotency-Key": notification.idempotency_key,
                 "User-Agent": "FlowPilot-Alerts"},
        describe=_describe_url)
    if not 200 <= response.status_code < 300:
        reason = redact(response.text[:200].strip(), [url])
        raise StepError(f"{_describe_url(url)} answered {response.status_code}" + (f": {reason}" if reason else ""))
