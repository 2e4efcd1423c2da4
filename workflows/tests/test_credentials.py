"""Credentials: encrypted at rest, resolved late in the worker, never in API output, logs or errors."""

import json

import pytest
from django.db import connection

from workflows import credentials, services
from workflows.models import Credential, ExecutionLog, TaskExecution
from workflows.secrets import decrypt
from workflows.engine.planner.states import ExecutionStatus as E
from workflows.tests.factories import active_workflow, step
from workflows.tests.http_server import Server

TOKEN = "sk_live_51HzTOPSECRETvalue"


@pytest.fixture
def server():
    s = Server()
    yield s
    s.close()


def everything_stored(execution) -> str:
    """All that the run left in the database, and what the API shows of it, as one string."""
    rows = list(TaskExecution.objects.filter(execution=execution).values())
    logs = list(ExecutionLog.objects.filter(execution=execution).values())
    execution.refresh_from_db()
    return json.dumps([rows, logs, execution.output, execution.error_message, execution.error_details], default=str)


def test_values_are_encrypted_at_rest(user):
    credential = credentials.credential_save(owner=user, name="API_TOKEN", value=TOKEN)
    with connection.cursor() as cursor:
        cursor.execute("SELECT encrypted_value FROM workflows_credential WHERE id = %s", [credential.pk])
        (stored,) = cursor.fetchone()
    assert TOKEN not in stored and decrypt(stored) == TOKEN


def test_the_api_takes_values_and_never_gives_them_back(api, user, other_user):
    created = api.post("/api/v1/credentials/", {"name": "API_TOKEN", "value": TOKEN, "description": "CRM"},
                       format="json")
    assert created.status_code == 201 and "value" not in created.data and TOKEN not in json.dumps(created.data)
    assert api.post("/api/v1/credentials/", {"name": "API_TOKEN", "value": TOKEN}, format="json").status_code == 409
    listed = api.get("/api/v1/credentials/")
    assert [c["name"] for c in listed.data["results"]] == ["API_TOKEN"] and TOKEN not in json.dumps(listed.data)
    rotated = api.patch(f"/api/v1/credentials/{created.data['id']}/", {"value": "new-value-123"}, format="json")
    assert rotated.status_code == 200 and "new-value-123" not in json.dumps(rotated.data)
    assert decrypt(Credential.objects.get().encrypted_value) == "new-value-123"
    bad = api.post("/api/v1/credentials/", {"name": "bad name", "value": "abc"}, format="json")
    assert bad.status_code == 400 and {"name", "value"} <= set(bad.data["fields"])
    theirs = credentials.credential_save(owner=other_user, name="THEIRS", value="their-secret")
    assert api.get(f"/api/v1/credentials/{theirs.pk}/").status_code == 404
    assert api.delete(f"/api/v1/credentials/{theirs.pk}/").status_code == 404
    assert api.delete(f"/api/v1/credentials/{created.data['id']}/").status_code == 204


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("body", [False, [], "value", None])
def test_a_patch_whose_body_is_no_object_is_a_400(api, user, body):
    # Was a 500 (found by test_openapi's schemathesis run): the body was merged into a dict.
    credential = credentials.credential_save(owner=user, name="API_TOKEN", value=TOKEN)
    response = api.patch(f"/api/v1/credentials/{credential.pk}/", json.dumps(body), content_type="application/json")
    assert response.status_code == 400, response.data
    assert decrypt(Credential.objects.get().encrypted_value) == TOKEN


def test_a_patch_may_be_a_form(api, user):
    credential = credentials.credential_save(owner=user, name="API_TOKEN", value=TOKEN)
    response = api.patch(f"/api/v1/credentials/{credential.pk}/", {"value": "from-a-form", "description": "d"},
                         format="multipart")
    assert response.status_code == 200 and response.data["description"] == "d"
    assert decrypt(Credential.objects.get().encrypted_value) == "from-a-form"
    renamed = api.patch(f"/api/v1/credentials/{credential.pk}/", {"name": "bad name"}, format="json")
    assert renamed.status_code == 400 and "name" in renamed.data["fields"]


def test_a_secret_reaches_the_step_and_is_redacted_from_everything_it_leaves(user, server, settings, sync_executor):
    settings.FLOWPILOT_HTTP_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    credentials.credential_save(owner=user, name="API_TOKEN", value=TOKEN)
    wf = active_workflow(user, [
        step("call", "http_request", config={"method": "POST", "url": f"{server.url}/echo",
                                             "headers": {"Authorization": "Bearer {{ secrets.API_TOKEN }}"},
                                             "json": {"token": "{{ secrets.API_TOKEN }}"}}),
        step("note", "log", config={"message": "used {{ secrets.API_TOKEN }} for {{ input.who }}"},
             depends_on=["call"]),
        step("leak", "python", config={"function": "fail", "kwargs": {"message": "bad token {{ secrets.API_TOKEN }}",
                                                                       "retryable": False}}, depends_on=["note"]),
    ])
    execution, _ = services.execution_start(workflow=wf, input_data={"who": "Ada"})
    sync_executor.drain()
    assert server.requests[0]["headers"]["Authorization"] == f"Bearer {TOKEN}"  # the step got the real value
    assert json.loads(server.requests[0]["body"]) == {"token": TOKEN}
    stored = everything_stored(execution)
    assert TOKEN not in stored and "[redacted]" in stored
    assert execution.status == E.FAILED and execution.error_message == "step 'leak' failed: bad token [redacted]"


def test_a_missing_credential_fails_the_step_clearly(user, sync_executor):
    wf = active_workflow(user, [step("note", "log", config={"message": "{{ secrets.NOPE }}"})])
    execution, _ = services.execution_start(workflow=wf)
    sync_executor.drain()
    execution.refresh_from_db()
    assert execution.error_message == "step 'note' failed: credential 'NOPE' does not exist"


def test_credentials_belong_to_the_workflow_owner(user, other_user, sync_executor):
    credentials.credential_save(owner=other_user, name="API_TOKEN", value=TOKEN)
    wf = active_workflow(user, [step("note", "log", config={"message": "{{ secrets.API_TOKEN }}"})])
    execution, _ = services.execution_start(workflow=wf)
    sync_executor.drain()
    execution.refresh_from_db()
    assert "credential 'API_TOKEN' does not exist" in execution.error_message
