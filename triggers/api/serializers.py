from __future__ import annotations

from django.urls import reverse
from django.utils import timezone
from rest_framework import serializers

from workflows import bounds

from ..cron import next_fires

MAX_PREVIEW = 50  # fire times previewed at most
from ..models import Event, MissedFires, Trigger, TriggerType


class TriggerInputSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=TriggerType.choices)
    name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    enabled = serializers.BooleanField(required=False)
    require_signature = serializers.BooleanField(required=False)
    include_headers = serializers.ListField(child=serializers.CharField(max_length=100), required=False,
                                            max_length=50)
    cron = serializers.CharField(max_length=200, required=False)
    timezone = serializers.CharField(max_length=64, required=False)
    missed_fires = serializers.ChoiceField(choices=MissedFires.choices, required=False)
    catch_up_limit = serializers.IntegerField(min_value=0, max_value=100, required=False)
    event_name = serializers.CharField(max_length=200, required=False)
    offset_minutes = serializers.IntegerField(min_value=-bounds.max_offset_minutes(),
                                              max_value=bounds.max_offset_minutes(), required=False)


class TriggerUpdateSerializer(TriggerInputSerializer):
    type = None


class TriggerSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()
    next_fire_times = serializers.SerializerMethodField()

    class Meta:
        model = Trigger
        fields = ["id", "workflow", "type", "name", "enabled", "url", "require_signature", "include_headers", "cron",
                  "timezone", "missed_fires", "catch_up_limit", "last_fired_at", "next_fire_times", "event_name",
                  "offset_minutes", "created_at", "updated_at"]
        read_only_fields = fields

    def get_url(self, trigger: Trigger) -> str | None:
        if trigger.type != TriggerType.WEBHOOK:
            return None
        path = reverse("webhook", kwargs={"token": trigger.token})
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request else path

    def get_next_fire_times(self, trigger: Trigger) -> list[str] | None:
        if trigger.type != TriggerType.SCHEDULE:
            return None
        return [t.isoformat() for t in next_fires(trigger.cron, trigger.timezone, timezone.now(), 5)]


class TriggerCreatedSerializer(TriggerSerializer):
    """The answer to creating a webhook (or rotating its secret): the signing secret, this once."""

    secret = serializers.CharField(read_only=True, allow_null=True)

    class Meta(TriggerSerializer.Meta):
        fields = [*TriggerSerializer.Meta.fields, "secret"]
        read_only_fields = fields


class EventInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    payload = serializers.JSONField(required=False, default=dict)
    at = serializers.DateTimeField(required=False, allow_null=True,
                                   help_text="The time the event is about; trigger offsets count from it.")

    def validate_payload(self, value):
        if not isinstance(value, dict):
            raise serializers.ValidationError("must be a JSON object")
        return value


class EventSerializer(serializers.ModelSerializer):
    class Meta:
        model = Event
        fields = ["id", "name", "payload", "at", "created_at"]
        read_only_fields = fields


class SchedulePreviewInputSerializer(serializers.Serializer):
    cron = serializers.CharField(max_length=200)
    timezone = serializers.CharField(max_length=64, required=False, default="UTC")
    count = serializers.IntegerField(min_value=1, max_value=MAX_PREVIEW, required=False, default=5)


class FireTimeSerializer(serializers.Serializer):
    at = serializers.CharField(help_text="The fire time in the schedule's timezone (ISO 8601 with its offset).")
    utc = serializers.CharField(help_text="The same instant in UTC.")
    offset = serializers.CharField(help_text="The zone's offset then, e.g. UTC+02:00.")
    dst_change = serializers.CharField(allow_null=True, help_text="Set when the offset differs from the fire "
                                                                  "before (the first: from now): a DST change.")
    skipped_wall_time = serializers.BooleanField(help_text="The cron's wall time does not exist that day "
                                                           "(clocks went forward); it fires at `at`.")


class SchedulePreviewSerializer(serializers.Serializer):
    description = serializers.CharField(help_text="The cron expression in words.")
    timezone = serializers.CharField()
    next = FireTimeSerializer(many=True)


class WebhookSecretSerializer(serializers.Serializer):
    secret = serializers.CharField(help_text="The webhook's HMAC signing secret.")


class WebhookCaptureSerializer(serializers.Serializer):
    received_at = serializers.CharField()
    status_code = serializers.IntegerField(help_text="What the delivery was answered with.")
    message = serializers.CharField(allow_blank=True, help_text="Why it was refused, if it was.")
    headers = serializers.DictField(child=serializers.CharField())
    query = serializers.JSONField()
    input = serializers.JSONField(allow_null=True, help_text="The input the run got (its sample input), or "
                                                             "null if the delivery was refused before it was read.")
    body_text = serializers.CharField(allow_null=True, help_text="The raw body when `input` is null (cut).")


class WebhookListenSerializer(serializers.Serializer):
    listening = serializers.BooleanField(help_text="Waiting for a delivery.")
    expires_at = serializers.CharField(allow_null=True)
    capture = WebhookCaptureSerializer(allow_null=True)


class WebhookDeliverySerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    accepted = serializers.BooleanField()
    status_code = serializers.IntegerField()
    message = serializers.CharField(allow_blank=True)
    execution_id = serializers.UUIDField(allow_null=True)
    execution_status = serializers.CharField(allow_null=True)
