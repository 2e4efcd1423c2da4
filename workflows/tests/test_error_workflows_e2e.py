"""Error workflows (ADR 0034) on a real Celery worker, as a user sets them over the API: a run that
fails for good starts its workflow's error workflow exactly once with the failed run's data as input;
with none named the user's default starts; an error workflow that fails starts nothing more."""

from __future__ import annotations

import time

import pytest
from rest_framework.test import APIClient

from workflows.engine.planner.states import EXECUTION_TERMINAL
from workflows.engine.planner.states import ExecutionStatus as E
from workflows.models import TriggerSource, WorkflowExecution
from workflows.tests.cluster import fresh_cluster, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.services, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def workers(django_db_setup, django_db_blocker):
    with fresh_cluster() as cluster:
        cluster.start_worker("w1", concurrency=2)
        yield cluster


@pytest.fixture
def client(user):
    api = APIClient()
    api.force_authenticate(user)
    return api


def create(client, name: str, steps: list[dict], **fields) -> str:
    response = client.post("/api/v1/workflows/", {"name": name, "status": "active", "steps": steps, **fields},
                           format="json")
    assert response.status_code == 201, response.data
    return response.data["id"]


FAILING = [
    {"key": "prepare", "task_type": "log", "config": {"message": "order {{ input.order }}"}},
    {"key": "charge", "task_type": "python", "depends_on": ["prepare"],
     "config": {"function": "fail", "kwargs": {"message": "card declined for {{ input.order }}", "retryable": False}}},
]


def run_to_end(client, workflow_id: str, input_data: dict) -> WorkflowExecution:
    response = client.post(f"/api/v1/workflows/{workflow_id}/run/", {"input_data": input_data}, format="json")
    assert response.status_code == 201, response.data
    pk = response.data["id"]
    wait_for(lambda: WorkflowExecution.objects.get(pk=pk).status in EXECUTION_TERMINAL, timeout=30,
             message="the run to end")
    return WorkflowExecution.objects.get(pk=pk)


def settled(count: int) -> list[WorkflowExecution]:
    """The error runs once `count` of them have ended, and nothing else is left running."""
    def done():
        runs = WorkflowExecution.objects.filter(triggered_by=TriggerSource.ERROR)
        return runs.count() >= count and not WorkflowExecution.objects.exclude(status__in=EXECUTION_TERMINAL).exists()
    wait_for(done, timeout=30, message=f"{count} error run(s) to end")
    time.sleep(1.0)  # room for a wrong extra start to show
    return list(WorkflowExecution.objects.filter(triggered_by=TriggerSource.ERROR).order_by("created_at"))


def test_error_workflows_on_a_real_worker(workers, client):
    handler = create(client, "on error", [{"key": "notify", "task_type": "log",
                                           "config": {"message": "{{ input.workflow_name }} failed"}}])
    broken = create(client, "broken handler", [{"key": "boom", "task_type": "python", "config": {
        "function": "fail", "kwargs": {"message": "handler down", "retryable": False}}}])
    orders = create(client, "orders", FAILING, error_workflow_id=handler)

    failed = run_to_end(client, orders, {"order": "A-17"})
    assert failed.status == E.FAILED
    [error_run] = settled(1)
    assert str(error_run.workflow_id) == handler and error_run.status == E.COMPLETED
    data = error_run.input
    assert (data["execution_id"], data["workflow_id"], data["workflow_name"]) == (str(failed.pk), orders, "orders")
    assert data["failed_step"] == "charge" and data["input"] == {"order": "A-17"}
    assert data["error"]["step_message"] == "card declined for A-17"
    assert data["error"]["message"] == failed.error_message and data["retry_count"] == 0

    # The user default, used when a workflow names none; it fails, and starts nothing more.
    assert client.put("/api/v1/error-workflow-default/", {"error_workflow_id": broken},
                      format="json").status_code == 200
    plain = create(client, "plain", FAILING)
    failed_plain = run_to_end(client, plain, {"order": "B-2"})
    assert failed_plain.status == E.FAILED
    first, second = settled(2)
    assert first.pk == error_run.pk
    assert str(second.workflow_id) == broken and second.status == E.FAILED
    assert second.input["execution_id"] == str(failed_plain.pk) and second.input["workflow_name"] == "plain"
    assert WorkflowExecution.objects.filter(triggered_by=TriggerSource.ERROR).count() == 2
