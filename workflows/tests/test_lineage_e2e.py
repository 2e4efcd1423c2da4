"""Sub-workflows that would recurse without end (issue 12, finding 2), as a user does it over the API,
run by real Celery worker processes: a cycle no save can see stops at its first repeat, and a long
chain of distinct workflows stops at the depth bound, each with a clear, non-retried step error."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from workflows.models import TaskExecution, WorkflowExecution
from workflows.engine.planner.states import EXECUTION_TERMINAL
from workflows.engine.planner.states import ExecutionStatus as E
from workflows.engine.planner.states import TaskStatus as T
from workflows.tests.cluster import Cluster, flush_broker, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.services, pytest.mark.django_db(transaction=True),
              pytest.mark.xdist_group("test_lineage_e2e")]  # one process runs the module: one worker fixture


@pytest.fixture(scope="module")
def workers(django_db_setup, django_db_blocker):
    """One worker process for the tests of this module (the engine keeps nothing between them)."""
    flush_broker()
    cluster = Cluster()
    try:
        cluster.start_worker("w1", concurrency=2)
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def client(user):
    api = APIClient()
    api.force_authenticate(user)
    return api


def create(client, name: str, steps: list[dict]) -> str:
    response = client.post("/api/v1/workflows/", {"name": name, "status": "active", "steps": steps}, format="json")
    assert response.status_code == 201, response.data
    return response.data["id"]


def run(client, workflow_id: str, input_data: dict) -> WorkflowExecution:
    response = client.post(f"/api/v1/workflows/{workflow_id}/run/", {"input_data": input_data}, format="json")
    assert response.status_code == 201, response.data
    root = WorkflowExecution.objects.get(pk=response.data["id"])
    wait_for(lambda: WorkflowExecution.objects.get(pk=root.pk).status in EXECUTION_TERMINAL, timeout=30,
             message="the root run to end")
    root.refresh_from_db()
    return root


def test_a_to_b_to_a_stops_at_the_first_repeat(workers, client):
    # Each calls the workflow its input names, handing it its own id to call back: A -> B -> A ...
    ping_pong = [{"key": "call", "task_type": "sub_workflow", "max_retries": 3, "config": {
        "workflow_id": "{{ input.next }}", "input": {"next": "{{ input.back }}", "back": "{{ input.next }}"}}}]
    a, b = create(client, "a", ping_pong), create(client, "b", ping_pong)
    root = run(client, a, {"next": b, "back": a})

    assert root.status == E.FAILED and "workflow cycle: 'a' -> 'b' -> 'a'" in root.error_message
    assert WorkflowExecution.objects.count() == 2  # A and B; the second A was never started
    assert not WorkflowExecution.objects.exclude(status__in=EXECUTION_TERMINAL).exists()
    (refused,) = TaskExecution.objects.filter(execution__workflow_id=b, step_key="call")
    assert refused.status == T.FAILED and refused.attempt == 1  # not retried: retrying cannot help
    assert refused.error_message.startswith("workflow cycle: 'a' -> 'b' -> 'a': a workflow cannot run inside itself")


def test_a_chain_deeper_than_the_bound_stops_at_the_bound(workers, client, settings):
    depth = 10  # FLOWPILOT_MAX_WORKFLOW_DEPTH's default, in the workers too (checked last)
    chain = [create(client, f"w{depth + 1}", [{"key": "end", "task_type": "log", "config": {"message": "deep"}}])]
    for n in range(depth, -1, -1):  # w0 -> w1 -> ... -> w11: each names the next literally
        chain.insert(0, create(client, f"w{n}", [{"key": "call", "task_type": "sub_workflow",
                                                  "config": {"workflow_id": chain[0]}}]))
    root = run(client, chain[0], {})

    assert root.status == E.FAILED and f"past the maximum of {depth}" in root.error_message
    started = [WorkflowExecution.objects.filter(workflow_id=w).count() for w in chain]
    assert started == [1] * (depth + 1) + [0]  # depths 0..10 ran; the child at depth 11 was not started
    refused = TaskExecution.objects.get(execution__workflow_id=chain[depth], step_key="call")
    assert refused.status == T.FAILED and refused.attempt == 1
    assert refused.error_message == (f"sub-workflow depth limit: a child run here would be at depth {depth + 1}, "
                                     f"past the maximum of {depth} (FLOWPILOT_MAX_WORKFLOW_DEPTH)")
    assert not WorkflowExecution.objects.exclude(status__in=EXECUTION_TERMINAL).exists()
    assert settings.FLOWPILOT_MAX_WORKFLOW_DEPTH == depth
