"""REST API of alert rules: CRUD, their history, and a test notification. Thin: input serializer ->
one service (monitoring/alert_services.py) -> output serializer; the owner filter is the shared
OwnedViewSetMixin's."""

from __future__ import annotations

from dataclasses import asdict

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import generics, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from flowpilot import public_url
from workflows.api.views import OwnedViewSetMixin

from . import alert_services
from .models import AlertEvent, AlertEventState, AlertKind, AlertRule, AlertState, ChannelType

INT_MAX = 2**31 - 1
WEEK_MINUTES = 7 * 24 * 60


class ChannelSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=ChannelType.choices)
    to = serializers.ListField(child=serializers.CharField(max_length=254), required=False, max_length=50,
                               help_text="email: the recipients.")
    url = serializers.CharField(required=False, max_length=2000,
                                help_text="slack, webhook: the URL (a secret: prefer `credential`).")
    credential = serializers.CharField(required=False, max_length=100,
                                       help_text="slack, webhook: the name of a stored credential holding the URL.")

    def to_representation(self, channel):
        return {k: channel[k] for k in ("type", "to", "url", "credential") if k in channel}


class AlertRuleInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    enabled = serializers.BooleanField(required=False, default=True)
    workflow_id = serializers.UUIDField(required=False, allow_null=True, default=None,
                                        help_text="Empty: all your workflows together.")
    step_key = serializers.CharField(required=False, allow_blank=True, max_length=100, default="",
                                     help_text="Watch this step only.")
    kind = serializers.ChoiceField(choices=AlertKind.choices)
    threshold = serializers.FloatField(required=False, allow_null=True, default=None, min_value=0, max_value=10**9,
                                       help_text="failure_rate: a fraction (0.10 = 10%); p95_duration: seconds.")
    window_minutes = serializers.IntegerField(required=False, default=15, min_value=1, max_value=WEEK_MINUTES)
    min_runs = serializers.IntegerField(required=False, default=20, min_value=0, max_value=INT_MAX)
    hours = serializers.FloatField(required=False, allow_null=True, default=None, min_value=0, max_value=24 * 365,
                                   help_text="no_success: no successful run in this many hours.")
    cooldown_minutes = serializers.IntegerField(required=False, default=60, min_value=0, max_value=WEEK_MINUTES)
    channels = ChannelSerializer(many=True, required=False, default=list)


class AlertRuleSerializer(serializers.ModelSerializer):
    workflow_id = serializers.UUIDField(read_only=True, allow_null=True)
    channels = ChannelSerializer(many=True, read_only=True)
    state = serializers.ChoiceField(choices=AlertState.choices, read_only=True)

    class Meta:
        model = AlertRule
        fields = ["id", "name", "enabled", "workflow_id", "step_key", "kind", "threshold", "window_minutes",
                  "min_runs", "hours", "cooldown_minutes", "channels", "state", "since", "last_value", "last_runs",
                  "last_evaluated_at", "last_notified_at", "created_at", "updated_at"]
        read_only_fields = fields


class DeliverySerializer(serializers.Serializer):
    channel = serializers.IntegerField(help_text="The channel's index in the rule's channels.")
    type = serializers.CharField()
    target = serializers.CharField(help_text="Addresses, or a URL's host only, or the credential's name.")
    ok = serializers.BooleanField()
    error = serializers.CharField(allow_blank=True)


class AlertEventSerializer(serializers.ModelSerializer):
    rule_id = serializers.IntegerField(read_only=True)
    state = serializers.ChoiceField(choices=AlertEventState.choices, read_only=True)
    deliveries = DeliverySerializer(many=True, read_only=True)

    class Meta:
        model = AlertEvent
        fields = ["id", "rule_id", "state", "value", "runs", "message", "deliveries", "created_at"]
        read_only_fields = fields


class TestResultSerializer(serializers.Serializer):
    ok = serializers.BooleanField(help_text="Every channel accepted the notification.")
    deliveries = DeliverySerializer(many=True)


@extend_schema_view(
    create=extend_schema(request=AlertRuleInputSerializer, responses={201: AlertRuleSerializer}),
    update=extend_schema(request=AlertRuleInputSerializer, responses=AlertRuleSerializer),
    partial_update=extend_schema(request=AlertRuleInputSerializer, responses=AlertRuleSerializer),
)
class AlertRuleViewSet(OwnedViewSetMixin, viewsets.ModelViewSet):
    queryset = AlertRule.objects.all()
    serializer_class = AlertRuleSerializer

    def create(self, request, *args, **kwargs):
        data = AlertRuleInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        rule = alert_services.alert_rule_create(owner=request.user, data=dict(data.validated_data))
        return Response(AlertRuleSerializer(rule).data, status=status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        rule = self.get_object()  # 404 before 400
        partial = kwargs.get("partial", False)
        data = AlertRuleInputSerializer(data=request.data, partial=partial)
        data.is_valid(raise_exception=True)
        rule = alert_services.alert_rule_update(rule=rule, data=dict(data.validated_data))
        return Response(AlertRuleSerializer(rule).data)

    @extend_schema(request=None, responses=TestResultSerializer)
    @action(detail=True, methods=["post"])
    def test(self, request, pk=None):
        """Send a test notification to the rule's channels now; the rule's state and history stay."""
        deliveries = alert_services.alert_rule_send_test(rule=self.get_object(), base_url=public_url.base(request))
        return Response(TestResultSerializer({"ok": all(d.ok for d in deliveries),
                                              "deliveries": [asdict(d) for d in deliveries]}).data)


class AlertEventListView(OwnedViewSetMixin, generics.ListAPIView):
    """A rule's notifications, newest first."""

    queryset = AlertEvent.objects.all()
    serializer_class = AlertEventSerializer

    def get_queryset(self):
        rule = generics.get_object_or_404(AlertRule.objects.visible_to(self.request.user), pk=self.kwargs["rule_id"])
        return super().get_queryset().filter(rule=rule)
