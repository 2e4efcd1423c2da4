"""Health routes, no login needed:

- GET /health/live: 200 while the process answers (nothing else is checked): a liveness probe.
- GET /health/ready: 200 when the database and the broker answer, else 503: a readiness probe.
- GET /health: 200 when everything is up, workers and beat included, else 503: for monitoring.
"""

from django.http import JsonResponse
from django.views.decorators.http import require_GET

from .health import readiness, report


@require_GET
def live(request):
    return JsonResponse({"status": "live"})


@require_GET
def ready(request):
    is_ready, body = readiness()
    return _answer(is_ready, body)


@require_GET
def health(request):
    healthy, body = report()
    return _answer(healthy, body)


def _answer(ok: bool, body: dict) -> JsonResponse:
    response = JsonResponse(body, status=200 if ok else 503)
    response["Cache-Control"] = "no-store"
    if not ok:
        response["Retry-After"] = "5"
    return response
