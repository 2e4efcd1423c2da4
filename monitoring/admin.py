"""Admin for ops: alert rules and their history, and the process heartbeats, read-mostly.

Rules are created and changed through the API (validated there); here a rule can only be switched
on or off. History and heartbeats are records: read-only.
"""

from __future__ import annotations

from django.contrib import admin

from .models import AlertEvent, AlertRule, Heartbeat


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class AlertEventInline(admin.TabularInline):
    model = AlertEvent
    fields = readonly_fields = ("created_at", "state", "value", "runs", "message", "deliveries")
    extra = 0
    max_num = 0
    can_delete = False
    ordering = ("-created_at",)


@admin.register(AlertRule)
class AlertRuleAdmin(admin.ModelAdmin):
    list_display = ("name", "owner", "workflow", "step_key", "kind", "threshold", "state", "since", "enabled",
                    "last_evaluated_at", "last_notified_at")
    list_filter = ("state", "kind", "enabled")
    list_editable = ("enabled",)
    search_fields = ("name", "owner__username", "workflow__name")
    list_select_related = ("owner", "workflow")
    readonly_fields = tuple(f.name for f in AlertRule._meta.fields if f.name != "enabled")
    fields = ("enabled", *readonly_fields)
    inlines = [AlertEventInline]

    def has_add_permission(self, request):
        return False


@admin.register(AlertEvent)
class AlertEventAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "rule", "state", "value", "runs", "message")
    list_filter = ("state",)
    list_select_related = ("rule",)
    search_fields = ("rule__name", "message")


@admin.register(Heartbeat)
class HeartbeatAdmin(ReadOnlyAdmin):
    list_display = ("name", "role", "seen_at", "started_at")
    list_filter = ("role",)
