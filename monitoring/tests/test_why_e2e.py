""""Why isn't it running?" with a real worker: a step on a queue no worker consumes is `no_worker`, then
`queued` behind a busy worker that listens, then the run completes. The heartbeat is the worker's own
(monitoring/presence.py). One worker process only (CI time): that a worker on another queue does not
count is shown on recorded heartbeats (test_why_api.py), and that a real worker's heartbeat lists the
queues it consumes by monitoring/tests/test_health.py."""

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


def test_no_worker_until_one_listens_then_queued_behind_it_then_completed(api, user):
    flush_broker()
    cluster = Cluster(FLOWPILOT_PRESENCE_SECONDS="0.5")
    try:
        workflow = active_workflow(user, [step("nap", function="sleep", kwargs={"seconds": 3})])
        first = run(api, workflow)
        wait_for(lambda: status_of(first) == T.QUEUED, timeout=10, message="the first step queued")
        (reason,) = reasons(api, first)
        assert (reason["step_key"], reason["reason"], reason["queue"]) == ("nap", "no_worker", "flowpilot.steps")

        cluster.start_worker("steps", concurrency=1)
        wait_for(lambda: status_of(first) == T.RUNNING, timeout=20, message="the steps worker to take the step")
        wait_for(lambda: Heartbeat.objects.filter(name__startswith="steps@").exists(), timeout=10,
                 message="the worker's heartbeat")
        # The worker's one process is busy with the first run's step for 3 s: a second run's step waits its turn.
        second = run(api, active_workflow(user, [step("nap", function="noop")], name="quick"))
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
