"""`http_request`: call an HTTP API. The attempt's Idempotency-Key goes with every request.

2xx (or the configured `success_status`) is success. 5xx, 408, 429, timeouts and connection errors
follow the retry policy; other 4xx fail at once. Every hop (redirects included) is checked by the
network guard, and the response size is capped.
"""

from __future__ import annotations

import json as jsonlib
from urllib.parse import urljoin, urlsplit

import httpx
from django.conf import settings

from ..netguard import BlockedAddress, resolve
from .base import StepContext, StepError
from .registry import step_type

METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
RETRYABLE_STATUS = {408, 429}
MAX_REDIRECTS = 5

CONFIG_SCHEMA = {
    "type": "object",
    "required": ["url"],
    "properties": {
        "method": {"type": "string", "enum": METHODS, "default": "GET", "title": "Method"},
        "url": {"type": "string", "minLength": 1, "title": "URL"},
        "headers": {"type": "object", "additionalProperties": {"type": "string"}, "title": "Headers"},
        "query": {"type": "object", "additionalProperties": {"type": ["string", "number", "boolean"]},
                  "title": "Query parameters"},
        "json": {"title": "JSON body"},
        "body": {"type": "string", "title": "Raw body"},
        "timeout": {"type": "number", "exclusiveMinimum": 0, "maximum": 600, "default": 30,
                    "title": "Timeout (s)"},
        "success_status": {"type": "array", "items": {"type": "integer", "minimum": 100, "maximum": 599},
                           "title": "Success status codes (default: 2xx)"},
        "follow_redirects": {"type": "boolean", "default": True},
    },
    "not": {"required": ["json", "body"]},
    "additionalProperties": False,
}


def _is_success(status: int, config: dict) -> bool:
    codes = config.get("success_status")
    return status in codes if codes else 200 <= status < 300


def _pinned_request(client: httpx.Client, method: str, url: str, *, headers: dict, **kwargs) -> httpx.Response:
    """Send to the address the guard checked, keeping the Host header and TLS name of the URL."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise StepError(f"url must be an http(s) URL, got {url!r}", retryable=False)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        ip = resolve(parts.hostname, port)
    except BlockedAddress as exc:
        raise StepError(f"refused: {exc}", retryable=False) from None
    host = f"[{ip}]" if ip.version == 6 else str(ip)
    netloc = f"{host}:{parts.port}" if parts.port else host
    pinned = parts._replace(netloc=netloc).geturl()
    headers = {"Host": parts.netloc.rsplit("@", 1)[-1], **headers}
    extensions = {"sni_hostname": parts.hostname} if parts.scheme == "https" else {}
    request = client.build_request(method, pinned, headers=headers, extensions=extensions, **kwargs)
    return client.send(request, stream=True)


def _read_capped(response: httpx.Response) -> bytes:
    limit = settings.FLOWPILOT_HTTP_MAX_RESPONSE_BYTES
    data = bytearray()
    for chunk in response.iter_bytes():
        data.extend(chunk)
        if len(data) > limit:
            raise StepError(f"response body exceeds {limit} bytes", retryable=False)
    return bytes(data)


@step_type(
    "http_request",
    category="integration",
    description="Call an HTTP API (JSON or text), with retries on 5xx and timeouts.",
    config_schema=CONFIG_SCHEMA,
    output_schema={"type": "object", "properties": {
        "status_code": {"type": "integer"}, "headers": {"type": "object"}, "body": {}}},
    example={"method": "POST", "url": "https://crm.example.com/api/contacts",
             "json": {"email": "{{ input.email }}"}},
)
def http_request_step(config: dict, ctx: StepContext) -> dict:
    method = config.get("method", "GET").upper()
    url = config["url"]
    headers = {k: str(v) for k, v in (config.get("headers") or {}).items()}
    if not any(k.lower() == "idempotency-key" for k in headers):
        headers["Idempotency-Key"] = ctx.idempotency_key
    kwargs: dict = {"params": config.get("query") or None}
    if "json" in config:
        kwargs["content"] = jsonlib.dumps(config["json"]).encode()
        headers.setdefault("Content-Type", "application/json")
    elif "body" in config:
        kwargs["content"] = str(config["body"]).encode()
    timeout = min(float(config.get("timeout", 30)), ctx.timeout_seconds)
    with httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False) as client:
        for _ in range(MAX_REDIRECTS + 1):
            try:
                response = _pinned_request(client, method, url, headers=headers, **kwargs)
            except httpx.TimeoutException:
                raise StepError(f"{method} {url} timed out after {timeout:g} s") from None
            except (httpx.TransportError, OSError) as exc:
                raise StepError(f"{method} {url} failed: {exc}") from None
            try:
                if response.is_redirect and config.get("follow_redirects", True):
                    url = urljoin(url, response.headers["location"])
                    if response.status_code in (301, 302, 303) and method != "HEAD":
                        method, kwargs = "GET", {"params": None}
                        headers.pop("Content-Type", None)
                    continue
                body = _read_capped(response)
            finally:
                response.close()
            break
        else:
            raise StepError(f"more than {MAX_REDIRECTS} redirects", retryable=False)
    text = body.decode(response.encoding or "utf-8", errors="replace")
    content_type = response.headers.get("content-type", "")
    parsed = text
    if "json" in content_type and text:
        try:
            parsed = jsonlib.loads(text)
        except ValueError:
            parsed = text
    output = {"status_code": response.status_code, "headers": dict(response.headers), "body": parsed}
    if not _is_success(response.status_code, config):
        status = response.status_code
        retryable = status >= 500 or status in RETRYABLE_STATUS
        raise StepError(f"{method} {url} answered {status}", retryable=retryable,
                        details={"status_code": status, "body": text[:2000]})
    return output
