"""/api/v1/dead-letters/: the runs that failed for good, as queues per workflow and error group
(monitoring/dead_letters.py), with retry and dismiss of a queue. A user sees the queues of their
own runs (staff: of all runs); another user's queue is not there (404)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from workflows import bounds
from workflows.models import WorkflowExecution

from . import dead_letters

GROUP_PARAMETER = OpenApiParameter("group", str, OpenApiParameter.PATH,
                                   description="A queue's id: <workflow id>.<step key>.<error signature>.")


class DeadLettersQuerySerializer(serializers.Serializer):
    workflow = serializers.UUIDField(required=False, help_text="Only this workflow's queues.")
    limit = serializers.IntegerField(min_value=1, max_value=500, default=100, help_text="At most this many queues.")


class DeadLetterRunsQuerySerializer(serializers.Serializer):
    offset = serializers.IntegerField(min_value=0, max_value=1_000_000, default=0)
    limit = serializers.IntegerField(min_value=1, max_value=200, default=50)


class QueueActionInputSerializer(serializers.Serializer):
    limit = serializers.IntegerField(
        min_value=1, max_value=bounds.max_bulk_rerun(), required=False,
        help_text="At most this many runs, the oldest failures first (default and most: FLOWPILOT_MAX_BULK_RERUN); "
                  "`remaining` says how many are left.")


class DeadLetterGroupSerializer(serializers.Serializer):
    id = serializers.CharField(help_text="<workflow id>.<step key>.<error signature>: the queue in URLs.")
    workflow_id = serializers.UUIDField()
    workflow_name = serializers.CharField()
    step_key = serializers.CharField(help_text="The step whose failure ended the runs.")
    signature = serializers.CharField(help_text="The error's signature (numbers, ids and values masked).")
    pattern = serializers.CharField(help_text="The error with its variable parts replaced.")
    sample_message = serializers.CharField(help_text="The latest failure's message.")
    count = serializers.IntegerField(help_text="Failed runs in the queue.")
    first_seen = serializers.DateTimeField()
    last_seen = serializers.DateTimeField()
    sample_execution_ids = serializers.ListField(child=serializers.UUIDField(), help_text="The latest runs, at most 5.")


class DeadLettersSerializer(serializers.Serializer):
    groups = DeadLetterGroupSerializer(many=True)


class DeadLetterRunSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    workflow_version = serializers.IntegerField(source="workflow_version.number")
    retry_count = serializers.IntegerField()
    error_message = serializers.CharField()
    input = serializers.JSONField()
    created_at = serializers.DateTimeField()
    completed_at = serializers.DateTimeField(help_text="When it failed.")


class DeadLetterQueueSerializer(serializers.Serializer):
    group = DeadLetterGroupSerializer()
    count = serializers.IntegerField()
    offset = serializers.IntegerField()
    limit = serializers.IntegerField()
    runs = DeadLetterRunSerializer(many=True)


class QueueActionResultSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    execution_ids = serializers.ListField(child=serializers.UUIDField())
    refused = serializers.DictField(child=serializers.CharField(), help_text="Run id -> why it was left alone.")
    remaining = serializers.IntegerField(help_text="Runs still in the queue.")


class DeadLettersView(APIView):
    def executions(self, request):
        return WorkflowExecution.objects.visible_to(request.user)

    def group(self, request, group: str):
        return dead_letters.dead_letter_group(executions=self.executions(request), group=group)


class DeadLetterListView(DeadLettersView):
    @extend_schema(operation_id="dead_letters_list", parameters=[DeadLettersQuerySerializer],
                   responses=DeadLettersSerializer,
                   summary="The dead-letter queues: failed runs by workflow and error group")
    def get(self, request):
        q = DeadLettersQuerySerializer(data=request.query_params)
        q.is_valid(raise_exception=True)
        groups = dead_letters.dead_letter_groups(executions=self.executions(request),
                                                 workflow_id=q.validated_data.get("workflow"),
                                                 limit=q.validated_data["limit"])
        return Response(DeadLettersSerializer({"groups": groups}).data)


class DeadLetterDetailView(DeadLettersView):
    @extend_schema(operation_id="dead_letters_detail", parameters=[GROUP_PARAMETER, DeadLetterRunsQuerySerializer],
                   responses=DeadLetterQueueSerializer,
                   summary="One dead-letter queue and its runs, oldest failure first")
    def get(self, request, group: str):
        q = DeadLetterRunsQuerySerializer(data=request.query_params)
        q.is_valid(raise_exception=True)
        found = self.group(request, group)
        runs = dead_letters.dead_letter_runs(executions=self.executions(request), group=group).select_related(
            "workflow_version").defer("workflow_version__definition")
        offset, limit = q.validated_data["offset"], q.validated_data["limit"]
        return Response(DeadLetterQueueSerializer({"group": found, "count": runs.count(), "offset": offset,
                                                   "limit": limit, "runs": runs[offset:offset + limit]}).data)


class _QueueActionView(DeadLettersView):
    queue_action = staticmethod(dead_letters.dead_letter_retry)

    def post(self, request, group: str):
        data = QueueActionInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        self.group(request, group)  # 404 for a queue the user has no run in
        result = self.queue_action(executions=self.executions(request), group=group, user=request.user,
                             limit=data.validated_data.get("limit"))
        return Response(QueueActionResultSerializer({
            "count": len(result.execution_ids), "execution_ids": result.execution_ids,
            "refused": {str(k): v for k, v in result.refused.items()}, "remaining": result.remaining}).data)


class DeadLetterRetryView(_QueueActionView):
    queue_action = staticmethod(dead_letters.dead_letter_retry)

    @extend_schema(operation_id="dead_letters_retry", parameters=[GROUP_PARAMETER], request=QueueActionInputSerializer,
                   responses=QueueActionResultSerializer,
                   summary="Retry a queue's runs: each resumes at its failed step (bounded)")
    def post(self, request, group: str):
        return super().post(request, group)


class DeadLetterDismissView(_QueueActionView):
    queue_action = staticmethod(dead_letters.dead_letter_dismiss)

    @extend_schema(operation_id="dead_letters_dismiss", parameters=[GROUP_PARAMETER],
                   request=QueueActionInputSerializer, responses=QueueActionResultSerializer,
                   summary="Dismiss a queue: its runs are cancelled (given up, out of the retry selections)")
    def post(self, request, group: str):
        return super().post(request, group)
