"""A workflow's pinned data: the designer's sample run input and each step's recorded input and
output, kept per workflow (n8n's pinned data) for "Test this step", the Run dialog and a test run.

The engine never reads it: a test run (services/test_runs.py, started from the designer) has the
pinned outputs copied into it at its start, so a triggered run (webhook, schedule, the API's /run/)
cannot answer from a pin and a later edit of the pins does not change a test run in flight
(docs/adr/0029-pinned-data-for-the-designer.md,
docs/adr/0031-test-run-with-pinned-data-and-bulk-rerun-in-the-ui.md).
"""

from __future__ import annotations

import json
import re

from django.conf import settings
from django.db import transaction

from ..bounds import STEP_KEY_PATTERN, max_workflow_steps
from ..errors import InvalidInput
from ..engine import definition as definitions
from ..models import PinnedData, Workflow
from .definitions import check_storable

EMPTY: dict = {"input": {}, "steps": {}, "source_execution": None}
STEP_FIELDS = ("input", "output")


def pinned_data_get(*, workflow: Workflow) -> dict:
    """The workflow's pinned data, the empty shape when none is kept."""
    row = PinnedData.objects.filter(workflow=workflow).first()
    return {**EMPTY, **row.data} if row else dict(EMPTY)


def pinned_data_check(data: object) -> dict:
    """`data` as it is kept, or InvalidInput (nothing is changed) naming the field at fault."""
    if not isinstance(data, dict):
        raise InvalidInput("The pinned data must be a JSON object", fields={"": ["must be a JSON object"]})
    unknown = sorted(set(data) - set(EMPTY))
    if unknown:
        raise InvalidInput(f"Unknown fields: {', '.join(unknown)}",
                           fields={name: [f"unknown field; expected {', '.join(EMPTY)}"] for name in unknown})
    value = {**EMPTY, **data}
    if not isinstance(value["input"], dict):
        raise InvalidInput("input must be a JSON object", fields={"input": ["must be a JSON object"]})
    steps = value["steps"]
    if not isinstance(steps, dict):
        raise InvalidInput("steps must be a JSON object", fields={"steps": ["must be a JSON object keyed by step key"]})
    if len(steps) > max_workflow_steps():
        raise InvalidInput(f"At most {max_workflow_steps()} steps can be pinned",
                           fields={"steps": [f"more than {max_workflow_steps()} steps"]})
    for key, pin in steps.items():
        if not re.match(STEP_KEY_PATTERN, key):
            raise InvalidInput(f"steps: {key!r} is not a step key", fields={f"steps.{key}": ["not a step key"]})
        if not isinstance(pin, dict) or not pin or set(pin) - set(STEP_FIELDS):
            raise InvalidInput(f"steps.{key} must be an object with input and/or output",
                               fields={f"steps.{key}": ['must be {"input": ..., "output": ...} (either or both)']})
    source = value["source_execution"]
    if source is not None and not isinstance(source, str):
        raise InvalidInput("source_execution must be a run's id or null", fields={"source_execution": ["must be a string or null"]})
    check_storable(value, field="pinned_data")
    size = len(json.dumps(value))
    limit = settings.FLOWPILOT_MAX_PINNED_DATA_BYTES
    if size > limit:
        raise InvalidInput(f"The pinned data is {size} bytes; the limit is {limit}",
                           fields={"": [f"larger than {limit} bytes"]})
    return value


@transaction.atomic
def pinned_data_save(*, workflow: Workflow, data: object, user=None) -> dict:
    """Replace the workflow's pinned data (checked first: a refused body changes nothing)."""
    value = pinned_data_check(data)
    PinnedData.objects.update_or_create(workflow=workflow, defaults={"data": value, "updated_by": user})
    return value


@transaction.atomic
def pinned_data_clear(*, workflow: Workflow) -> None:
    PinnedData.objects.filter(workflow=workflow).delete()



def pinned_outputs(*, workflow: Workflow) -> dict:
    """The pinned outputs of the steps of the workflow's current version, by step key (a pin of a
    step the version no longer has, or a pin with an input only, is left out)."""
    steps = definitions.for_version(definitions.version_id(workflow.pk, workflow.version)).steps \
        if workflow.version else {}
    pins = pinned_data_get(workflow=workflow)["steps"]
    return {key: pin["output"] for key, pin in pins.items() if key in steps and "output" in pin}

