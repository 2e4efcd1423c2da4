"""`http_request`: call an HTTP API. The attempt's Idempotency-Key goes with every request.

`json` (or a `body` that is not a string) is sent as JSON; a string `body` as it is.
2xx (or the configured `success_status`) is success. 5xx, 408, 429, timeouts and connection errors
follow the retry policy; other 4xx fail at once. The call itself (network guard on every hop,
circuit breaker per host, size cap) is workflows.http_client's. `auth` adds a header built from a
stored credential; neither the credential nor the header is ever part of the output or an error.
"""

from __future__ import annotations

import base64
import json as jsonlib

from .. import http_client
from ..secrets import redact, redact_error
from .base import StepContext, StepError
from .registry import step_type

METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
HEADER_NAME = r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$"  # an RFC 9110 token

AUTH_SCHEMA = {
    "type": "object",
    "title": "Authentication (from a stored credential)",
    "required": ["type", "credential"],
    "properties": {
        "type": {"type": "string", "enum": ["bearer", "basic", "header"], "title": "Type",
                 "description": "bearer: Authorization: Bearer <secret>; basic: Authorization: Basic "
                                "<username:secret>; header: <header>: <secret>"},
        "credential": {"type": "string", "minLength": 1, "title": "Credential", "format": "credential",
                       "description": "The name of a stored credential holding the secret"},
        "header": {"type": "string", "pattern": HEADER_NAME, "title": "Header name (type header)",
                   "examples": ["X-Api-Key"]},
        "username": {"type": "string", "pattern": "^[^:]*$", "title": "Username (type basic)"},
    },
    "allOf": [
        {"if": {"required": ["type"], "properties": {"type": {"const": "header"}}}, "then": {"required": ["header"]}},
        {"if": {"required": ["type"], "properties": {"type": {"const": "basic"}}}, "then": {"required": ["username"]}},
    ],
    "additionalProperties": False,
}

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
        "body": {"title": "Body",
                 "description": "A string is sent as it is (set its Content-Type in headers); any other JSON "
                                "value (an object, a list, a number...) is sent as JSON, with Content-Type: "
                                "application/json unless headers set one."},
        "timeout": {"type": "number", "exclusiveMinimum": 0, "maximum": 600, "default": 30,
                    "title": "Timeout (s)"},
        "success_status": {"type": "array", "items": {"type": "integer", "minimum": 100, "maximum": 599},
                           "title": "Success status codes (default: 2xx)"},
        "follow_redirects": {"type": "boolean", "default": True},
        "auth": AUTH_SCHEMA,
    },
    "not": {"required": ["json", "body"]},
    "additionalProperties": False,
}


def _is_success(status: int, config: dict) -> bool:
    codes = config.get("success_status")
    return status in codes if codes else 200 <= status < 300


def _auth_header_name(auth: dict) -> str:
    return auth["header"] if auth["type"] == "header" else "Authorization"


def _check_config(config: dict) -> list[tuple[str, str]]:
    auth = config.get("auth")
    if not auth:
        return []
    problems = []
    if "{{" in auth["credential"] or "{%" in auth["credential"]:
        # The run's input must not choose which of the owner's credentials is sent where.
        problems.append(("auth.credential", "must be a credential name, not a template"))
    name = _auth_header_name(auth).lower()
    for header in config.get("headers") or {}:
        if header.lower() == name:
            problems.append((f"headers.{header}", "is set by auth; remove it from headers"))
    return problems


def _auth_header(auth: dict, ctx: StepContext) -> tuple[str, str, list[str]]:
    """(header name, header value, the strings to keep out of output and errors)."""
    secret = str(ctx.secret(auth["credential"]))
    if not secret.isprintable() or (auth["type"] != "basic" and not secret.isascii()):
        raise StepError(f"credential {auth['credential']!r} cannot be sent in an HTTP header "
                        "(it holds control or non-ASCII characters)", retryable=False)
    if auth["type"] == "bearer":
        return "Authorization", f"Bearer {secret}", [secret]
    if auth["type"] == "basic":
        token = base64.b64encode(f"{auth['username']}:{secret}".encode()).decode()
        return "Authorization", f"Basic {token}", [secret, token]
    return auth["header"], secret, [secret]


def _has_side_effects(config: dict) -> bool:
    """GET and HEAD only read (a templated method may be anything: it has side effects)."""
    return str(config.get("method", "GET")).upper() not in ("GET", "HEAD")


@step_type(
    "http_request",
    side_effects=_has_side_effects,
    side_effects_note="a method other than GET and HEAD",
    calls_hosts=True,
    category="integration",
    description="Call an HTTP API (JSON or text), with retries on 5xx and timeouts.",
    config_schema=CONFIG_SCHEMA,
    output_schema={"type": "object", "properties": {
        "status_code": {"type": "integer"}, "headers": {"type": "object"}, "body": {}}},
    example={"method": "POST", "url": "https://crm.example.com/api/contacts",
             "json": {"email": "{{ input.email }}"}, "auth": {"type": "bearer", "credential": "crm_token"}},
    example_data={"input": {"email": "ada@example.com"}},
    check_config=_check_config,
)
def http_request_step(config: dict, ctx: StepContext) -> dict:
    method = config.get("method", "GET").upper()
    url = config["url"]
    headers = {k: str(v) for k, v in (config.get("headers") or {}).items()}
    if not any(k.lower() == "idempotency-key" for k in headers):
        headers["Idempotency-Key"] = ctx.idempotency_key
    secrets: list[str] = []
    credential_headers: list[str] = []
    if config.get("auth"):
        name, value, secrets = _auth_header(config["auth"], ctx)
        headers = {k: v for k, v in headers.items() if k.lower() != name.lower()}
        headers[name] = value
        credential_headers.append(name)
    content = None
    body_is_json = "body" in config and not isinstance(config["body"], str)
    if "json" in config or body_is_json:
        content = jsonlib.dumps(config["json"] if "json" in config else config["body"]).encode()
        if not any(k.lower() == "content-type" for k in headers):
            headers["Content-Type"] = "application/json"
    elif "body" in config:
        content = config["body"].encode()
    timeout = min(float(config.get("timeout", 30)), ctx.timeout_seconds)
    try:
        response = http_client.send(method=method, url=url, headers=headers, content=content,
                                    params=config.get("query"), timeout=timeout,
                                    follow_redirects=config.get("follow_redirects", True),
                                    credential_headers=credential_headers, before_send=ctx.before_call)
    except StepError as exc:
        raise redact_error(exc, secrets) from None
    # An endpoint that echoes the request (or an error page quoting it) must not leak the credential.
    text = redact(response.text, secrets)
    parsed = text
    if "json" in response.headers.get("content-type", "") and text:
        try:
            parsed = jsonlib.loads(text)
        except ValueError:
            parsed = text
    output = {"status_code": response.status_code,
              "headers": redact(dict(response.headers), secrets), "body": parsed}
    if not _is_success(response.status_code, config):
        status = response.status_code
        retryable = http_client.is_retryable_status(status)
        raise StepError(f"{method} {response.url} answered {status}", retryable=retryable,
                        details={"status_code": status, "headers": redact(dict(response.headers), secrets),
                                 "body": text[:2000]},
                        retry_after=http_client.retry_after_seconds(response.headers) if retryable else None)
    return output
