"""GET /health: 200 when the database and the broker answer, 503 otherwise. No login needed."""

from django.http import JsonResponse
from django.views.decorators.http import require_GET

from .health import report


@require_GET
def health(request):
    healthy, body = report()
    return JsonResponse(body, status=200 if healthy else 503)
