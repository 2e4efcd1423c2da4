"""Serializers: the API's shapes. Input serializers check shape only; services check meaning."""

from __future__ import annotations

from collections.abc import Mapping

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.fields import SkipField, empty, get_error_detail
from rest_framework.utils import html

from .. import bounds, services
from ..code import registry
from ..services import approvals
from ..models import (
    STEP_KEY_PATTERN,
    Credential,
    ExecutionLog,
    LogLevel,
    TaskExecution,
    Workflow,
    WorkflowExecution,
    WorkflowKind,
    WorkflowStatus,
    WorkflowStep,
    WorkflowVersion,
)
from ..engine.planner.compensation import PHASES
from ..engine.planner.states import ALL_EXECUTION_ACTIONS, allowed_actions, latest_attempts

RETRY_FIELDS = ("max_retries", "retry_base_delay", "retry_backoff_factor", "retry_max_delay")
STEP_READ_FIELDS = ("key", "name", "task_type", "config", "step_order", "timeout_seconds", "when", "position_x",
                    "position_y", "continue_on_failure", "limits", "compensate_with")
# The range of the integer columns (PostgreSQL's integer): beyond it an input was a 500, not a 400.
INT_MIN, INT_MAX = -(2**31), 2**31 - 1


# JSON columns that always hold an object (their default is {} and the services refuse anything
# else): documented as objects, so that the designer's generated types (frontend/src/lib/api-schema.d.ts)
# say Record<string, unknown> rather than unknown.
JSON_OBJECT = {"type": "object", "additionalProperties": {}}


@extend_schema_field(JSON_OBJECT)
class JsonObjectField(serializers.JSONField):
    """A JSON object, read-only in the API's answers."""


@extend_schema_field({**JSON_OBJECT, "properties": {"traceback": {"type": "string"}}})
class ErrorDetailsField(JsonObjectField):
    """A failure's details: the worker's traceback when a step raised, and whatever the error carried."""


DEPENDS_ON_HELP = ('Step keys; "key:branch" to run only on that branch of the step; "key:failed" (a failure '
                   'path) to run only when that step failed for good, seeing steps.<key>.error.')
LIMITS_HELP = ('Flow control: {"concurrency": {"key": "<template>", "max": N, "name": "<shared name>"}, '
               '"rate": {"key": "<template>", "limit": N, "per_seconds": S, "burst": B, "name": "<shared name>"}, '
               '"debounce": {"key": "<template>", "seconds": S}, "priority": "<template giving an int>"}; every part '
               "optional (workflows/flow_limits.py).")
STEP_LIMITS_HELP = ("A step's own flow control, for a type that calls hosts (calls_hosts): concurrency and rate, "
                    "as a workflow's limits.")
COMPENSATE_HELP = ("The key of the step that undoes this one: when a run fails for good (or is cancelled with "
                   "{\"compensate\": true}) after this step completed, that step runs as its compensation, seeing "
                   "steps.<key>.output and compensating; a compensation step runs only as one (no dependencies, "
                   "nothing depends on it). Empty: none.")
CONTINUE_HELP = ("When the step fails for good, its attempt stays failed but the run carries on as if it "
                 "completed, its output {\"error\": {...}} carrying the error; listed in the run's handled_failures.")


@extend_schema_field({"type": "string", "enum": ["", *PHASES]})
class PhaseField(serializers.CharField):
    """A run's phase: "" or one of the compensation's (planner/compensation.py)."""


class PositionField(serializers.Serializer):
    x = serializers.FloatField(default=0)
    y = serializers.FloatField(default=0)


class StepSerializer(serializers.Serializer):
    key = serializers.RegexField(bounds.STEP_KEY_PATTERN, max_length=bounds.STEP_KEY_MAX_LENGTH,
                                 error_messages={"invalid": bounds.STEP_KEY_HELP})
    name = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    task_type = serializers.CharField(max_length=100)
    config = serializers.DictField(required=False, default=dict)
    depends_on = serializers.ListField(child=serializers.CharField(max_length=201), required=False, default=list,
                                       help_text=DEPENDS_ON_HELP)
    step_order = serializers.IntegerField(min_value=INT_MIN, max_value=INT_MAX, required=False, default=0)
    max_retries = serializers.IntegerField(min_value=0, max_value=bounds.MAX_RETRIES, required=False, allow_null=True,
                                           default=None)
    retry_base_delay = serializers.FloatField(min_value=0, max_value=bounds.max_retry_delay(), required=False,
                                              allow_null=True, default=None)
    retry_backoff_factor = serializers.FloatField(min_value=1, max_value=bounds.max_backoff_factor(), required=False,
                                                  allow_null=True, default=None)
    retry_max_delay = serializers.FloatField(min_value=0, max_value=bounds.max_retry_delay(), required=False,
                                             allow_null=True, default=None)
    timeout_seconds = serializers.IntegerField(min_value=1, max_value=int(bounds.max_step_timeout()), required=False,
                                               allow_null=True, default=None)
    when = serializers.CharField(required=False, allow_blank=True, default="")
    continue_on_failure = serializers.BooleanField(required=False, default=False, help_text=CONTINUE_HELP)
    limits = serializers.DictField(required=False, default=dict, help_text=STEP_LIMITS_HELP)
    compensate_with = serializers.CharField(max_length=bounds.STEP_KEY_MAX_LENGTH, required=False, allow_blank=True,
                                            default="", help_text=COMPENSATE_HELP)
    position = PositionField(required=False)

    def to_internal_value(self, data):
        plain = isinstance(data, Mapping) and not html.is_html_input(data)
        value = self._fields_of(data) if plain else super().to_internal_value(data)
        position = value.pop("position", None) or {}
        value["position_x"], value["position_y"] = position.get("x", 0), position.get("y", 0)
        return value

    def _fields_of(self, data: Mapping) -> dict:
        """DRF's Serializer.to_internal_value for a step sent as JSON: each field's run_validation
        (its rules, defaults and messages are DRF's), errors gathered by field as DRF does, without
        the per-field work a step never needs (HTML-form values, dotted sources, validate_<field>
        methods, of which it has none). A 10,000-step save validates in 0.35 s instead of 0.6 s;
        test_api checks the two give the same values and errors."""
        fields = self.__dict__.get("_writable") or self.__dict__.setdefault(
            "_writable", [f for f in self.fields.values() if not f.read_only])
        value, errors = {}, {}
        for field in fields:
            try:
                value[field.field_name] = field.run_validation(data.get(field.field_name, empty))
            except ValidationError as exc:
                errors[field.field_name] = exc.detail
            except DjangoValidationError as exc:
                errors[field.field_name] = get_error_detail(exc)
            except SkipField:
                pass
        if errors:
            raise ValidationError(errors)
        return value

    def to_representation(self, step: WorkflowStep | dict):
        """From a WorkflowStep with its upstream links prefetched, or from graph_rows.read's plain
        data (no model instance per step: a big graph answers in O(steps + edges))."""
        if isinstance(step, WorkflowStep):
            step = {"id": step.pk, "depends_on": [link.ref for link in step.upstream_links.all()],
                    **{f: getattr(step, f) for f in (*STEP_READ_FIELDS, *RETRY_FIELDS)}}
        return {
            "id": step["id"], "key": step["key"], "name": step["name"], "task_type": step["task_type"],
            "config": step["config"], "depends_on": step["depends_on"], "step_order": step["step_order"],
            **{f: step[f] for f in RETRY_FIELDS}, "timeout_seconds": step["timeout_seconds"],
            "when": step["when"], "continue_on_failure": step["continue_on_failure"], "limits": step["limits"],
            "compensate_with": step["compensate_with"],
            "position": {"x": step["position_x"], "y": step["position_y"]},
        }


