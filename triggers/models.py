"""Triggers: what starts a workflow by itself. A webhook URL, a cron schedule, an event."""

from __future__ import annotations

import secrets
import uuid

from django.conf import settings
from django.db import models

from workflows.models import Workflow
from workflows.querysets import OwnedQuerySet


class TriggerType(models.TextChoices):
    WEBHOOK = "webhook", "Webhook"
    SCHEDULE = "schedule", "Schedule"
    EVENT = "event", "Event"


class MissedFires(models.TextChoices):
    SKIP = "skip", "Skip missed fires; run once for the latest"
    CATCH_UP = "catch_up", "Catch up missed fires, at most catch_up_limit"


def new_token() -> str:
    return secrets.token_urlsafe(32)


class TriggerQuerySet(OwnedQuerySet):
    owner_path = "workflow__owner"

    def enabled(self):
        return self.filter(enabled=True)


class Trigger(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    workflow = models.ForeignKey(Workflow, on_delete=models.CASCADE, related_name="triggers")
    type = models.CharField(max_length=16, choices=TriggerType.choices)
    name = models.CharField(max_length=200, blank=True)
    enabled = models.BooleanField(default=True)
    # webhook
    token = models.CharField(max_length=64, unique=True, null=True, blank=True, default=None,
                             help_text="The unguessable part of the webhook URL /hooks/<token>/.")
    secret_encrypted = models.TextField(blank=True, help_text="The HMAC signing secret, encrypted.")
    require_signature = models.BooleanField(
        default=True, help_text="Refuse deliveries without a valid X-FlowPilot-Signature.")
    include_headers = models.JSONField(default=list, blank=True,
                                       help_text="Request headers copied into the input (_webhook.headers).")
    # schedule
    cron = models.CharField(max_length=200, blank=True, help_text="minute hour day-of-month month day-of-week")
    timezone = models.CharField(max_length=64, default="UTC")
    missed_fires = models.CharField(max_length=16, choices=MissedFires.choices, default=MissedFires.SKIP)
    catch_up_limit = models.PositiveSmallIntegerField(default=3)
    periodic_task = models.OneToOneField("django_celery_beat.PeriodicTask", null=True, blank=True,
                                         on_delete=models.SET_NULL, related_name="flowpilot_trigger")
    last_fired_at = models.DateTimeField(null=True, blank=True, help_text="The latest scheduled time fired.")
    # event
    event_name = models.CharField(max_length=200, blank=True, db_index=True)
    offset_minutes = models.IntegerField(default=0, help_text="Run this many minutes after (or before, if "
                                                              "negative) the time the event carries.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = TriggerQuerySet.as_manager()

    class Meta:
        ordering = ["created_at"]
        indexes = [models.Index(fields=["type", "event_name"], name="trigger_event")]

    def __str__(self) -> str:
        return f"{self.type} trigger of {self.workflow_id}"


class Event(models.Model):
    """An event that happened (emit() or POST /api/v1/events/): the audit trail of what it started."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=200, db_index=True)
    payload = models.JSONField(default=dict, blank=True)
    at = models.DateTimeField(help_text="The time the event is about (an appointment...); offsets count from it.")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+", help_text="Who sent it; empty for system events (emit()).")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.name


class SeenSignature(models.Model):
    """A webhook signature already accepted: the same one again is a replay and refused. Kept in the
    database, which a Redis restart does not empty, for as long as its timestamp could still pass
    (triggers/replay.py), then pruned by celery-beat's triggers.tasks.prune_seen_signatures."""

    trigger = models.ForeignKey(Trigger, on_delete=models.CASCADE, related_name="+")
    signature = models.CharField(max_length=64, help_text="The v1= HMAC of X-FlowPilot-Signature (hex).")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True, help_text="When it was accepted.")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["trigger", "signature"], name="seen_signature_once")]

    def __str__(self) -> str:
        return f"signature {self.signature[:12]}... of {self.trigger_id}"


class RefusedDelivery(models.Model):
    """A webhook delivery answered with an error (bad signature, not JSON, workflow not active): shown
    with the accepted ones (the runs the webhook started) in its recent deliveries. Only the newest
    triggers.deliveries.KEEP_REFUSED per trigger are kept; rate-limited (429) deliveries are not
    recorded, so a flood writes at most the webhook's rate of rows."""

    trigger = models.ForeignKey(Trigger, on_delete=models.CASCADE, related_name="refused_deliveries")
    at = models.DateTimeField(auto_now_add=True, help_text="When the delivery arrived.")
    status_code = models.PositiveSmallIntegerField(help_text="The HTTP status it was answered with.")
    message = models.CharField(max_length=500, help_text="Why it was refused, as the sender was told.")

    class Meta:
        ordering = ["-at"]
        indexes = [models.Index(fields=["trigger", "-at"], name="refused_delivery_recent")]

    def __str__(self) -> str:
        return f"{self.status_code} to {self.trigger_id} at {self.at:%Y-%m-%d %H:%M:%S}"
