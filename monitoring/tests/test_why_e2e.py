""""Why isn't it running?" with real workers: a step on a queue no worker consumes is `no_worker` (a
worker alive on another queue does not count), then `queued` behind a busy worker that listens, then
the run completes. The heartbeats are the workers' own (monitoring/presence.py)."""

from __future__ import annotations

import pytest

from monitoring.models import Heartbeat
from workflows.engine.planner.states import TaskStatus as T
from workflows.models import TaskExecution, WorkflowExecution
from workflows.tests.cluster import Cluster, flush_broker, wait_for
from workflows.tests.factories import active_workflow, step

pytestmark = [pytest.mark.e2e, pytest.mark.services, pytest.mark.django_db(transaction=True)]


def run(api, workflow) -> str:
    response = api.post(f"/api/v1/workflows/{workflow.pk}/run/", {"input_data": {}}, format="json")
    assert response.status_code == 201, response.content
    return response.json()["id"]


def reasons(api, execution_id) -> list[dict]:
    response = api.get(f"/api/v1/executions/{execution_id}/why/")
    assert response.status_code == 200, response.content
    return response.json()["reasons"]


def status_of(execution_id, key="nap") -> str | None:
    return TaskExecution.objects.filter(execution_id=execution_id, step_key=key).values_list("status", flat=True).last()


def test_no_worker_on_the_steps_queue_then_queued_behind_a_listening_worker(api, user):
    flush_broker()
    cluster = Cluster(FLOWPILOT_PRESENCE_SECONDS="0.5")
    try:
        cluster.start_worker("control", concurrency=1, queues="flowpilot.control")
        wait_for(lambda: Heartbeat.objects.filter(name__startswith="control@").exists(), timeout=20,
                 message="the control worker's heartbeat")
        workflow = active_workflow(user, [step("nap", function="sleep", kwargs={"seconds": 3})])
        first = run(api, workflow)
        wait_for(lambda: status_of(first) == T.QUEUED, timeout=10, message="the first step queued")
        (reason,) = reasons(api, first)
        assert (reason["step_key"], reason["reason"], reason["queue"]) == ("nap", "no_worker", "flowpilot.steps")

        cluster.start_worker("steps", concurrency=1, queues="flowpilot.steps")
        wait_for(lambda: status_of(first) == T.RUNNING, timeout=20, message="the steps worker to take the step")
        second = run(api, workflow)  # its one worker process is busy with the first run's step for 3 s
        (reason,) = reasons(api, second)
        assert (reason["reason"], reason["queue"]) == ("queued", "flowpilot.steps")
        assert "1 worker listens" in reason["detail"]
        assert reasons(api, first)[0]["reason"] == "running"

        wait_for(lambda: set(WorkflowExecution.objects.filter(pk__in=[first, second])
                             .values_list("status", flat=True)) == {"completed"}, timeout=30,
                 message="both runs completed")
        assert [r["reason"] for r in reasons(api, second)] == ["completed"]
    finally:
        cluster.stop()
