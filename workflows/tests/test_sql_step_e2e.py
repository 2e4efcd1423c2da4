"""The sql step on a real Celery worker process: a workflow designed over the API reads and writes a
PostgreSQL database of its own, and the DSN appears nowhere the run or the worker leaves anything."""

from __future__ import annotations

import json

import pytest

from workflows.engine.planner.states import ExecutionStatus as E
from workflows.models import ExecutionLog, TaskExecution, WorkflowExecution
from workflows.tests.cluster import Cluster, flush_broker, wait_for
from workflows.tests.test_sql_step import PASSWORD, pg, pg_target  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.e2e, pytest.mark.services, pytest.mark.django_db(transaction=True),
              pytest.mark.xdist_group("test_sql_step_e2e")]  # one process runs the module: one worker fixture


@pytest.fixture(scope="module")
def cluster():
    flush_broker()
    c = Cluster()
    yield c
    c.stop()


def test_a_designed_sql_workflow_runs_on_a_worker(api, pg, cluster):
    assert api.post("/api/v1/credentials/", {"name": "orders_db", "value": pg.dsn}, format="json").status_code == 201
    wf = api.post("/api/v1/workflows/", {"name": "big orders", "steps": [
        {"key": "big", "task_type": "sql", "max_retries": 0, "config": {
            "credential": "orders_db", "query": "SELECT id, email, total FROM orders WHERE total > %(min)s ORDER BY id",
            "params": {"min": "{{ input.min }}"}}},
        {"key": "flag", "task_type": "sql", "max_retries": 0, "depends_on": ["big"], "config": {
            "credential": "orders_db", "read_only": False,
            "query": "UPDATE orders SET note = 'big' WHERE id = ANY(%(ids)s)",
            "params": {"ids": "{{ steps.big.output.rows | map(attribute='id') | list }}"}}}]}, format="json")
    assert wf.status_code == 201, wf.data
    assert api.post(f"/api/v1/workflows/{wf.data['id']}/activate/").status_code == 200
    cluster.start_worker(concurrency=1)
    run = api.post(f"/api/v1/workflows/{wf.data['id']}/run/", {"input_data": {"min": 10}}, format="json")
    assert run.status_code == 201, run.data
    wait_for(lambda: WorkflowExecution.objects.filter(pk=run.data["id"], status__in=[E.COMPLETED, E.FAILED]).exists(),
             timeout=60, message="the run to end")

    detail = api.get(f"/api/v1/executions/{run.data['id']}/").data
    assert detail["status"] == "completed", detail
    tasks = {t["step_key"]: t for t in detail["task_executions"]}
    assert tasks["big"]["output_data"]["rows"] == [{"id": 1, "email": "ada@example.com", "total": "12.50"},
                                                   {"id": 3, "email": "ada@example.com", "total": "99.99"}]
    assert tasks["flag"]["output_data"]["rowcount"] == 2
    assert [row[3] for row in pg.rows()] == ["big", "second", "big"]
    everything = json.dumps({
        "api": detail,
        "tasks": list(TaskExecution.objects.filter(execution_id=run.data["id"]).values()),
        "logs": list(ExecutionLog.objects.filter(execution_id=run.data["id"]).values("message", "details")),
    }, default=str) + cluster.log("worker")
    for piece in (pg.dsn, PASSWORD, pg.dsn.split("@", 1)[1]):
        assert piece.lower() not in everything.lower(), piece
