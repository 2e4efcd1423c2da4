"""Search by business data on real worker processes (issue 17): a value from the input is kept when the
run starts, one from a step's output when that step completes on a worker, in the worker's own
transaction; both find the run through the API."""

from __future__ import annotations

import pytest

from workflows.engine.planner.states import ExecutionStatus as E
from workflows.models import WorkflowExecution
from workflows.tests.cluster import Cluster, flush_broker, wait_for
from workflows.tests.factories import step

pytestmark = [pytest.mark.e2e, pytest.mark.services, pytest.mark.django_db(transaction=True),
              pytest.mark.xdist_group("test_search_e2e")]  # one process runs the module: one worker fixture


@pytest.fixture(scope="module")
def cluster():
    flush_broker()
    c = Cluster()
    yield c
    c.stop()


def test_runs_are_found_by_their_input_and_by_a_step_output_kept_on_a_worker(api, cluster):
    created = api.post("/api/v1/workflows/", {
        "name": "signup", "status": "active",
        "search_fields": {"phone": "{{ input.phone }}", "patient": "{{ steps.crm.output.value }}"},
        "steps": [step("crm", function="record", kwargs={"value": "P-{{ input.n }}"}),
                  step("welcome", function="noop", depends_on=["crm"])]}, format="json")
    assert created.status_code == 201, created.data
    cluster.start_worker(concurrency=2)
    runs = {}
    for n, phone in enumerate(["+91123", "+91456", "+91789"]):
        started = api.post(f"/api/v1/workflows/{created.data['id']}/run/", {"input_data": {"phone": phone, "n": n}},
                           format="json")
        assert started.status_code == 201 and started.data["search"] == {"phone": phone}  # at start
        runs[phone] = started.data["id"]
    wait_for(lambda: WorkflowExecution.objects.filter(status=E.COMPLETED).count() == 3, timeout=90,
             message="the three runs to complete on the worker")

    found = api.get("/api/v1/executions/?search.phone=%2B91123").data["results"]
    assert [row["id"] for row in found] == [runs["+91123"]]
    assert found[0]["search"] == {"patient": "P-0", "phone": "+91123"}  # kept when crm completed on the worker
    by_output = api.get("/api/v1/executions/", {"search.patient": "P-2"}).data["results"]
    assert [row["id"] for row in by_output] == [runs["+91789"]]
    both = api.get("/api/v1/executions/", {"search.patient": "P-1", "search.phone": "+91456"}).data["results"]
    assert [row["id"] for row in both] == [runs["+91456"]]
