"""Outbound HTTP for step types: one guarded call, redirects included.

Every hop is checked by the network guard and sent to the address that was checked (netguard),
passes the circuit breaker of its origin (circuit), and has its body capped at
FLOWPILOT_HTTP_MAX_RESPONSE_BYTES. Failures come back as StepError, retryable for the host's
failures (connection errors, timeouts; statuses are the caller's to judge, see is_retryable_status).
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import httpx
from django.conf import settings

from . import circuit
from .netguard import BlockedAddress, resolve
from .steps.base import StepError

RETRYABLE_STATUS = {408, 429}
MAX_REDIRECTS = 5
MAX_RETRY_AFTER_SECONDS = 3600
# Dropped when a redirect leaves the origin, as browsers, httpx and requests do.
CREDENTIAL_HEADERS = ("Authorization", "Proxy-Authorization")


def is_retryable_status(status: int) -> bool:
    """5xx, 408 and 429: the host may answer differently later. Other 4xx will not change."""
    return status >= 500 or status in RETRYABLE_STATUS


def retry_after_seconds(headers: httpx.Headers) -> float | None:
    """A Retry-After header given in seconds (the HTTP-date form is ignored), capped at an hour."""
    try:
        seconds = float(headers.get("retry-after", ""))
    except ValueError:
        return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_SECONDS)


@dataclass(frozen=True)
class Response:
    status_code: int
    headers: httpx.Headers
    body: bytes
    encoding: str | None
    url: str  # after redirects

    @property
    def text(self) -> str:
        return self.body.decode(self.encoding or "utf-8", errors="replace")


def send(*, method: str, url: str, headers: dict[str, str], timeout: float, content: bytes | None = None,
         params: dict | None = None, follow_redirects: bool = True,
         credential_headers: Collection[str] = (), describe: Callable[[str], str] = str,
         before_send: Callable[[], None] | None = None) -> Response:
    """Send one request, following up to MAX_REDIRECTS redirects.

    `credential_headers` (besides Authorization) are not sent on to another origin by a redirect.
    `describe(url)` is how a URL appears in error messages (a webhook URL is itself a secret).
    `before_send()` is called once, just before the first request is sent (a step's rate limit waits
    there): after the circuit breaker let it through and the address was resolved and checked.
    """
    method = method.upper()
    headers = dict(headers)
    if params:  # added to the URL's own query, which is kept as written (httpx's params= replaces it)
        parts = urlsplit(url)
        extra = str(httpx.QueryParams(params))
        url = parts._replace(query=f"{parts.query}&{extra}" if parts.query else extra).geturl()
    strip = {h.lower() for h in (*CREDENTIAL_HEADERS, *credential_headers)}
    breaker = circuit.Breaker()
    with httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False) as client:
        for _ in range(MAX_REDIRECTS + 1):
            response, body = _hop(client, breaker, method, url, headers=headers, timeout=timeout,
                                  content=content, follow_redirects=follow_redirects, describe=describe,
                                  before_send=before_send)
            before_send = None  # once: a redirect's next hop is the same call
            if body is not None:
                return Response(response.status_code, response.headers, body, response.encoding, url)
            target = urljoin(url, response.headers["location"])
            if circuit.origin(target) != circuit.origin(url):
                headers = {k: v for k, v in headers.items() if k.lower() not in strip}
            url = target
            if response.status_code in (301, 302, 303) and method != "HEAD":
                method, content = "GET", None
                headers = {k: v for k, v in headers.items() if k.lower() != "content-type"}
    raise StepError(f"more than {MAX_REDIRECTS} redirects", retryable=False)


def _hop(client: httpx.Client, breaker: circuit.Breaker, method: str, url: str, *, headers: dict,
         timeout: float, content: bytes | None, follow_redirects: bool,
         describe: Callable[[str], str],
         before_send: Callable[[], None] | None = None) -> tuple[httpx.Response, bytes | None]:
    """One request: the response, and its body unless it is a redirect to follow (body None)."""
    try:
        parts = urlsplit(url)
        _ = parts.port  # raises ValueError for a port that is not a number
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise StepError(f"url must be an http(s) URL, got {describe(url)!r}", retryable=False)
    ticket = breaker.admit(circuit.origin(url), call_timeout=timeout)
    healthy: bool | None = None  # None: the host was never called
    try:
        response = _pinned_request(client, method, url, headers=headers, content=content, before_send=before_send)
        try:
            healthy = response.status_code not in circuit.DOWN_STATUSES
            if response.is_redirect and follow_redirects:
                return response, None
            return response, _read_capped(response)
        finally:
            response.close()
    except BlockedAddress as exc:
        raise StepError(f"refused: {exc}", retryable=False) from None
    except httpx.TimeoutException:
        healthy = False
        raise StepError(f"{method} {describe(url)} timed out after {timeout:g} s") from None
    except (httpx.TransportError, OSError) as exc:
        healthy = False
        raise StepError(f"{method} {describe(url)} failed: {exc}") from None
    finally:
        if healthy is None:
            breaker.abandoned(ticket)
        elif healthy:
            breaker.succeeded(ticket)
        else:
            breaker.failed(ticket)


def _pinned_request(client: httpx.Client, method: str, url: str, *, headers: dict,
                    content: bytes | None, before_send: Callable[[], None] | None = None) -> httpx.Response:
    """Send to the address the guard checked, keeping the Host header and TLS name of the URL."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    ip = resolve(parts.hostname, port)
    host = f"[{ip}]" if ip.version == 6 else str(ip)
    netloc = f"{host}:{parts.port}" if parts.port else host
    pinned = parts._replace(netloc=netloc).geturl()
    headers = {"Host": parts.netloc.rsplit("@", 1)[-1], **headers}
    extensions = {"sni_hostname": parts.hostname} if parts.scheme == "https" else {}
    request = client.build_request(method, pinned, headers=headers, extensions=extensions, content=content)
    if before_send is not None:
        before_send()  # the last moment before the host is contacted
    return client.send(request, stream=True)


def _read_capped(response: httpx.Response) -> bytes:
    limit = settings.FLOWPILOT_HTTP_MAX_RESPONSE_BYTES
    data = bytearray()
    for chunk in response.iter_bytes():
        data.extend(chunk)
        if len(data) > limit:
            raise StepError(f"response body exceeds {limit} bytes", retryable=False)
    return bytes(data)
