"""Definition (Workflow, WorkflowStep, WorkflowVersion) and execution (WorkflowExecution,
TaskExecution, ExecutionLog). The database is the source of truth for every decision."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.db.models import F, Q

from .bounds import SEARCH_FIELD_NAME_MAX_LENGTH, SEARCH_VALUE_MAX_LENGTH
from .bounds import STEP_KEY_MAX_LENGTH, STEP_KEY_PATTERN  # the step key's rule lives in bounds
from .querysets import ExecutionQuerySet, OwnedQuerySet, TaskExecutionQuerySet, WorkflowQuerySet
from .engine.planner.states import TASK_OPEN, ExecutionStatus, TaskStatus
from .engine.planner.compensation import PHASES

# The signal name of a parent attempt that waits for its child runs (workflows/engine/children.py).
WAITING_FOR_CHILDREN = "__children__"

step_key_validator = RegexValidator(
    STEP_KEY_PATTERN, "use letters, digits and underscores, starting with a letter or underscore "
                      "(the key is how templates name the step: steps.<key>.output)")


class WorkflowStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    ACTIVE = "active", "Active"
    ARCHIVED = "archived", "Archived"


class WorkflowKind(models.TextChoices):
    DESIGNED = "designed", "Designed"  # steps and edges as data (the designer, the API)
    CODE = "code", "Code"  # a Python class (workflows.code); read-only here, its definition follows the code


class TriggerSource(models.TextChoices):
    API = "api", "API"
    MANUAL = "manual", "Manual"
    WEBHOOK = "webhook", "Webhook"
    SCHEDULE = "schedule", "Schedule"
    EVENT = "event", "Event"
    PYTHON = "python", "Python"
    WORKFLOW = "workflow", "Parent workflow"
    REPLAY = "replay", "Replay"  # a dry run of another run (replay_of)
    ERROR = "error", "Error workflow"  # started because another run failed for good (ADR 0034)


class RetryFields(models.Model):
    """A retry policy's fields; empty means "inherit" (a step from its workflow, a workflow from the defaults)."""

    max_retries = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Retries after the first attempt.")
    retry_base_delay = models.FloatField(
        null=True, blank=True, validators=[MinValueValidator(0)], help_text="Seconds before the first retry.")
    retry_backoff_factor = models.FloatField(
        null=True, blank=True, validators=[MinValueValidator(1)], help_text="Multiplier per retry.")
    retry_max_delay = models.FloatField(
        null=True, blank=True, validators=[MinValueValidator(0)], help_text="Longest wait between attempts, seconds.")

    class Meta:
        abstract = True

    def retry_policy_fields(self) -> dict:
        return {"max_retries": self.max_retries, "base_delay": self.retry_base_delay,
                "backoff_factor": self.retry_backoff_factor, "max_delay": self.retry_max_delay}


class Workflow(RetryFields):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="workflows")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    status = models.CharField(max_length=16, choices=WorkflowStatus.choices, default=WorkflowStatus.DRAFT)
    kind = models.CharField(max_length=16, choices=WorkflowKind.choices, default=WorkflowKind.DESIGNED,
                            help_text="Designed (steps as data) or code (a Python class, read-only here).")
    version = models.PositiveIntegerField(
        default=0, help_text="Number of the latest published version; 0 until first activated.")
    metadata = models.JSONField(default=dict, blank=True)
    max_concurrency = models.PositiveIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1)],
        help_text="At most this many running executions; more wait as pending, first in first out.")
    concurrency_key = models.CharField(
        max_length=500, blank=True,
        help_text="Expression over the input (e.g. {{ input.phone }}): one running execution per value.")
    paused = models.BooleanField(
        default=False, help_text="Paused (POST .../pause/): its runs in flight were paused and its new runs start "
                                 "paused, until unpaused (docs/adr/0033-pause-and-resume.md).")
    search_fields = models.JSONField(
        default=dict, blank=True,
        help_text='Templates over the input or step outputs ({"phone": "{{ input.phone }}"}) whose values each '
                  "run keeps, indexed: runs are found by them (?search.phone=...). Versioned with the definition.")
    limits = models.JSONField(
        default=dict, blank=True, db_default={},
        help_text='Flow control ({"concurrency": {...}, "rate": {...}, "debounce": {...}, "priority": "..."}; '
                  "workflows/flow_limits.py). Versioned with the definition.")
    error_workflow = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        help_text="Started with the failed run's data whenever a run of this workflow fails for good; "
                  "empty: the owner's default (ErrorWorkflowDefault). A setting, not versioned (ADR 0034).")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = WorkflowQuerySet.as_manager()

    class Meta:
        ordering = ["-updated_at"]
        indexes = [models.Index(fields=["owner", "status"], name="workflow_owner_status")]
        constraints = [models.UniqueConstraint(fields=["name"], condition=Q(kind="code"),
                                               name="code_workflow_name_unique")]

    def __str__(self) -> str:
        return self.name


