from __future__ import annotations

from django.urls import reverse
from django.utils import timezone
from rest_framework import serializers

from workflows import bounds

from ..cron import next_fires
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
