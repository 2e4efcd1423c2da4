"""Request bodies over the limit are refused at the door: 413 before the application reads them or
anything touches the database.

The limit is FLOWPILOT_MAX_REQUEST_BYTES, except for a workflow's whole definition (create, update,
validate, import: FLOWPILOT_MAX_DEFINITION_BYTES), which may hold up to FLOWPILOT_MAX_WORKFLOW_STEPS
steps with their configs and positions. `body_limit` says which; the ASGI middleware applies it before
the application runs, the Django middleware (RequestBodyLimit) under any server, from the declared
Content-Length.

A declared Content-Length over the limit is answered at once. A body sent without one (chunked) is
read here, up to the limit, and handed on with its Content-Length, as a WSGI application needs it.
"""

from __future__ import annotations

import json
import re

from django.conf import settings
from django.http import JsonResponse

# The routes that take a workflow's whole definition.
DEFINITION_PATHS = re.compile(r"^/api/v1/workflows(?:/(?:import|validate|[^/]+))?/?$")


def body_limit(path: str) -> int:
    """The largest body (bytes) a request to `path` may send."""
    if DEFINITION_PATHS.match(path):
        return max(settings.FLOWPILOT_MAX_DEFINITION_BYTES, settings.FLOWPILOT_MAX_REQUEST_BYTES)
    return settings.FLOWPILOT_MAX_REQUEST_BYTES


def _message(limit: int) -> str:
    return f"The request body is too large: larger than {limit} bytes."


class RequestBodyLimit:
    """Django middleware: a declared Content-Length over the route's limit is a 413, before a view reads
    the body (Django's own DATA_UPLOAD_MAX_MEMORY_SIZE is the largest route limit)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            declared = 0
        limit = body_limit(request.path_info)
        if declared > limit:
            return JsonResponse({"message": _message(limit)}, status=413)
        return self.get_response(request)


class BodySizeLimit:
    """ASGI middleware for HTTP: bodies of at most `body_limit(path)` (or `max_bytes`, when given)."""

    def __init__(self, app, *, max_bytes: int | None = None):
        self.app = app
        self.fixed = max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        max_bytes = self.fixed if self.fixed is not None else body_limit(scope.get("path", ""))
        declared = _content_length(scope)
        if declared is not None:
            if declared > max_bytes:
                return await self._refuse(send, max_bytes)
            return await self.app(scope, receive, send)
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            if len(body) > max_bytes:
                return await self._refuse(send, max_bytes)
            if not message.get("more_body", False):
                break
        headers = [(name, value) for name, value in scope.get("headers", ()) if name != b"transfer-encoding"]
        headers.append((b"content-length", str(len(body)).encode()))
        delivered = False

        async def replay():
            nonlocal delivered
            if delivered:
                return await receive()
            delivered = True
            return {"type": "http.request", "body": bytes(body), "more_body": False}

        return await self.app({**scope, "headers": headers}, replay, send)

    async def _refuse(self, send, max_bytes: int) -> None:
        # The rest of the body is read and dropped by the server, so that the client gets this answer.
        body = json.dumps({"message": _message(max_bytes)}).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})


def _content_length(scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
