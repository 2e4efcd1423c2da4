"""Request bodies over their route's limit (flowpilot/limits.py): a workflow's definition has a larger
one of its own; every other route keeps FLOWPILOT_MAX_REQUEST_BYTES. Through Django's middleware here
(any server); test_web_load sends the same bodies to the real server over HTTP."""

from __future__ import annotations

import json

import pytest

from flowpilot.limits import body_limit
from workflows.models import Workflow, WorkflowExecution

MIB = 1024 * 1024


@pytest.mark.parametrize("path, definition", [
    ("/api/v1/workflows/", True), ("/api/v1/workflows", True), ("/api/v1/workflows/import/", True),
    ("/api/v1/workflows/validate/", True), ("/api/v1/workflows/3fa85f64-5717-4562-b3fc-2c963f66afa6/", True),
    ("/api/v1/workflows/3fa85f64-5717-4562-b3fc-2c963f66afa6/run/", False),
    ("/api/v1/workflows/3fa85f64-5717-4562-b3fc-2c963f66afa6/pinned-data/", False),
    ("/api/v1/executions/", False), ("/api/v1/executions/bulk/", False), ("/webhooks/abc/", False),
])
def test_which_routes_take_a_definition(settings, path, definition):
    settings.FLOWPILOT_MAX_REQUEST_BYTES, settings.FLOWPILOT_MAX_DEFINITION_BYTES = MIB, 16 * MIB
    assert body_limit(path) == (16 * MIB if definition else MIB)


def test_a_definition_over_the_request_limit_is_saved_and_any_other_body_is_refused(api, user, settings):
    settings.FLOWPILOT_MAX_REQUEST_BYTES, settings.FLOWPILOT_MAX_DEFINITION_BYTES = MIB, 4 * MIB
    steps = [{"key": f"s{i}", "task_type": "log", "config": {"message": "x" * 1000}} for i in range(1500)]
    body = json.dumps({"name": "big", "steps": steps})
    assert MIB < len(body) < 4 * MIB
    made = api.generic("POST", "/api/v1/workflows/", body, content_type="application/json")
    assert made.status_code == 201, made.content[:300]
    run = json.dumps({"workflow_id": made.json()["id"], "input_data": {"pad": "x" * (2 * MIB)}})
    refused = api.generic("POST", "/api/v1/executions/", run, content_type="application/json")
    assert refused.status_code == 413
    assert refused.json()["message"] == f"The request body is too large: larger than {MIB} bytes."
    assert not WorkflowExecution.objects.exists()
    huge = json.dumps({"name": "huge", "description": "x" * (5 * MIB)})
    over = api.generic("POST", "/api/v1/workflows/", huge, content_type="application/json")
    assert over.status_code == 413 and str(4 * MIB) in over.json()["message"]
    assert not Workflow.objects.filter(name="huge").exists()