class StepInputSerializer(StepSerializer):
    """One step given to the steps sub-resource (/workflows/<id>/steps/): StepSerializer's fields,
    the key optional (seed 002's clients give a `name` and `step_order` only): without one, it is
    made from the name (letters, digits and underscores; "validate-order" -> "validate_order"), kept
    unique within the workflow, and answered in the step's `key`."""

    key = serializers.RegexField(bounds.STEP_KEY_PATTERN, max_length=bounds.STEP_KEY_MAX_LENGTH, required=False,
                                 error_messages={"invalid": bounds.STEP_KEY_HELP},
                                 help_text="Optional: made from `name` when not given.")


class StepOutputSerializer(StepSerializer):
    """A step as GET /workflows/<id>/ answers it (for the OpenAPI schema only): StepSerializer's
    to_representation writes every field, with the step's id, so none is optional here."""

    id = serializers.IntegerField(read_only=True)
    config = serializers.DictField()
    depends_on = serializers.ListField(child=serializers.CharField(),
                                       help_text=DEPENDS_ON_HELP)
    position = PositionField()


SEARCH_FIELDS_HELP = (
    f'{{"<name>": "<template>"}}, at most {bounds.SEARCH_FIELDS_MAX}: templates over the run\'s input or its '
    'steps\' outputs ({{ input.phone }}, {{ steps.crm.output.id }}) whose values each run keeps, indexed, for '
    "?search.<name>=<value>. Never secrets. Versioned with the definition.")


@extend_schema_field({"type": "object", "additionalProperties": {"type": "string"}})
class SearchFieldsField(serializers.JSONField):
    """A workflow's search fields, {"<name>": "<template>"}, read-only in answers."""


@extend_schema_field({"type": "object", "additionalProperties": {"type": "string"}})
class SearchValuesField(serializers.Field):
    """A run's search values, {"<name>": "<value>"}, from its prefetched search_values."""

    def __init__(self, **kwargs):
        super().__init__(source="*", read_only=True, **kwargs)

    def to_representation(self, execution):
        return {row.name: row.value for row in execution.search_values.all()}


ERROR_WORKFLOW_HELP = ("A workflow of yours (active, not this one) started with the failed run's data whenever a "
                       "run of this one fails for good; null: your default (GET/PUT /api/v1/error-workflow-default/).")


class WorkflowInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True)
    status = serializers.ChoiceField(choices=WorkflowStatus.choices, required=False)
    metadata = serializers.DictField(required=False)
    max_concurrency = serializers.IntegerField(min_value=1, max_value=bounds.max_concurrency(), required=False,
                                               allow_null=True)
    concurrency_key = serializers.CharField(max_length=500, required=False, allow_blank=True)
    search_fields = serializers.DictField(
        child=serializers.CharField(allow_blank=True, trim_whitespace=False), required=False,
        help_text=SEARCH_FIELDS_HELP)
    limits = serializers.DictField(required=False, help_text=LIMITS_HELP)
    max_retries = serializers.IntegerField(min_value=0, max_value=bounds.MAX_RETRIES, required=False, allow_null=True)
    retry_base_delay = serializers.FloatField(min_value=0, max_value=bounds.max_retry_delay(), required=False,
                                              allow_null=True)
    retry_backoff_factor = serializers.FloatField(min_value=1, max_value=bounds.max_backoff_factor(), required=False,
                                                  allow_null=True)
    retry_max_delay = serializers.FloatField(min_value=0, max_value=bounds.max_retry_delay(), required=False,
                                             allow_null=True)
    error_workflow_id = serializers.UUIDField(required=False, allow_null=True, help_text=ERROR_WORKFLOW_HELP)
    steps = StepSerializer(many=True, required=False)


class CodeStepSerializer(serializers.Serializer):
    key = serializers.CharField()
    start = serializers.BooleanField()
    action = serializers.CharField(help_text="The action (POST /api/v1/actions/<name>/) feeding it, if any.")
    timeout_seconds = serializers.FloatField(allow_null=True)
    retry = serializers.DictField()
    compensate_with = serializers.CharField(default="", help_text=(
        "The step that undoes it (@step(compensate=...)), or empty."))


