"""/api/v1/error-workflow-default/: the user's default error workflow (ADR 0034), started when a run
of theirs fails for good and its workflow names no error workflow of its own."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from ..models import ErrorWorkflowDefault
from ..services import error_runs


class ErrorWorkflowDefaultSerializer(serializers.Serializer):
    error_workflow_id = serializers.UUIDField(
        allow_null=True, help_text="A workflow of yours (active) started with the failed run's data; null: none.")


class ErrorWorkflowDefaultView(APIView):
    @extend_schema(operation_id="error_workflow_default_get", responses=ErrorWorkflowDefaultSerializer, summary="Your default error workflow")
    def get(self, request):
        current = (ErrorWorkflowDefault.objects.filter(owner=request.user)
                   .values_list("error_workflow_id", flat=True).first())
        return Response({"error_workflow_id": current})

    @extend_schema(operation_id="error_workflow_default_set", request=ErrorWorkflowDefaultSerializer,
                   responses=ErrorWorkflowDefaultSerializer,
                   summary="Set (or with null clear) your default error workflow")
    def put(self, request):
        data = ErrorWorkflowDefaultSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        row = error_runs.error_workflow_default_set(owner=request.user,
                                                    error_workflow_id=data.validated_data["error_workflow_id"])
        return Response({"error_workflow_id": row.error_workflow_id})
