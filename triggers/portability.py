"""Triggers in workflow export files: their settings, never their secrets. A webhook imported
elsewhere gets a new URL token and signing secret (see the trigger's rotate-secret)."""

from __future__ import annotations

from workflows.errors import InvalidInput

from .api.serializers import TriggerInputSerializer
from .models import Trigger, TriggerType
from .services import TRIGGER_FIELDS, trigger_create, trigger_delete

PER_TYPE = {
    TriggerType.WEBHOOK: ("name", "enabled", "require_signature", "include_headers"),
    TriggerType.SCHEDULE: ("name", "enabled", "cron", "timezone", "missed_fires", "catch_up_limit"),
    TriggerType.EVENT: ("name", "enabled", "event_name", "offset_minutes"),
}


def export_triggers(workflow) -> list[dict]:
    return [{"type": t.type, **{f: getattr(t, f) for f in PER_TYPE[t.type]}}
            for t in Trigger.objects.filter(workflow=workflow).order_by("created_at")]


def _settings(trigger: Trigger) -> dict:
    return {"type": trigger.type, **{f: getattr(trigger, f) for f in PER_TYPE[trigger.type]}}


def import_triggers(workflow, items: list) -> None:
    """Make the workflow's triggers match `items` (inside the import's transaction). A trigger that
    is already there with the same settings is kept, so a webhook keeps its URL and secret across a
    re-import; the others are created or deleted."""
    existing = list(Trigger.objects.filter(workflow=workflow))
    for index, item in enumerate(items or []):
        data = TriggerInputSerializer(data=item)
        if not data.is_valid():
            fields = {f"triggers[{index}].{k}": [str(m) for m in v] for k, v in data.errors.items()}
            raise InvalidInput("; ".join(f"{k}: {' '.join(v)}" for k, v in fields.items()), fields=fields)
        values = dict(data.validated_data)
        kind = values.pop("type")
        wanted = {"type": kind, **{f: values.get(f, Trigger._meta.get_field(f).get_default()) for f in PER_TYPE[kind]}}
        same = next((t for t in existing if _settings(t) == wanted), None)
        if same is not None:
            existing.remove(same)
            continue
        try:
            trigger_create(workflow=workflow, type=kind,
                           data={k: v for k, v in values.items() if k in TRIGGER_FIELDS})
        except InvalidInput as exc:
            fields = {f"triggers[{index}].{k}": v for k, v in exc.fields.items()}
            raise InvalidInput(f"triggers[{index}].{exc.message}", fields=fields) from None
    for stale in existing:
        trigger_delete(trigger=stale)
