"""Django's own error answers, where the API's JSON error shape is expected instead (handler400,
handler404, handler500): these come before or after any API code runs, so DRF's exception handler
never sees them.

handler500 is also where an unreachable or saturated database is told apart from a bug, for every
view (API, webhooks, health, admin) and every middleware at once: 503 with Retry-After and a clear
message, not a 500. Each service runs in its own transaction, so a request that fails this way
has changed nothing, or has committed a whole step the client may repeat (with its idempotency key).
"""

from __future__ import annotations

import logging
import sys

from django.core.exceptions import (
    RequestDataTooBig,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

API_PREFIX = "/api/"
# Refusals whose message tells the client what to change (and nothing about the server).
EXPLAINED = (RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent)
# The database cannot be reached, restarts, or has no free connection for us (the pool's wait ran out).
DATABASE_UNAVAILABLE = (OperationalError, InterfaceError)
# The cache (Redis in services mode) cannot be reached: what uses it for limits lets requests through.
CACHE_UNAVAILABLE = (RedisError, OSError)
RETRY_AFTER_SECONDS = 2
UNAVAILABLE_MESSAGE = "The database is busy or unavailable; nothing was changed. Try again shortly."


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """A path under /api/ that no route matches (e.g. an id of the wrong shape): {"message": ...} like
    every other API error. Elsewhere, Django's own page."""
    if request.path.startswith(API_PREFIX):
        return JsonResponse({"message": "Not found."}, status=404)
    return defaults.page_not_found(request, exception)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """A request Django refused while reading it (too many form fields, a body over the limit)."""
    if isinstance(exception, RequestDataTooBig):
        return JsonResponse({"message": f"The request body is too large: {exception}"}, status=413)
    if request.path.startswith(API_PREFIX):
        message = str(exception) if isinstance(exception, EXPLAINED) else "Bad request."
        return JsonResponse({"message": message}, status=400)
    return defaults.bad_request(request, exception)


def database_unavailable() -> JsonResponse:
    response = JsonResponse({"message": UNAVAILABLE_MESSAGE}, status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def server_error(request: HttpRequest) -> HttpResponse:
    """An exception no view handled: 503 when the database is unavailable (the request may be
    repeated), else a 500 that says nothing about the server (the traceback goes to the log)."""
    exception = sys.exc_info()[1]
    if isinstance(exception, DATABASE_UNAVAILABLE):
        return database_unavailable()
    if request.path.startswith(API_PREFIX):
        return JsonResponse({"message": "Server error."}, status=500)
    return defaults.server_error(request)