class ErrorWorkflowDefault(models.Model):
    """A user's default error workflow: started when a run of theirs fails for good and its workflow
    names none of its own (ADR 0034)."""

    owner = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True,
                                 related_name="error_workflow_default")
    error_workflow = models.ForeignKey(Workflow, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                                       help_text="The owner's workflow started for a failed run; empty: none.")
    updated_at = models.DateTimeField(auto_now=True)


class WorkflowStep(RetryFields):
    """One node of a workflow's editable definition. Runs never read these rows: they read a version."""

    workflow = models.ForeignKey(Workflow, on_delete=models.CASCADE, related_name="steps")
    key = models.CharField(max_length=STEP_KEY_MAX_LENGTH, validators=[step_key_validator])
    name = models.CharField(max_length=200, blank=True)
    task_type = models.CharField(max_length=100)
    config = models.JSONField(default=dict, blank=True)
    depends_on = models.ManyToManyField("self", symmetrical=False, related_name="dependents", blank=True,
                                        through="StepDependency", through_fields=("step", "depends_on"))
    step_order = models.IntegerField(default=0)
    timeout_seconds = models.PositiveIntegerField(null=True, blank=True, validators=[MinValueValidator(1)])
    when = models.TextField(blank=True, help_text="Condition over the run's data; the step is skipped when false.")
    position_x = models.FloatField(default=0)
    position_y = models.FloatField(default=0)
    continue_on_failure = models.BooleanField(
        default=False, help_text="When it fails for good, the run carries on as if it completed, its output "
                                 "carrying the error.")
    limits = models.JSONField(
        default=dict, blank=True, db_default={},
        help_text='A step\'s flow control, for types that call hosts ({"concurrency": {...}, "rate": {...}}).')
    compensate_with = models.CharField(
        max_length=STEP_KEY_MAX_LENGTH, blank=True, default="", db_default="",
        help_text="The key of the step that undoes this one (a step that runs only as a compensation) when a run "
                  "fails for good or is cancelled with compensate, after this step completed; empty: none.")

    class Meta:
        ordering = ["step_order", "id"]
        constraints = [models.UniqueConstraint(fields=["workflow", "key"], name="step_key_unique_in_workflow")]

    def __str__(self) -> str:
        return f"{self.workflow_id}:{self.key}"


class RateBucket(models.Model):
    """A rate limit's bucket (one per limit and key value): the theoretical arrival time of its next
    slot (workflows/flow_limits.py's reserve). Taking a slot updates this one row."""

    # Whose limit: "workflow:<id>", "step:<workflow id>:<step key>" or "named:<owner id>:<name>".
    scope = models.CharField(max_length=250)
    key = models.CharField(max_length=255, blank=True, help_text="The limit's key template's value for the taker.")
    tat = models.DateTimeField(help_text="When the next slot is free at the steady rate.")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["scope", "key"], name="rate_bucket_unique")]

    def __str__(self) -> str:
        return f"{self.scope}:{self.key}"


class LimitLock(models.Model):
    """One row per concurrency limit (limits.concurrency: a workflow's own, or a named one shared by an
    owner's workflows): admission locks it (SELECT ... FOR UPDATE), so one admission at a time decides
    for the limit. It counts nothing: the slots are the limit's running runs (docs/adr/0038)."""

    scope = models.CharField(max_length=250, unique=True)

    def __str__(self) -> str:
        return self.scope


