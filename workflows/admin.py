"""Django admin for ops: browse definitions and runs; retry and cancel runs through the services.

The rows are the engine's state. A hand edit of a status, an attempt, a timestamp or a version pin
would corrupt it, so everything here is read-only: definitions change through the API (validated
and versioned there), runs through the retry and cancel actions, which call workflows.services.
Credentials can be added and their value replaced (write-only) through workflows.credentials, as
the API does. Triggers have their own admin (triggers/admin.py), saved through the triggers' services.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import F
from django.forms.models import BaseInlineFormSet
from django.urls import reverse
from django.utils.html import format_html

from . import credentials, selectors, services
from .errors import Conflict
from .models import (ApprovalLinkUse, Credential, ExecutionLog, TaskExecution, Workflow, WorkflowExecution, WorkflowStep,
                     WorkflowVersion)
from .engine.planner.states import ExecutionStatus as E
from .secrets import MIN_REDACTED_LENGTH

# An execution's page shows this many of its latest attempts and log lines; the rest are one link away.
INLINE_ROWS = 200
FINISHED = (E.COMPLETED, E.FAILED, E.CANCELLED)
CREDENTIAL_VALUE_MAX = 65536  # as the API's CredentialInputSerializer


def _admin_link(obj, text=None) -> str:
    if obj is None:
        return "-"
    url = reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk])
    return format_html('<a href="{}">{}</a>', url, text or obj)


def _changelist_link(model, text: str, **filters) -> str:
    query = "&".join(f"{k}={v}" for k, v in filters.items())
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    return format_html('<a href="{}?{}">{}</a>', url, query, text)


def _model_fields(model) -> list[str]:
    return [f.name for f in model._meta.fields]


class ViewOnlyAdmin(admin.ModelAdmin):
    """Browse and search; no add, no change."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class ViewOnlyPartAdmin(ViewOnlyAdmin):
    """Rows that are part of a workflow or an execution (steps, versions, attempts, log lines): never
    deleted one by one, only with their parent, so has_delete_permission stays true for that cascade."""

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def change_view(self, request, object_id, form_url="", extra_context=None):
        return super().change_view(request, object_id, form_url, {**(extra_context or {}), "show_delete": False})

    def delete_view(self, request, object_id, extra_context=None):
        raise PermissionDenied


class LatestRowsFormSet(BaseInlineFormSet):
    """An inline of only the parent's latest `limit` rows (by `latest_first`), so that a big run's
    page stays fast; shown in the inline's own order. One query (a LIMIT subquery)."""

    limit = INLINE_ROWS
    latest_first: tuple[str, ...] = ()

    def get_queryset(self):
        if not hasattr(self, "_latest_rows"):
            rows = super().get_queryset()
            self._latest_rows = rows.filter(pk__in=rows.order_by(*self.latest_first).values("pk")[:self.limit])
        return self._latest_rows


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


# --- definitions ---------------------------------------------------------------------------------

class WorkflowStepInline(ReadOnlyInline):
    model = WorkflowStep
    fields = ["key", "name", "task_type", "step_order", "timeout_seconds", "max_retries", "when"]
    readonly_fields = fields


@admin.register(Workflow)
class WorkflowAdmin(ViewOnlyAdmin):
    list_display = ["name", "owner", "status", "kind", "version", "max_concurrency", "created_at", "updated_at"]
    list_filter = ["status", "kind", "created_at", "updated_at"]
    search_fields = ["name", "id", "owner__username"]
    list_select_related = ["owner"]
    readonly_fields = [*_model_fields(Workflow), "runs"]
    inlines = [WorkflowStepInline]

    @admin.display(description="Executions")
    def runs(self, workflow: Workflow) -> str:
        return _changelist_link(WorkflowExecution, "this workflow's executions", workflow__id__exact=workflow.pk)

    def has_delete_permission(self, request, obj=None) -> bool:
        """Like the API: not while runs are pending or running (archive the workflow instead)."""
        if obj is not None and selectors.workflow_has_runs_in_flight(obj):
            return False
        return super().has_delete_permission(request, obj)


@admin.register(WorkflowStep)
class WorkflowStepAdmin(ViewOnlyPartAdmin):
    list_display = ["key", "workflow", "task_type", "step_order", "dependencies"]
    list_filter = ["task_type"]
    search_fields = ["key", "name", "workflow__name", "workflow__id"]
    list_select_related = ["workflow"]
    readonly_fields = [*_model_fields(WorkflowStep), "dependencies"]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related(services.UPSTREAM)

    @admin.display(description="Depends on")
    def dependencies(self, step: WorkflowStep) -> str:
        return ", ".join(link.ref for link in step.upstream_links.all()) or "-"


