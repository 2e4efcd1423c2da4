"""Seed 002 (../shared/seeds/002_*.txt, an engine README) replayed literally: each example of its "API
Reference" section, with its path (no trailing slash), its method and its body, as a user who copies
it calls FlowPilot. Each test is named after the seed's section ("Create Workflow", "Add Step to
Workflow"...). What FlowPilot answers beyond the seed's fields is not asserted here (test_api.py)."""

import pytest
from rest_framework.test import APIClient

from workflows.models import WorkflowExecution
from workflows.engine.planner.states import ExecutionStatus as E
from workflows.tests import functions  # noqa: F401 (registers the "fail" step function)

# The seed's bodies, as printed.
CREATE_WORKFLOW = {"name": "order-processing", "description": "Process new orders",
                   "metadata": {"owner": "order-team"}}
ADD_STEP = {
    "name": "validate-order",
    "task_type": "http_request",
    "step_order": 0,
    "config": {
        "url": "https://api.internal/validate",
        "method": "POST",
    },
    "timeout_seconds": 60,
    "max_retries": 3,
}


def trigger_body(workflow_id: str) -> dict:
    return {"workflow_id": workflow_id, "idempotency_key": "order-12345", "input_data": {"order_id": "12345"},
            "max_retries": 3}


def post(api, path, body=None):
    return api.post(path, body, format="json") if body is not None else api.post(path)


def seed_workflow(api) -> str:
    """Create Workflow, Add Step to Workflow, Activate Workflow: the seed's first three calls."""
    workflow_id = post(api, "/api/v1/workflows", CREATE_WORKFLOW).data["id"]
    assert post(api, f"/api/v1/workflows/{workflow_id}/steps", ADD_STEP).status_code == 201
    assert post(api, f"/api/v1/workflows/{workflow_id}/activate").status_code == 200
    return workflow_id


def failed_run(api, sync_executor) -> dict:
    """A run that failed, for the seed's retry and logs examples: a workflow added through the same
    calls, with a step that fails without retries (no network: the seed's URL is not reachable here)."""
    workflow_id = post(api, "/api/v1/workflows", {**CREATE_WORKFLOW, "name": "order-refunds"}).data["id"]
    post(api, f"/api/v1/workflows/{workflow_id}/steps", {
        "name": "validate", "task_type": "python", "step_order": 0,
        "config": {"function": "fail", "kwargs": {"message": "order not found", "retryable": False}},
        "timeout_seconds": 60, "max_retries": 0})
    post(api, f"/api/v1/workflows/{workflow_id}/activate")
    run = post(api, "/api/v1/executions", trigger_body(workflow_id)).data
    sync_executor.drain()
    assert WorkflowExecution.objects.get(pk=run["id"]).status == E.FAILED
    return run


def test_create_workflow(api):
    response = post(api, "/api/v1/workflows", CREATE_WORKFLOW)
    assert response.status_code == 201, response.data
    assert response.data["id"] and response.data["name"] == "order-processing" and response.data["status"] == "draft"
    assert response.data["description"] == "Process new orders" and response.data["metadata"] == {"owner": "order-team"}


def test_add_step_to_workflow(api):
    workflow_id = post(api, "/api/v1/workflows", CREATE_WORKFLOW).data["id"]
    response = post(api, f"/api/v1/workflows/{workflow_id}/steps", ADD_STEP)
    assert response.status_code == 201, response.data
    assert response.data["key"] == "validate_order"  # made from the name, and said in the answer
    assert {k: response.data[k] for k in ADD_STEP} == ADD_STEP


def test_activate_workflow(api):
    workflow_id = post(api, "/api/v1/workflows", CREATE_WORKFLOW).data["id"]
    post(api, f"/api/v1/workflows/{workflow_id}/steps", ADD_STEP)
    response = post(api, f"/api/v1/workflows/{workflow_id}/activate")
    assert response.status_code == 200, response.data
    assert response.data["status"] == "active"


def test_list_workflows(api):
    active_id = seed_workflow(api)
    post(api, "/api/v1/workflows", {**CREATE_WORKFLOW, "name": "a-draft"})
    response = api.get("/api/v1/workflows?status=active&limit=50&offset=0")
    assert response.status_code == 200
    body = response.json()
    assert [w["id"] for w in body["workflows"]] == [active_id]
    assert (body["count"], body["limit"], body["offset"]) == (1, 50, 0)


def test_trigger_execution(api):
    workflow_id = seed_workflow(api)
    first = post(api, "/api/v1/executions", trigger_body(workflow_id))
    assert first.status_code == 201, first.data  # new
    again = post(api, "/api/v1/executions", trigger_body(workflow_id))
    assert again.status_code == 200 and again.data["id"] == first.data["id"]  # existing
    run = WorkflowExecution.objects.get(pk=first.data["id"])
    assert run.max_retries == 3 and run.input == {"order_id": "12345"} and run.idempotency_key == "order-12345"


def test_get_execution_status(api):
    run = post(api, "/api/v1/executions", trigger_body(seed_workflow(api))).data
    response = api.get(f"/api/v1/executions/{run['id']}")
    assert response.status_code == 200
    assert response.data["id"] == run["id"] and response.data["status"] in E.values
    assert response.data["retry_count"] == 0


def test_retry_failed_execution(api, sync_executor):
    run = failed_run(api, sync_executor)
    response = post(api, f"/api/v1/executions/{run['id']}/retry")
    assert response.status_code == 200, response.data
    assert response.data["retry_count"] == 1


def test_cancel_execution(api):
    run = post(api, "/api/v1/executions", trigger_body(seed_workflow(api))).data
    response = post(api, f"/api/v1/executions/{run['id']}/cancel")
    assert response.status_code == 200, response.data
    assert response.data["status"] == E.CANCELLED


def test_get_execution_logs(api, sync_executor):
    run = failed_run(api, sync_executor)
    response = api.get(f"/api/v1/executions/{run['id']}/logs?level=error")
    assert response.status_code == 200
    logs = response.json()["logs"]
    assert logs and all(log["level"] == "error" for log in logs)
    assert any("Step 'validate' failed" in log["message"] for log in logs)
    assert all({"level", "message", "details", "timestamp"} <= set(log) for log in logs)


@pytest.mark.parametrize("path", ["/health", "/health/"])
def test_health_check(db, path):
    from monitoring import presence

    presence.record(name="worker@test:1", role="worker", info={"node": "worker@test"})
    presence.beat_ticked()
    response = APIClient().get(path)
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "healthy" and body["database"] == "ok"
    assert body["redis"] == body["broker"] and body["redis"].startswith("ok")
