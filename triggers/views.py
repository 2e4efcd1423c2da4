"""POST /hooks/<token>/: a webhook delivery starts a run. Signed by default (X-FlowPilot-Signature)."""

from __future__ import annotations

from django.conf import settings
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from workflows import json_values
from workflows.errors import DomainError

from . import services
from .models import Trigger, TriggerType


def _error(status: int, message: str) -> JsonResponse:
    return JsonResponse({"message": message}, status=status)


@csrf_exempt
@require_POST
def webhook(request, token: str):
    limit = settings.FLOWPILOT_WEBHOOK_MAX_BYTES  # checked before anything touches the database
    if int(request.META.get("CONTENT_LENGTH") or 0) > limit:
        return _error(413, f"body larger than {limit} bytes")
    body = request.read(limit + 1)
    if len(body) > limit:
        return _error(413, f"body larger than {limit} bytes")
    trigger = Trigger.objects.select_related("workflow").filter(token=token, type=TriggerType.WEBHOOK).first()
    if trigger is None or not trigger.enabled:
        return _error(404, "no such webhook")
    if services.rate_limited(trigger):
        return _error(429, "too many deliveries to this webhook; slow down")
    if trigger.require_signature:
        try:
            services.verify_signature(trigger, request.headers.get(services.SIGNATURE_HEADER, ""), body)
        except services.SignatureError as exc:
            return _error(401, f"bad signature: {exc}")
    try:
        payload = json_values.loads(body, max_depth=settings.FLOWPILOT_JSON_MAX_DEPTH) if body.strip() else {}
    except UnicodeDecodeError:
        return _error(400, "the body must be JSON")
    except ValueError as exc:
        return _error(400, f"the body must be JSON: {exc}")
    try:
        execution, created = services.webhook_deliver(trigger=trigger, payload=payload, headers=request.headers,
                                                      query=request.GET,
                                                      idempotency_key=request.headers.get("Idempotency-Key"))
    except DomainError as exc:
        return JsonResponse({"message": exc.message, **exc.extra}, status=exc.status_code)
    # 202 for a new run and for a redelivery alike (senders retry on anything else; "created" tells
    # them apart): a redelivery answers the run its Idempotency-Key started.
    return JsonResponse({"execution_id": str(execution.pk), "status": execution.status, "created": created},
                        status=202)
