"""Every API path answers with and without its trailing slash, for every method, without a redirect.

The routes are written with their slash (`/api/v1/workflows/`), as the OpenAPI schema lists them;
clients written from other documents (seed 002's README: `POST /api/v1/workflows`) leave it off.
Django's APPEND_SLASH answers those with a 301 to the slashed path, and a client following it sends
a GET without the body: a POST became a list. Here, before CommonMiddleware, a path of the API that
matches no route is served by the route its other form matches (the slash added, or taken away for
the few paths written without one: /health, /metrics), in the same request: method, body and query
kept. Only API paths (ROOTS): elsewhere (/admin) APPEND_SLASH redirects as before, and a path that
is the single-page app's keeps being the app's.

The same rewrite, in the same place, makes /api/ an alias of the current version: seed 004 (the
plan) writes its endpoints without one (`POST /api/workflows/{id}/run/`), so `/api/<rest>` is served
as `/api/v1/<rest>` unless <rest> names a version itself (`v1/...`, `v2/...`). The routes are
written once, under /api/v1/, so reverse() and every URL the API answers with keep the version.
"""

from __future__ import annotations

import re

from asgiref.sync import iscoroutinefunction

from django.urls import Resolver404, get_resolver
from django.utils.decorators import sync_and_async_middleware

# The first segments of the paths served by the API (not the single-page app, not the admin).
ROOTS = frozenset({"api", "hooks", "health", "metrics"})
# Where every route is written with its slash: a slashed path there is left as it is, unresolved here.
WRITTEN_WITH_SLASH = frozenset({"api", "hooks"})
APP_VIEW = "app"  # flowpilot/urls.py's name of the single-page app's catch-all route
ALIAS = "/api/"  # answers as CURRENT: /api/workflows/ is /api/v1/workflows/
CURRENT = "/api/v1/"
_VERSIONED = re.compile(r"^/api/v\d+(?:/|$)")


def current_version(path: str) -> str:
    """`path` with /api/<rest> made /api/v1/<rest> when <rest> names no version; other paths as they are."""
    if path.startswith(ALIAS) and not _VERSIONED.match(path):
        return CURRENT + path[len(ALIAS):]
    return path


def _served(resolver, path: str) -> bool:
    """Whether `path` matches a route other than the single-page app's."""
    try:
        match = resolver.resolve(path)
    except Resolver404:
        return False
    return match.url_name != APP_VIEW


def other_form(path: str, urlconf=None) -> str | None:
    """The other form of an API path (its slash added or taken away) when only that one is served."""
    root = path.lstrip("/").split("/", 1)[0]
    if path in ("", "/") or root not in ROOTS:
        return None
    if path.endswith("/") and root in WRITTEN_WITH_SLASH:
        return None  # the usual request: no resolving twice (a route there without its slash has none to take away)
    resolver = get_resolver(urlconf)
    if _served(resolver, path):
        return None
    alternative = path[:-1] if path.endswith("/") else f"{path}/"
    return alternative if _served(resolver, alternative) else None


def served_path(path: str, urlconf=None) -> str | None:
    """The path that serves `path` when it is not its own: the current version's for an unversioned
    /api/ path, then its other form (slash added or taken away) when only that one is served."""
    versioned = current_version(path)
    alternative = other_form(versioned, urlconf)
    if alternative is not None:
        return alternative
    return versioned if versioned != path else None


def _serve_other_form(request) -> None:
    alternative = served_path(request.path_info, getattr(request, "urlconf", None))
    if alternative is not None:
        old = request.path_info
        request.path_info = alternative
        if request.path.endswith(old):
            request.path = request.path[: len(request.path) - len(old)] + alternative


@sync_and_async_middleware
def optional_trailing_slash(get_response):
    """Sync or async as the chain is (resolving a path touches no I/O): under ASGI no thread hop."""
    if iscoroutinefunction(get_response):
        async def middleware(request):
            _serve_other_form(request)
            return await get_response(request)
    else:
        def middleware(request):
            _serve_other_form(request)
            return get_response(request)
    return middleware