@admin.register(WorkflowVersion)
class WorkflowVersionAdmin(ViewOnlyPartAdmin):
    list_display = ["workflow", "number", "created_at", "created_by"]
    list_filter = ["created_at"]
    search_fields = ["workflow__name", "workflow__id"]
    list_select_related = ["workflow", "created_by"]
    readonly_fields = _model_fields(WorkflowVersion)


# --- runs ----------------------------------------------------------------------------------------

class LatestAttemptsFormSet(LatestRowsFormSet):
    latest_first = ("-created_at", "-attempt")


class TaskExecutionInline(ReadOnlyInline):
    model = TaskExecution
    formset = LatestAttemptsFormSet
    verbose_name_plural = f"Task executions (the latest {INLINE_ROWS} attempts)"
    fields = ["step_key", "status", "visit", "attempt", "queued_at", "started_at", "completed_at", "branch",
              "error_message", "worker_id"]
    readonly_fields = fields

    def get_queryset(self, request):
        # In the order they ran; the not yet queued ones last.
        return super().get_queryset(request).order_by(F("queued_at").asc(nulls_last=True), "created_at", "attempt")


class LatestLogsFormSet(LatestRowsFormSet):
    latest_first = ("-timestamp", "-id")


class ExecutionLogInline(ReadOnlyInline):
    model = ExecutionLog
    formset = LatestLogsFormSet
    verbose_name_plural = f"Log (the last {INLINE_ROWS} lines)"
    fields = ["timestamp", "level", "event", "step_key", "message"]
    readonly_fields = fields
    show_change_link = False


@admin.register(WorkflowExecution)
class WorkflowExecutionAdmin(admin.ModelAdmin):
    list_display = ["id", "workflow", "status", "triggered_by", "retry_count", "created_at", "started_at",
                    "completed_at", "error"]
    list_filter = ["status", "triggered_by", "workflow", "created_at"]
    date_hierarchy = "created_at"
    search_fields = ["id", "idempotency_key"]
    list_select_related = ["workflow"]
    readonly_fields = [*_model_fields(WorkflowExecution), "attempts", "log"]
    inlines = [TaskExecutionInline, ExecutionLogInline]
    actions = ["retry", "bulk_retry_failed", "cancel", "pause", "unpause"]

    def has_add_permission(self, request) -> bool:
        return False  # runs start through the API, triggers or Python (services.execution_start)

    def has_delete_permission(self, request, obj=None) -> bool:
        """A finished run may be deleted (with its attempts and logs); one in flight may not."""
        if obj is not None and obj.status not in FINISHED:
            return False
        return super().has_delete_permission(request, obj)

    def save_model(self, request, obj, form, change) -> None:
        """Nothing to save (every field is read-only), and a save would write back every column as read
        when the page was posted, over what a worker wrote since. (The view-only inlines save nothing.)"""

    @admin.display(description="Error")
    def error(self, execution: WorkflowExecution) -> str:
        return execution.error_message[:120]

    @admin.display(description="All attempts")
    def attempts(self, execution: WorkflowExecution) -> str:
        return _changelist_link(TaskExecution, "every attempt of this run", execution__id__exact=execution.pk)

    @admin.display(description="Whole log")
    def log(self, execution: WorkflowExecution) -> str:
        return _changelist_link(ExecutionLog, "every log line of this run", execution__id__exact=execution.pk)

    @admin.action(description="Retry the selected failed or cancelled executions", permissions=["change"])
    def retry(self, request, queryset):
        retried = skipped = 0
        for execution in queryset.select_related(None).only("pk"):
            try:
                services.execution_retry(execution=execution, user=request.user)
                retried += 1
            except Conflict:
                skipped += 1
        self._report(request, f"Retried {retried} execution(s)", skipped, "not failed or cancelled")

    @admin.action(description="Bulk retry: the failed executions among the selected", permissions=["change"])
    def bulk_retry_failed(self, request, queryset):
        selected = queryset.count()
        retried = services.executions_retry_failed(executions=queryset.select_related(None), user=request.user)
        self._report(request, f"Retried {len(retried)} failed execution(s)", selected - len(retried), "not failed")

    @admin.action(description="Cancel the selected executions", permissions=["change"])
    def cancel(self, request, queryset):
        cancelled = skipped = 0
        for execution in queryset.select_related(None).only("pk"):
            try:
                services.execution_cancel(execution=execution, user=request.user)
                cancelled += 1
            except Conflict:
                skipped += 1
        self._report(request, f"Cancelled {cancelled} execution(s)", skipped, "already finished")

    @admin.action(description="Pause the selected executions", permissions=["change"])
    def pause(self, request, queryset):
        self._each(request, queryset, services.execution_pause, "Paused", "not pending or running")

    @admin.action(description="Unpause the selected executions", permissions=["change"])
    def unpause(self, request, queryset):
        self._each(request, queryset, services.execution_unpause, "Unpaused", "not paused")

    def _each(self, request, queryset, service, done: str, why: str) -> None:
        """One service call per selected execution (each under its run's lock); a refused one is skipped."""
        changed = skipped = 0
        for execution in queryset.select_related(None).only("pk"):
            try:
                service(execution=execution, user=request.user)
                changed += 1
            except Conflict:
                skipped += 1
        self._report(request, f"{done} {changed} execution(s)", skipped, why)

    def _report(self, request, done: str, skipped: int, why: str) -> None:
        self.message_user(request, f"{done}.", messages.SUCCESS)
        if skipped:
            self.message_user(request, f"Skipped {skipped} execution(s): {why}.", messages.WARNING)


