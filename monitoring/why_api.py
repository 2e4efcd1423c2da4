"""GET /api/v1/executions/{id}/why/: why a run, and each of its steps that is not running, is where it
is (monitoring/why.py reads, workflows/engine/planner/why.py decides). The run's owner only: 404 for
anyone else, as for the run itself (querysets.visible_to)."""

from __future__ import annotations

from dataclasses import asdict

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.generics import get_object_or_404
from rest_framework.response import Response
from rest_framework.views import APIView

from workflows.engine.planner import why as diagnosis
from workflows.models import WorkflowExecution

from . import why


class WhyReasonSerializer(serializers.Serializer):
    step_key = serializers.CharField(allow_null=True, help_text="The step it is about; null: the run as a whole.")
    reason = serializers.ChoiceField(choices=list(diagnosis.REASONS), help_text=(
        "concurrency, scheduled, starting (a pending run); running, queued, no_worker, timer, signal, approval, "
        "children, backoff, circuit_open, upstream, halted, failed, cancelled (a step); completed, failed, "
        "cancelled (a finished run). paused and rate_limit are reserved."))
    detail = serializers.CharField(help_text="What it waits for, in a sentence.")
    until = serializers.DateTimeField(allow_null=True, help_text="When the wait ends, if it is known.")
    runs = serializers.ListField(child=serializers.CharField(), help_text=(
        "The runs it is about: the holders of the concurrency slot, the child runs waited for."))
    queue = serializers.CharField(help_text="queued, no_worker: the queue the step's message is on.")
    host = serializers.CharField(help_text="circuit_open: the origin (scheme://host:port) whose circuit is open.")


class ExecutionWhySerializer(serializers.Serializer):
    status = serializers.CharField(help_text="The run's status.")
    reasons = WhyReasonSerializer(many=True)


class ExecutionWhyView(APIView):
    @extend_schema(responses=ExecutionWhySerializer, operation_id="executions_why_retrieve", tags=["executions"],
                   parameters=[OpenApiParameter("id", OpenApiTypes.UUID, OpenApiParameter.PATH,
                                                description="The execution's id.")],
                   summary="Why isn't it running? The reasons of the run and of each step not running")
    def get(self, request, id):
        execution = get_object_or_404(WorkflowExecution.objects.visible_to(request.user).select_related("workflow"),
                                      pk=id)
        reasons = why.execution_why(execution, user=request.user)
        return Response(ExecutionWhySerializer({"status": execution.status, "reasons": [asdict(r) for r in reasons]}).data)
