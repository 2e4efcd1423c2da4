"""The metrics API under /api/v1/metrics/: thin views over the selectors (monitoring/metrics.py,
monitoring/errors.py). A user sees the figures of their own runs; staff of all runs. Every endpoint
also takes ?search.<name>=<value> (AND-ed), as the executions list does: only the runs with these
search values (docs/adr/0028-search-by-business-data.md)."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from workflows import selectors
from workflows.models import WorkflowExecution

from . import errors, metrics

WINDOWS = {"15m": timedelta(minutes=15), "1h": timedelta(hours=1), "24h": timedelta(hours=24),
           "7d": timedelta(days=7), "30d": timedelta(days=30)}
BUCKETS = {"1m": 60, "5m": 300, "15m": 900, "1h": 3600, "6h": 21600, "1d": 86400}
DEFAULT_WINDOW = "24h"
LONGEST_WINDOW = timedelta(days=400)
MOST_BUCKETS = 1000


def default_bucket(span: timedelta) -> str:
    """The smallest bucket that cuts the window in at most 200."""
    return next((name for name, seconds in BUCKETS.items() if span.total_seconds() / seconds <= 200), "1d")


# --- input ---------------------------------------------------------------------------------------

class WindowSerializer(serializers.Serializer):
    window = serializers.ChoiceField(choices=list(WINDOWS), required=False,
                                     help_text=f"The last 15m, 1h, 24h, 7d or 30d before `until` (default {DEFAULT_WINDOW}).")
    since = serializers.DateTimeField(required=False, help_text="Start of the window (instead of `window`).")
    until = serializers.DateTimeField(required=False, help_text="End of the window, excluded (default now).")
    workflow = serializers.UUIDField(required=False, help_text="Only this workflow.")

    def validate(self, data):
        if "window" in data and "since" in data:
            raise serializers.ValidationError({"window": ["give either window or since, not both"]})
        until = data.get("until") or timezone.now()
        since = data.get("since") or until - WINDOWS[data.get("window", DEFAULT_WINDOW)]
        if since >= until:
            raise serializers.ValidationError({"since": ["must be before until"]})
        if until - since > LONGEST_WINDOW:
            raise serializers.ValidationError({"since": [f"the window is at most {LONGEST_WINDOW.days} days"]})
        return {**data, "since": since, "until": until, "workflow": data.get("workflow")}


class StepsQuerySerializer(WindowSerializer):
    step_key = serializers.CharField(required=False, max_length=100, help_text="Only this step.")


class ThroughputQuerySerializer(WindowSerializer):
    bucket = serializers.ChoiceField(choices=list(BUCKETS), required=False,
                                     help_text="Bucket size (default: the smallest giving at most 200 buckets).")

    def validate(self, data):
        data = super().validate(data)
        bucket = data.get("bucket") or default_bucket(data["until"] - data["since"])
        if (data["until"] - data["since"]).total_seconds() / BUCKETS[bucket] > MOST_BUCKETS:
            raise serializers.ValidationError({"bucket": [f"more than {MOST_BUCKETS} buckets; choose a larger one"]})
        return {**data, "bucket_seconds": BUCKETS[bucket]}


class ErrorsQuerySerializer(StepsQuerySerializer):
    limit = serializers.IntegerField(required=False, min_value=1, max_value=100, default=20,
                                     help_text="How many groups, most frequent first.")


class RunningQuerySerializer(serializers.Serializer):
    workflow = serializers.UUIDField(required=False, help_text="Only this workflow.")


class ErrorRetrySerializer(serializers.Serializer):
    signature = serializers.RegexField(r"^[0-9a-f]{16}$", help_text="The group's signature (errors/).")
    workflow = serializers.UUIDField(required=False, help_text="Only runs of this workflow.")
    step_key = serializers.CharField(required=False, max_length=100, help_text="Only failures at this step.")
    since = serializers.DateTimeField(required=False, help_text="Only failures at or after this time.")
    until = serializers.DateTimeField(required=False, help_text="Only failures before this time.")
    dry_run = serializers.BooleanField(required=False, default=False, help_text="Answer which runs, retry none.")

    def validate(self, data):
        if data.get("since") and data.get("until") and data["since"] >= data["until"]:
            raise serializers.ValidationError({"since": ["must be before until"]})
        return data


# --- output --------------------------------------------------------------------------------------

class FiguresSerializer(serializers.Serializer):
    workflow_id = serializers.UUIDField()
    workflow_name = serializers.CharField()
    runs = serializers.IntegerField(help_text="Runs (a step: attempts) that ended completed or failed in the window.")
    failures = serializers.IntegerField()
    failure_rate = serializers.FloatField(allow_null=True, help_text="failures / runs, 0..1; null without runs.")
    retries = serializers.IntegerField(help_text="Attempts after the first that ended in the window.")
    p50_ms = serializers.IntegerField(allow_null=True, help_text="Median duration (nearest rank), ms.")
    p95_ms = serializers.IntegerField(allow_null=True)
    max_ms = serializers.IntegerField(allow_null=True)
    last_success_at = serializers.DateTimeField(allow_null=True)


class StepFiguresSerializer(FiguresSerializer):
    step_key = serializers.CharField()


class WindowOutSerializer(serializers.Serializer):
    since = serializers.DateTimeField()
    until = serializers.DateTimeField()


class WorkflowMetricsSerializer(WindowOutSerializer):
    workflows = FiguresSerializer(many=True)


class StepMetricsSerializer(WindowOutSerializer):
    steps = StepFiguresSerializer(many=True)


class BucketSerializer(serializers.Serializer):
    start = serializers.DateTimeField()
    started = serializers.IntegerField()
    completed = serializers.IntegerField()
    failed = serializers.IntegerField()


class ThroughputSerializer(WindowOutSerializer):
    bucket_seconds = serializers.IntegerField()
    buckets = BucketSerializer(many=True)


class RunningRowSerializer(serializers.Serializer):
    workflow_id = serializers.UUIDField()
    workflow_name = serializers.CharField()
    pending = serializers.IntegerField()
    running = serializers.IntegerField()
    waiting = serializers.IntegerField(help_text="Running runs with a step waiting for a timer or a signal.")
    steps_queued = serializers.IntegerField()
    steps_running = serializers.IntegerField()
    steps_waiting = serializers.IntegerField()
    steps_retrying = serializers.IntegerField()


class RunningTotalsSerializer(serializers.Serializer):
    pending = serializers.IntegerField()
    running = serializers.IntegerField()
    waiting = serializers.IntegerField()
    steps_queued = serializers.IntegerField()
    steps_running = serializers.IntegerField()
    steps_waiting = serializers.IntegerField()
    steps_retrying = serializers.IntegerField()


class RunningSerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    totals = RunningTotalsSerializer()
    workflows = RunningRowSerializer(many=True)


class ErrorStepSerializer(serializers.Serializer):
    workflow_id = serializers.UUIDField()
    workflow_name = serializers.CharField()
    step_key = serializers.CharField()
    count = serializers.IntegerField()


class ErrorGroupSerializer(serializers.Serializer):
    signature = serializers.CharField()
    pattern = serializers.CharField()
    count = serializers.IntegerField(help_text="Failed attempts in the window.")
    executions = serializers.IntegerField(help_text="Runs they belong to.")
    first_seen = serializers.DateTimeField()
    last_seen = serializers.DateTimeField()
    sample_message = serializers.CharField()
    steps = ErrorStepSerializer(many=True)


class ErrorsSerializer(WindowOutSerializer):
    groups = ErrorGroupSerializer(many=True)


class ErrorRetryResultSerializer(serializers.Serializer):
    retried = serializers.BooleanField(help_text="False for a dry run.")
    count = serializers.IntegerField()
    execution_ids = serializers.ListField(child=serializers.UUIDField())


# --- views ---------------------------------------------------------------------------------------

class MetricsView(APIView):
    query_serializer: type[serializers.Serializer] = WindowSerializer

    def query(self, request) -> dict:
        params = self.query_serializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        return params.validated_data

    def executions(self, request):
        """The runs the figures are taken over: the user's real runs (replays are not the workflow's runs),
        and with ?search.<name>=<value> (AND-ed) only those with these search values, as the executions
        list filters them."""
        search = selectors.search_filters_of(request.query_params)
        return selectors.with_search(WorkflowExecution.objects.visible_to(request.user).real(), search)


class WorkflowMetricsView(MetricsView):
    @extend_schema(parameters=[WindowSerializer], responses=WorkflowMetricsSerializer,
                   summary="Per workflow: runs, failures, failure rate, retries, p50/p95/max duration")
    def get(self, request):
        q = self.query(request)
        rows = metrics.workflow_stats(executions=self.executions(request), since=q["since"], until=q["until"],
                                      workflow_id=q["workflow"])
        return Response(WorkflowMetricsSerializer({"since": q["since"], "until": q["until"], "workflows": rows}).data)


class StepMetricsView(MetricsView):
    query_serializer = StepsQuerySerializer

    @extend_schema(parameters=[StepsQuerySerializer], responses=StepMetricsSerializer,
                   summary="Per workflow and step: attempts, failures, failure rate, retries, p50/p95/max duration")
    def get(self, request):
        q = self.query(request)
        rows = metrics.step_stats(executions=self.executions(request), since=q["since"], until=q["until"],
                                  workflow_id=q["workflow"], step_key=q.get("step_key"))
        return Response(StepMetricsSerializer({"since": q["since"], "until": q["until"], "steps": rows}).data)


class ThroughputView(MetricsView):
    query_serializer = ThroughputQuerySerializer

    @extend_schema(parameters=[ThroughputQuerySerializer], responses=ThroughputSerializer,
                   summary="Runs started, completed and failed per time bucket")
    def get(self, request):
        q = self.query(request)
        rows = metrics.throughput(executions=self.executions(request), since=q["since"], until=q["until"],
                                  bucket_seconds=q["bucket_seconds"], workflow_id=q["workflow"])
        return Response(ThroughputSerializer({"since": q["since"], "until": q["until"],
                                              "bucket_seconds": q["bucket_seconds"], "buckets": rows}).data)


class RunningView(MetricsView):
    query_serializer = RunningQuerySerializer

    @extend_schema(parameters=[RunningQuerySerializer], responses=RunningSerializer,
                   summary="Runs pending, running and waiting now, and their steps by status")
    def get(self, request):
        q = self.query(request)
        rows = metrics.running_now(executions=self.executions(request), workflow_id=q.get("workflow"))
        totals = {name: sum(getattr(r, name) for r in rows) for name in RunningTotalsSerializer().fields}
        return Response(RunningSerializer({"at": timezone.now(), "totals": totals, "workflows": rows}).data)


class ErrorsView(MetricsView):
    query_serializer = ErrorsQuerySerializer

    @extend_schema(parameters=[ErrorsQuerySerializer], responses=ErrorsSerializer,
                   summary="The top errors, grouped by signature (numbers, ids and values stripped)")
    def get(self, request):
        q = self.query(request)
        groups = errors.error_groups(executions=self.executions(request), since=q["since"], until=q["until"],
                                     workflow_id=q["workflow"], step_key=q.get("step_key"), limit=q["limit"])
        return Response(ErrorsSerializer({"since": q["since"], "until": q["until"], "groups": groups}).data)


class ErrorRetryView(MetricsView):
    @extend_schema(request=ErrorRetrySerializer, responses=ErrorRetryResultSerializer,
                   summary="Retry every failed run of one error group (or, with dry_run, say which)")
    def post(self, request):
        data = ErrorRetrySerializer(data=request.data)
        data.is_valid(raise_exception=True)
        d = data.validated_data
        ids = errors.error_group_retry(executions=self.executions(request), signature=d["signature"],
                                       workflow_id=d.get("workflow"), step_key=d.get("step_key"),
                                       since=d.get("since"), until=d.get("until"), dry_run=d["dry_run"],
                                       user=request.user)
        return Response(ErrorRetryResultSerializer({"retried": not d["dry_run"], "count": len(ids),
                                                    "execution_ids": ids}).data)