class StepDependency(models.Model):
    """An edge of the graph: `step` runs after `depends_on`; with a `branch`, only when `depends_on`
    chose that branch (a conditional's "true", an approval's "rejected"...)."""

    step = models.ForeignKey(WorkflowStep, on_delete=models.CASCADE, related_name="upstream_links")
    depends_on = models.ForeignKey(WorkflowStep, on_delete=models.CASCADE, related_name="downstream_links")
    branch = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["step", "depends_on"], name="dependency_unique")]

    @property
    def ref(self) -> str:
        """How definitions and the API write it: "key" or "key:branch"."""
        return self.ref_of(self.depends_on.key, self.branch)

    @staticmethod
    def ref_of(key: str, branch: str) -> str:
        return f"{key}:{branch}" if branch else key


class WorkflowVersion(models.Model):
    """A frozen definition. An execution runs the version it started with, whatever edits come later."""

    workflow = models.ForeignKey(Workflow, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    definition = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")

    class Meta:
        ordering = ["-number"]
        constraints = [models.UniqueConstraint(fields=["workflow", "number"], name="version_number_unique")]

    def __str__(self) -> str:
        return f"{self.workflow_id} v{self.number}"


class PinnedData(models.Model):
    """A workflow's pinned data (n8n's): a sample run input and, per step key, a recorded input and
    output, used by the designer's "Test this step" and the Run dialog. Never read by the engine, so
    no triggered run sees it; not part of the versioned definition nor of an export (ADR 0029)."""

    workflow = models.OneToOneField(Workflow, on_delete=models.CASCADE, related_name="pinned_data",
                                    primary_key=True)
    data = models.JSONField(default=dict, blank=True, help_text=(
        '{"input": {...}, "steps": {"<key>": {"input": {...}, "output": ...}}, "source_execution": id | null}'))
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")

    def __str__(self) -> str:
        return f"pinned data of {self.workflow_id}"


class WorkflowExecution(models.Model):
    state_machine = "execution"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    workflow = models.ForeignKey(Workflow, on_delete=models.CASCADE, related_name="executions")
    workflow_version = models.ForeignKey(WorkflowVersion, on_delete=models.PROTECT, related_name="executions")
    status = models.CharField(max_length=16, choices=ExecutionStatus.choices, default=ExecutionStatus.PENDING)
    idempotency_key = models.CharField(max_length=255, null=True, blank=True)
    input = models.JSONField(default=dict, blank=True)
    output = models.JSONField(default=dict, blank=True)
    error_message = models.TextField(blank=True)
    error_details = models.JSONField(default=dict, blank=True)
    retry_count = models.PositiveIntegerField(default=0, help_text="How many times the run was resumed by a retry.")
    max_retries = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text=(
            "Given when the run was started: the retries of each step that sets none of its own, in place "
            "of the workflow's default. Empty: the workflow's (and steps') policy as defined."))
    triggered_by = models.CharField(max_length=16, choices=TriggerSource.choices, default=TriggerSource.API)
    triggered_by_user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                          on_delete=models.SET_NULL, related_name="+")
    concurrency_key = models.CharField(max_length=255, blank=True,
                                       help_text="The value of the workflow's concurrency key for this run.")
    parent_task = models.ForeignKey("TaskExecution", null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="child_executions",
                                    help_text="The sub_workflow or for_each step that started this run.")
    child_index = models.PositiveIntegerField(null=True, blank=True, help_text="Its item's place in a for_each.")
    context = models.JSONField(default=dict, blank=True,
                               help_text="Data gathered while running (signal payloads); templates see it as context.")
    overrides = models.JSONField(
        default=dict, blank=True, help_text=(
            "Edit and resume (a retry with overrides): {\"input\": {...}, \"steps\": {key: {\"config\": {...}}}}, "
            "what this run uses from then on in place of its input and those steps' configs. Never the workflow's."))
    overridden_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                      related_name="+", help_text="Who last gave overrides.")
    overridden_at = models.DateTimeField(null=True, blank=True, help_text="When overrides were last given.")
    replay_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="replays",
        help_text="The run this one replays as a dry run (docs/adr/0026-replay-as-a-dry-run.md).")
    handled_failures = models.JSONField(
        default=list, blank=True,
        help_text="The steps whose failure the run handled (a failure path taken, or continue on failure), in "
                  "the graph's order: a completed run with some completed with handled failures.")
    replay_mocks = models.JSONField(
        null=True, blank=True,
        help_text="Set on a replay only (empty for a real run): the outputs the user gave by step key. A replay's "
                  "steps with side effects answer from these, else from the original run's output, never for real. "
                  "On a test run: the workflow's pinned outputs frozen at its start, by step key.")
    test_run = models.BooleanField(
        default=False,
        help_text="A test run with pinned data (docs/adr/0031): its steps with a pinned output (replay_mocks) "
                  "answer from it; every other step runs for real.")
    debounce_key = models.CharField(
        max_length=255, blank=True, default="", db_default="",
        help_text="The value of the workflow's debounce key for this run (limits.debounce): while it has not "
                  "started, a trigger with the same value replaces its input and pushes its start back.")
    paused_from = models.CharField(
        max_length=16, blank=True, help_text="Set while paused: the status an unpause returns the run to "
                                             "(running, or pending if it had not started).")
    # Database defaults too (the new columns here): rows written by raw INSERTs that predate them (the
    # benchmarks' fills) get "" / NULL instead of failing on NOT NULL.
    phase = models.CharField(
        max_length=24, blank=True, default="", db_default="", choices=[("", "Normal"), *((p, p.replace("_", " ").capitalize()) for p in PHASES)],
        help_text="Its compensation (docs/adr/0035-compensation.md): empty while none ran; compensating, then "
                  "compensated or compensation_failed.")
    compensation = models.JSONField(
        default=dict, blank=True, null=True,
        help_text="Its compensation when one ran: why (failed or cancelled), the run's error, the plan (each step "
                  "and the step compensating it, latest completed first) and how it ended.")
    created_at = models.DateTimeField(auto_now_add=True)
    scheduled_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    duration_ms = models.BigIntegerField(
        null=True, blank=True, help_text="started_at to completed_at in milliseconds, set when the run finishes.")
    # Flow control at admission (workflows/engine/admission.py, docs/adr/0038): what the run's version's
    # `limits` said when it was created, kept on the run so that admitting it needs no definition.
    limit_scope = models.CharField(
        max_length=250, blank=True, default="", db_default="", help_text="Whose concurrency limit holds it: \"workflow:<id>\" or "
                                              "\"named:<owner id>:<name>\"; empty: no limits.concurrency.")
    limit_key = models.CharField(max_length=255, blank=True, default="", db_default="",
                                 help_text="Its limits.concurrency key's value.")
    limit_max = models.PositiveIntegerField(default=0, db_default=0, help_text="limits.concurrency.max when it was created.")
    priority = models.SmallIntegerField(default=0, db_default=0, help_text="limits.priority's value (higher starts first).")
    rate_key = models.CharField(max_length=255, blank=True, default="", db_default="", help_text="Its limits.rate key's value.")
    rate_slot_at = models.DateTimeField(
        null=True, blank=True, help_text="The start slot its limits.rate reserved for it (taken once); it waits "
                                         "pending until then.")

    objects = ExecutionQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["workflow", "idempotency_key"], condition=Q(idempotency_key__isnull=False),
                                    name="execution_idempotency_key_unique"),
        ]
        indexes = [
            models.Index(fields=["workflow", "status", "created_at"], name="execution_wf_status_created"),
            models.Index(fields=["status", "created_at"], name="execution_status_created"),
            models.Index(fields=["-created_at"], name="execution_created_desc"),
            models.Index(fields=["scheduled_at"], name="execution_scheduled", condition=Q(status=ExecutionStatus.PENDING)),
            # Debounce (services/debounce.py): the pending run a trigger with the same key replaces.
            models.Index(fields=["workflow", "debounce_key"], name="execution_debounce_pending",
                         condition=Q(status=ExecutionStatus.PENDING, started_at__isnull=True)
                         & ~Q(debounce_key="")),
            # Admission's pending order (docs/adr/0038): highest priority first, then oldest; per workflow
            # (max_concurrency / concurrency_key) and per concurrency limit (limits.concurrency).
            models.Index(F("workflow"), F("priority").desc(), F("created_at"), name="execution_wf_pending_prio",
                         condition=Q(status=ExecutionStatus.PENDING)),
            models.Index(F("limit_scope"), F("priority").desc(), F("created_at"), name="execution_scope_pending_prio",
                         condition=Q(status=ExecutionStatus.PENDING) & ~Q(limit_scope="")),
            models.Index(fields=["limit_scope", "created_at"], name="execution_scope_pending_age",
                         condition=Q(status=ExecutionStatus.PENDING) & ~Q(limit_scope="")),
            # The slots a limit's key holds: its running (or paused while running) runs.
            models.Index(fields=["limit_scope", "limit_key"], name="execution_scope_holding",
                         condition=Q(status__in=[ExecutionStatus.RUNNING, ExecutionStatus.PAUSED]) & ~Q(limit_scope="")),
            # The metrics' windows (monitoring/metrics.py): runs finished in a window, per workflow and
            # in all; and a workflow's last success.
            models.Index(fields=["workflow", "status", "completed_at"], name="execution_wf_status_done"),
            models.Index(fields=["completed_at"], name="execution_finished",
                         condition=Q(status__in=[ExecutionStatus.COMPLETED, ExecutionStatus.FAILED])),
        ]

    def __str__(self) -> str:
        return str(self.id)

    @property
    def is_replay(self) -> bool:
        """A dry run of another run: its steps with side effects never run for real (even once its
        original is deleted). A test run is not one (its unpinned steps run for real)."""
        return self.replay_mocks is not None and not self.test_run


