"""Import and export of workflows as versioned JSON documents, so that a workflow can live in git and
move between installs.

A document is {"flowpilot_export": 1, "workflow": {...the API's input shape, steps included...},
"triggers": [...]}. An import goes through the API's own input serializer and services, so a bad
document is refused with the same messages and field names as a bad POST /api/v1/workflows/.
The error workflow travels by name (`"error_workflow": "<name>"`): an import sets the importer's
active workflow of that name, or leaves it unset with a warning when there is none (ids never travel).
Secrets never travel: credentials are only named by steps ({{ secrets.NAME }}), and triggers are
exported without their webhook secret or token (a webhook gets fresh ones on import).
"""

from __future__ import annotations

from django.db import transaction

from triggers.portability import export_triggers, import_triggers

from . import services
from .api.serializers import StepSerializer, WorkflowInputSerializer
from .errors import InvalidInput
from .models import Workflow, WorkflowStatus

EXPORT_FORMAT = 1
WORKFLOW_EXPORT_FIELDS = ("name", "description", "metadata", "max_concurrency", "concurrency_key", "search_fields",
                          "limits", "max_retries", "retry_base_delay", "retry_backoff_factor", "retry_max_delay", "status")


def export_workflow(workflow: Workflow) -> dict:
    """The workflow's current definition (its editable steps, not a frozen version) as a document."""
    steps = workflow.steps.prefetch_related(services.UPSTREAM)
    step_data = [{k: v for k, v in StepSerializer(step).data.items() if k != "id"} for step in steps]
    return {
        "flowpilot_export": EXPORT_FORMAT,
        "workflow": {**{f: getattr(workflow, f) for f in WORKFLOW_EXPORT_FIELDS},
                     "error_workflow": workflow.error_workflow.name if workflow.error_workflow_id else None,
                     "steps": step_data},
        "triggers": export_triggers(workflow),
    }


def import_workflow(*, owner, document, activate: bool | None = None, replace: Workflow | None = None) -> Workflow:
    """import_workflow_warned without its warnings."""
    return import_workflow_warned(owner=owner, document=document, activate=activate, replace=replace)[0]


def _error_workflow_named(owner, name, warnings: dict) -> str | None:
    """The id of the owner's active workflow named `name` (the newest if several), or None with a warning."""
    if name is None:
        return None
    found = (Workflow.objects.filter(owner=owner, name=name, status=WorkflowStatus.ACTIVE).order_by("-updated_at")
             .values_list("pk", flat=True).first()) if isinstance(name, str) else None
    if found is None:
        warnings["error_workflow"] = [f"no active workflow of yours named {str(name)[:200]!r}: the error workflow "
                                      "was not set"]
    return found


def import_workflow_warned(*, owner, document, activate: bool | None = None,
                           replace: Workflow | None = None) -> tuple[Workflow, dict[str, list[str]]]:
    """Create a workflow for `owner` from an export document, or, with `replace`, make that workflow's
    definition the document's (an active one publishes a new version; runs in flight keep theirs).

    `activate`: True makes it active (freezing a version), False leaves it a draft, None follows the
    document's status. Raises InvalidInput or DRF's ValidationError, as the API would, and then changes
    nothing."""
    workflow_data, trigger_items = _parts(document)
    workflow_data = {k: v for k, v in workflow_data.items() if k not in ("error_workflow", "error_workflow_id")}
    warnings: dict[str, list[str]] = {}
    error_workflow_id = _error_workflow_named(owner, document["workflow"].get("error_workflow"), warnings)
    serializer = WorkflowInputSerializer(data=workflow_data)
    serializer.is_valid(raise_exception=True)
    fields = dict(serializer.validated_data)
    steps = fields.pop("steps", [])
    document_status = fields.pop("status", WorkflowStatus.DRAFT)
    status = document_status if activate is None else (WorkflowStatus.ACTIVE if activate else WorkflowStatus.DRAFT)
    data = {**fields, "status": status}
    if error_workflow_id is not None or replace is not None:
        data["error_workflow_id"] = error_workflow_id
    with transaction.atomic():
        if replace is None:
            workflow = services.workflow_create(owner=owner, data=data, steps=steps)  # activates an active one
        else:
            workflow = services.workflow_update(workflow=replace, data=data, steps=steps, user=owner)
            if status == WorkflowStatus.ACTIVE:  # refuses an empty graph, as the API's activate does
                workflow = services.workflow_activate(workflow=workflow, user=owner)
        if workflow.status != status:  # archived: workflow_create makes drafts and active workflows only
            workflow = services.workflow_update(workflow=workflow, data={"status": status}, user=owner)
        # Validates the items (InvalidInput naming "triggers[i].<field>") and makes the workflow's triggers
        # match them; a webhook gets a fresh token and secret. A bad trigger undoes the whole import.
        import_triggers(workflow, trigger_items)
    return workflow, warnings


def _parts(document) -> tuple[dict, list]:
    """The document's workflow and triggers, once its format is known to be one this code reads."""
    if not isinstance(document, dict) or "flowpilot_export" not in document:
        raise InvalidInput("not a FlowPilot export: a JSON object with a flowpilot_export version is expected",
                           fields={"flowpilot_export": ["is missing"]})
    version = document["flowpilot_export"]
    if isinstance(version, bool) or version != EXPORT_FORMAT:
        raise InvalidInput(f"unsupported flowpilot_export version {version!r}; this FlowPilot reads version "
                           f"{EXPORT_FORMAT}", fields={"flowpilot_export": [f"must be {EXPORT_FORMAT}"]})
    workflow = document.get("workflow")
    if not isinstance(workflow, dict):
        raise InvalidInput("the document's workflow must be a JSON object", fields={"workflow": ["must be an object"]})
    triggers = document.get("triggers") or []
    if not isinstance(triggers, list) or not all(isinstance(t, dict) for t in triggers):
        raise InvalidInput("the document's triggers must be a list of objects",
                           fields={"triggers": ["must be a list of objects"]})
    return workflow, triggers

