"""Triggers in the admin, saved through the same services as the API (triggers/services.py): a
schedule's PeriodicTask follows its cron, timezone and enabled flag whichever way it is changed, a
new webhook gets its token and signing secret, and a delete takes the PeriodicTask with it.
(django-celery-beat's own admin shows the PeriodicTasks; change the schedule here, not there.)"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from workflows import bounds
from workflows.errors import InvalidInput

from . import services
from .cron import next_fires
from .models import Event, RefusedDelivery, Trigger, TriggerType

MAX_HEADERS = 50
MAX_HEADER_NAME = 100
CATCH_UP_MAX = 100  # as the API's TriggerInputSerializer


class TriggerAdminForm(forms.ModelForm):
    """The fields a user may set (TRIGGER_FIELDS, plus the workflow and the type when adding), with
    the API's bounds; the services' own rules (trigger_validate) checked before anything is saved."""

    include_headers = forms.CharField(
        required=False, max_length=MAX_HEADERS * (MAX_HEADER_NAME + 2),
        help_text=f"Request headers copied into the input (_webhook.headers): names separated by commas, "
                  f"at most {MAX_HEADERS}.")
    catch_up_limit = forms.IntegerField(min_value=0, max_value=CATCH_UP_MAX, initial=3,
                                        help_text="With catch_up: how many missed fires to run, at most.")

    class Meta:
        model = Trigger
        fields = ["workflow", "type", "name", "enabled", "require_signature", "include_headers", "cron", "timezone",
                  "missed_fires", "catch_up_limit", "event_name", "offset_minutes"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        limit = bounds.max_offset_minutes()
        if "offset_minutes" in self.fields:
            self.fields["offset_minutes"] = forms.IntegerField(
                min_value=-limit, max_value=limit, initial=0, help_text=Trigger._meta.get_field("offset_minutes").help_text)
        if not self.is_bound and self.instance.pk and not self.instance._state.adding:
            self.initial["include_headers"] = ", ".join(self.instance.include_headers or [])

    def clean_include_headers(self) -> list[str]:
        names = [name.strip() for name in (self.cleaned_data.get("include_headers") or "").split(",") if name.strip()]
        if len(names) > MAX_HEADERS:
            raise forms.ValidationError(f"at most {MAX_HEADERS} headers; {len(names)} given")
        too_long = [name for name in names if len(name) > MAX_HEADER_NAME]
        if too_long:
            raise forms.ValidationError(f"a header name has at most {MAX_HEADER_NAME} characters")
        return names

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        current = self.instance
        probe = Trigger(workflow_id=cleaned["workflow"].pk if cleaned.get("workflow") else current.workflow_id,
                        type=cleaned.get("type", current.type),
                        **{f: cleaned[f] if f in cleaned else getattr(current, f) for f in services.TRIGGER_FIELDS})
        try:
            services.trigger_validate(trigger=probe)
        except InvalidInput as exc:
            for field, problems in (exc.fields or {"": [exc.message]}).items():
                self.add_error(field if field in self.fields else None, problems)
        return cleaned


@admin.register(Trigger)
class TriggerAdmin(admin.ModelAdmin):
    form = TriggerAdminForm
    list_display = ["id", "workflow", "type", "name", "enabled", "cron", "timezone", "event_name", "last_fired_at"]
    list_filter = ["type", "enabled"]
    search_fields = ["id", "name", "event_name", "workflow__name"]
    list_select_related = ["workflow"]
    autocomplete_fields = ["workflow"]
    actions = ["rotate_secret"]
    fieldsets = [
        (None, {"fields": ["workflow", "type", "name", "enabled"]}),
        ("Webhook", {"fields": ["webhook_url", "require_signature", "include_headers"]}),
        ("Schedule", {"fields": ["cron", "timezone", "missed_fires", "catch_up_limit", "next_fire_times",
                                 "beat_schedule", "last_fired_at"]}),
        ("Event", {"fields": ["event_name", "offset_minutes"]}),
        ("Record", {"fields": ["id", "created_at", "updated_at"]}),
    ]
    COMPUTED = ["id", "webhook_url", "next_fire_times", "beat_schedule", "last_fired_at", "created_at", "updated_at"]

    def get_readonly_fields(self, request, obj=None):
        # What a trigger is (its workflow and type) is chosen once, when it is added.
        return self.COMPUTED if obj is None else [*self.COMPUTED, "workflow", "type"]

    @admin.display(description="Webhook URL")
    def webhook_url(self, trigger: Trigger) -> str:
        if trigger.type != TriggerType.WEBHOOK or not trigger.token:
            return "-"
        return reverse("webhook", kwargs={"token": trigger.token})

    @admin.display(description="Next fire times")
    def next_fire_times(self, trigger: Trigger) -> str:
        if trigger.type != TriggerType.SCHEDULE or not trigger.cron:
            return "-"
        return ", ".join(t.isoformat() for t in next_fires(trigger.cron, trigger.timezone, timezone.now(), 5))

    @admin.display(description="celery-beat schedule")
    def beat_schedule(self, trigger: Trigger) -> str:
        task = trigger.periodic_task
        if task is None:
            return "-"
        url = reverse("admin:django_celery_beat_periodictask_change", args=[task.pk])
        return format_html('<a href="{}">{}</a> ({}, {})', url, task.name, task.crontab,
                           "enabled" if task.enabled else "disabled")

    def save_model(self, request, obj: Trigger, form, change: bool) -> None:
        data = {f: form.cleaned_data[f] for f in services.TRIGGER_FIELDS if f in form.cleaned_data}
        if change:
            saved = services.trigger_update(trigger=obj, data=data)
        else:
            saved, secret = services.trigger_create(workflow=form.cleaned_data["workflow"],
                                                    type=form.cleaned_data["type"], data=data)
            if secret:
                self.message_user(request, f"The webhook's signing secret, shown this once: {secret}", messages.WARNING)
        obj.pk = saved.pk  # the service made the row: the admin's redirect and history follow it
        obj.refresh_from_db()

    @admin.action(description="Rotate the signing secret of the selected webhooks", permissions=["change"])
    def rotate_secret(self, request, queryset) -> None:
        for trigger in queryset.filter(type=TriggerType.WEBHOOK):
            secret = services.webhook_rotate_secret(trigger=trigger)
            self.message_user(request, f"{trigger.name or trigger.pk}: the new signing secret, shown this once: "
                                       f"{secret}", messages.WARNING)
        others = queryset.exclude(type=TriggerType.WEBHOOK).count()
        if others:
            self.message_user(request, f"Skipped {others} trigger(s): only a webhook has a secret.", messages.INFO)

    def delete_model(self, request, obj: Trigger) -> None:
        services.trigger_delete(trigger=obj)

    def delete_queryset(self, request, queryset) -> None:
        for trigger in queryset:
            services.trigger_delete(trigger=trigger)


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = ["name", "at", "owner", "created_at"]
    search_fields = ["name", "id"]
    readonly_fields = ["id", "name", "payload", "at", "owner", "created_at"]

    def has_add_permission(self, request):
        return False


@admin.register(RefusedDelivery)
class RefusedDeliveryAdmin(admin.ModelAdmin):
    """Webhook deliveries answered with an error, newest first (the newest few per trigger are kept)."""

    list_display = ["at", "status_code", "message", "trigger"]
    list_filter = ["status_code", "at"]
    search_fields = ["message", "trigger__name", "trigger__id"]
    list_select_related = ["trigger"]
    readonly_fields = ["trigger", "at", "status_code", "message"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
