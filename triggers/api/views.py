"""Triggers API: /api/v1/workflows/{id}/triggers/, /api/v1/triggers/{id}/, /api/v1/events/."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from workflows.api.views import OwnedViewSetMixin
from workflows.models import Workflow

from workflows.errors import Conflict, InvalidInput
from workflows.secrets import decrypt

from .. import cron, deliveries, services
from ..models import Trigger, TriggerType
from . import serializers as s


def _created(trigger: Trigger, secret: str | None, request) -> dict:
    data = s.TriggerSerializer(trigger, context={"request": request}).data
    return {**data, "secret": secret}


class WorkflowTriggersView(APIView):
    """The triggers of one workflow: list them, or add one."""

    @extend_schema(responses=s.TriggerSerializer(many=True))
    def get(self, request, workflow_id):
        workflow = get_object_or_404(Workflow.objects.visible_to(request.user), pk=workflow_id)
        triggers = Trigger.objects.filter(workflow=workflow)
        return Response(s.TriggerSerializer(triggers, many=True, context={"request": request}).data)

    @extend_schema(request=s.TriggerInputSerializer, responses={201: s.TriggerCreatedSerializer}, examples=[
        OpenApiExample("webhook", {"type": "webhook", "name": "from the shop"}, request_only=True),
        OpenApiExample("schedule", {"type": "schedule", "cron": "0 9 * * 1-5", "timezone": "Europe/Paris",
                                    "missed_fires": "skip"}, request_only=True),
        OpenApiExample("event", {"type": "event", "event_name": "trial_ended", "offset_minutes": 60},
                       request_only=True),
    ])
    def post(self, request, workflow_id):
        workflow = get_object_or_404(Workflow.objects.visible_to(request.user), pk=workflow_id)
        data = s.TriggerInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        trigger, secret = services.trigger_create(workflow=workflow, type=fields.pop("type"), data=fields)
        return Response(_created(trigger, secret, request), status=status.HTTP_201_CREATED)


class TriggerViewSet(OwnedViewSetMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin,
                     viewsets.GenericViewSet):
    queryset = Trigger.objects.select_related("workflow")
    serializer_class = s.TriggerSerializer

    @extend_schema(request=s.TriggerUpdateSerializer, responses=s.TriggerSerializer)
    def partial_update(self, request, *args, **kwargs):
        trigger = self.get_object()
        data = s.TriggerUpdateSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        trigger = services.trigger_update(trigger=trigger, data=dict(data.validated_data))
        return Response(s.TriggerSerializer(trigger, context={"request": request}).data)

    def destroy(self, request, *args, **kwargs):
        services.trigger_delete(trigger=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=None, responses=s.TriggerCreatedSerializer)
    @action(detail=True, methods=["post"], url_path="rotate-secret")
    def rotate_secret(self, request, pk=None):
        trigger = self.get_object()
        secret = services.webhook_rotate_secret(trigger=trigger)
        return Response(_created(trigger, secret, request))


    @extend_schema(request=None, responses=s.WebhookSecretSerializer)
    @action(detail=True, methods=["post"], url_path="reveal-secret")
    def reveal_secret(self, request, pk=None):
        """The webhook's signing secret, for its owner (a POST: never cached, never in a link)."""
        trigger = self.get_object()
        if trigger.type != TriggerType.WEBHOOK:
            raise Conflict("only a webhook trigger has a secret")
        return Response({"secret": decrypt(trigger.secret_encrypted)})

    @extend_schema(methods=["POST"], request=None, responses=s.WebhookListenSerializer,
                   description="Capture the next delivery to this webhook for 2 minutes (it still runs).")
    @extend_schema(methods=["GET"], responses=s.WebhookListenSerializer, description="Poll: the delivery caught, if any.")
    @extend_schema(methods=["DELETE"], responses={204: None}, description="Stop listening; forget the capture.")
    @action(detail=True, methods=["get", "post", "delete"])
    def listen(self, request, pk=None):
        trigger = self.get_object()
        if request.method == "POST":
            return Response(deliveries.listen_start(trigger=trigger))
        if request.method == "DELETE":
            deliveries.listen_stop(trigger=trigger)
            return Response(status=status.HTTP_204_NO_CONTENT)
        return Response(s.WebhookListenSerializer(deliveries.listen_state(trigger=trigger)).data)

    @extend_schema(responses=s.WebhookDeliverySerializer(many=True), parameters=[
        OpenApiParameter("limit", int, description=f"At most this many (1 to {deliveries.MAX_LISTED}; 20).")])
    @action(detail=True, methods=["get"], url_path="deliveries", pagination_class=None)
    def recent_deliveries(self, request, pk=None):
        """The webhook's recent deliveries, newest first: the runs it started and the ones refused."""
        trigger = self.get_object()
        limit = request.query_params.get("limit", "20")
        if not limit.isdigit() or not 1 <= int(limit) <= deliveries.MAX_LISTED:
            raise InvalidInput(f"limit: a whole number from 1 to {deliveries.MAX_LISTED}",
                               fields={"limit": [f"a whole number from 1 to {deliveries.MAX_LISTED}"]})
        rows = deliveries.webhook_deliveries(trigger=trigger, limit=int(limit))
        return Response(s.WebhookDeliverySerializer(rows, many=True).data)

    @extend_schema(request=s.SchedulePreviewInputSerializer, responses=s.SchedulePreviewSerializer)
    @action(detail=False, methods=["post"])
    def preview(self, request):
        """A cron expression in words and its next fire times in a timezone, DST changes marked: what a
        schedule would do, asked before it is saved."""
        data = s.SchedulePreviewInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        expression, tz, count = (data.validated_data[k] for k in ("cron", "timezone", "count"))
        try:
            cron.zone(tz)
        except cron.CronError as exc:
            raise InvalidInput(f"timezone: {exc}", fields={"timezone": [str(exc)]}) from None
        try:
            description = cron.describe(expression)
        except cron.CronError as exc:
            raise InvalidInput(f"cron: {exc}", fields={"cron": [str(exc)]}) from None
        fires = cron.preview(expression, tz, timezone.now(), count)
        return Response({"description": description, "timezone": tz, "next": fires})


class EventView(APIView):
    """POST an event: every event trigger of yours for that name starts its workflow."""

    @extend_schema(request=s.EventInputSerializer, responses={202: s.EventSerializer})
    def post(self, request):
        data = s.EventInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        event = services.emit(data.validated_data["name"], data.validated_data["payload"],
                              at=data.validated_data.get("at"), owner=request.user)
        return Response(s.EventSerializer(event).data, status=status.HTTP_202_ACCEPTED)
