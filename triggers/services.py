"""Trigger services: create and change triggers (keeping celery-beat's PeriodicTask in step), and
fire them: a webhook delivery, a schedule's beat, an event."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
import time
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Q
from django.dispatch import Signal
from django.utils import timezone
from django_celery_beat.models import CrontabSchedule, PeriodicTask

from flowpilot import fail_open
from flowpilot.errors import CACHE_UNAVAILABLE

from workflows import bounds
from workflows import services as workflow_services
from workflows.errors import Conflict, InvalidInput, WorkflowNotActive
from workflows.models import TaskExecution, TriggerSource, Workflow, WorkflowExecution, WorkflowKind
from workflows.engine.planner.states import TaskStatus
from workflows.secrets import decrypt, encrypt

from . import cron, replay
from .models import Event, MissedFires, Trigger, TriggerType, new_token

log = logging.getLogger(__name__)

# Sent with `name` before an event starts its workflows: what lives above the triggers and starts
# workflows on events too (a code workflow's @event_workflow, workflows/code/sync.py) makes sure its
# trigger rows exist. The triggers never import it; it listens.
event_emitting = Signal()
UTC = dt_timezone.utc
SIGNATURE_HEADER = "X-FlowPilot-Signature"
SIGNATURE_TOLERANCE_SECONDS = 300
FIRE_TASK = "triggers.tasks.fire_schedule"
TRIGGER_FIELDS = ("name", "enabled", "require_signature", "include_headers", "cron", "timezone", "missed_fires",
                  "catch_up_limit", "event_name", "offset_minutes")


class SignatureError(Exception):
    pass


# --- managing triggers -----------------------------------------------------------------------------

def trigger_validate(*, trigger: Trigger) -> None:
    """The rules a trigger's fields must meet (an unsaved one too): InvalidInput naming the field.
    trigger_create and trigger_update apply them; a form (the admin's) asks before it saves."""
    if trigger.type == TriggerType.SCHEDULE:
        if not trigger.cron:
            raise InvalidInput("cron: is required for a schedule", fields={"cron": ["this field is required"]})
        try:
            cron.parse(trigger.cron)
        except cron.CronError as exc:
            raise InvalidInput(f"cron: {exc}", fields={"cron": [str(exc)]}) from None
        try:
            cron.zone(trigger.timezone)
        except cron.CronError as exc:
            raise InvalidInput(f"timezone: {exc}", fields={"timezone": [str(exc)]}) from None
    if trigger.type == TriggerType.EVENT and not trigger.event_name:
        raise InvalidInput("event_name: is required for an event trigger",
                           fields={"event_name": ["this field is required"]})


def _sync_periodic_task(trigger: Trigger) -> None:
    """The trigger's PeriodicTask mirrors it: same cron and timezone, enabled together."""
    if trigger.type != TriggerType.SCHEDULE:
        return
    minute, hour, day_of_month, month_of_year, day_of_week = trigger.cron.split()
    schedule, _ = CrontabSchedule.objects.get_or_create(
        minute=minute, hour=hour, day_of_month=day_of_month, month_of_year=month_of_year, day_of_week=day_of_week,
        timezone=trigger.timezone)
    task = trigger.periodic_task or PeriodicTask(name=f"flowpilot-trigger-{trigger.pk}", task=FIRE_TASK)
    task.crontab = schedule
    task.args = json.dumps([str(trigger.pk)])
    task.enabled = trigger.enabled
    task.description = f"FlowPilot schedule of workflow {trigger.workflow_id}"
    task.save()
    if trigger.periodic_task_id != task.pk:
        trigger.periodic_task = task
        trigger.save(update_fields=["periodic_task"])


@transaction.atomic
def trigger_create(*, workflow: Workflow, type: str, data: dict) -> tuple[Trigger, str | None]:
    """A new trigger; for a webhook also its signing secret, which is shown this once."""
    trigger = Trigger(workflow=workflow, type=type, **{f: data[f] for f in TRIGGER_FIELDS if f in data})
    trigger_validate(trigger=trigger)
    secret = None
    if type == TriggerType.WEBHOOK:
        trigger.token = new_token()
        secret = secrets.token_hex(32)
        trigger.secret_encrypted = encrypt(secret)
    trigger.save()
    _sync_periodic_task(trigger)
    return trigger, secret


@transaction.atomic
def trigger_update(*, trigger: Trigger, data: dict) -> Trigger:
    trigger = Trigger.objects.select_for_update().get(pk=trigger.pk)
    for field in TRIGGER_FIELDS:
        if field in data:
            setattr(trigger, field, data[field])
    trigger_validate(trigger=trigger)
    trigger.save()
    _sync_periodic_task(trigger)
    return trigger


@transaction.atomic
def trigger_delete(*, trigger: Trigger) -> None:
    task_id = trigger.periodic_task_id
    trigger.delete()
    if task_id:
        PeriodicTask.objects.filter(pk=task_id).delete()


@transaction.atomic
def webhook_rotate_secret(*, trigger: Trigger) -> str:
    if trigger.type != TriggerType.WEBHOOK:
        raise Conflict("only a webhook trigger has a secret")
    secret = secrets.token_hex(32)
    Trigger.objects.filter(pk=trigger.pk).update(secret_encrypted=encrypt(secret))
    return secret


# --- webhooks ----------------------------------------------------------------------------------------

def sign(secret: str, body: bytes, timestamp: int | None = None) -> str:
    """The X-FlowPilot-Signature value for `body`: t=<unix time>,v1=<hex HMAC-SHA256 of "t.body">."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify_signature(trigger: Trigger, header: str, body: bytes, *, now: float | None = None) -> None:
    """Stripe's scheme: a fresh timestamp (5 minutes) and an HMAC not seen before (no replays)."""
    if not header:
        raise SignatureError(f"missing {SIGNATURE_HEADER} header")
    parts = dict(item.split("=", 1) for item in header.split(",") if "=" in item)
    try:
        timestamp = int(parts.get("t", ""))
    except ValueError:
        raise SignatureError("signature has no valid timestamp (t=)") from None
    now = time.time() if now is None else now
    if abs(now - timestamp) > SIGNATURE_TOLERANCE_SECONDS:
        raise SignatureError("signature timestamp is more than 5 minutes away from now")
    expected = sign(decrypt(trigger.secret_encrypted), body, timestamp).split("v1=", 1)[1]
    given = parts.get("v1", "")
    if not hmac.compare_digest(expected, given):
        raise SignatureError("signature does not match")
    if not replay.first_use(trigger, given):
        raise SignatureError("signature was already used (replay)")


def webhook_signatures_prune(*, now: datetime | None = None) -> int:
    """Forget the signatures accepted more than twice the tolerance ago: a timestamp may be up to the
    tolerance ahead of the time it was accepted, and passes until the tolerance after it."""
    now = now or timezone.now()
    return replay.forget_before(now - timedelta(seconds=2 * SIGNATURE_TOLERANCE_SECONDS))


def rate_limited(trigger: Trigger) -> bool:
    """At most FLOWPILOT_WEBHOOK_RATE deliveries per minute per trigger (a fixed one-minute window)."""
    key = f"flowpilot:webhook-rate:{trigger.pk}:{int(time.time() // 60)}"
    try:
        cache.add(key, 0, timeout=120)
        return cache.incr(key) > settings.FLOWPILOT_WEBHOOK_RATE
    except ValueError:
        return False
    except CACHE_UNAVAILABLE as exc:  # Redis restarting: deliveries go on, unlimited for the moment
        fail_open.request_unlimited("webhook", exc)
        return False


def webhook_input(trigger: Trigger, payload, headers, query) -> dict:
    wanted = {h.lower() for h in trigger.include_headers or []}
    meta = {"headers": {k: v for k, v in headers.items() if k.lower() in wanted},
            "query": {k: query.getlist(k) if len(query.getlist(k)) > 1 else query.get(k) for k in query},
            "trigger_id": str(trigger.pk), "received_at": timezone.now().isoformat()}
    body = payload if isinstance(payload, dict) else {"body": payload}
    return {**body, "_webhook": meta}


def webhook_deliver(*, trigger: Trigger, input_data: dict, idempotency_key: str | None):
    """Start the trigger's run with `input_data` (webhook_input's), or answer the one this delivery's
    idempotency key already started (even if the workflow was paused since). (execution, created);
    WorkflowNotActive (409) otherwise."""
    return workflow_services.execution_start(
        workflow=trigger.workflow, input_data=input_data,
        idempotency_key=f"webhook:{idempotency_key}" if idempotency_key else None,
        triggered_by=TriggerSource.WEBHOOK)


# --- schedules ---------------------------------------------------------------------------------------

def schedule_fire(trigger_id, *, now: datetime | None = None) -> list:
    """What celery-beat calls at each cron time. The idempotency key comes from the scheduled time,
    so two beats, or a beat restarted mid-minute, never start the same run twice. Missed fires
    (the scheduler was down): `skip` runs only the latest; `catch_up` also runs up to
    `catch_up_limit` of the missed ones."""
    now = now or timezone.now()
    trigger = Trigger.objects.select_related("workflow").filter(pk=trigger_id, type=TriggerType.SCHEDULE).first()
    if trigger is None or not trigger.enabled:
        return []
    latest = cron.latest_fire(trigger.cron, trigger.timezone, now)
    if latest is None:
        return []
    times = [latest]
    if trigger.missed_fires == MissedFires.CATCH_UP and trigger.last_fired_at and trigger.catch_up_limit:
        missed = cron.fires_between(trigger.cron, trigger.timezone, trigger.last_fired_at,
                                    latest - timedelta(minutes=1), trigger.catch_up_limit)
        times = missed + times
    started = []
    for moment in times:
        stamp = moment.astimezone(UTC).isoformat()
        try:
            execution, _ = workflow_services.execution_start(
                workflow=trigger.workflow, input_data={"scheduled_time": stamp, "trigger_id": str(trigger.pk)},
                idempotency_key=f"schedule:{trigger.pk}:{stamp}", triggered_by=TriggerSource.SCHEDULE)
        except WorkflowNotActive as exc:
            log.warning("schedule %s: %s; not starting", trigger.pk, exc.message)
            return started
        started.append(execution)
    Trigger.objects.filter(pk=trigger.pk).update(last_fired_at=latest)
    return started


# --- events ------------------------------------------------------------------------------------------

def emit(name: str, payload: dict | None = None, *, at: datetime | None = None, owner=None) -> Event:
    """An event happened. Every enabled event trigger for `name` starts its workflow, `offset_minutes`
    after `at` (default now): a later start waits in the database like any timer. With `owner`,
    only that user's workflows are started."""
    payload = {} if payload is None else payload
    if not isinstance(payload, dict):
        raise InvalidInput("payload must be a JSON object", fields={"payload": ["must be a JSON object"]})
    workflow_services.check_storable(payload, field="payload")
    at = at or timezone.now()
    event_emitting.send(sender=Event, name=name)  # code event workflows (workflows.code) have their trigger rows
    event = Event.objects.create(name=name, payload=payload, at=at, owner=owner)
    triggers = Trigger.objects.enabled().filter(type=TriggerType.EVENT, event_name=name).select_related("workflow")
    if owner is not None:
        triggers = triggers.filter(_reachable_by(owner))
    for trigger in triggers:
        # Clamped: one trigger's stored offset can never stop the event reaching the others.
        start = bounds.after(at, trigger.offset_minutes * 60, low=-60.0 * bounds.max_offset_minutes(),
                             high=60.0 * bounds.max_offset_minutes())
        try:
            workflow_services.execution_start(
                workflow=trigger.workflow,
                input_data={**payload, "_event": {"id": str(event.pk), "name": name, "at": at.isoformat()}},
                idempotency_key=f"event:{event.pk}:{trigger.pk}", triggered_by=TriggerSource.EVENT,
                scheduled_at=start if start > timezone.now() else None)
        except WorkflowNotActive:
            continue  # not active (paused, draft, archived): this workflow does not run; the others do
    _deliver_to_waiting(event, owner)
    return event


def _reachable_by(owner) -> Q:
    """What an event sent by `owner` reaches: their own workflows; code workflows (system-owned)
    only for staff. emit() from Python (no owner) reaches all."""
    allowed = Q(workflow__owner=owner)
    if owner.is_staff:
        allowed |= Q(workflow__kind=WorkflowKind.CODE)
    return allowed


def _deliver_to_waiting(event: Event, owner) -> None:
    """Runs waiting for this event (a code step's wait_for_event) take it like a signal named
    "event:<name>": the payload, with the event's id and name, is merged into their context."""
    waiting = TaskExecution.objects.filter(status=TaskStatus.WAITING, signal_name=f"event:{event.name}"[:100])
    if owner is not None:
        waiting = waiting.filter(Q(execution__workflow__owner=owner) | Q(execution__triggered_by_user=owner) |
                                 (Q(execution__workflow__kind=WorkflowKind.CODE) if owner.is_staff else Q(pk=None)))
    payload = {**event.payload, "event_id": str(event.pk), "event_name": event.name}
    for execution in WorkflowExecution.objects.filter(pk__in=waiting.values("execution_id")):
        try:
            workflow_services.execution_signal(execution=execution, name=f"event:{event.name}"[:100],
                                               payload=payload)
        except Conflict:
            continue  # it stopped waiting meanwhile