class TaskExecution(models.Model):
    """One attempt of one step of one run (a retry is a new row with the next attempt number)."""

    state_machine = "task"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # No index of its own: task_attempt_unique (execution, step_key, visit, attempt) serves it, and
    # every index more is written by each of a step's three UPDATEs (docs/adr/0015-a-step-s-budget.md).
    execution = models.ForeignKey(WorkflowExecution, on_delete=models.CASCADE, related_name="task_executions",
                                  db_index=False)
    step_key = models.CharField(max_length=100)
    task_type = models.CharField(max_length=100)
    status = models.CharField(max_length=16, choices=TaskStatus.choices, default=TaskStatus.PENDING)
    visit = models.PositiveIntegerField(default=1, help_text="Which visit of the step (loops visit a step again).")
    attempt = models.PositiveIntegerField(default=1)
    workflow_version = models.PositiveIntegerField(
        null=True, blank=True,
        help_text="The number of the workflow version this attempt ran (or will run) with: a retry on the "
                  "latest version moves a run's open steps to it. Empty for attempts recorded before it was kept.")
    round_first_attempt = models.PositiveIntegerField(
        default=1, help_text="First attempt of the current retry round: the retry budget counts from here.")
    input = models.JSONField(null=True, blank=True, help_text="The step's config as rendered for this attempt.")
    output = models.JSONField(null=True, blank=True)
    error_message = models.TextField(blank=True)
    error_details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    queued_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    duration_ms = models.BigIntegerField(
        null=True, blank=True, help_text="started_at to completed_at in milliseconds, set when the attempt ends.")
    error_signature = models.CharField(
        max_length=16, blank=True,
        help_text="Hash of the error's pattern (workflows/signatures.py): failures that differ only in "
                  "numbers, ids and values share it.")
    branch = models.CharField(max_length=100, blank=True, help_text="The branch a completed step chose.")
    mocked = models.BooleanField(
        default=False, help_text="A replay's attempt that answered from a mock or a recording instead of running.")
    signal_name = models.CharField(max_length=100, blank=True, help_text="The signal a waiting step waits for.")
    compensates = models.CharField(
        max_length=100, blank=True, default="", db_default="",
        help_text="Set on a compensation's attempts: the key of the step it undoes (its output in steps.<key>).")
    held = models.BooleanField(
        default=False, help_text="Its run is paused: the claim refuses it and the sweeper's indexes leave it out "
                                 "(its timer keeps its due time) until the run is unpaused.")
    dispatched_at = models.DateTimeField(null=True, blank=True, help_text="When its message was last sent.")
    dispatch_count = models.PositiveSmallIntegerField(default=0, help_text="Messages sent for this attempt.")
    wake_at = models.DateTimeField(null=True, blank=True, help_text="When a retrying or waiting attempt is due.")
    # A step's own limits (flow_limits; engine/step_limits.py). Set only on attempts of steps with limits.
    throttled = models.CharField(
        max_length=16, blank=True, default="", db_default="",
        help_text="Why a ready attempt is held back by its step's limits: 'rate' (its slot, rate_slot_at, is "
                  "later) or 'concurrency' (every slot of its key is taken); empty otherwise.")
    rate_slot_at = models.DateTimeField(
        null=True, blank=True, help_text="The slot of its step's rate limit this attempt reserved (taken once): "
                                         "it starts no sooner.")
    limit_scope = models.CharField(
        max_length=250, blank=True, default="", db_default="", help_text="Its step's concurrency limit: 'step:<workflow>:<step>' or "
                                              "'named:<owner>:<name>'; empty for a step without one.")
    limit_key = models.CharField(max_length=255, blank=True, default="", db_default="",
                                 help_text="The value of its step's concurrency key for this attempt.")
    lease_expires_at = models.DateTimeField(null=True, blank=True,
                                            help_text="A running attempt whose lease expired lost its worker.")
    worker_id = models.CharField(max_length=255, blank=True)
    celery_task_id = models.CharField(max_length=255, blank=True)

    objects = TaskExecutionQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "attempt"]
        constraints = [
            models.UniqueConstraint(fields=["execution", "step_key", "visit", "attempt"], name="task_attempt_unique"),
        ]
        indexes = [
            # Not held: a paused run's timers and retries are out of the sweeper's index (ADR 33).
            models.Index(fields=["wake_at"], name="task_due",
                         condition=Q(status__in=[TaskStatus.RETRYING, TaskStatus.WAITING], held=False)),
            models.Index(fields=["lease_expires_at"], name="task_running_lease", condition=Q(status=TaskStatus.RUNNING)),
            models.Index(fields=["dispatched_at"], name="task_queued", condition=Q(status=TaskStatus.QUEUED, held=False)),
            # Step limits (engine/step_limits.py): ready attempts held back, by due time; the attempts
            # holding a concurrency slot of a scope and key.
            models.Index(fields=["wake_at"], name="task_throttled",
                         condition=Q(status=TaskStatus.PENDING, held=False) & ~Q(throttled="")),
            models.Index(fields=["limit_scope", "limit_key"], name="task_limit_slots",
                         condition=Q(status__in=[TaskStatus.QUEUED, TaskStatus.RUNNING]) & ~Q(limit_scope="")),
            # The sweeper's parents phase (children.idle_parents): parents waiting for child runs, in id
            # order, without reading the other waiting attempts (timers, signals: issue 14, ADR 14).
            models.Index(fields=["id"], name="task_waiting_children",
                         condition=Q(status=TaskStatus.WAITING, signal_name=WAITING_FOR_CHILDREN)),
            # The orchestrator (advance around a step): is any step of the run still open, or failed?
            models.Index(fields=["execution"], name="task_open", condition=Q(status__in=TASK_OPEN)),
            models.Index(fields=["execution"], name="task_failed_run", condition=Q(status=TaskStatus.FAILED)),
            # The metrics (monitoring/metrics.py): attempts that ended in a window; failures by signature.
            models.Index(fields=["completed_at"], name="task_finished",
                         condition=Q(status__in=[TaskStatus.COMPLETED, TaskStatus.FAILED])),
            models.Index(fields=["error_signature", "completed_at"], name="task_failed_signature",
                         condition=Q(status=TaskStatus.FAILED)),
        ]

    def __str__(self) -> str:
        return f"{self.execution_id}:{self.step_key}#{self.attempt}"

    @property
    def idempotency_key(self) -> str:
        """execution:step[:visit], the same for every attempt of a visit, so that a receiver can
        deduplicate a side effect that an earlier attempt already caused (no second OTP)."""
        base = f"{self.execution_id}:{self.step_key}"
        return base if self.visit == 1 else f"{base}:{self.visit}"


