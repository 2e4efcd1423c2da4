"""The single-page app (the designer and monitor, built by Vite into frontend/dist/), served by Django.

WhiteNoise serves dist's files (WHITENOISE_ROOT: /assets/* with hashed names, cached for ever);
`index` answers every other GET outside the API with index.html, never cached, so client-side
routes such as /workflows/<id> load the app. Files added to dist after the server started (a
rebuild) are served here too, since WhiteNoise lists its files once, at start.
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.cache import patch_cache_control
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_safe
from django.views.static import serve

NOT_BUILT = "The designer is not built: run `make run` (or `npm --prefix frontend run build`)\n"
ASSETS = "assets/"
# Paths that are never the app's, even when nothing else matches them (see flowpilot/urls.py).
NOT_APP = ("api", "admin", "hooks", "ws", "static", "api-auth", "approval-links")
ROUTE = r"^(?!(?:{})(?:/|$)|health$)(?P<path>.*)$".format("|".join(NOT_APP))


@require_safe
@ensure_csrf_cookie  # the app's first page load gives it the cookie to send back as X-CSRFToken
def index(request: HttpRequest, path: str = "") -> HttpResponse:
    dist = Path(settings.FLOWPILOT_FRONTEND_DIST)
    if path:
        try:
            response = serve(request, path, document_root=dist)
        except Http404:
            if path.startswith(ASSETS):
                raise  # a missing script or stylesheet is a 404, not the app's page
        else:
            if path.startswith(ASSETS):
                patch_cache_control(response, public=True, max_age=365 * 86400, immutable=True)
            return response
    try:
        page = (dist / "index.html").read_bytes()
    except FileNotFoundError:
        return HttpResponse(NOT_BUILT, status=503, content_type="text/plain; charset=utf-8")
    response = HttpResponse(page, content_type="text/html; charset=utf-8")
    patch_cache_control(response, no_cache=True)
    return response

