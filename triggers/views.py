"""POST /hooks/<token>/: a webhook delivery starts a run. Signed by default (X-FlowPilot-Signature)."""

from __future__ import annotations

import json

from django.conf import settings
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from workflows import json_values
from workflows.errors import DomainError

from . import deliveries, services
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
    if services.rate_limited(trigger):  # not recorded, not captured: a flood writes nothing
        return _error(429, "too many deliveries to this webhook; slow down")
    response, input_data = _deliver(request, trigger, body)
    message = "" if response.status_code < 400 else json.loads(response.content).get("message", "")
    if response.status_code >= 400:
        deliveries.refusal_record(trigger=trigger, status_code=response.status_code, message=message)
    deliveries.capture_if_listening(trigger=trigger, headers=request.headers, query=request.GET, body=body,
                                    input_data=input_data, status_code=response.status_code, message=message)
    return response


def _deliver(request, trigger: Trigger, body: bytes) -> tuple[JsonResponse, dict | None]:
    """The answer to a delivery, and the input it gives the run (None when refused before it is read:
    a bad signature, a body that is not JSON)."""
    if trigger.require_signature:  # checked before the body is parsed
        try:
            services.verify_signature(trigger, request.headers.get(services.SIGNATURE_HEADER, ""), body)
        except services.SignatureError as exc:
            return _error(401, f"bad signature: {exc}"), None
    try:
        payload = json_values.loads(body, max_depth=settings.FLOWPILOT_JSON_MAX_DEPTH) if body.strip() else {}
    except UnicodeDecodeError:
        return _error(400, "the body must be JSON"), None
    except ValueError as exc:
        return _error(400, f"the body must be JSON: {exc}"), None
    input_data = services.webhook_input(trigger, payload, request.headers, request.GET)
    try:
        execution, created = services.webhook_deliver(trigger=trigger, input_data=input_data,
                                                      idempotency_key=request.headers.get("Idempotency-Key"))
    except DomainError as exc:
        return JsonResponse({"message": exc.message, **exc.extra}, status=exc.status_code), input_data
    # 202 for a new run and for a redelivery alike (senders retry on anything else; "created" tells
    # them apart): a redelivery answers the run its Idempotency-Key started.
    return JsonResponse({"execution_id": str(execution.pk), "status": execution.status, "created": created,
                         **({"debounced": True} if getattr(execution, "debounced", False) else {})},
                        status=202), input_data