CODE_EDGE_KIND_HELP = ("goto: the step returns goto(target); then: after the signal or event it waits for; "
                       "timeout: its wait's on_timeout; sleep: it runs again after a timer.")


class CodeEdgeSerializer(serializers.Serializer):
    source = serializers.CharField(source="from")
    target = serializers.CharField(source="to")
    kind = serializers.ChoiceField(choices=registry.EDGE_KINDS, help_text=CODE_EDGE_KIND_HELP)


class CodeGraphSerializer(serializers.Serializer):
    """A code workflow's steps and the moves between them, read from its code (read-only)."""

    workflow_class = serializers.CharField(source="code.class")
    start = serializers.CharField(source="code.start")
    event_name = serializers.CharField(source="code.event_name")
    offset_minutes = serializers.IntegerField(source="code.offset_minutes")
    steps = CodeStepSerializer(many=True)
    edges = CodeEdgeSerializer(many=True)


class WorkflowSerializer(serializers.ModelSerializer):
    owner = serializers.CharField(source="owner.username", read_only=True)
    metadata = JsonObjectField(read_only=True)
    search_fields = SearchFieldsField(read_only=True, help_text=SEARCH_FIELDS_HELP)
    limits = JsonObjectField(read_only=True, help_text=LIMITS_HELP)
    steps = serializers.SerializerMethodField()
    code = serializers.SerializerMethodField(help_text="For a code workflow (kind \"code\"): its graph.")
    error_workflow_id = serializers.UUIDField(read_only=True, allow_null=True, help_text=ERROR_WORKFLOW_HELP)
    warnings = serializers.SerializerMethodField(help_text=(
        "In the answer about one workflow (a read or a save): what a run would fail on although the save "
        "accepted it, by field path as validate's warnings; null in lists."))

    class Meta:
        model = Workflow
        fields = ["id", "name", "description", "status", "kind", "version", "metadata", "owner", "max_concurrency",
                  "concurrency_key", "search_fields", "limits", *RETRY_FIELDS, "error_workflow_id", "steps", "code",
                  "warnings",
                  "paused", "created_at", "updated_at"]
        read_only_fields = fields

    @extend_schema_field(serializers.DictField(child=serializers.ListField(child=serializers.CharField()),
                                               allow_null=True))
    def get_warnings(self, workflow: Workflow):
        return self.context.get("warnings")

    @extend_schema_field(StepOutputSerializer(many=True))
    def get_steps(self, workflow: Workflow):
        """The steps given in the context (graph_rows.read, by a view answering for this one
        workflow), else the workflow's prefetched steps (a list)."""
        steps = self.context.get("steps")
        return StepSerializer(steps if steps is not None else workflow.steps.all(), many=True).data

    @extend_schema_field(CodeGraphSerializer(allow_null=True))
    def get_code(self, workflow: Workflow):
        if workflow.kind != "code":
            return None
        try:
            definition = registry.get(workflow.name).definition()
        except registry.UnknownCodeWorkflow:  # its code is gone: the last stored version's
            definition = workflow.versions.filter(number=workflow.version).values_list("definition", flat=True).first()
        return CodeGraphSerializer(definition).data if definition else None


# A version's definition, as stored (for the OpenAPI schema only: the API serves the stored JSON as it
# is). Two writers make it: engine/definition.py's from_data (a designed workflow) and
# code/registry.py's WorkflowSpec.definition (a code workflow, which adds the keys marked so). A key
# some versions lack is not required: position (versions published before it was kept) and the code
# workflows' own. test_openapi checks served definitions of both kinds against these components.


class DefinitionRetrySerializer(serializers.Serializer):
    """Retry settings: null (or left out, in a code workflow's) where the workflow's or the default applies."""

    max_retries = serializers.IntegerField(required=False, allow_null=True)
    base_delay = serializers.FloatField(required=False, allow_null=True)
    backoff_factor = serializers.FloatField(required=False, allow_null=True)
    max_delay = serializers.FloatField(required=False, allow_null=True)


class DefinitionStepSerializer(serializers.Serializer):
    key = serializers.CharField()
    name = serializers.CharField()
    task_type = serializers.CharField()
    config = serializers.DictField()
    depends_on = serializers.ListField(child=serializers.CharField(),
                                       help_text=DEPENDS_ON_HELP)
    step_order = serializers.IntegerField()
    timeout_seconds = serializers.FloatField(allow_null=True)
    when = serializers.CharField(allow_blank=True)
    continue_on_failure = serializers.BooleanField(required=False, help_text="Set (true) only on a step that "
                                                   "continues on failure.")
    limits = serializers.DictField(required=False, help_text="Set only on a step with its own flow control.")
    compensate_with = serializers.CharField(required=False, help_text="Set only on a step with a compensation: the "
                                                                      "key of the step that undoes it.")
    retry = DefinitionRetrySerializer()
    position = PositionField(required=False, help_text="Where the designer drew it (versions published since "
                                                       "positions are kept).")
    start = serializers.BooleanField(required=False, help_text="A code workflow's: its first step.")
    action = serializers.CharField(required=False, allow_blank=True,
                                   help_text="A code workflow's: the action (POST /api/v1/actions/<name>/) feeding it, "
                                             "or empty.")


class DefinitionCodeSerializer(serializers.Serializer):
    """Where a code workflow's steps live and how it starts."""

    workflow = serializers.CharField()
    start = serializers.CharField()
    event_name = serializers.CharField(allow_blank=True)
    offset_minutes = serializers.IntegerField()

    def get_fields(self):
        fields = super().get_fields()  # "class" is a Python keyword: added here, in the stored order
        return {"workflow": fields["workflow"], "start": fields["start"],
                "class": serializers.CharField(help_text="The class's dotted path."),
                "event_name": fields["event_name"], "offset_minutes": fields["offset_minutes"]}