class ExecutionSearchValue(models.Model):
    """The value of one of its workflow's search fields for one run (workflows/search_fields.py):
    written when the run starts (fields over the input) or when a step it reads completes, in the
    engine's transaction. One row per run and field; a field with no value has no row.
    docs/adr/0028-search-by-business-data.md says why a table of its own rather than a JSON column."""

    id = models.BigAutoField(primary_key=True)
    # No index of its own: search_value_unique (execution, name) serves it.
    execution = models.ForeignKey(WorkflowExecution, on_delete=models.CASCADE, related_name="search_values",
                                  db_index=False)
    name = models.CharField(max_length=SEARCH_FIELD_NAME_MAX_LENGTH, help_text="The search field's name.")
    value = models.CharField(max_length=SEARCH_VALUE_MAX_LENGTH,
                             help_text="Its value as text (a number or boolean as JSON); exact matches only.")

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["execution", "name"], name="search_value_unique")]
        # ?search.<name>=<value>: the runs with that value, from the index alone (execution_id included).
        indexes = [models.Index(fields=["name", "value", "execution"], name="search_name_value")]

    def __str__(self) -> str:
        return f"{self.name}={self.value}"


class LogLevel(models.TextChoices):
    DEBUG = "debug", "Debug"
    INFO = "info", "Info"
    WARNING = "warning", "Warning"
    ERROR = "error", "Error"


