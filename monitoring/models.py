"""Monitoring's own rows: alert rules with their incident history, and the heartbeats of the
worker and beat processes that /health reports."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from workflows.querysets import OwnedQuerySet


class AlertKind(models.TextChoices):
    FAILURE_RATE = "failure_rate", "Failure rate above the threshold"
    P95_DURATION = "p95_duration", "p95 duration above the threshold (seconds)"
    NO_SUCCESS = "no_success", "No successful run in the last N hours"


class AlertState(models.TextChoices):
    OK = "ok", "OK"
    FIRING = "firing", "Firing"


class AlertEventState(models.TextChoices):
    FIRING = "firing", "Firing"
    RESOLVED = "resolved", "Resolved"


class ChannelType(models.TextChoices):
    EMAIL = "email", "Email"
    SLACK = "slack", "Slack incoming webhook"
    WEBHOOK = "webhook", "Webhook (JSON POST)"


class AlertRuleQuerySet(OwnedQuerySet):
    def enabled(self):
        return self.filter(enabled=True)


class AlertRule(models.Model):
    """A condition over the owner's runs, evaluated periodically by celery-beat
    (monitoring.tasks.evaluate_alerts); each incident notifies its channels once when it starts
    and once when it resolves."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="alert_rules",
                              help_text="Whose runs the rule watches; only the owner sees the rule.")
    name = models.CharField(max_length=200, help_text="Shown in notifications.")
    enabled = models.BooleanField(default=True, help_text="Disabled rules are not evaluated.")
    workflow = models.ForeignKey("workflows.Workflow", null=True, blank=True, on_delete=models.CASCADE,
                                 related_name="alert_rules",
                                 help_text="The workflow watched; empty: all the owner's workflows together.")
    step_key = models.CharField(max_length=100, blank=True,
                                help_text="Watch this step's attempts only; empty: whole runs.")
    kind = models.CharField(max_length=16, choices=AlertKind.choices,
                            help_text="failure_rate, p95_duration or no_success.")
    threshold = models.FloatField(null=True, blank=True,
                                  help_text="failure_rate: a fraction (0.10 = 10%); p95_duration: seconds. "
                                            "The rule fires when the measure is above it.")
    window_minutes = models.PositiveIntegerField(default=15,
                                                 help_text="failure_rate and p95_duration: the window measured, "
                                                           "ending now.")
    min_runs = models.PositiveIntegerField(default=20,
                                           help_text="failure_rate and p95_duration: fewer runs in the window "
                                                     "than this are not judged (the state stays as it is).")
    hours = models.FloatField(null=True, blank=True,
                              help_text="no_success: fires when no run (or step attempt) succeeded in this "
                                        "many hours.")
    cooldown_minutes = models.PositiveIntegerField(default=60,
                                                   help_text="A new incident within this long of the last "
                                                             "notification is held back, and announced when "
                                                             "the cooldown is over if it still holds (so a "
                                                             "flapping measure is not one message per flap).")
    channels = models.JSONField(default=list, blank=True,
                                help_text='Where notifications go: [{"type": "email", "to": ["ops@x.com"]}, '
                                          '{"type": "slack", "credential": "name"}, '
                                          '{"type": "webhook", "url": "https://..."}].')
    state = models.CharField(max_length=8, choices=AlertState.choices, default=AlertState.OK,
                             help_text="ok or firing, as of the last evaluation.")
    since = models.DateTimeField(null=True, blank=True, help_text="When the current state began.")
    last_value = models.FloatField(null=True, blank=True,
                                   help_text="The measure at the last evaluation (fraction, seconds or hours).")
    last_runs = models.PositiveIntegerField(null=True, blank=True,
                                            help_text="Runs (or attempts) in the window at the last evaluation.")
    last_evaluated_at = models.DateTimeField(null=True, blank=True, help_text="When the rule was last evaluated.")
    last_notified_at = models.DateTimeField(null=True, blank=True,
                                            help_text="When a firing or resolved notification was last sent.")
    created_at = models.DateTimeField(auto_now_add=True, help_text="When the rule was created.")
    updated_at = models.DateTimeField(auto_now=True, help_text="When the rule was last changed.")

    objects = AlertRuleQuerySet.as_manager()

    class Meta:
        ordering = ["name", "id"]
        indexes = [models.Index(fields=["owner", "name"])]

    def __str__(self) -> str:
        return self.name


class AlertEventQuerySet(OwnedQuerySet):
    owner_path = "rule__owner"


class AlertEvent(models.Model):
    """One notification of a rule: an incident starting (firing) or ending (resolved), with what
    each channel answered."""

    rule = models.ForeignKey(AlertRule, on_delete=models.CASCADE, related_name="events",
                             help_text="The rule that changed state.")
    state = models.CharField(max_length=8, choices=AlertEventState.choices,
                             help_text="firing: an incident began; resolved: it ended.")
    value = models.FloatField(null=True, blank=True, help_text="The measure that decided it.")
    runs = models.PositiveIntegerField(null=True, blank=True, help_text="Runs (or attempts) in the window.")
    message = models.TextField(help_text="The text sent to the channels.")
    deliveries = models.JSONField(default=list, blank=True,
                                  help_text='Per channel: {"channel": index, "type", "target", "ok", "error"}.')
    created_at = models.DateTimeField(auto_now_add=True, help_text="When it was sent.")

    objects = AlertEventQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["rule", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.rule} {self.state} at {self.created_at:%Y-%m-%d %H:%M:%S}"


class ProcessRole(models.TextChoices):
    WORKER = "worker", "Worker"
    BEAT = "beat", "Beat"


class Heartbeat(models.Model):
    """The last sign of life of a worker process (refreshed by a thread while it consumes) or of the
    beat (refreshed by a tiny beat task): what /health reports."""

    name = models.CharField(max_length=255, unique=True,
                            help_text="worker: its node name and pid; beat: \"beat\".")
    role = models.CharField(max_length=8, choices=ProcessRole.choices, help_text="worker or beat.")
    info = models.JSONField(default=dict, blank=True, help_text="Hostname, pid, queues.")
    started_at = models.DateTimeField(help_text="When the process first reported.")
    seen_at = models.DateTimeField(db_index=True, help_text="When the process last reported.")

    def __str__(self) -> str:
        return self.name