class DefinitionEdgeSerializer(serializers.Serializer):
    """A move between a code workflow's steps."""

    to = serializers.CharField()
    kind = serializers.ChoiceField(choices=registry.EDGE_KINDS, help_text=CODE_EDGE_KIND_HELP)

    def get_fields(self):
        fields = super().get_fields()  # "from" is a Python keyword: added here, in the stored order
        return {"from": serializers.CharField(), "to": fields["to"], "kind": fields["kind"]}


class WorkflowDefinitionSerializer(serializers.Serializer):
    """A version's frozen definition: what its runs follow."""

    name = serializers.CharField(allow_blank=True)
    kind = serializers.ChoiceField(choices=["code"], required=False,
                                   help_text='"code" for a code workflow; left out for a designed one.')
    description = serializers.CharField(required=False, allow_blank=True, help_text="A code workflow's docstring.")
    code = DefinitionCodeSerializer(required=False, help_text="A code workflow's.")
    retry = DefinitionRetrySerializer(help_text="The workflow's retry settings, which each step's override.")
    search_fields = serializers.DictField(child=serializers.CharField(), required=False, help_text=(
        "The workflow's search fields, as its runs keep them; left out when it has none."))
    limits = serializers.DictField(required=False, help_text="The workflow's flow control; left out when it has none.")
    steps = DefinitionStepSerializer(many=True)
    edges = DefinitionEdgeSerializer(many=True, required=False,
                                     help_text="A code workflow's moves between steps (its steps have no depends_on).")


@extend_schema_field(WorkflowDefinitionSerializer)
class DefinitionField(serializers.JSONField):
    """A version's definition, served as stored."""


class WorkflowVersionSerializer(serializers.ModelSerializer):
    created_by = serializers.CharField(source="created_by.username", default=None, allow_null=True, read_only=True)
    definition = DefinitionField(read_only=True)

    class Meta:
        model = WorkflowVersion
        fields = ["number", "definition", "created_at", "created_by"]
        read_only_fields = fields


class RunInputSerializer(serializers.Serializer):
    input_data = serializers.JSONField(required=False, default=dict)
    idempotency_key = serializers.CharField(max_length=255, required=False, allow_blank=True, allow_null=True)
    max_retries = serializers.IntegerField(
        min_value=0, max_value=bounds.MAX_RETRIES, required=False, allow_null=True, default=None,
        help_text="This run's retries of each step that sets none of its own, in place of the workflow's default.")

    def validate_input_data(self, value):
        if not isinstance(value, dict):
            raise serializers.ValidationError("must be a JSON object")
        return value


class TestRunInputSerializer(serializers.Serializer):
    input_data = serializers.JSONField(required=False, default=dict, help_text="The run's input: a JSON object.")
    max_retries = serializers.IntegerField(
        min_value=0, max_value=bounds.MAX_RETRIES, required=False, allow_null=True, default=None,
        help_text="This run's retries of each step that sets none of its own, in place of the workflow's default.")

    def validate_input_data(self, value):
        if not isinstance(value, dict):
            raise serializers.ValidationError("must be a JSON object")
        return value


