"""REST API views: thin. Input serializer -> one service -> output serializer."""

from __future__ import annotations

from dataclasses import asdict

from django.db.models import F, Prefetch
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.generics import get_object_or_404
from rest_framework.response import Response

from .. import bounds, credentials, graph_rows, selectors, services
from ..services import pinned_data, step_trial
from ..code import sync as code_sync
from ..models import Credential, LogLevel, TaskExecution, TriggerSource, Workflow, WorkflowExecution, WorkflowStep
from ..steps import registry
from . import pagination
from . import serializers as s
from .errors import field_errors
from .filters import ExecutionFilter, WorkflowFilter

LEVEL_ORDER = list(LogLevel.values)
STEP_KEY_PARAMETER = OpenApiParameter("step_key", str, OpenApiParameter.PATH, description="The step's key.")
# Attempts in the order they ran; the not yet queued ones last.
TASKS_IN_RUN_ORDER = TaskExecution.objects.order_by(F("queued_at").asc(nulls_last=True), "created_at", "attempt")


class OwnedViewSetMixin:
    """The one place where the owner filter is applied: a user sees only their own objects."""

    def get_queryset(self):
        return self.queryset.visible_to(self.request.user)


def run_source(request) -> str:
    """The trigger source of a run started by POST /workflows/{id}/run/ (the app's Run button): `api`
    when the request came with an API token (a personal fp_ token or a drf_create_token key; then
    request.auth is the token), `manual` when a signed-in user started it (a browser session).
    Runs started through /executions/ (one or in bulk) are always `api`: that is the API's own way."""
    return TriggerSource.API if request.auth is not None else TriggerSource.MANUAL


