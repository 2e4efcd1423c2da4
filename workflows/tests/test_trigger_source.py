"""A run's trigger source says how it was started: with an API token (a personal fp_ token or a
drf_create_token key) it is `api`; from a signed-in browser session (the app's Run button) it is
`manual`. Requests go through the whole middleware and authentication stack (Django's test client)."""

from __future__ import annotations

import pytest
from django.test import Client
from rest_framework.authtoken.models import Token

from accounts.services import api_token_create
from workflows.models import WorkflowExecution
from workflows.tests.factories import active_workflow, step


@pytest.fixture
def workflow(user):
    return active_workflow(user, [step("only", function="noop")], name="labelled")


@pytest.fixture
def browser(user):
    client = Client()
    client.force_login(user)  # a session cookie, as the app has after signing in
    return client


def with_token(key: str) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Token {key}")


def run(client: Client, workflow, **body) -> dict:
    response = client.post(f"/api/v1/workflows/{workflow.pk}/run/", {"input_data": {}, **body},
                           content_type="application/json")
    assert response.status_code == 201, response.content
    return response.json()


def test_a_run_started_with_a_personal_token_is_labelled_api(user, workflow):
    _, key = api_token_create(user=user, name="ci")
    started = run(with_token(key), workflow)
    assert (started["triggered_by"], started["triggered_by_user"]) == ("api", user.username)
    assert WorkflowExecution.objects.get(pk=started["id"]).triggered_by == "api"


def test_a_run_started_from_the_browser_session_stays_manual(user, workflow, browser):
    started = run(browser, workflow)
    assert (started["triggered_by"], started["triggered_by_user"]) == ("manual", user.username)
    assert WorkflowExecution.objects.get(pk=started["id"]).triggered_by == "manual"


def test_every_way_to_start_runs_with_a_token_labels_them_api(user, workflow, browser):
    drf_key = Token.objects.create(user=user).key
    _, personal = api_token_create(user=user, name="ci")

    by_drf_key = run(with_token(drf_key), workflow)
    single = with_token(personal).post("/api/v1/executions/", {"workflow_id": str(workflow.pk), "input_data": {}},
                                       content_type="application/json")
    bulk = with_token(drf_key).post("/api/v1/executions/bulk/", {"workflow": str(workflow.pk), "inputs": [{}, {}]},
                                    content_type="application/json")
    assert (single.status_code, bulk.status_code) == (201, 201)
    api_runs = {by_drf_key["id"], single.json()["id"], *bulk.json()["execution_ids"]}
    clicked = run(browser, workflow)
    assert len(api_runs) == 4
    assert {str(pk) for pk in WorkflowExecution.objects.filter(triggered_by="api").values_list("pk", flat=True)} \
        == api_runs
    assert WorkflowExecution.objects.get(pk=clicked["id"]).triggered_by == "manual"

    # The executions list filters on it: the monitor's "api" and "manual" filters tell them apart.
    listed = browser.get("/api/v1/executions/", {"triggered_by": "api"}).json()
    assert {row["id"] for row in listed["results"]} == api_runs
    manual = browser.get("/api/v1/executions/", {"triggered_by": "manual"}).json()
    assert [row["id"] for row in manual["results"]] == [clicked["id"]]