class ExecutionCreateSerializer(RunInputSerializer):
    workflow_id = serializers.PrimaryKeyRelatedField(queryset=Workflow.objects.none())

    def __init__(self, *args, workflows=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["workflow_id"].queryset = workflows if workflows is not None else Workflow.objects.none()


class TaskExecutionSerializer(serializers.ModelSerializer):
    """One attempt of a step. Given the ids of the current attempts in the context ("latest"), as
    ExecutionDetailSerializer does, it marks them: the UI reads `is_latest` instead of deciding."""

    attempt_number = serializers.IntegerField(source="attempt", read_only=True)
    input_data = serializers.JSONField(source="input", read_only=True)
    output_data = serializers.JSONField(source="output", read_only=True)
    error_details = ErrorDetailsField(read_only=True)
    is_latest = serializers.SerializerMethodField(help_text=(
        "Whether this row is its step's current attempt (the highest attempt of its latest visit): "
        "the one whose status the step shows. Exactly one row per step is."))
    awaiting = serializers.SerializerMethodField(help_text=(
        "What a waiting attempt waits for that a person may give (POST /api/v1/approvals/<id>/): "
        "\"approval\" (approve or reject), \"signal\" (a plain signal, answered), or null."))

    class Meta:
        model = TaskExecution
        fields = ["id", "step_key", "task_type", "status", "attempt_number", "visit", "is_latest", "workflow_version",
                  "awaiting", "signal_name", "idempotency_key",
                  "input_data", "output_data", "error_message", "error_details", "created_at", "queued_at",
                  "started_at", "completed_at", "wake_at", "worker_id", "mocked", "compensates"]
        read_only_fields = fields

    def get_is_latest(self, task: TaskExecution) -> bool:
        return task.pk in self.context["latest"]

    @extend_schema_field(serializers.ChoiceField(choices=["approval", "signal"], allow_null=True))
    def get_awaiting(self, task: TaskExecution) -> str | None:
        return approvals.awaiting(task)


class ExecutionSerializer(serializers.ModelSerializer):
    workflow_name = serializers.CharField(source="workflow.name", read_only=True)
    workflow_version = serializers.IntegerField(source="workflow_version.number", read_only=True)
    input_data = JsonObjectField(source="input", read_only=True)
    output_data = serializers.JSONField(source="output", read_only=True)
    error_details = ErrorDetailsField(read_only=True)
    triggered_by_user = serializers.CharField(source="triggered_by_user.username", default=None, allow_null=True,
                                              read_only=True)
    allowed_actions = serializers.SerializerMethodField(help_text=(
        "The actions the run may take now (POST /api/v1/executions/<id>/<action>/), from the state "
        "machine's table: what the endpoints accept; any other answers 409."))
    search = SearchValuesField(help_text=(
        "The values of its workflow's search fields kept for this run, {\"<name>\": \"<value>\"}: a field "
        "over the input from the start, one over a step's output once that step completed (filter: "
        "?search.<name>=<value>)."))
    replay_of = serializers.UUIDField(source="replay_of_id", read_only=True, allow_null=True, help_text=(
        "The run this one replays as a dry run (POST .../replay/), or null."))
    handled_failures = serializers.ListField(child=serializers.CharField(), read_only=True, help_text=(
        "The steps whose failure the run handled (a failure path \"<key>:failed\" taken, or continue on "
        "failure), in the graph's order; a completed run with some completed with handled failures."))
    is_replay = serializers.BooleanField(read_only=True, help_text=(
        "A dry run of another run: its steps with side effects answered from mocks or recordings, never run "
        "(true even when the original was deleted since)."))
    test_run = serializers.BooleanField(read_only=True, help_text=(
        "A test run with pinned data (POST /workflows/<id>/test-run/): its steps with a pinned output answered "
        "from it (mocked), the others run for real; not counted by the metrics, alerts or bulk retry."))
    phase = PhaseField(read_only=True, help_text=(
        "Its compensation: \"\" when none ran; \"compensating\" while the compensations of its completed steps "
        "run (it is still running), then \"compensated\" or \"compensation_failed\" (it ended failed, or "
        "cancelled when cancelled with compensate). A run that went through compensation is not retried."))
    compensation = JsonObjectField(read_only=True, help_text=(
        "When it compensated: reason (failed or cancelled), the run's error, plan (each step with the step "
        "compensating it, latest completed first; null until the steps still running finished), outcome and the "
        "compensation that failed; {} otherwise."))

    class Meta:
        model = WorkflowExecution
        fields = ["id", "workflow", "workflow_name", "workflow_version", "status", "allowed_actions",
                  "idempotency_key", "input_data", "output_data", "error_message", "error_details", "retry_count",
                  "max_retries", "triggered_by", "triggered_by_user", "concurrency_key", "search", "created_at",
                  "scheduled_at", "started_at", "completed_at", "replay_of", "is_replay", "test_run", "handled_failures",
                  "priority", "limit_key", "rate_slot_at", "phase", "compensation"]
        read_only_fields = fields
        extra_kwargs = {
            "priority": {"help_text": "Its workflow's limits.priority for this run (higher takes free slots first)."},
            "limit_key": {"help_text": "Its workflow's limits.concurrency key's value for this run."},
            "rate_slot_at": {"help_text": "The start slot its workflow's limits.rate reserved for it (it waits "
                                          "pending until then); null without a rate limit."},
        }

    @extend_schema_field(serializers.ListField(child=serializers.ChoiceField(choices=list(ALL_EXECUTION_ACTIONS))))
    def get_allowed_actions(self, execution: WorkflowExecution) -> list[str]:
        return allowed_actions(execution.status, code=execution.workflow.kind == WorkflowKind.CODE,
                               compensated=bool(execution.phase))


class StepOverrideSerializer(serializers.Serializer):
    config = JsonObjectField(help_text="The step's whole config for this run (templates allowed), in place of its "
                                       "version's; checked against the step type's schema.")


class OverridesSerializer(serializers.Serializer):
    input = JsonObjectField(required=False, help_text="The run's whole input from now on, in place of its own.")
    steps = serializers.DictField(child=StepOverrideSerializer(), required=False,
                                  help_text="By step key (a step of the version the run resumes on).")


@extend_schema_field(OverridesSerializer)
class OverridesField(serializers.JSONField):
    """Edit and resume's overrides: checked by the service (services/overrides.py), which names each
    field it refuses."""


class RetryLatestSerializer(serializers.Serializer):
    version = serializers.IntegerField(help_text="The workflow's latest version's number.")
    problems = serializers.ListField(child=serializers.CharField(), help_text=(
        "Why that version cannot take over this run (a retry on it answers 409); empty when it can."))
    added = serializers.ListField(child=serializers.CharField(), help_text="Steps it adds: they will run.")
    removed = serializers.ListField(child=serializers.CharField(),
                                    help_text="Steps of the run it no longer has: kept in the history, not run.")


class ExecutionDetailSerializer(ExecutionSerializer):
    task_executions = serializers.SerializerMethodField()
    overrides = OverridesField(read_only=True, help_text=(
        "Edit and resume: what this run uses in place of its input and steps' configs since a retry with "
        "overrides (the workflow and its versions are unchanged); {} when none."))
    overridden_by = serializers.CharField(source="overridden_by.username", default=None, allow_null=True,
                                          read_only=True, help_text="Who last gave overrides.")
    retry_latest = serializers.SerializerMethodField(help_text=(
        "When the run may be retried and its workflow has a newer version than the run's: that version, "
        "and what a retry on it ({\"version\": \"latest\"}) would do; null otherwise."))

    class Meta(ExecutionSerializer.Meta):
        fields = [*ExecutionSerializer.Meta.fields, "task_executions", "retry_latest", "overrides", "overridden_by",
                  "overridden_at"]
        read_only_fields = fields

    def _rows(self, execution: WorkflowExecution) -> list[TaskExecution]:
        return list(execution.task_executions.all())  # prefetched by the views, in run order

    @extend_schema_field(TaskExecutionSerializer(many=True))
    def get_task_executions(self, execution: WorkflowExecution) -> list[dict]:
        """Every attempt (prefetched by the views, in run order), the current one of each step marked."""
        rows = self._rows(execution)
        latest = {row.pk for row in latest_attempts(rows).values()}
        return TaskExecutionSerializer(rows, many=True, context={**self.context, "latest": latest}).data

    @extend_schema_field(RetryLatestSerializer(allow_null=True))
    def get_retry_latest(self, execution: WorkflowExecution) -> dict | None:
        if "retry" not in allowed_actions(execution.status, compensated=bool(execution.phase)) or \
                execution.workflow.version == execution.workflow_version.number:
            return None
        plan = services.retry_takeover(execution, latest_attempts(self._rows(execution)))
        return {"version": execution.workflow.version, "problems": list(plan.problems), "added": list(plan.added),
                "removed": list(plan.removed)}



class StartedExecutionSerializer(ExecutionDetailSerializer):
    """A start's answer (POST /executions/, /workflows/{id}/run/): the run, and whether this trigger
    replaced a debounced workflow's pending run instead of starting another."""

    debounced = serializers.BooleanField(read_only=True, default=False, help_text=(
        "true when this trigger replaced the pending run of a debounced workflow (its `limits.debounce`): "
        "the run answered is that run, with this trigger's input and its start pushed back."))

    class Meta(ExecutionDetailSerializer.Meta):
        fields = [*ExecutionDetailSerializer.Meta.fields, "debounced"]
        read_only_fields = fields

class ExecutionLogSerializer(serializers.ModelSerializer):
    details = JsonObjectField(read_only=True)

    class Meta:
        model = ExecutionLog
        fields = ["id", "timestamp", "level", "event", "step_key", "task_execution", "message", "details"]
        read_only_fields = fields


class LogQuerySerializer(serializers.Serializer):
    level = serializers.ChoiceField(choices=LogLevel.choices, required=False, help_text="This level and above.")
    limit = serializers.IntegerField(min_value=1, max_value=1000, required=False, default=200)
    offset = serializers.IntegerField(min_value=0, max_value=INT_MAX, required=False, default=0)  # SQL OFFSET


class BulkRetrySerializer(serializers.Serializer):
    search = serializers.DictField(
        child=serializers.JSONField(), required=False, help_text=(
            f'{{"<name>": "<value>"}}: only runs with these search values (exact, AND-ed; at most '
            f"{bounds.SEARCH_FILTERS_MAX}), as ?search.<name>=<value> on the URL, which is accepted too."))
    execution_ids = serializers.ListField(child=serializers.UUIDField(), required=False, max_length=1000,
                                          help_text="Only these executions (those of them that failed).")
    workflow_id = serializers.UUIDField(required=False, allow_null=True)
    step_key = serializers.CharField(max_length=100, required=False, allow_blank=True)
    error_contains = serializers.CharField(max_length=500, required=False, allow_blank=True)
    dry_run = serializers.BooleanField(required=False, default=False)
    version = serializers.ChoiceField(choices=["original", "latest"], required=False, default="original", help_text=(
        "original: each run resumes on its own version; latest: on its workflow's latest version (a run "
        "that version cannot take over is refused, named in `refused`)."))


class BulkPauseSerializer(serializers.Serializer):
    """retry-failed's filters, read for runs in flight, and `host`."""

    search = serializers.DictField(
        child=serializers.JSONField(), required=False, help_text=(
            f'{{"<name>": "<value>"}}: only runs with these search values (exact, AND-ed; at most '
            f"{bounds.SEARCH_FILTERS_MAX}), as ?search.<name>=<value> on the URL, which is accepted too."))
    execution_ids = serializers.ListField(child=serializers.UUIDField(), required=False, max_length=1000,
                                          help_text="Only these executions (those of them in flight; paused, to unpause).")
    workflow_id = serializers.UUIDField(required=False, allow_null=True)
    step_key = serializers.CharField(max_length=100, required=False, allow_blank=True,
                                     help_text="Only runs with this step still to run (pending, queued, retrying, waiting).")
    error_contains = serializers.CharField(max_length=500, required=False, allow_blank=True,
                                           help_text="Only runs with an attempt that failed with this in its error.")
    host = serializers.CharField(max_length=300, required=False, allow_blank=True, help_text=(
        "Only runs with a step still to run whose URL calls this host, by the circuit breaker's key: an origin "
        "(https://ehr.example:443) or a URL gives its scheme://host:port; a bare host name (ehr.example) "
        "matches it on any scheme and port."))
    dry_run = serializers.BooleanField(required=False, default=False)


class BulkPauseResultSerializer(serializers.Serializer):
    dry_run = serializers.BooleanField(required=False, help_text="Present (true) when nothing was changed.")
    paused = serializers.IntegerField(required=False, help_text="Present when runs were paused.")
    unpaused = serializers.IntegerField(required=False, help_text="Present when runs were unpaused.")
    count = serializers.IntegerField()
    execution_ids = serializers.ListField(child=serializers.UUIDField())
    refused = serializers.DictField(child=serializers.CharField(), help_text=(
        "Runs not moved, by id, with why (they ended or moved meanwhile)."))


class RetryInputSerializer(serializers.Serializer):
    version = serializers.ChoiceField(choices=["original", "latest"], required=False, default="original", help_text=(
        "original: resume on the run's version; latest: move the run to its workflow's latest version "
        "(completed steps keep their outputs; 409 when that version cannot take the run over)."))
    overrides = OverridesField(required=False, default=None, allow_null=True, help_text=(
        "Edit and resume: this run's input and steps' configs from now on (the workflow is unchanged); "
        "a config its step type refuses, or a key that is no step of the version, is a 400 that changes nothing."))


class CancelInputSerializer(serializers.Serializer):
    compensate = serializers.BooleanField(required=False, default=False, help_text=(
        "Undo the run's completed steps before it ends cancelled: the compensation step of each completed step "
        "that names one (compensate_with) runs, latest completed first, once the steps still running finished "
        "(phase compensating, then compensated or compensation_failed). A run whose completed steps have no "
        "compensation is cancelled at once, as without it."))


class RerunInputSerializer(serializers.Serializer):
    from_step = serializers.CharField(max_length=bounds.STEP_KEY_MAX_LENGTH, help_text=(
        "The step to re-open the run from: it and its descendants run again; upstream steps keep their outputs."))


class BulkRerunSerializer(serializers.Serializer):
    from_step = serializers.CharField(max_length=bounds.STEP_KEY_MAX_LENGTH)
    execution_ids = serializers.ListField(child=serializers.UUIDField(), required=False, max_length=1000,
                                          help_text="Only these executions (those of them that have ended).")
    workflow_id = serializers.UUIDField(required=False, allow_null=True)
    status = serializers.ChoiceField(choices=["completed", "failed", "cancelled"], required=False, allow_null=True,
                                     help_text="Only runs that ended so (default: completed, failed and cancelled).")
    step_key = serializers.CharField(max_length=100, required=False, allow_blank=True,
                                     help_text="As retry-failed: failed runs whose current attempt of it failed.")
    error_contains = serializers.CharField(max_length=500, required=False, allow_blank=True,
                                           help_text="As retry-failed: failed runs whose failed step's error contains it.")
    dry_run = serializers.BooleanField(required=False, default=False, help_text=(
        "Change nothing: answer the runs that would be rerun (`execution_ids`, `count`) and those their version "
        "refuses (`refused`: a code workflow's, no such step), the preview the executions list shows."))


class BulkRerunResultSerializer(serializers.Serializer):
    dry_run = serializers.BooleanField(required=False, help_text="Present (true) when nothing was rerun.")
    rerun = serializers.IntegerField(required=False, help_text="Present when the executions were rerun.")
    count = serializers.IntegerField()
    execution_ids = serializers.ListField(child=serializers.UUIDField())
    refused = serializers.DictField(child=serializers.CharField(), help_text=(
        "Runs not rerun, by id, with the reason (a code workflow's, no such step in its version...)."))


@extend_schema_field({"oneOf": [{"type": "string", "enum": ["original", "latest"]}, {"type": "integer", "minimum": 1}]})
class ReplayVersionField(serializers.JSONField):
    """"original", "latest" or a version's number (checked by the service: services/replays.py)."""


class ReplayInputSerializer(serializers.Serializer):
    version = ReplayVersionField(required=False, default="original", help_text=(
        "The version the replay runs: original (the run's, the default), latest (its workflow's current), or a "
        "version's number."))
    mocks = serializers.JSONField(required=False, default=dict, help_text=(
        "Outputs by step key ({\"<key>\": {...}}): those steps answer with them instead of running. Steps with side "
        "effects that have none answer with the original run's output. Keys must be steps of the replayed version."))


class BulkStartItemSerializer(serializers.Serializer):
    input_data = serializers.DictField(required=False, default=dict, help_text="The run's input: a JSON object.")
    idempotency_key = serializers.CharField(max_length=255, required=False, allow_blank=True, allow_null=True)


class BulkStartSerializer(serializers.Serializer):
    """Start many runs of one workflow at once: `inputs` (one JSON object per run), or `items` when
    runs carry idempotency keys. Exactly one of the two; at most FLOWPILOT_MAX_BULK_START runs."""

    workflow = serializers.UUIDField(help_text="The workflow to run (yours).")
    inputs = serializers.ListField(child=serializers.DictField(), required=False, allow_empty=False,
                                   help_text="One input (a JSON object) per run, in order.")
    items = BulkStartItemSerializer(many=True, required=False, allow_empty=False,
                                    help_text="One {input_data, idempotency_key} per run, in order.")

    def to_internal_value(self, data):
        # The bound before any item is looked at: a body of 100,000 items is refused at once.
        if isinstance(data, Mapping):
            high = bounds.max_bulk_start()
            for name in ("inputs", "items"):
                if isinstance(data.get(name), list) and len(data[name]) > high:
                    raise ValidationError({name: [f"at most {high} runs in one start; this one has "
                                                  f"{len(data[name])}"]})
        return super().to_internal_value(data)

    def validate(self, attrs):
        if ("inputs" in attrs) == ("items" in attrs):
            raise ValidationError({"inputs": ["give either inputs or items (not both)"]})
        return attrs


class BulkStartResultSerializer(serializers.Serializer):
    count = serializers.IntegerField(help_text="How many runs the request named.")
    execution_ids = serializers.ListField(child=serializers.UUIDField(), help_text=(
        "The runs, in the order of the request: a new run, or the run an idempotency key started before."))
    created = serializers.ListField(child=serializers.BooleanField(),
                                    help_text="For each run: whether this request created it.")


class CredentialInputSerializer(serializers.Serializer):
    name = serializers.RegexField(STEP_KEY_PATTERN, max_length=100, error_messages={
        "invalid": "use letters, digits and underscores, starting with a letter or underscore"})
    value = serializers.CharField(write_only=True, trim_whitespace=False, min_length=4, max_length=65536,
                                  style={"input_type": "password"})
    description = serializers.CharField(max_length=500, required=False, allow_blank=True)


class CredentialUseSerializer(serializers.Serializer):
    id = serializers.UUIDField(help_text="The workflow's id.")
    name = serializers.CharField(help_text="The workflow's name.")
    steps = serializers.ListField(child=serializers.CharField(), help_text="The keys of its steps naming the credential.")


class CredentialSerializer(serializers.ModelSerializer):
    """A credential as the API shows it: never its value."""

    used_by = serializers.SerializerMethodField(help_text=(
        "The draft and active workflows whose steps name this credential (a credential field, or "
        "{{ secrets.NAME }}): while there is one, a delete is refused (409)."))

    class Meta:
        model = Credential
        fields = ["id", "name", "description", "created_at", "updated_at", "used_by"]
        read_only_fields = fields

    @extend_schema_field(CredentialUseSerializer(many=True))
    def get_used_by(self, credential: Credential) -> list[dict]:
        """From the view's context: credentials.usage, asked once for the whole page."""
        return (self.context.get("usage") or {}).get((credential.owner_id, credential.name), [])


class SignalSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    payload = serializers.JSONField(required=False, default=dict)

    def validate_payload(self, value):
        if not isinstance(value, dict):
            raise serializers.ValidationError("must be a JSON object")
        return value


# --- Shapes of answers the views build themselves (for the OpenAPI schema only) -----------------

class ExecutionLogPageSerializer(serializers.Serializer):
    count = serializers.IntegerField(help_text="Log lines matching the level filter.")
    limit = serializers.IntegerField()
    offset = serializers.IntegerField()
    logs = ExecutionLogSerializer(many=True)


class BulkRetryResultSerializer(serializers.Serializer):
    dry_run = serializers.BooleanField(required=False, help_text="Present (true) when nothing was retried.")
    retried = serializers.IntegerField(required=False, help_text="Present when the executions were retried.")
    count = serializers.IntegerField()
    execution_ids = serializers.ListField(child=serializers.UUIDField())
    outdated = serializers.IntegerField(help_text="How many of the selected runs are on an older version than "
                                                  "their workflow's latest.")
    refused = serializers.DictField(child=serializers.CharField(), help_text=(
        "Runs not retried, by id, with the reason: the latest version cannot take them over."))


class WorkflowDuplicateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200, required=False, help_text='The copy\'s name; "<name> (copy)" by default.')