def _run_response(execution, created: bool, *, debounced: bool = False) -> Response:
    """A start's answer; `debounced`: the trigger replaced a debounced workflow's pending run (its input,
    its start) instead of starting another (services/debounce.py)."""
    if debounced:
        execution.debounced = True
    return Response(s.StartedExecutionSerializer(execution).data,
                    status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


@extend_schema_view(partial_update=extend_schema(request=s.WorkflowInputSerializer, responses=s.WorkflowSerializer))
class WorkflowViewSet(OwnedViewSetMixin, viewsets.ModelViewSet):
    queryset = Workflow.objects.select_related("owner").prefetch_related(
        Prefetch("steps", queryset=WorkflowStep.objects.prefetch_related(services.UPSTREAM)))
    serializer_class = s.WorkflowSerializer
    filterset_class = WorkflowFilter
    pagination_class = pagination.named("workflows")  # ?limit=&offset= answers seed 002's "workflows" too

    def get_queryset(self):
        # Only a list reads many workflows' steps (prefetched); one workflow's are read as plain data
        # (`_answer`), and the other actions (run, activate...) need no steps at all.
        queryset = super().get_queryset()
        return queryset if self.action == "list" else queryset.prefetch_related(None)

    def _answer(self, workflow: Workflow, *, status_code: int = status.HTTP_200_OK) -> Response:
        """The workflow as the service left it (its graph as it wrote or read it, not read again), with
        what a run would fail on although the save accepted it (a missing credential)."""
        steps = graph_rows.read(workflow)
        warnings = credentials.missing_in_steps(owner=workflow.owner, steps=steps)
        return Response(s.WorkflowSerializer(workflow, context={"steps": steps, "warnings": warnings}).data,
                        status=status_code)

    def list(self, request, *args, **kwargs):
        if code_sync.sees_code_workflows(request.user):
            code_sync.code_workflows_sync_if_changed()  # code workflows appear as they are in the code
        return super().list(request, *args, **kwargs)

    def retrieve(self, request, *args, **kwargs):
        return self._answer(self.get_object())

    @extend_schema(request=s.WorkflowInputSerializer, responses={201: s.WorkflowSerializer})
    def create(self, request, *args, **kwargs):
        data = s.WorkflowInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        steps = fields.pop("steps", [])
        workflow = services.workflow_create(owner=request.user, data=fields, steps=steps)
        return self._answer(workflow, status_code=status.HTTP_201_CREATED)

    @extend_schema(
        request=s.WorkflowInputSerializer, responses=s.WorkflowValidationSerializer,
        parameters=[OpenApiParameter("workflow", str, OpenApiParameter.QUERY, required=False, description=(
            "Check the body as a PUT of this workflow would (its retry defaults, a sub-workflow cycle "
            "back to it) instead of as a new workflow."))],
        summary="Check a workflow's body as a save would, saving nothing",
        description="The same checks, messages and field paths as POST (or, with ?workflow=, PUT) answers "
                    "in a 400, as 200 {\"valid\", \"errors\"}. The designer asks it while the user edits.")
    @action(detail=False, methods=["post"], url_path="validate")
    def validate_body(self, request):
        workflow_id = request.query_params.get("workflow")
        workflow = get_object_or_404(self.get_queryset(), pk=workflow_id) if workflow_id else None  # yours only
        data = s.WorkflowInputSerializer(data=request.data)
        warnings = {}
        if data.is_valid():
            fields = dict(data.validated_data)
            steps = fields.pop("steps", None if workflow else [])
            errors = services.workflow_validate(data=fields, steps=steps, workflow=workflow, owner=request.user)
            warnings = credentials.missing_in_steps(
                owner=workflow.owner if workflow else request.user,
                steps=steps if steps is not None else graph_rows.read(workflow))
        else:
            errors = field_errors(data.errors)
        return Response({"valid": not errors, "errors": errors, "warnings": warnings})

    @extend_schema(request=s.WorkflowInputSerializer, responses=s.WorkflowSerializer)
    def update(self, request, *args, **kwargs):
        workflow = self.get_object()  # 404 before 400: others' objects are not there at all
        data = s.WorkflowInputSerializer(data=request.data, partial=kwargs.get("partial", False))
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        steps = fields.pop("steps", None)
        return self._answer(services.workflow_update(workflow=workflow, data=fields, steps=steps, user=request.user))

    @extend_schema(responses={204: None}, description="Refused (409, with `runs_in_flight`) while runs of it are "
                                                       "pending or running; archive it to stop new runs.")
    def destroy(self, request, *args, **kwargs):
        services.workflow_delete(workflow=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=None, responses=s.WorkflowSerializer)
    @action(detail=True, methods=["post"])
    def activate(self, request, pk=None):
        return self._answer(services.workflow_activate(workflow=self.get_object(), user=request.user))

    @extend_schema(request=s.RunInputSerializer, responses={201: s.StartedExecutionSerializer,
                                                            200: s.StartedExecutionSerializer})
    @action(detail=True, methods=["post"])
    def run(self, request, pk=None):
        workflow = self.get_object()
        data = s.RunInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        execution, created = services.execution_start(
            workflow=workflow, input_data=data.validated_data["input_data"],
            idempotency_key=data.validated_data.get("idempotency_key") or None,
            triggered_by=run_source(request), user=request.user, max_retries=data.validated_data["max_retries"])
        return _run_response(_detail(execution.pk), created, debounced=getattr(execution, "debounced", False))

    @extend_schema(request=s.TestRunInputSerializer, responses={201: s.ExecutionDetailSerializer},
                   summary="Start a test run with the workflow's pinned data",
                   description="A run of the current version (`test_run: true`, triggered_by `manual`) in which each "
                               "step with a pinned output answers from it without running (`mocked: true` on its "
                               "attempt) and every other step runs for real. The pins are read now and kept with "
                               "the run. Bounded like a start (input within FLOWPILOT_MAX_PAYLOAD_BYTES; 409 unless "
                               "the workflow is active). Not counted by the metrics, alerts or bulk retry.")
    @action(detail=True, methods=["post"], url_path="test-run")
    def test_run(self, request, pk=None):
        workflow = self.get_object()
        data = s.TestRunInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        execution = services.execution_test_run(workflow=workflow, user=request.user, **data.validated_data)
        return _run_response(_detail(execution.pk), True)

    @extend_schema(methods=["GET"], operation_id="workflows_steps_list", filters=False,
                   responses=s.StepOutputSerializer(many=True), summary="The workflow's steps (the whole list, not paged)")
    @extend_schema(methods=["POST"], operation_id="workflows_steps_create", request=s.StepInputSerializer,
                   responses={201: s.StepOutputSerializer}, summary="Add one step",
                   description="The rest of the graph is kept; an active workflow publishes a new version. "
                               "Without a `key`, one is made from `name`, unique within the workflow, and "
                               "answered in the step's `key`.")
    @action(detail=True, methods=["get", "post"], pagination_class=None)
    def steps(self, request, pk=None):
        workflow = self.get_object()
        if request.method == "GET":
            return Response(s.StepSerializer(graph_rows.read(workflow), many=True).data)
        data = s.StepInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        step = services.step_add(workflow=workflow, step=dict(data.validated_data), user=request.user)
        return Response(s.StepSerializer(step).data, status=status.HTTP_201_CREATED)

    @extend_schema(methods=["GET"], operation_id="workflows_step_retrieve", responses=s.StepOutputSerializer,
                   parameters=[STEP_KEY_PARAMETER], summary="One step")
    @extend_schema(methods=["PUT"], operation_id="workflows_step_update", request=s.StepInputSerializer,
                   responses=s.StepOutputSerializer, parameters=[STEP_KEY_PARAMETER], summary="Replace one step",
                   description="The fields not given take their defaults; the key is kept unless one is given "
                               "(a step that others depend on keeps its key). An active workflow publishes a "
                               "new version.")
    @extend_schema(methods=["PATCH"], operation_id="workflows_step_partial_update", request=s.StepInputSerializer,
                   responses=s.StepOutputSerializer, parameters=[STEP_KEY_PARAMETER], summary="Change one step",
                   description="Only the fields given change. An active workflow publishes a new version.")
    @extend_schema(methods=["DELETE"], operation_id="workflows_step_destroy", request=None, responses={204: None},
                   parameters=[STEP_KEY_PARAMETER], summary="Remove one step",
                   description="Refused (409, naming them in `dependents`) while other steps depend on it, "
                               "and for the last step of an active workflow. An active workflow publishes a "
                               "new version.")
    @action(detail=True, methods=["get", "put", "patch", "delete"], url_path=r"steps/(?P<step_key>[^/.]+)",
            pagination_class=None, filter_backends=[])
    def step(self, request, pk=None, step_key=None):
        workflow = self.get_object()
        if request.method == "GET":
            return Response(s.StepSerializer(services.step_get(workflow=workflow, key=step_key)).data)
        if request.method == "DELETE":
            services.step_delete(workflow=workflow, key=step_key, user=request.user)
            return Response(status=status.HTTP_204_NO_CONTENT)
        services.step_get(workflow=workflow, key=step_key)  # 404 before 400
        partial = request.method == "PATCH"
        data = s.StepInputSerializer(data=request.data, partial=partial)
        data.is_valid(raise_exception=True)
        changes = dict(data.validated_data)
        if partial and "position" not in request.data:  # the serializer reads no position as (0, 0)
            changes.pop("position_x", None), changes.pop("position_y", None)
        step = services.step_update(workflow=workflow, key=step_key, changes=changes, user=request.user)
        return Response(s.StepSerializer(step).data)

    @extend_schema(request=s.WorkflowDuplicateSerializer, responses={201: s.WorkflowSerializer},
                   summary="Copy a workflow as a new draft",
                   description="Its settings and current steps; not its triggers, versions or runs.")
    @action(detail=True, methods=["post"])
    def duplicate(self, request, pk=None):
        workflow = self.get_object()
        data = s.WorkflowDuplicateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        copy = services.workflow_duplicate(workflow=workflow, owner=request.user,
                                           name=data.validated_data.get("name"))
        return self._answer(copy, status_code=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=s.WorkflowSerializer, summary="Archive a workflow",
                   description="No new runs start (triggers and the API refuse them); runs in flight finish.")
    @action(detail=True, methods=["post"])
    def archive(self, request, pk=None):
        return self._answer(services.workflow_archive(workflow=self.get_object(), archived=True, user=request.user))

    @extend_schema(request=None, responses=s.WorkflowSerializer, summary="Bring an archived workflow back",
                   description="Active again if it was ever activated (its definition published if it changed), "
                               "else a draft. 409 when it is not archived.")
    @action(detail=True, methods=["post"])
    def unarchive(self, request, pk=None):
        return self._answer(services.workflow_archive(workflow=self.get_object(), archived=False, user=request.user))

    @extend_schema(request=None, responses=s.BulkPauseResultSerializer, summary="Pause every run of the workflow",
                   description="Its runs in flight (pending, running) are paused, and its new runs start paused, "
                               "until POST .../unpause/ (docs/adr/0033-pause-and-resume.md).")
    @action(detail=True, methods=["post"])
    def pause(self, request, pk=None):
        result = services.workflow_pause(workflow=self.get_object(), user=request.user)
        return Response(_bulk_pause_answer(result, "paused"))

    @extend_schema(request=None, responses=s.BulkPauseResultSerializer, summary="Unpause every run of the workflow",
                   description="Its new runs start as usual again, and every paused run of it carries on where it "
                               "stopped.")
    @action(detail=True, methods=["post"])
    def unpause(self, request, pk=None):
        result = services.workflow_unpause(workflow=self.get_object(), user=request.user)
        return Response(_bulk_pause_answer(result, "unpaused"))

    @extend_schema(responses=s.WorkflowVersionSerializer(many=True), filters=False)
    @action(detail=True, methods=["get"], pagination_class=None)  # the whole list, not paged
    def versions(self, request, pk=None):
        versions = self.get_object().versions.select_related("created_by")
        return Response(s.WorkflowVersionSerializer(versions, many=True).data)

    @extend_schema(methods=["GET"], operation_id="workflows_pinned_data_retrieve", responses=s.PinnedDataSerializer,
                   filters=False, summary="The workflow's pinned data")
    @extend_schema(methods=["PUT"], operation_id="workflows_pinned_data_update", request=s.PinnedDataSerializer,
                   responses=s.PinnedDataSerializer, summary="Replace the workflow's pinned data",
                   description="The designer's sample input and each step's pinned input and output, used by "
                               "\"Test this step\", the Run dialog and a test run (POST .../test-run/); "
                               "never by any other run (triggered or not). "
                               "Bounded (FLOWPILOT_MAX_PINNED_DATA_BYTES): a larger or malformed body is a 400 "
                               "and changes nothing. Not part of the versioned definition nor of an export.")
    @extend_schema(methods=["DELETE"], operation_id="workflows_pinned_data_destroy", request=None,
                   responses={204: None}, summary="Unpin everything")
    @action(detail=True, methods=["get", "put", "delete"], url_path="pinned-data", pagination_class=None,
            filter_backends=[])
    def pinned_data(self, request, pk=None):
        workflow = self.get_object()  # yours only: 404 otherwise, before any 400
        if request.method == "DELETE":
            pinned_data.pinned_data_clear(workflow=workflow)
            return Response(status=status.HTTP_204_NO_CONTENT)
        if request.method == "PUT":
            return Response(pinned_data.pinned_data_save(workflow=workflow, data=request.data, user=request.user))
        return Response(pinned_data.pinned_data_get(workflow=workflow))


def _bulk_pause_answer(result, done: str, *, dry_run: bool = False) -> dict:
    ids = result.execution_ids
    answer = {"count": len(ids), "execution_ids": [str(i) for i in ids],
              "refused": {str(k): v for k, v in result.refused.items()}}
    return {"dry_run": True, **answer} if dry_run else {done: len(ids), **answer}


def _detail(execution_id) -> WorkflowExecution:
    return WorkflowExecution.objects.for_api() \
        .prefetch_related(Prefetch("task_executions", queryset=TASKS_IN_RUN_ORDER)) \
        .get(pk=execution_id)


SEARCH_FILTER_HELP = (
    "Also ?search.<name>=<value>: only runs whose value of their workflow's search field <name> is exactly "
    "<value> (URL-encoded: search.phone=%2B91123); several are AND-ed, at most "
    f"{bounds.SEARCH_FILTERS_MAX}, each value at most {bounds.SEARCH_VALUE_MAX_LENGTH} characters.")


@extend_schema_view(list=extend_schema(description=SEARCH_FILTER_HELP))
class ExecutionViewSet(OwnedViewSetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                       viewsets.GenericViewSet):
    queryset = WorkflowExecution.objects.for_api()
    serializer_class = s.ExecutionSerializer
    filterset_class = ExecutionFilter
    pagination_class = pagination.named("executions")

    def get_serializer_class(self):
        return s.ExecutionDetailSerializer if self.action == "retrieve" else s.ExecutionSerializer

    def get_queryset(self):
        queryset = super().get_queryset()
        if self.action == "retrieve":
            queryset = queryset.prefetch_related(
                Prefetch("task_executions", queryset=TASKS_IN_RUN_ORDER))
        return queryset

    @extend_schema(request=s.ExecutionCreateSerializer, responses={201: s.StartedExecutionSerializer,
                                                                   200: s.StartedExecutionSerializer})
    def create(self, request, *args, **kwargs):
        data = s.ExecutionCreateSerializer(data=request.data, workflows=Workflow.objects.visible_to(request.user))
        data.is_valid(raise_exception=True)
        execution, created = services.execution_start(
            workflow=data.validated_data["workflow_id"], input_data=data.validated_data["input_data"],
            idempotency_key=data.validated_data.get("idempotency_key") or None,
            triggered_by=TriggerSource.API, user=request.user, max_retries=data.validated_data["max_retries"])
        return _run_response(_detail(execution.pk), created, debounced=getattr(execution, "debounced", False))

    @extend_schema(request=s.BulkStartSerializer, responses={201: s.BulkStartResultSerializer,
                                                             200: s.BulkStartResultSerializer},
                   summary="Start many runs of one workflow in one transaction",
                   description="All or none: a refused item refuses the request and nothing is created. "
                               "201 when a run was created; 200 when every item's idempotency key had "
                               "started its run before (those runs are answered, as a single start does).")
    @action(detail=False, methods=["post"], url_path="bulk")
    def bulk(self, request):
        data = s.BulkStartSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        workflow = get_object_or_404(Workflow.objects.visible_to(request.user), pk=data.validated_data["workflow"])
        if "items" in data.validated_data:
            items = [services.StartItem(item["input_data"], item.get("idempotency_key") or None)
                     for item in data.validated_data["items"]]
            field_of = lambda i: f"items[{i}].input_data"  # noqa: E731
        else:
            items = [services.StartItem(value) for value in data.validated_data["inputs"]]
            field_of = lambda i: f"inputs[{i}]"  # noqa: E731
        started = services.executions_start(workflow=workflow, items=items, triggered_by=TriggerSource.API,
                                            user=request.user, field_of=field_of)
        created = [new for _, new in started]
        return Response({"count": len(started), "execution_ids": [str(execution.pk) for execution, _ in started],
                         "created": created},
                        status=status.HTTP_201_CREATED if any(created) else status.HTTP_200_OK)

    @extend_schema(request=s.RetryInputSerializer, responses=s.ExecutionDetailSerializer,
                   description="Resume a failed or cancelled run at its failed and not yet run steps, on the "
                               "run's version (original, the default) or its workflow's latest (latest: "
                               "completed steps keep their outputs; 409 naming why when that version cannot "
                               "take the run over). With `overrides` (edit and resume): this run's input and "
                               "steps' configs from now on, kept on the run with who and when; the workflow is "
                               "unchanged.")
    @action(detail=True, methods=["post"])
    def retry(self, request, pk=None):
        execution = self.get_object()
        data = s.RetryInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        execution = services.execution_retry(execution=execution, user=request.user,
                                             version=data.validated_data["version"],
                                             overrides=data.validated_data.get("overrides"))
        return Response(s.ExecutionDetailSerializer(_detail(execution.pk)).data)

    @extend_schema(request=s.RerunInputSerializer, responses=s.ExecutionDetailSerializer,
                   summary="Rerun a finished run from a step",
                   description="The same run, re-opened: the step and its descendants run again as new attempts; "
                               "upstream steps keep their outputs; failed or cancelled steps elsewhere are resumed. "
                               "409 for a run that has not ended, or a code workflow's; 400 for a step its version "
                               "does not have.")
    @action(detail=True, methods=["post"])
    def rerun(self, request, pk=None):
        execution = self.get_object()
        data = s.RerunInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        execution = services.execution_rerun(execution=execution, from_step=data.validated_data["from_step"],
                                             user=request.user)
        return Response(s.ExecutionDetailSerializer(_detail(execution.pk)).data)

    @extend_schema(request=s.BulkRerunSerializer, responses=s.BulkRerunResultSerializer,
                   operation_id="executions_rerun_bulk", summary="Rerun many finished runs from a step",
                   description="A selection (execution_ids, workflow_id, status, or retry-failed's step_key and "
                               "error_contains) of at most FLOWPILOT_MAX_BULK_RERUN runs (400 beyond: narrow it); "
                               "each is rerun as POST .../rerun/ does, or named in `refused` with why.")
    @action(detail=False, methods=["post"], url_path="rerun")
    def rerun_many(self, request):
        data = s.BulkRerunSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = data.validated_data
        executions = WorkflowExecution.objects.visible_to(request.user)
        if fields.get("workflow_id"):
            executions = executions.filter(workflow_id=fields["workflow_id"])
        if "execution_ids" in fields:
            executions = executions.filter(pk__in=fields["execution_ids"])
        result = services.executions_rerun(
            executions=executions, from_step=fields["from_step"], status=fields.get("status") or None,
            step_key=fields.get("step_key") or None, error_contains=fields.get("error_contains") or None,
            dry_run=fields["dry_run"], user=request.user)
        answer = {"count": len(result.execution_ids), "execution_ids": [str(i) for i in result.execution_ids],
                  "refused": {str(k): v for k, v in result.refused.items()}}
        if fields["dry_run"]:
            return Response({"dry_run": True, **answer})
        return Response({"rerun": len(result.execution_ids), **answer})

    @extend_schema(request=s.ReplayInputSerializer, responses={201: s.ExecutionDetailSerializer},
                   description="Replay a finished run as a dry run: a new run (`replay_of` this one) of the chosen "
                               "version with this run's input, whose steps with side effects answer from `mocks` or "
                               "this run's recorded outputs (`mocked: true` on their attempts) and never run; pure "
                               "steps run. 400 for a bad version or mocks, 409 while this run is not finished.")
    @action(detail=True, methods=["post"])
    def replay(self, request, pk=None):
        execution = self.get_object()
        data = s.ReplayInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        replay = services.execution_replay(execution=execution, user=request.user, **data.validated_data)
        return Response(s.ExecutionDetailSerializer(_detail(replay.pk)).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.CancelInputSerializer, responses=s.ExecutionDetailSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        data = s.CancelInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        execution = services.execution_cancel(execution=self.get_object(), user=request.user,
                                              compensate=data.validated_data["compensate"])
        return Response(s.ExecutionDetailSerializer(_detail(execution.pk)).data)

    @extend_schema(request=None, responses=s.ExecutionDetailSerializer,
                   description="Pause a pending or running run: no new step starts, its timers and retries wait "
                               "(keeping their due time), steps already running finish. 409 from any other status.")
    @action(detail=True, methods=["post"])
    def pause(self, request, pk=None):
        execution = services.execution_pause(execution=self.get_object(), user=request.user)
        return Response(s.ExecutionDetailSerializer(_detail(execution.pk)).data)

    @extend_schema(request=None, responses=s.ExecutionDetailSerializer,
                   description="Carry a paused run on where it stopped: what became ready is queued, due timers "
                               "fire; nothing is repeated or lost. 409 unless paused.")
    @action(detail=True, methods=["post"])
    def unpause(self, request, pk=None):
        execution = services.execution_unpause(execution=self.get_object(), user=request.user)
        return Response(s.ExecutionDetailSerializer(_detail(execution.pk)).data)

    def _pause_many(self, request, *, unpause: bool) -> Response:
        data = s.BulkPauseSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = data.validated_data
        search = selectors.search_filters_of(request.query_params, body=fields.get("search"))
        executions = selectors.with_search(WorkflowExecution.objects.visible_to(request.user), search)
        if fields.get("workflow_id"):
            executions = executions.filter(workflow_id=fields["workflow_id"])
        if "execution_ids" in fields:
            executions = executions.filter(pk__in=fields["execution_ids"])
        result = services.executions_pause(
            executions=executions, unpause=unpause, step_key=fields.get("step_key") or None,
            error_contains=fields.get("error_contains") or None, host=fields.get("host") or None,
            dry_run=fields["dry_run"], user=request.user)
        return Response(_bulk_pause_answer(result, "unpaused" if unpause else "paused", dry_run=fields["dry_run"]))

    @extend_schema(request=s.BulkPauseSerializer, responses=s.BulkPauseResultSerializer,
                   operation_id="executions_pause_bulk", summary="Pause the selected runs",
                   description="The runs in flight selected by the body (retry-failed's filters, and `host`: runs "
                               "whose steps still to run call it), at most FLOWPILOT_MAX_BULK_PAUSE (400 beyond: "
                               "narrow it); ?search.<name>=<value> on the URL too.")
    @action(detail=False, methods=["post"], url_path="pause")
    def pause_many(self, request):
        return self._pause_many(request, unpause=False)

    @extend_schema(request=s.BulkPauseSerializer, responses=s.BulkPauseResultSerializer,
                   operation_id="executions_unpause_bulk", summary="Unpause the selected paused runs",
                   description="As POST /executions/pause/, for the paused runs of the selection.")
    @action(detail=False, methods=["post"], url_path="unpause")
    def unpause_many(self, request):
        return self._pause_many(request, unpause=True)

    @extend_schema(request=s.SignalSerializer, responses=s.ExecutionDetailSerializer)
    @action(detail=True, methods=["post"])
    def signal(self, request, pk=None):
        """Deliver a signal (or an approval: name "approval", payload {"approved": true}) to a waiting step."""
        execution = self.get_object()
        data = s.SignalSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.execution_signal(execution=execution, user=request.user, **data.validated_data)
        return Response(s.ExecutionDetailSerializer(_detail(execution.pk)).data)

    @extend_schema(parameters=[s.LogQuerySerializer], responses=s.ExecutionLogPageSerializer)
    @action(detail=True, methods=["get"])
    def logs(self, request, pk=None):
        query = s.LogQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        logs = self.get_object().logs.all()
        if level := query.validated_data.get("level"):
            logs = logs.filter(level__in=LEVEL_ORDER[LEVEL_ORDER.index(level):])
        offset, limit = query.validated_data["offset"], query.validated_data["limit"]
        return Response({"count": logs.count(), "limit": limit, "offset": offset,
                         "logs": s.ExecutionLogSerializer(logs[offset:offset + limit], many=True).data})

    @extend_schema(request=s.BulkRetrySerializer, responses=s.BulkRetryResultSerializer,
                   description="Retry the failed runs selected by the body (and by ?search.<name>=<value> on "
                               "the URL, AND-ed with the body's `search`).")
    @action(detail=False, methods=["post"], url_path="retry-failed")
    def retry_failed(self, request):
        data = s.BulkRetrySerializer(data=request.data)
        data.is_valid(raise_exception=True)
        search = selectors.search_filters_of(request.query_params, body=data.validated_data.get("search"))
        executions = selectors.with_search(WorkflowExecution.objects.visible_to(request.user), search)
        if data.validated_data.get("workflow_id"):
            executions = executions.filter(workflow_id=data.validated_data["workflow_id"])
        if "execution_ids" in data.validated_data:
            executions = executions.filter(pk__in=data.validated_data["execution_ids"])
        dry_run = data.validated_data["dry_run"]
        result = services.executions_retry(
            executions=executions, step_key=data.validated_data.get("step_key") or None,
            error_contains=data.validated_data.get("error_contains") or None, dry_run=dry_run, user=request.user,
            version=data.validated_data["version"])
        ids = result.execution_ids
        answer = {"count": len(ids), "execution_ids": ids, "outdated": result.outdated,
                  "refused": {str(k): v for k, v in result.refused.items()}}
        if dry_run:
            return Response({"dry_run": True, **answer})
        return Response({"retried": len(ids), **answer})


class StepTypeViewSet(viewsets.ViewSet):
    """The step types this installation offers, with their config JSON Schemas (the designer's palette)."""

    lookup_field = "name"
    lookup_value_regex = "[^/]+"

    @extend_schema(responses=s.StepTypeSerializer(many=True))
    def list(self, request):
        return Response([t.describe() for t in registry.all_types()])

    @extend_schema(request=s.StepTrySerializer, responses=s.StepTryResultSerializer,
                   parameters=[OpenApiParameter("name", str, OpenApiParameter.PATH, description="A step type's name.")])
    @action(detail=True, methods=["post"], url_path="try")
    def try_step(self, request, name=None):
        """Run this step type once on sample data, in the web process: nothing is recorded, a wait or
        child runs are reported, not started. The user's credentials are resolved and redacted."""
        step_trial.check_step_type(name=name)  # 404 before 400
        data = s.StepTrySerializer(data=request.data)
        data.is_valid(raise_exception=True)
        result = step_trial.step_try(user=request.user, task_type=name, **data.validated_data)
        return Response(asdict(result))


class CredentialViewSet(OwnedViewSetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                        viewsets.GenericViewSet):
    """Secrets for steps ({{ secrets.NAME }}, http_request auth). Values go in, never come out. Each
    says which workflows use it (`used_by`); a delete is refused while one does."""

    queryset = Credential.objects.all()
    serializer_class = s.CredentialSerializer

    @staticmethod
    def _show(items, *, many: bool = False):
        listed = list(items) if many else [items]
        usage = credentials.usage(owner_ids={c.owner_id for c in listed})
        return s.CredentialSerializer(items, many=many, context={"usage": usage}).data

    def list(self, request, *args, **kwargs):
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(queryset)
        if page is None:
            return Response(self._show(queryset, many=True))
        return self.get_paginated_response(self._show(page, many=True))

    def retrieve(self, request, *args, **kwargs):
        return Response(self._show(self.get_object()))

    @extend_schema(request=s.CredentialInputSerializer, responses={201: s.CredentialSerializer})
    def create(self, request, *args, **kwargs):
        data = s.CredentialInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        credential = credentials.credential_create(owner=request.user, **data.validated_data)
        return Response(self._show(credential), status=status.HTTP_201_CREATED)

    @extend_schema(responses={204: None})
    def destroy(self, request, *args, **kwargs):
        """Refused (409, naming the workflows in `used_by`) while a draft or active workflow uses it."""
        credentials.credential_delete(credential=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=s.CredentialInputSerializer, responses=s.CredentialSerializer)
    def partial_update(self, request, *args, **kwargs):
        credential = self.get_object()
        # The body as is: merged into a dict, a JSON body that is no object was a 500 (and form fields lists).
        data = s.CredentialInputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        credential = credentials.credential_save(owner=credential.owner, name=credential.name,
                                                 value=data.validated_data.get("value"),
                                                 description=data.validated_data.get("description"))
        return Response(self._show(credential))
