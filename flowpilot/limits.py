"""Request bodies over the limit are refused at the door: 413 before the application reads them or
anything touches the database.

A declared Content-Length over the limit is answered at once. A body sent without one (chunked) is
read here, up to the limit, and handed on with its Content-Length, as a WSGI application needs it.
"""

from __future__ import annotations

import json


class BodySizeLimit:
    """ASGI middleware for HTTP: bodies of at most `max_bytes`."""

    def __init__(self, app, *, max_bytes: int):
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = _content_length(scope)
        if declared is not None:
            if declared > self.max_bytes:
                return await self._refuse(send)
            return await self.app(scope, receive, send)
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            if len(body) > self.max_bytes:
                return await self._refuse(send)
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

    async def _refuse(self, send) -> None:
        # The rest of the body is read and dropped by the server, so that the client gets this answer.
        body = json.dumps({"message": f"The request body is larger than {self.max_bytes} bytes."}).encode()
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