class WorkflowValidationSerializer(serializers.Serializer):
    valid = serializers.BooleanField(help_text="Whether a save of this body would pass the server's checks.")
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()), help_text=(
        'What a save would refuse, by field path as its 400 names them ("name", "steps[1].key", '
        '"steps.crm.config.url"); empty when valid.'))
    warnings = serializers.DictField(child=serializers.ListField(child=serializers.CharField()), help_text=(
        "What a save accepts but a run would fail on, by field path as errors: a step naming a credential "
        'the workflow\'s owner does not have ("steps.crm.config.auth.credential").'))


class StepTypeSerializer(serializers.Serializer):
    name = serializers.CharField()
    description = serializers.CharField()
    category = serializers.CharField()
    config_schema = serializers.DictField(help_text="JSON Schema of the step's config.")
    output_schema = serializers.DictField(help_text="JSON Schema of the step's output.")
    example = serializers.DictField(help_text="An example config.")
    example_data = serializers.DictField(help_text="What the example's templates render over (input, steps), "
                                                   "as a run's data: sample data to try the example with.")
    branches = serializers.ListField(child=serializers.CharField(), allow_null=True,
                                     help_text="The branches a step of this type can choose, or null.")
    side_effects = serializers.ChoiceField(choices=["always", "never", "by_config"], help_text=(
        "Whether a step of this type changes something outside the run: a replay answers such a step from the "
        "original run's output instead of running it. by_config: it depends on the config (side_effects_note)."))
    side_effects_note = serializers.CharField(help_text="With by_config: which configs have side effects.")
    calls_hosts = serializers.BooleanField(help_text="Whether it calls hosts: a step of this type may set its own "
                                                     "limits (concurrency, rate).")


