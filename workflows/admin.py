"""Django admin for ops: browse definitions and runs; retry and cancel through the services."""

from django.contrib import admin, messages

from . import services
from .errors import Conflict
from .models import Credential, ExecutionLog, TaskExecution, Workflow, WorkflowExecution, WorkflowStep, WorkflowVersion


class WorkflowStepInline(admin.TabularInline):
    model = WorkflowStep
    extra = 0
    fields = ["key", "name", "task_type", "step_order", "timeout_seconds", "max_retries", "when"]
    readonly_fields = fields
    can_delete = False
    show_change_link = True


@admin.register(Workflow)
class WorkflowAdmin(admin.ModelAdmin):
    list_display = ["name", "owner", "status", "version", "max_concurrency", "updated_at"]
    list_filter = ["status"]
    search_fields = ["name", "id"]
    readonly_fields = ["id", "version", "created_at", "updated_at"]
    inlines = [WorkflowStepInline]


@admin.register(WorkflowVersion)
class WorkflowVersionAdmin(admin.ModelAdmin):
    list_display = ["workflow", "number", "created_at", "created_by"]
    readonly_fields = ["workflow", "number", "definition", "created_at", "created_by"]


class TaskExecutionInline(admin.TabularInline):
    model = TaskExecution
    extra = 0
    fields = ["step_key", "status", "attempt", "started_at", "completed_at", "error_message", "worker_id"]
    readonly_fields = fields
    can_delete = False


class ExecutionLogInline(admin.TabularInline):
    model = ExecutionLog
    extra = 0
    fields = ["timestamp", "level", "step_key", "message"]
    readonly_fields = fields
    can_delete = False


@admin.register(WorkflowExecution)
class WorkflowExecutionAdmin(admin.ModelAdmin):
    list_display = ["id", "workflow", "status", "triggered_by", "retry_count", "created_at", "completed_at"]
    list_filter = ["status", "triggered_by", "workflow", "created_at"]
    search_fields = ["id", "idempotency_key"]
    readonly_fields = [f.name for f in WorkflowExecution._meta.fields]
    inlines = [TaskExecutionInline, ExecutionLogInline]
    actions = ["retry", "cancel"]

    def has_add_permission(self, request):
        return False

    @admin.action(description="Retry the selected failed executions")
    def retry(self, request, queryset):
        done = services.executions_retry_failed(executions=queryset, user=request.user)
        self.message_user(request, f"Retried {len(done)} execution(s).", messages.SUCCESS)

    @admin.action(description="Cancel the selected executions")
    def cancel(self, request, queryset):
        count = 0
        for execution in queryset:
            try:
                services.execution_cancel(execution=execution, user=request.user)
                count += 1
            except Conflict:
                pass
        self.message_user(request, f"Cancelled {count} execution(s).", messages.SUCCESS)


@admin.register(Credential)
class CredentialAdmin(admin.ModelAdmin):
    """Names only: values are set through the API and never shown."""

    list_display = ["name", "owner", "description", "updated_at"]
    search_fields = ["name"]
    fields = ["owner", "name", "description", "created_at", "updated_at"]
    readonly_fields = ["owner", "name", "created_at", "updated_at"]

    def has_add_permission(self, request):
        return False
