"""WebSocket authentication by API token: `Authorization: Token <key>` or `?token=<key>`.

Sits inside channels' AuthMiddlewareStack: a connection that names a key is that key's user (or
anonymous when the key is refused); one that names none keeps its session's user. Browsers cannot
set headers on a WebSocket, so they use the session; the query parameter is for scripts and CLIs
(it can end up in access logs: prefer the header where the client can send one).

The Origin check (OriginUnlessToken) is what keeps another site's page from using a visitor's
session cookie. Browsers always send Origin on a WebSocket, so it is checked whenever one is sent;
a client that sends none is not a browser, and may connect with an API token (never with a cookie).
"""

from __future__ import annotations

from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.middleware import BaseMiddleware
from channels.security.websocket import AllowedHostsOriginValidator
from django.contrib.auth.models import AnonymousUser

from .authentication import ApiTokenAuthentication, user_for_key


def token_in(scope) -> str | None:
    """The key a connection presents: the Authorization header first, then the `token` query parameter."""
    keyword = ApiTokenAuthentication.keyword.lower().encode()
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            parts = value.split()
            if len(parts) == 2 and parts[0].lower() == keyword:
                return parts[1].decode("latin1")
            return ""  # an Authorization header that is not a token: refused, not ignored
    values = parse_qs(scope.get("query_string", b"").decode("latin1")).get("token")
    return values[0] if values else None


class TokenAuthMiddleware(BaseMiddleware):
    """Sets scope["user"] from an API token when the connection presents one."""

    async def __call__(self, scope, receive, send):
        key = token_in(scope)
        if key is not None:
            user = await database_sync_to_async(user_for_key)(key) if key else None
            scope = dict(scope, user=user or AnonymousUser())
        return await super().__call__(scope, receive, send)


def has_origin(scope) -> bool:
    return any(name == b"origin" for name, _ in scope.get("headers", []))


class OriginUnlessToken:
    """ALLOWED_HOSTS' Origin check (channels' AllowedHostsOriginValidator) for every connection that
    sends an Origin header or presents no token; a connection without Origin that presents a token goes
    on to be authenticated by it (TokenAuthMiddleware: a wrong key is anonymous, and refused)."""

    def __init__(self, application):
        self.application = application
        self.origin_checked = AllowedHostsOriginValidator(application)

    async def __call__(self, scope, receive, send):
        if not has_origin(scope) and token_in(scope) is not None:
            return await self.application(scope, receive, send)
        return await self.origin_checked(scope, receive, send)
