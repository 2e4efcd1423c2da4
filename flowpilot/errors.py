"""Django's own error answers, where the API's JSON error shape is expected instead (handler400,
handler404): these come before any API code runs, so DRF's exception handler never sees them."""

from __future__ import annotations

from django.core.exceptions import (
    RequestDataTooBig,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults

API_PREFIX = "/api/"
# Refusals whose message tells the client what to change (and nothing about the server).
EXPLAINED = (RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent)


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """A path under /api/ that no route matches (e.g. an id of the wrong shape): {"message": ...} like
    every other API error. Elsewhere, Django's own page."""
    if request.path.startswith(API_PREFIX):
        return JsonResponse({"message": "Not found."}, status=404)
    return defaults.page_not_found(request, exception)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """A request Django refused while reading it (too many form fields, a body over the limit)."""
    if request.path.startswith(API_PREFIX):
        message = str(exception) if isinstance(exception, EXPLAINED) else "Bad request."
        return JsonResponse({"message": message}, status=400)
    return defaults.bad_request(request, exception)