@admin.register(TaskExecution)
class TaskExecutionAdmin(ViewOnlyPartAdmin):
    list_display = ["step_key", "run", "workflow", "status", "visit", "attempt", "task_type", "created_at",
                    "started_at", "completed_at"]
    list_filter = ["status", "task_type", "created_at"]
    search_fields = ["id", "step_key", "execution__id", "celery_task_id", "worker_id"]
    list_select_related = ["execution__workflow"]
    readonly_fields = [*_model_fields(TaskExecution), "idempotency_key"]
    ordering = ["-created_at"]
    show_full_result_count = False  # a count(*) of a big table on every page

    @admin.display(description="Execution")
    def run(self, task: TaskExecution) -> str:
        return _admin_link(task.execution)

    @admin.display(description="Workflow")
    def workflow(self, task: TaskExecution) -> str:
        return task.execution.workflow.name


@admin.register(ExecutionLog)
class ExecutionLogAdmin(ViewOnlyPartAdmin):
    list_display = ["timestamp", "level", "event", "step_key", "run", "message"]
    list_filter = ["level", "timestamp"]
    search_fields = ["message", "event", "step_key", "execution__id"]
    list_select_related = ["execution"]
    readonly_fields = _model_fields(ExecutionLog)
    ordering = ["-id"]  # newest first, on the primary key's index
    show_full_result_count = False

    @admin.display(description="Execution")
    def run(self, line: ExecutionLog) -> str:
        return _admin_link(line.execution)


@admin.register(ApprovalLinkUse)
class ApprovalLinkUseAdmin(ViewOnlyPartAdmin):
    """Approve/reject links that were used (who the link was for, what it decided, when); the token
    itself is never stored, only its digest."""

    list_display = ["used_at", "step_key", "approved", "recipient", "run"]
    list_filter = ["approved", "used_at"]
    search_fields = ["recipient", "step_key", "execution__id"]
    list_select_related = ["execution"]
    readonly_fields = _model_fields(ApprovalLinkUse)
    ordering = ["-used_at"]

    @admin.display(description="Execution")
    def run(self, use: ApprovalLinkUse) -> str:
        return _admin_link(use.execution)


# --- credentials ---------------------------------------------------------------------------------

class CredentialAdminForm(forms.ModelForm):
    """A credential's value is write-only: typed in (never shown, never put back in the page), saved
    encrypted by the same service as the API's; left empty when changing, the value is kept."""

    value = forms.CharField(
        required=False, strip=False, min_length=MIN_REDACTED_LENGTH, max_length=CREDENTIAL_VALUE_MAX,
        widget=forms.PasswordInput(render_value=False),
        help_text="Write-only: never shown again. When changing, leave it empty to keep the current value.")

    class Meta:
        model = Credential
        fields = ["owner", "name", "description"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance._state.adding:
            self.fields["value"].required = True
            self.fields["value"].help_text = "Write-only: never shown again."


@admin.register(Credential)
class CredentialAdmin(admin.ModelAdmin):
    """Names and descriptions; a value goes in (credentials.credential_create / credential_save, as
    the API does) and never comes out."""

    form = CredentialAdminForm
    list_display = ["name", "owner", "description", "updated_at"]
    search_fields = ["name", "owner__username"]
    list_select_related = ["owner"]
    autocomplete_fields = ["owner"]
    fields = ["owner", "name", "description", "value", "created_at", "updated_at"]

    def get_readonly_fields(self, request, obj=None):
        # A credential is named by its owner and name (configs refer to it by name): set once.
        return ["created_at", "updated_at"] if obj is None else ["owner", "name", "created_at", "updated_at"]

    def save_model(self, request, obj: Credential, form, change: bool) -> None:
        # The form checked the value's length and that the name is free (the model's unique constraint).
        value = form.cleaned_data.get("value") or None
        description = form.cleaned_data.get("description", "")
        if change:
            saved = credentials.credential_save(owner=obj.owner, name=obj.name, value=value, description=description)
        else:
            saved = credentials.credential_create(owner=obj.owner, name=obj.name, value=value, description=description)
        obj.pk = saved.pk  # the service made the row: the admin's redirect and history follow it
        obj.refresh_from_db()