class ExecutionLog(models.Model):
    """The audit trail: one line per transition, and what steps log."""

    # Served by log_execution_time (execution, timestamp): no index of its own.
    execution = models.ForeignKey(WorkflowExecution, on_delete=models.CASCADE, related_name="logs", db_index=False)
    task_execution = models.ForeignKey(TaskExecution, null=True, blank=True, on_delete=models.CASCADE,
                                       related_name="logs")
    step_key = models.CharField(max_length=100, blank=True)
    level = models.CharField(max_length=8, choices=LogLevel.choices, default=LogLevel.INFO)
    event = models.CharField(max_length=64, blank=True, help_text="Machine-readable kind, e.g. step.failed.")
    message = models.TextField()
    details = models.JSONField(default=dict, blank=True)
    timestamp = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["timestamp", "id"]
        indexes = [models.Index(fields=["execution", "timestamp"], name="log_execution_time")]

    def __str__(self) -> str:
        return f"[{self.level}] {self.message}"


class Credential(models.Model):
    """A secret a step may use ({{ secrets.NAME }}, or an http_request `auth`), encrypted at rest and
    never shown again after it is saved."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="credentials")
    name = models.CharField(max_length=100, validators=[step_key_validator],
                            help_text="How configs name it: {{ secrets.NAME }}.")
    description = models.CharField(max_length=500, blank=True)
    encrypted_value = models.TextField(help_text="Fernet token; the key comes from the environment.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = OwnedQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["owner", "name"], name="credential_name_unique_per_owner")]

    def __str__(self) -> str:
        return self.name


class ApprovalLinkUse(models.Model):
    """An approve/reject link that was used (workflows/approval_links.py): the row is what makes a
    link single-use, and an attempt answered by a link is answered by one link only."""

    token_digest = models.CharField(max_length=64, unique=True, help_text="sha256 of the token, not the token.")
    execution = models.ForeignKey(WorkflowExecution, on_delete=models.CASCADE, related_name="+", db_index=False)
    task_execution = models.OneToOneField(TaskExecution, on_delete=models.CASCADE, related_name="+",
                                          help_text="The waiting attempt the link decided.")
    step_key = models.CharField(max_length=100)
    approved = models.BooleanField()
    recipient = models.CharField(max_length=254, blank=True, help_text="Who the link was made for, if it said.")
    used_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{'approve' if self.approved else 'reject'} {self.step_key} ({self.used_at:%Y-%m-%d %H:%M})"
