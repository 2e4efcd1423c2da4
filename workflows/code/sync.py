"""Code workflows in the database: one Workflow row (kind "code") per registered class, owned by
the system user, with a new version whenever the code's definition changes.

Runs read frozen versions like any other: a run started before a deploy keeps its version's graph
(its steps still run the code as it is now; a step that disappeared fails the run, naming it).
"""

from __future__ import annotations

import hashlib
import json

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.dispatch import receiver

from triggers.models import Trigger, TriggerType
from triggers.services import event_emitting

from .. import services
from ..models import Workflow, WorkflowKind, WorkflowStatus
from . import registry
from .registry import WorkflowSpec


def system_owner():
    """The user who owns code workflows (FLOWPILOT_CODE_WORKFLOW_OWNER, created inactive: nobody
    logs in as it). Staff see its workflows and runs; the runs' triggering users see theirs."""
    username = settings.FLOWPILOT_CODE_WORKFLOW_OWNER
    user, _ = get_user_model().objects.get_or_create(username=username, defaults={"is_active": False})
    return user


def definition_hash(spec: WorkflowSpec) -> str:
    return hashlib.sha256(json.dumps(spec.definition(), sort_keys=True).encode()).hexdigest()[:16]


def code_workflow_sync(*, spec: WorkflowSpec) -> Workflow:
    """The Workflow row of `spec`, active, its latest version the code's current definition."""
    definition = spec.definition()
    meta = {"class": spec.where, "hash": definition_hash(spec)}
    for _ in range(2):  # a concurrent first sync may win the unique name: then read its row
        try:
            with transaction.atomic():
                workflow = Workflow.objects.select_for_update().filter(kind=WorkflowKind.CODE, name=spec.name).first()
                if workflow is None:
                    workflow = Workflow.objects.create(
                        owner=system_owner(), name=spec.name, kind=WorkflowKind.CODE, status=WorkflowStatus.ACTIVE,
                        description=spec.description[:10_000], metadata={"code": meta})
                if services.version_publish(workflow, definition) is not None:
                    workflow.status = WorkflowStatus.ACTIVE
                    workflow.description = spec.description[:10_000]
                    workflow.metadata = {**workflow.metadata, "code": meta}
                    workflow.search_fields = dict(spec.search_fields)  # shown by the API; runs read the version's
                    workflow.limits = dict(spec.limits)
                    workflow.save(update_fields=["status", "description", "metadata", "search_fields", "limits",
                                                 "updated_at"])
                elif (workflow.metadata or {}).get("code") != meta:
                    workflow.metadata = {**workflow.metadata, "code": meta}
                    workflow.save(update_fields=["metadata"])
                if spec.event_name:
                    _sync_event_trigger(workflow, spec)
                return workflow
        except IntegrityError:
            continue
    raise RuntimeError(f"could not store code workflow {spec.name!r}")


def _sync_event_trigger(workflow: Workflow, spec: WorkflowSpec) -> None:
    trigger = Trigger.objects.filter(workflow=workflow, type=TriggerType.EVENT).first()
    if trigger is None:
        Trigger.objects.create(workflow=workflow, type=TriggerType.EVENT, event_name=spec.event_name,
                               offset_minutes=spec.offset_minutes, name=f"{spec.event_name} (code)"[:200])
    elif (trigger.event_name, trigger.offset_minutes) != (spec.event_name, spec.offset_minutes):
        Trigger.objects.filter(pk=trigger.pk).update(event_name=spec.event_name, offset_minutes=spec.offset_minutes)


def code_workflows_sync() -> list[Workflow]:
    """Every registered code workflow stored and current."""
    return [code_workflow_sync(spec=spec) for spec in registry.all_workflows()]


def sees_code_workflows(user) -> bool:
    """Staff (and the owner user) see code workflows in the API; others only the runs they started."""
    return user.is_staff or user.get_username() == settings.FLOWPILOT_CODE_WORKFLOW_OWNER


def code_workflows_sync_if_changed() -> int:
    """Store the registered code workflows whose row is missing or behind the code (one query when
    nothing changed: the API's workflow list calls it). Answers how many were written."""
    specs = registry.all_workflows()
    if not specs:
        return 0
    stored = {name: (meta or {}).get("code", {}).get("hash") for name, meta in
              Workflow.objects.filter(kind=WorkflowKind.CODE).values_list("name", "metadata")}
    changed = [spec for spec in specs if stored.get(spec.name) != definition_hash(spec)]
    for spec in changed:
        code_workflow_sync(spec=spec)
    return len(changed)


@receiver(event_emitting, dispatch_uid="flowpilot-code-event-workflows")
def _before_event(sender, name: str, **kwargs) -> None:
    sync_for_event(name)


def sync_for_event(event_name: str) -> None:
    """Before an event starts workflows: the code workflows it starts have their trigger rows."""
    for spec in registry.for_event(event_name):
        code_workflow_sync(spec=spec)
