"""Triggers in the admin (schedules' PeriodicTasks are django-celery-beat's own admin)."""

from django.contrib import admin

from .models import Event, Trigger


@admin.register(Trigger)
class TriggerAdmin(admin.ModelAdmin):
    list_display = ["id", "workflow", "type", "name", "enabled", "cron", "event_name", "last_fired_at"]
    list_filter = ["type", "enabled"]
    search_fields = ["id", "name", "event_name", "workflow__name"]
    list_select_related = ["workflow"]
    readonly_fields = ["id", "workflow", "type", "token", "periodic_task", "last_fired_at", "created_at", "updated_at"]
    exclude = ["secret_encrypted"]


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = ["name", "at", "owner", "created_at"]
    search_fields = ["name", "id"]
    readonly_fields = ["id", "name", "payload", "at", "owner", "created_at"]

    def has_add_permission(self, request):
        return False
