"""A replay as a user does it over the API, run by a real Celery worker process (docs/adr/0026): a
signup run (shape the input -> POST to the CRM -> POST to Slack, both real HTTP servers on
127.0.0.1) replayed on a newer version calls neither receiver, marks both steps mocked (one from the
recording, one from the user's mock), and computes the changed transform for real."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from workflows.engine.planner.states import EXECUTION_TERMINAL
from workflows.engine.planner.states import ExecutionStatus as E
from workflows.models import WorkflowExecution
from workflows.tests.cluster import fresh_cluster, wait_for
from workflows.tests.http_server import Server
from workflows.tests.test_replay import by_step, signup

pytestmark = [pytest.mark.e2e, pytest.mark.services, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def workers(django_db_setup, django_db_blocker):
    """One worker process for this module."""
    with fresh_cluster() as cluster:
        cluster.start_worker("w1", concurrency=2)
        yield cluster


@pytest.fixture
def receivers():
    crm, slack = Server(), Server()
    yield crm, slack
    crm.close()
    slack.close()


def finished(client, run_id: str) -> dict:
    wait_for(lambda: WorkflowExecution.objects.get(pk=run_id).status in EXECUTION_TERMINAL, timeout=60,
             message="the run to end")
    return client.get(f"/api/v1/executions/{run_id}/").data


def test_a_replay_on_real_workers_calls_no_receiver_and_runs_its_transform(workers, user, receivers):
    client = APIClient()
    client.force_authenticate(user)
    crm, slack = receivers
    definition = signup(crm.url)
    definition["steps"][2]["config"]["url"] = f"{slack.url}/slack"  # the Slack step posts to its own server
    workflow = client.post("/api/v1/workflows/", definition, format="json").data
    run = client.post(f"/api/v1/workflows/{workflow['id']}/run/",
                      {"input_data": {"name": "Ada", "email": "ada@example.com"}}, format="json").data
    original = finished(client, run["id"])
    assert original["status"] == E.COMPLETED, original
    assert (len(crm.requests), len(slack.requests)) == (1, 1)

    changed = signup(crm.url, tier="gold")["steps"][0]["config"]
    assert client.patch(f"/api/v1/workflows/{workflow['id']}/steps/shape/", {"config": changed},
                        format="json").status_code == 200
    mock = {"status_code": 200, "body": "mocked"}
    response = client.post(f"/api/v1/executions/{original['id']}/replay/",
                           {"version": "latest", "mocks": {"slack": mock}}, format="json")
    assert response.status_code == 201, response.data
    replay = finished(client, response.data["id"])

    assert replay["status"] == E.COMPLETED and replay["replay_of"] == original["id"] and replay["workflow_version"] == 2
    assert (len(crm.requests), len(slack.requests)) == (1, 1)  # zero calls from the replay
    steps, recorded = by_step(replay), by_step(original)
    assert steps["crm"]["mocked"] and steps["crm"]["output_data"] == recorded["crm"]["output_data"]
    assert steps["slack"]["mocked"] and steps["slack"]["output_data"] == mock
    assert not steps["shape"]["mocked"] and steps["shape"]["worker_id"]  # run by the worker
    assert steps["shape"]["output_data"]["result"] == {"name": "Ada", "email": "ada@example.com", "tier": "gold"}
    assert recorded["shape"]["output_data"]["result"]["tier"] == "basic"
