"""The `file` step on real worker processes (services mode): a workflow designed over the API writes,
appends to and reads back a file in the workers' files root."""

from __future__ import annotations

import pytest

from workflows.models import WorkflowExecution
from workflows.engine.planner.states import ExecutionStatus as E
from workflows.tests.cluster import Cluster, flush_broker, wait_for
from workflows.tests.test_file_step import FLOW

pytestmark = [pytest.mark.e2e, pytest.mark.services, pytest.mark.django_db(transaction=True)]


def test_a_designed_file_workflow_runs_to_completion_on_a_real_worker(api, user, tmp_path):
    root = tmp_path / "files"
    flush_broker()
    cluster = Cluster(FLOWPILOT_FILES_ROOT=str(root))
    try:
        cluster.start_worker(concurrency=1)
        created = api.post("/api/v1/workflows/", {"name": "files", "status": "active", "steps": FLOW}, format="json")
        assert created.status_code == 201, created.data
        started = api.post("/api/v1/executions/", {"workflow_id": created.data["id"],
                                                   "input_data": {"date": "2026-12-02", "n": 7}}, format="json")
        assert started.status_code == 201, started.data
        wait_for(lambda: WorkflowExecution.objects.filter(pk=started.data["id"], status__in=[E.COMPLETED, E.FAILED])
                 .exists(), timeout=60, message="the run to settle")
        run = api.get(f"/api/v1/executions/{started.data['id']}/").data
        assert run["status"] == E.COMPLETED, (run["error_message"], cluster.log("worker")[-3000:])
        outputs = {t["step_key"]: t["output_data"] for t in run["task_executions"]}
        assert outputs["read"]["content"] == "date,signups\n2026-12-02,7\n"
        assert (root / str(user.pk) / "reports" / "2026-12-02.csv").read_text() == "date,signups\n2026-12-02,7\n"
    finally:
        cluster.stop()
