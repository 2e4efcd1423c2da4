"""Triggers API: /api/v1/workflows/{id}/triggers/, /api/v1/triggers/{id}/, /api/v1/events/."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from workflows.api.views import OwnedViewSetMixin
from workflows.models import Workflow

from .. import services
from ..models import Trigger
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


class EventView(APIView):
    """POST an event: every event trigger of yours for that name starts its workflow."""

    @extend_schema(request=s.EventInputSerializer, responses={202: s.EventSerializer})
    def post(self, request):
        data = s.EventInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        event = services.emit(data.validated_data["name"], data.validated_data["payload"],
                              at=data.validated_data.get("at"), owner=request.user)
        return Response(s.EventSerializer(event).data, status=status.HTTP_202_ACCEPTED)
