"""GET /api/v1/approvals/ (the approval and signal steps the user may answer) and
POST /api/v1/approvals/<task_execution_id>/ {"approved": true|false, "comment": "..."}."""

from __future__ import annotations

import json

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, viewsets
from rest_framework.generics import get_object_or_404
from rest_framework.response import Response

from .. import selectors
from ..models import TaskExecution
from ..services import approvals
from ..bounds import APPROVAL_COMMENT_MAX_LENGTH as COMMENT_MAX_LENGTH
from . import pagination

# The run's input and context are shown to help decide; larger ones are left out (open the run).
PREVIEW_MAX_BYTES = 8 * 1024


def _preview(value):
    try:
        return value if len(json.dumps(value, default=str)) <= PREVIEW_MAX_BYTES else None
    except (TypeError, ValueError):
        return None


class ApprovalSerializer(serializers.ModelSerializer):
    task_execution_id = serializers.UUIDField(source="id", read_only=True)
    execution_id = serializers.UUIDField(source="execution.id", read_only=True)
    workflow_id = serializers.UUIDField(source="execution.workflow_id", read_only=True)
    workflow_name = serializers.CharField(source="execution.workflow.name", read_only=True)
    workflow_version = serializers.IntegerField(source="execution.workflow_version.number", read_only=True)
    kind = serializers.SerializerMethodField(help_text="approval: approve or reject; signal: a plain signal, "
                                                       "answered (approved true) only.")
    waiting_since = serializers.DateTimeField(source="started_at", read_only=True)
    timeout_at = serializers.DateTimeField(source="wake_at", read_only=True, allow_null=True,
                                           help_text="When the wait times out (null: never).")
    message = serializers.SerializerMethodField(help_text="What to approve (the approval step's message).")
    input_data = serializers.SerializerMethodField(help_text=f"The run's input; null when over {PREVIEW_MAX_BYTES} bytes.")
    context = serializers.SerializerMethodField(help_text=f"The run's context; null when over {PREVIEW_MAX_BYTES} bytes.")
    triggered_by_user = serializers.CharField(source="execution.triggered_by_user.username", default=None,
                                              allow_null=True, read_only=True)
    approve_url = serializers.SerializerMethodField(help_text="A signed, single-use approve link for a message.")
    reject_url = serializers.SerializerMethodField(help_text="A signed, single-use reject link for a message.")

    class Meta:
        model = TaskExecution
        fields = ["task_execution_id", "execution_id", "workflow_id", "workflow_name", "workflow_version",
                  "step_key", "kind", "signal_name", "message", "waiting_since", "timeout_at", "input_data",
                  "context", "triggered_by_user", "approve_url", "reject_url"]
        read_only_fields = fields

    def get_kind(self, task: TaskExecution) -> str:
        return approvals.awaiting(task) or "signal"

    def get_message(self, task: TaskExecution) -> str:
        return str((task.output or {}).get("message") or "")[:2000]

    def get_input_data(self, task: TaskExecution) -> dict | None:
        return _preview(task.execution.input)

    def get_context(self, task: TaskExecution) -> dict | None:
        return _preview(task.execution.context)

    def _url(self, task: TaskExecution, key: str) -> str | None:
        value = (task.output or {}).get(key)
        return value if isinstance(value, str) and approvals.is_approval(task) else None

    def get_approve_url(self, task: TaskExecution) -> str | None:
        return self._url(task, "approve_url")

    def get_reject_url(self, task: TaskExecution) -> str | None:
        return self._url(task, "reject_url")


class DecisionSerializer(serializers.Serializer):
    approved = serializers.BooleanField(help_text="true: approve (or answer a signal); false: reject.")
    comment = serializers.CharField(required=False, default="", allow_blank=True, max_length=COMMENT_MAX_LENGTH,
                                    trim_whitespace=True)

    def to_internal_value(self, data):
        if not isinstance(data, dict):
            raise serializers.ValidationError({"non_field_errors": ["expected a JSON object"]})
        # A strict yes/no: "yes", 1 or "true" are refused rather than read as true.
        if "approved" in data and not isinstance(data["approved"], bool):
            raise serializers.ValidationError({"approved": ["must be true or false"]})
        if "comment" in data and not isinstance(data["comment"], str):
            raise serializers.ValidationError({"comment": ["must be a string"]})
        return super().to_internal_value(data)


class DecisionResultSerializer(serializers.Serializer):
    task_execution_id = serializers.UUIDField()
    execution_id = serializers.UUIDField()
    step_key = serializers.CharField()
    status = serializers.CharField()
    branch = serializers.CharField()
    decision = serializers.JSONField()


class ApprovalViewSet(viewsets.GenericViewSet):
    """The waiting approval and signal steps of the runs the user may see, and their answers."""

    serializer_class = ApprovalSerializer
    pagination_class = pagination.named("approvals")
    lookup_value_regex = "[0-9a-fA-F-]{36}"

    queryset = TaskExecution.objects.none()  # for the schema; requests read get_queryset

    def get_queryset(self):
        return selectors.approvals_waiting(self.request.user)

    def list(self, request):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(ApprovalSerializer(page, many=True).data)

    @extend_schema(request=DecisionSerializer, responses={200: DecisionResultSerializer},
                   summary="Approve or reject a waiting approval step (or answer a signal step)",
                   description="The same service as POST /api/v1/executions/<id>/signal/. Who decided, when and "
                               "the comment are kept in the step's output (`decision`) and in the run's log. "
                               "404: a step of a run you cannot see; 409: no longer waiting; 400: a bad body.")
    def decide(self, request, pk=None):
        task = get_object_or_404(selectors.tasks_visible_to(request.user).select_related("execution"), pk=pk)
        data = DecisionSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        approvals.approval_decide(task=task, user=request.user, via="app", **data.validated_data)
        task.refresh_from_db()
        return Response({"task_execution_id": task.pk, "execution_id": task.execution_id, "step_key": task.step_key,
                         "status": task.status, "branch": task.branch, "decision": (task.output or {}).get("decision")})
