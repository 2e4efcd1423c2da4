"""A webhook's deliveries as its owner sees them: the recent ones with their outcome (the runs it
started, and the deliveries refused, recorded here), and "listen for a test delivery": the next
request to the webhook captured, so that the designer can offer it as sample input.

Listening does not swallow the delivery: the webhook URL is the production URL, so the captured
request is answered and run exactly as any other (a sender's real delivery arriving while someone
listens is never lost). The capture is a copy, kept in the cache for LISTEN_KEEP_SECONDS.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.core.cache import cache
from django.utils import timezone

from flowpilot.errors import CACHE_UNAVAILABLE
from workflows.errors import Conflict, DomainError
from workflows.models import TriggerSource, WorkflowExecution

from .models import RefusedDelivery, Trigger, TriggerType

log = logging.getLogger(__name__)

KEEP_REFUSED = 50  # refused deliveries kept per trigger
MAX_LISTED = 50  # deliveries listed at most
LISTEN_SECONDS = 120  # how long a listen waits for a delivery
LISTEN_KEEP_SECONDS = 600  # how long a captured delivery stays to be read
MAX_BODY_TEXT = 4096  # a body that is not JSON is kept as text, cut here
MAX_HEADERS = 50
MAX_HEADER_VALUE = 1000
REDACTED_HEADERS = {"authorization", "proxy-authorization", "cookie"}


class CacheUnavailable(DomainError):
    status_code = 503


def _key(trigger: Trigger) -> str:
    return f"flowpilot:webhook-listen:{trigger.pk}"


def _webhook_only(trigger: Trigger) -> None:
    if trigger.type != TriggerType.WEBHOOK:
        raise Conflict("only a webhook trigger can listen for a delivery")


# --- listening ---------------------------------------------------------------------------------------

def listen_start(*, trigger: Trigger) -> dict:
    """Arm a capture of the next delivery for LISTEN_SECONDS (again: a fresh window, the old capture gone)."""
    _webhook_only(trigger)
    expires_at = timezone.now() + timedelta(seconds=LISTEN_SECONDS)
    state = {"expires_at": expires_at.isoformat(), "capture": None}
    try:
        cache.delete(f"{_key(trigger)}:taken")
        cache.set(_key(trigger), state, timeout=LISTEN_SECONDS)
    except CACHE_UNAVAILABLE as exc:
        raise CacheUnavailable(f"cannot listen now, the cache is unavailable: {exc}") from None
    return {"listening": True, **state}


def listen_state(*, trigger: Trigger) -> dict:
    """{"listening", "expires_at", "capture"}: capture is the delivery caught, or None."""
    _webhook_only(trigger)
    try:
        state = cache.get(_key(trigger))
    except CACHE_UNAVAILABLE as exc:
        raise CacheUnavailable(f"cannot read the capture now, the cache is unavailable: {exc}") from None
    if not state:
        return {"listening": False, "expires_at": None, "capture": None}
    return {"listening": state["capture"] is None, **state}


def listen_stop(*, trigger: Trigger) -> None:
    _webhook_only(trigger)
    try:
        cache.delete_many([_key(trigger), f"{_key(trigger)}:taken"])
    except CACHE_UNAVAILABLE as exc:
        raise CacheUnavailable(f"cannot stop listening now, the cache is unavailable: {exc}") from None


def _headers(headers) -> dict[str, str]:
    kept: dict[str, str] = {}
    for name, value in list(headers.items())[:MAX_HEADERS]:
        kept[name] = "[redacted]" if name.lower() in REDACTED_HEADERS else str(value)[:MAX_HEADER_VALUE]
    return kept


def capture_if_listening(*, trigger: Trigger, headers, query, body: bytes, input_data: dict | None,
                         status_code: int, message: str) -> bool:
    """Keep this delivery if its webhook is listening and has caught nothing yet. Never fails the
    delivery: with the cache unavailable, nothing is captured."""
    try:
        state = cache.get(_key(trigger))
        if not state or state["capture"] is not None or not cache.add(f"{_key(trigger)}:taken", 1,
                                                                       timeout=LISTEN_KEEP_SECONDS):
            return False
        state["capture"] = {
            "received_at": timezone.now().isoformat(),
            "status_code": status_code,
            "message": message,
            "headers": _headers(headers),
            "query": {k: query.getlist(k) if len(query.getlist(k)) > 1 else query.get(k) for k in list(query)[:50]},
            "input": input_data,
            "body_text": None if input_data is not None else body[:MAX_BODY_TEXT].decode("utf-8", "replace"),
        }
        cache.set(_key(trigger), state, timeout=LISTEN_KEEP_SECONDS)
        return True
    except CACHE_UNAVAILABLE as exc:
        log.warning("webhook delivery to %s not captured, the cache is unavailable: %s", trigger.pk, exc)
        return False


# --- recent deliveries ---------------------------------------------------------------------------------

def refusal_record(*, trigger: Trigger, status_code: int, message: str) -> None:
    """Record a refused delivery and forget the ones past the newest KEEP_REFUSED."""
    RefusedDelivery.objects.create(trigger=trigger, status_code=status_code, message=message[:500])
    stale = RefusedDelivery.objects.filter(trigger=trigger).order_by("-at", "-pk").values_list("pk", flat=True)[
        KEEP_REFUSED:]
    RefusedDelivery.objects.filter(pk__in=list(stale)).delete()


def webhook_deliveries(*, trigger: Trigger, limit: int = 20) -> list[dict]:
    """The newest `limit` deliveries, newest first: runs the webhook started (their status now) and
    refused deliveries (the status code they were answered with)."""
    _webhook_only(trigger)
    limit = max(1, min(limit, MAX_LISTED))
    runs = (WorkflowExecution.objects
            .filter(workflow_id=trigger.workflow_id, triggered_by=TriggerSource.WEBHOOK,
                    input___webhook__trigger_id=str(trigger.pk))
            .only("id", "status", "created_at", "error_message").order_by("-created_at")[:limit])
    refused = RefusedDelivery.objects.filter(trigger=trigger).order_by("-at")[:limit]
    rows = [{"at": run.created_at, "accepted": True, "status_code": 202, "message": "",
             "execution_id": run.pk, "execution_status": run.status} for run in runs]
    rows += [{"at": r.at, "accepted": False, "status_code": r.status_code, "message": r.message,
              "execution_id": None, "execution_status": None} for r in refused]
    rows.sort(key=lambda row: row["at"], reverse=True)
    return rows[:limit]