class SampleStepSerializer(serializers.Serializer):
    output = serializers.JSONField(help_text="What the upstream step answered (templates: steps.<key>.output).")


class StepTrySerializer(serializers.Serializer):
    key = serializers.RegexField(STEP_KEY_PATTERN, max_length=100, required=False, default="step",
                                 help_text="The step's key, as the handler would see it.")
    config = serializers.DictField(required=False, default=dict, help_text="The step's config; templates allowed.")
    input = serializers.DictField(source="input_data", required=False, default=dict,
                                  help_text="A sample run input (templates: input.<field>).")
    steps = serializers.DictField(child=SampleStepSerializer(), required=False, default=dict,
                                  help_text='Sample outputs of upstream steps: {"<key>": {"output": {...}}}.')
    timeout_seconds = serializers.FloatField(
        min_value=0.001, max_value=bounds.max_step_timeout(), required=False, allow_null=True, default=None,
        help_text="Time limit; the server's default when absent, and never above its maximum (30 s by default).")


class PinnedStepSerializer(serializers.Serializer):
    input = serializers.JSONField(required=False, help_text="The step's recorded input (its rendered config).")
    output = serializers.JSONField(required=False, help_text="Its output: what {{ steps.<key>.output }} holds in a test.")


class PinnedDataSerializer(serializers.Serializer):
    """For the schema: the service checks the body (pinned_data_check) and keeps it as given."""

    input = serializers.DictField(help_text="The sample run input: the Run dialog's and Test's {{ input }}.")
    steps = serializers.DictField(child=PinnedStepSerializer(), help_text='{"<step key>": {"input", "output"}}')
    source_execution = serializers.CharField(allow_null=True, help_text="The run the data was pinned from, if any.")


class StepTryLogSerializer(serializers.Serializer):
    level = serializers.CharField()
    message = serializers.CharField()
    details = serializers.DictField()


class StepTryResultSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["completed", "failed", "waiting", "would_start_children"])
    output = serializers.JSONField(allow_null=True, help_text=(
        "completed: the step's output; waiting: {until, signal, output}; would_start_children: "
        "{workflow_id, inputs, parallelism, collect_errors, single}; failed: null."))
    error = serializers.CharField(allow_null=True, help_text="failed: what went wrong; else null.")
    error_details = serializers.DictField(allow_null=True, help_text=(
        'failed: {"type": the error class (StepError, StepTimeout...), "retryable": whether the engine '
        "would retry it, and what the error adds}, as a task execution's error_details; else null."))
    traceback = serializers.CharField(allow_blank=True, help_text="When the handler raised an unexpected error.")
    rendered_config = serializers.JSONField(allow_null=True, help_text="The config after templating (redacted).")
    logs = StepTryLogSerializer(many=True, help_text="What the handler logged.")
    duration_ms = serializers.FloatField()
