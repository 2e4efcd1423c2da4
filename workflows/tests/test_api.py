"""The REST API: shapes, status codes, errors naming the field, owners, constant query counts."""

import json
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection, transaction
from django.utils import timezone
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token
from rest_framework import serializers
from rest_framework.test import APIClient

from workflows import services
from workflows.api import serializers as s
from workflows.models import ExecutionLog, Workflow, WorkflowExecution, WorkflowStep
from workflows.engine.planner.states import EXECUTION_ACTIONS, allowed_actions
from workflows.engine.planner.states import ExecutionStatus as E
from workflows.tests import functions
from workflows.tests.factories import active_workflow, diamond, step

SIGNUP = {
    "name": "signup",
    "description": "new user -> welcome -> CRM",
    "steps": [
        {"key": "welcome", "task_type": "log", "config": {"message": "Welcome {{ input.email }}"}},
        {"key": "crm", "task_type": "python", "config": {"function": "record", "kwargs": {"value": "{{ input.email }}"}},
         "depends_on": ["welcome"], "max_retries": 2, "timeout_seconds": 30, "position": {"x": 100, "y": 50}},
    ],
}


def create(api, payload=SIGNUP):
    response = api.post("/api/v1/workflows/", payload, format="json")
    assert response.status_code == 201, response.data
    return response.data


def test_every_endpoint_but_health_needs_a_user(db):
    anonymous = APIClient()
    assert anonymous.get("/api/v1/workflows/").status_code in (401, 403)
    assert anonymous.post("/api/v1/executions/", {}, format="json").status_code in (401, 403)
    assert anonymous.get("/health").status_code in (200, 503)  # answered without a user (503: no worker here)


def test_token_authentication(user):
    token = Token.objects.create(user=user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    assert client.get("/api/v1/workflows/").status_code == 200
    client.credentials(HTTP_AUTHORIZATION="Token wrong")
    assert client.get("/api/v1/workflows/").status_code == 401


def test_health_reports_database_and_broker(db):
    from monitoring import presence

    presence.record(name="worker@test:1", role="worker", info={"node": "worker@test"})
    presence.beat_ticked()
    response = APIClient().get("/health")
    body = response.json()
    assert response.status_code == 200 and body["status"] == "healthy"
    assert body["database"] == "ok" and body["broker"].startswith("ok")


def test_create_a_workflow_with_its_whole_graph_in_one_request(api):
    data = create(api)
    assert data["status"] == "draft" and data["version"] == 0
    crm = data["steps"][1]
    assert crm["depends_on"] == ["welcome"] and crm["max_retries"] == 2 and crm["position"] == {"x": 100, "y": 50}


@pytest.mark.parametrize("steps,field,words", [
    ([{"key": "a", "task_type": "log", "config": {"message": "x"}, "depends_on": ["b"]},
      {"key": "b", "task_type": "log", "config": {"message": "x"}, "depends_on": ["a"]}],
     "steps.a.depends_on", "dependency cycle: a -> b -> a"),
    ([{"key": "a", "task_type": "log", "config": {"message": "x"}, "depends_on": ["ghost"]}],
     "steps.a.depends_on", "unknown step 'ghost'"),
    ([{"key": "a", "task_type": "log", "config": {"message": "x"}},
      {"key": "a", "task_type": "log", "config": {"message": "y"}}], "steps.a.key", "more than one step"),
    ([{"key": "a", "task_type": "teleport"}], "steps.a.task_type", "unknown step type 'teleport'"),
    ([{"key": "a", "task_type": "log", "config": {}}], "steps.a.config.message", "required"),
    ([{"key": "a", "task_type": "http_request", "config": {"url": "http://x", "method": "FETCH"}}],
     "steps.a.config.method", "is not one of"),
    ([{"key": "a", "task_type": "log", "config": {"message": "{{ input.x "}}], "steps.a.config.message",
     "does not parse"),
    ([{"key": "a", "task_type": "log", "config": {"message": "x"}, "when": "input.x >"}], "steps.a.when",
     "does not parse"),
    ([{"key": "bad key!", "task_type": "log"}], "steps[0].key", "letters, digits and underscores"),
])
def test_an_invalid_definition_is_a_400_naming_the_step_and_field_and_changes_nothing(api, steps, field, words):
    response = api.post("/api/v1/workflows/", {"name": "bad", "steps": steps}, format="json")
    assert response.status_code == 400
    assert field in response.data["fields"], response.data
    assert words in " ".join(response.data["fields"][field]) and words in response.data["message"]
    assert not Workflow.objects.exists()


def test_update_replaces_the_graph_and_an_invalid_update_changes_nothing(api):
    wf = create(api)
    url = f"/api/v1/workflows/{wf['id']}/"
    bad = api.put(url, {"name": "signup", "steps": [{"key": "x", "task_type": "nope"}]}, format="json")
    assert bad.status_code == 400
    assert [s.key for s in WorkflowStep.objects.filter(workflow_id=wf["id"])] == ["welcome", "crm"]
    good = api.patch(url, {"steps": [{"key": "only", "task_type": "log", "config": {"message": "hi"}}]},
                     format="json")
    assert good.status_code == 200 and [s["key"] for s in good.data["steps"]] == ["only"]
    assert good.data["name"] == "signup"


def test_add_one_step_activate_and_run(api, sync_executor):
    wf = create(api)
    added = api.post(f"/api/v1/workflows/{wf['id']}/steps/",
                     {"key": "slack", "task_type": "log", "config": {"message": "done"}, "depends_on": ["crm"]},
                     format="json")
    assert added.status_code == 201 and added.data["depends_on"] == ["crm"]
    duplicate = api.post(f"/api/v1/workflows/{wf['id']}/steps/", {"key": "slack", "task_type": "log",
                                                                  "config": {"message": "x"}}, format="json")
    assert duplicate.status_code == 400 and "key" in duplicate.data["fields"]

    draft_run = api.post(f"/api/v1/workflows/{wf['id']}/run/", {"input_data": {}}, format="json")
    assert draft_run.status_code == 409 and "activate" in draft_run.data["message"]

    activated = api.post(f"/api/v1/workflows/{wf['id']}/activate/")
    assert activated.status_code == 200 and activated.data["status"] == "active" and activated.data["version"] == 1
    run = api.post(f"/api/v1/workflows/{wf['id']}/run/", {"input_data": {"email": "a@b.c"}}, format="json")
    assert run.status_code == 201 and run.data["status"] == "running" and run.data["triggered_by"] == "manual"
    assert run.data["triggered_by_user"] == "alice"
    sync_executor.drain()
    detail = api.get(f"/api/v1/executions/{run.data['id']}/").data
    assert detail["status"] == "completed"
    assert [(t["step_key"], t["status"], t["attempt_number"]) for t in detail["task_executions"]] == [
        ("welcome", "completed", 1), ("crm", "completed", 1), ("slack", "completed", 1)]
    assert detail["task_executions"][1]["output_data"] == {"value": "a@b.c"}
    versions = api.get(f"/api/v1/workflows/{wf['id']}/versions/").data
    assert [v["number"] for v in versions] == [1]


def test_a_version_keeps_where_each_step_was_drawn(api):
    wf = api.post("/api/v1/workflows/", {"name": "drawn", "steps": [
        {"key": "a", "task_type": "log", "config": {"message": "a"}, "position": {"x": 120.5, "y": -40}},
        {"key": "b", "task_type": "log", "config": {"message": "b"}, "depends_on": ["a"]}]}, format="json").data
    api.post(f"/api/v1/workflows/{wf['id']}/activate/")
    (version,) = api.get(f"/api/v1/workflows/{wf['id']}/versions/").data
    assert [s["position"] for s in version["definition"]["steps"]] == [{"x": 120.5, "y": -40}, {"x": 0, "y": 0}]


def test_post_executions_201_new_200_existing(api, user):
    wf = diamond(user)
    body = {"workflow_id": str(wf.pk), "input_data": {"order": 1}, "idempotency_key": "order-1"}
    first = api.post("/api/v1/executions/", body, format="json")
    second = api.post("/api/v1/executions/", body, format="json")
    assert first.status_code == 201 and second.status_code == 200
    assert first.data["id"] == second.data["id"] and first.data["input_data"] == {"order": 1}
    assert first.data["idempotency_key"] == "order-1" and first.data["retry_count"] == 0


@pytest.mark.parametrize("body,field", [
    ({"input_data": {}}, "workflow_id"),
    ({"workflow_id": "not-a-uuid", "input_data": {}}, "workflow_id"),
    ({"workflow_id": "WF", "input_data": [1, 2]}, "input_data"),
])
def test_bad_execution_input_is_a_400_naming_the_field(api, user, body, field):
    wf = diamond(user)
    if body.get("workflow_id") == "WF":
        body = {**body, "workflow_id": str(wf.pk)}
    response = api.post("/api/v1/executions/", body, format="json")
    assert response.status_code == 400 and field in response.data["fields"]
    assert not WorkflowExecution.objects.exists()


def test_an_oversized_input_is_refused(api, user, settings):
    settings.FLOWPILOT_MAX_PAYLOAD_BYTES = 100
    wf = diamond(user)
    response = api.post("/api/v1/executions/", {"workflow_id": str(wf.pk), "input_data": {"x": "y" * 200}},
                        format="json")
    assert response.status_code == 400 and "input_data" in response.data["fields"]
    assert not WorkflowExecution.objects.exists()


NUL = "a\u0000b"  # PostgreSQL's jsonb cannot store it: each of these was a 500 there (test_openapi's fuzzing)


@pytest.mark.parametrize("url,body,field", [
    ("/api/v1/workflows/", {"name": "n", "metadata": {"note": NUL}}, "metadata.note"),
    ("/api/v1/workflows/", {"name": "n", "metadata": {NUL: 1}}, "metadata"),
    ("/api/v1/workflows/", {"name": "n", "steps": [{"key": "a", "task_type": "log", "config": {"message": NUL}}]},
     "steps.a.config.message"),
    ("/api/v1/workflows/WF/steps/", {"key": "e", "task_type": "log", "config": {"message": NUL}},
     "steps.e.config.message"),
    ("/api/v1/workflows/WF/run/", {"input_data": {"x": [1, {"y": NUL}]}}, "input_data.x[1].y"),
    ("/api/v1/executions/", {"workflow_id": "WF", "input_data": {"x": NUL}}, "input_data.x"),
])
def test_json_holding_the_nul_character_is_a_400_naming_where(api, user, url, body, field):
    wf = diamond(user)
    url, body = url.replace("WF", str(wf.pk)), json.loads(json.dumps(body).replace("WF", str(wf.pk)))
    response = api.post(url, body, format="json")
    assert response.status_code == 400 and field in response.data["fields"], response.data
    assert Workflow.objects.count() == 1 and WorkflowStep.objects.count() == 4
    assert not WorkflowExecution.objects.exists()


@pytest.mark.parametrize("body,field", [
    ({"name": "n", "max_concurrency": 2**31}, "max_concurrency"),
    ({"name": "n", "steps": [{"key": "a", "task_type": "log", "config": {"message": "x"}, "step_order": 2**31}]},
     "steps[0].step_order"),
    ({"name": "n", "steps": [{"key": "a", "task_type": "log", "config": {"message": "x"}, "step_order": -2**31 - 1}]},
     "steps[0].step_order"),
])
def test_integers_beyond_the_columns_range_are_a_400(api, body, field):
    # Each was a 500 on PostgreSQL ("integer out of range"), found by test_openapi's fuzzing.
    response = api.post("/api/v1/workflows/", body, format="json")
    assert response.status_code == 400 and field in response.data["fields"], response.data


def test_execution_list_filters_and_paginates(api, user, sync_executor):
    wf, other = diamond(user, name="one"), diamond(user, name="two")
    for i in range(3):
        api.post(f"/api/v1/workflows/{wf.pk}/run/", {"input_data": {"i": i}}, format="json")
    api.post(f"/api/v1/workflows/{other.pk}/run/", {"input_data": {}}, format="json")
    assert api.get("/api/v1/executions/").data["count"] == 4
    assert api.get(f"/api/v1/executions/?workflow={wf.pk}").data["count"] == 3
    assert api.get("/api/v1/executions/?status=running").data["count"] == 4
    sync_executor.drain()
    assert api.get("/api/v1/executions/?status=completed").data["count"] == 4
    page = api.get("/api/v1/executions/?limit=2&offset=1").data
    assert page["count"] == 4 and len(page["results"]) == 2
    assert api.get("/api/v1/executions/?created_after=2999-01-01T00:00:00Z").data["count"] == 0
    assert api.get("/api/v1/executions/?status=bogus").status_code == 400


def test_execution_time_filters_take_any_iso_offset(api, user):
    # An offset beyond PostgreSQL's 15:59 was a 500 there (test_openapi's fuzzing): filters compare in UTC.
    services.execution_start(workflow=diamond(user), input_data={})
    assert api.get("/api/v1/executions/", {"created_after": "1924-04-23T05:26:22-21:15"}).data["count"] == 1
    assert api.get("/api/v1/executions/", {"created_before": "2999-01-01T00:00:00+23:59"}).data["count"] == 1
    too_far = api.get("/api/v1/executions/", {"created_before": "9999-12-31T23:59:59-05:00"})  # no UTC for it
    assert too_far.status_code == 400 and "created_before" in too_far.data["fields"]


def test_list_endpoints_make_a_constant_number_of_queries(api, user, sync_executor):
    def count(url):
        with CaptureQueriesContext(connection) as queries:
            assert api.get(url).status_code == 200
        return len(queries)

    wf = diamond(user)
    api.post(f"/api/v1/workflows/{wf.pk}/run/", {}, format="json")
    sync_executor.drain()
    few = (count("/api/v1/executions/"), count("/api/v1/workflows/"))
    for i in range(6):
        diamond(user, name=f"more{i}")
        api.post(f"/api/v1/workflows/{wf.pk}/run/", {}, format="json")
    sync_executor.drain()
    execution_id = WorkflowExecution.objects.first().pk
    assert (count("/api/v1/executions/"), count("/api/v1/workflows/")) == few
    detail = count(f"/api/v1/executions/{execution_id}/")
    assert detail <= 4


def test_retry_cancel_and_logs(api, user, sync_executor):
    wf = active_workflow(user, [step("ok", function="noop"),
                                step("boom", function="fail", kwargs={"message": "boom 42"}, depends_on=["ok"],
                                     max_retries=0)])
    run = api.post(f"/api/v1/workflows/{wf.pk}/run/", {}, format="json").data
    sync_executor.drain()
    detail = api.get(f"/api/v1/executions/{run['id']}/").data
    assert detail["status"] == "failed" and detail["error_message"] == "step 'boom' failed: boom 42"
    assert api.post(f"/api/v1/executions/{run['id']}/cancel/").status_code == 200
    retried = api.post(f"/api/v1/executions/{run['id']}/retry/")
    assert retried.status_code == 200 and retried.data["retry_count"] == 1
    sync_executor.drain()
    detail = api.get(f"/api/v1/executions/{run['id']}/").data
    assert detail["status"] == "failed" and detail["retry_count"] == 1  # the fault is still there
    assert [(t["step_key"], t["attempt_number"]) for t in detail["task_executions"]] == [
        ("ok", 1), ("boom", 1), ("boom", 2)]

    logs = api.get(f"/api/v1/executions/{run['id']}/logs/?level=error").data
    assert logs["count"] >= 2 and all(entry["level"] == "error" for entry in logs["logs"])
    assert any("boom 42" in entry["message"] for entry in logs["logs"])
    everything = api.get(f"/api/v1/executions/{run['id']}/logs/").data
    assert everything["count"] == ExecutionLog.objects.filter(execution_id=run["id"]).count()
    assert api.get(f"/api/v1/executions/{run['id']}/logs/?level=loud").status_code == 400


@pytest.mark.parametrize("query", ["offset=233854295095871220482048", "offset=-1", "limit=0", "limit=1001"])
def test_log_paging_out_of_range_is_a_400(api, user, query):
    # A huge offset was a 500 (SQL OFFSET overflow), found by the schemathesis run (test_openapi.py).
    execution, _ = services.execution_start(workflow=diamond(user), input_data={})
    response = api.get(f"/api/v1/executions/{execution.pk}/logs/?{query}")
    assert response.status_code == 400 and query.split("=")[0] in response.data["fields"]
    assert api.get(f"/api/v1/executions/{execution.pk}/logs/?offset={2**31 - 1}").data["logs"] == []


def test_cancel_of_a_finished_execution_is_a_409(api, user, sync_executor):
    wf = diamond(user)
    run = api.post(f"/api/v1/workflows/{wf.pk}/run/", {}, format="json").data
    sync_executor.drain()
    response = api.post(f"/api/v1/executions/{run['id']}/cancel/")
    assert response.status_code == 409 and "completed" in response.data["message"]


def test_bulk_retry_answers_how_many(api, user, sync_executor):
    functions.FAULTS.update({"a", "b"})
    wf = active_workflow(user, [step("otp", function="noop"),
                                step("create_patient", function="create_patient",
                                     kwargs={"name": "{{ input.name }}"}, depends_on=["otp"], max_retries=0)])
    for name in "abc":
        api.post(f"/api/v1/workflows/{wf.pk}/run/", {"input_data": {"name": name}}, format="json")
    sync_executor.drain()
    functions.FAULTS.clear()
    body = {"workflow_id": str(wf.pk), "step_key": "create_patient", "error_contains": "OVERLOADED"}
    dry = api.post("/api/v1/executions/retry-failed/", {**body, "dry_run": True}, format="json").data
    assert dry["count"] == 2 and WorkflowExecution.objects.filter(status=E.FAILED).count() == 2
    response = api.post("/api/v1/executions/retry-failed/", body, format="json")
    assert response.status_code == 200 and response.data["retried"] == 2
    sync_executor.drain()
    assert WorkflowExecution.objects.filter(status=E.COMPLETED).count() == 3


def test_bulk_retry_of_selected_executions_retries_only_those_that_failed(api, user, other_user, sync_executor):
    functions.FAULTS.update({"a", "b", "c"})
    wf = active_workflow(user, [step("create_patient", function="create_patient", kwargs={"name": "{{ input.name }}"},
                                     max_retries=0)])
    runs = {name: api.post(f"/api/v1/workflows/{wf.pk}/run/", {"input_data": {"name": name}}, format="json").data["id"]
            for name in "abcd"}
    theirs = active_workflow(other_user, [step("create_patient", function="create_patient",
                                               kwargs={"name": "a"}, max_retries=0)])
    foreign = services.execution_start(workflow=theirs, input_data={})[0]
    sync_executor.drain()
    functions.FAULTS.clear()
    assert WorkflowExecution.objects.filter(status=E.FAILED).count() == 4
    chosen = [runs["a"], runs["c"], runs["d"], str(foreign.pk)]  # d completed; the last is another user's
    dry = api.post("/api/v1/executions/retry-failed/", {"execution_ids": chosen, "dry_run": True}, format="json").data
    assert sorted(map(str, dry["execution_ids"])) == sorted([runs["a"], runs["c"]])
    response = api.post("/api/v1/executions/retry-failed/", {"execution_ids": chosen}, format="json")
    assert response.status_code == 200 and response.data["retried"] == 2
    sync_executor.drain()
    status = dict(WorkflowExecution.objects.values_list("pk", "status"))
    assert [status[uuid.UUID(runs[n])] for n in "abcd"] == [E.COMPLETED, E.FAILED, E.COMPLETED, E.COMPLETED]
    assert status[foreign.pk] == E.FAILED
    assert api.post("/api/v1/executions/retry-failed/", {"execution_ids": ["nope"]}, format="json").status_code == 400


def test_another_users_objects_are_invisible(api, other_user, sync_executor):
    wf = diamond(other_user)
    execution = api.post("/api/v1/executions/", {"workflow_id": str(wf.pk)}, format="json")
    assert execution.status_code == 400  # not even visible as a choice
    from workflows import services

    theirs, _ = services.execution_start(workflow=wf)
    for method, url in [("get", f"/api/v1/workflows/{wf.pk}/"), ("put", f"/api/v1/workflows/{wf.pk}/"),
                        ("delete", f"/api/v1/workflows/{wf.pk}/"), ("post", f"/api/v1/workflows/{wf.pk}/run/"),
                        ("post", f"/api/v1/workflows/{wf.pk}/activate/"),
                        ("post", f"/api/v1/workflows/{wf.pk}/steps/"),
                        ("get", f"/api/v1/workflows/{wf.pk}/versions/"),
                        ("get", f"/api/v1/executions/{theirs.pk}/"), ("post", f"/api/v1/executions/{theirs.pk}/retry/"),
                        ("post", f"/api/v1/executions/{theirs.pk}/cancel/"),
                        ("post", f"/api/v1/executions/{theirs.pk}/signal/"),
                        ("get", f"/api/v1/workflows/{wf.pk}/export/"),
                        ("get", f"/api/v1/executions/{theirs.pk}/logs/")]:
        assert getattr(api, method)(url, {}, format="json").status_code == 404, url
    assert api.get("/api/v1/workflows/").data["count"] == 0
    assert api.get("/api/v1/executions/").data["count"] == 0
    assert api.post("/api/v1/executions/retry-failed/", {}, format="json").data["retried"] == 0
    theirs.refresh_from_db()
    assert theirs.status == E.RUNNING


def test_delete_refuses_a_workflow_with_running_executions(api, user, sync_executor):
    wf = active_workflow(user, [step("wait", "delay", config={"seconds": 60})])
    api.post(f"/api/v1/workflows/{wf.pk}/run/", {}, format="json")
    sync_executor.drain()
    assert api.delete(f"/api/v1/workflows/{wf.pk}/").status_code == 409
    idle = diamond(user, name="idle")
    assert api.delete(f"/api/v1/workflows/{idle.pk}/").status_code == 204


def test_step_types_describe_their_config_schema(api):
    types = {t["name"]: t for t in api.get("/api/v1/step-types/").data}
    assert {"log", "delay", "python", "http_request"} <= set(types)
    assert types["http_request"]["config_schema"]["required"] == ["url"]
    assert types["log"]["example"]["message"]


def test_openapi_schema_is_served(api):
    response = api.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    assert "/api/v1/executions/retry-failed/" in response.json()["paths"]


# --- what a run may do now: allowed_actions, from the state machine's table --------------------------

def _run_in(status: str, user, sync_executor) -> WorkflowExecution:
    """A real run of the user's, brought to `status` by the engine itself (no status written by hand)."""
    if status == E.PENDING:  # scheduled for later: it waits as pending
        execution, _ = services.execution_start(workflow=diamond(user), scheduled_at=timezone.now() + timedelta(hours=1))
    elif status == E.RUNNING:  # its first step queued, not yet run
        execution, _ = services.execution_start(workflow=diamond(user))
    elif status == E.COMPLETED:
        execution, _ = services.execution_start(workflow=diamond(user))
        sync_executor.drain()
    elif status == E.FAILED:
        workflow = active_workflow(user, [step("boom", function="fail", kwargs={"retryable": False})])
        execution, _ = services.execution_start(workflow=workflow)
        sync_executor.drain()
    elif status == E.CANCELLED:
        execution, _ = services.execution_start(workflow=diamond(user))
        services.execution_cancel(execution=execution)
    elif status == E.PAUSED:  # paused while running (its first step queued, held)
        execution, _ = services.execution_start(workflow=diamond(user))
        services.execution_pause(execution=execution)
    else:
        raise AssertionError(f"no way to bring a run to {status!r} here: add one")  # a new status needs a case
    execution.refresh_from_db()
    assert execution.status == status
    return execution


@pytest.mark.parametrize("status", E.values)
def test_allowed_actions_are_exactly_what_the_endpoints_accept_for_every_status(api, user, sync_executor, status):
    for action in EXECUTION_ACTIONS:
        execution = _run_in(status, user, sync_executor)
        detail = api.get(f"/api/v1/executions/{execution.pk}/").data
        listed = next(e for e in api.get("/api/v1/executions/").data["results"] if e["id"] == str(execution.pk))
        assert listed["allowed_actions"] == detail["allowed_actions"]
        # "edit" is a retry with overrides; "rerun" names the step to re-open from.
        endpoint, body = {"edit": ("retry", {"overrides": {"input": {"edited": True}}}),
                          "rerun": ("rerun", {"from_step": execution.task_executions.first().step_key})}.get(
            action, (action, None))
        answer = api.post(f"/api/v1/executions/{execution.pk}/{endpoint}/", body, format="json")
        if action in detail["allowed_actions"]:
            assert answer.status_code == 200, (status, action, answer.data)
            assert answer.data["status"] != status  # it did something
        else:
            assert answer.status_code == 409, (status, action, answer.data)
            assert status in answer.data["message"] and answer.data["allowed_actions"] == detail["allowed_actions"]
            execution.refresh_from_db()
            assert execution.status == status  # refused: nothing changed


def test_the_action_answers_carry_the_new_allowed_actions(api, user, sync_executor):
    execution = _run_in(E.RUNNING, user, sync_executor)
    cancelled = api.post(f"/api/v1/executions/{execution.pk}/cancel/").data
    assert cancelled["status"] == "cancelled" and cancelled["allowed_actions"] == ["retry", "edit", "rerun", "replay"]
    retried = api.post(f"/api/v1/executions/{execution.pk}/retry/").data
    assert retried["status"] in ("pending", "running") and retried["allowed_actions"] == ["cancel", "pause"]
    paused = api.post(f"/api/v1/executions/{execution.pk}/pause/").data
    assert paused["status"] == "paused" and paused["allowed_actions"] == ["cancel", "unpause"]
    unpaused = api.post(f"/api/v1/executions/{execution.pk}/unpause/").data
    assert unpaused["status"] == "running" and unpaused["allowed_actions"] == ["cancel", "pause"]


def test_an_invalid_transition_is_a_409_in_the_house_shape_and_changes_nothing(api, user, sync_executor, monkeypatch):
    # The services decide with check_action first; with that check gone (a rule checked too loosely,
    # or a race), the state machine itself refuses: a 409, never a 500.
    execution = _run_in(E.COMPLETED, user, sync_executor)
    rows, logs = execution.task_executions.count(), execution.logs.count()
    monkeypatch.setattr(services.executions, "check_action", lambda status, action, **kwargs: None)
    answer = api.post(f"/api/v1/executions/{execution.pk}/cancel/")
    assert answer.status_code == 409 and answer["Content-Type"] == "application/json"
    assert answer.json() == {"message": "execution cannot go from 'completed' to 'cancelled'",
                             "transition": {"kind": "execution", "source": "completed", "target": "cancelled"}}
    execution.refresh_from_db()
    assert (execution.status, execution.retry_count) == (E.COMPLETED, 0)
    assert (execution.task_executions.count(), execution.logs.count()) == (rows, logs)


def test_each_steps_current_attempt_is_marked_latest(api, user, sync_executor):
    wf = active_workflow(user, [step("ok", function="noop"),
                                step("boom", function="fail", depends_on=["ok"], max_retries=0)])
    run = api.post(f"/api/v1/workflows/{wf.pk}/run/", {}, format="json").data
    sync_executor.drain()
    api.post(f"/api/v1/executions/{run['id']}/retry/")
    sync_executor.drain()
    api.post(f"/api/v1/executions/{run['id']}/retry/")
    tasks = api.get(f"/api/v1/executions/{run['id']}/").data["task_executions"]
    assert [(t["step_key"], t["attempt_number"], t["is_latest"]) for t in tasks] == [
        ("ok", 1, True), ("boom", 1, False), ("boom", 2, False), ("boom", 3, True)]


def test_the_monitors_tests_use_the_servers_table_of_actions():
    """frontend/src/monitor/allowed-actions.json is what the server answers as allowed_actions for each
    status; the monitor's tests (ExecutionHeader.test.tsx) show the buttons from it. Both sides are
    tested from the one table: a change of the table fails here until the file is updated."""
    path = Path(__file__).resolve().parents[2] / "frontend" / "src" / "monitor" / "allowed-actions.json"
    table = {status: allowed_actions(status) for status in E.values}
    assert json.loads(path.read_text()) == table, f"update {path} to:\n{json.dumps(table, indent=2)}"


# --- a step's fields validated in one pass (serializers.StepSerializer._fields_of) -------------------

class _DrfStepSerializer(s.StepSerializer):
    """The same fields through DRF's own Serializer.to_internal_value: what the one pass must equal."""

    def _fields_of(self, data):
        return serializers.Serializer.to_internal_value(self, data)


_STEP_BODIES = [
    {"key": "a", "task_type": "python", "config": {"function": "noop"}},
    {"key": "b", "task_type": "python", "name": "B", "depends_on": ["a", "c:true"], "step_order": 3,
     "timeout_seconds": 30, "when": "{{ true }}", "position": {"x": 1.5, "y": 2}, "max_retries": 2,
     "retry_base_delay": 0.5, "retry_backoff_factor": 2, "retry_max_delay": 60},
    {"key": "9bad", "task_type": "", "config": [], "depends_on": "a", "step_order": "x", "max_retries": -1,
     "retry_base_delay": 1e300, "retry_backoff_factor": 0, "timeout_seconds": 0, "position": {"x": "left"}},
    {"key": "  padded  ", "task_type": "python", "name": None, "when": None, "depends_on": ["", "a" * 202]},
    {"task_type": "python"},
    {"key": "k", "task_type": "python", "max_retries": None, "retry_base_delay": None, "position": None},
    {"key": "n\x00ul", "task_type": "python\x00"},
]


@pytest.mark.parametrize("body", _STEP_BODIES, ids=range(len(_STEP_BODIES)))
@pytest.mark.parametrize("partial", [False, True])
def test_a_step_validated_in_one_pass_gives_what_drf_gives(body, partial):
    ours, drf = s.StepSerializer(data=body, partial=partial), _DrfStepSerializer(data=body, partial=partial)
    assert ours.is_valid() == drf.is_valid()
    assert ours.errors == drf.errors
    if not ours.errors:
        assert dict(ours.validated_data) == dict(drf.validated_data)


def test_a_workflows_steps_validated_in_one_pass_give_what_drf_gives(monkeypatch):
    body = {"name": "w", "steps": _STEP_BODIES}
    ours = s.WorkflowInputSerializer(data=body)
    ours.is_valid()
    monkeypatch.setattr(s.StepSerializer, "_fields_of", _DrfStepSerializer._fields_of)
    drf = s.WorkflowInputSerializer(data=body)
    drf.is_valid()
    assert ours.errors == drf.errors and 0 not in ours.errors["steps"] and ours.errors["steps"][2]


# --- POST /api/v1/executions/bulk/ ---------------------------------------------------------------

BULK = "/api/v1/executions/bulk/"


def test_bulk_start_creates_the_runs_in_order_and_they_run(api, user, sync_executor):
    wf = diamond(user)
    inputs = [{"n": i} for i in range(5)]
    response = api.post(BULK, {"workflow": str(wf.pk), "inputs": inputs}, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["count"] == 5 and body["created"] == [True] * 5
    runs = {str(e.pk): e for e in WorkflowExecution.objects.filter(workflow=wf)}
    assert sorted(runs) == sorted(body["execution_ids"])
    assert [runs[i].input for i in body["execution_ids"]] == inputs
    assert {e.triggered_by for e in runs.values()} == {"api"} and {e.triggered_by_user for e in runs.values()} == {user}
    # Each run started, its first step queued (and its events written), as a single start does.
    for execution in runs.values():
        assert execution.status == E.RUNNING
        assert list(execution.task_executions.order_by("step_key").values_list("step_key", "status")) == [
            ("a", "queued"), ("b", "pending"), ("c", "pending"), ("d", "pending")]
        assert list(execution.logs.order_by("timestamp", "id").values_list("event", flat=True)) == [
            "execution.created", "execution.started", "step.queued"]
    sync_executor.drain()
    assert set(WorkflowExecution.objects.filter(workflow=wf).values_list("status", flat=True)) == {"completed"}


def test_bulk_start_is_all_or_nothing(api, user, settings):
    wf = diamond(user)
    settings.FLOWPILOT_MAX_PAYLOAD_BYTES = 100
    inputs = [{"n": 1}, {"n": 2}, {"big": "x" * 200}]
    response = api.post(BULK, {"workflow": str(wf.pk), "inputs": inputs}, format="json")
    assert response.status_code == 400
    assert list(response.json()["fields"]) == ["inputs[2]"]
    assert not WorkflowExecution.objects.exists()


@pytest.mark.parametrize("body, field", [
    ({"inputs": [{}, 3, {}]}, "inputs[1]"),
    ({"inputs": [{}, ["a"]]}, "inputs[1]"),
    ({"items": [{"input_data": {}}, {"input_data": "text"}]}, "items[1].input_data"),
    ({"inputs": []}, "inputs"),
    ({}, "inputs"),
    ({"inputs": [{}], "items": [{}]}, "inputs"),
    ({"inputs": {"a": 1}}, "inputs"),
    ({"inputs": [{} for _ in range(1001)]}, "inputs"),
    ({"items": [{} for _ in range(1001)]}, "items"),
    ({"items": [{"idempotency_key": "k" * 256}]}, "items[0].idempotency_key"),
])
def test_bulk_start_refuses_bad_bodies_in_the_house_shape(api, user, body, field):
    wf = diamond(user)
    response = api.post(BULK, {"workflow": str(wf.pk), **body}, format="json")
    assert response.status_code == 400, response.json()
    assert response.json()["message"].startswith("Invalid input")
    assert field in response.json()["fields"]
    assert not WorkflowExecution.objects.exists()


def test_bulk_start_bound_is_a_setting(api, user, settings):
    wf = diamond(user)
    settings.FLOWPILOT_MAX_BULK_START = 3
    response = api.post(BULK, {"workflow": str(wf.pk), "inputs": [{}] * 4}, format="json")
    assert response.status_code == 400 and response.json()["fields"] == {
        "inputs": ["at most 3 runs in one start; this one has 4"]}
    assert api.post(BULK, {"workflow": str(wf.pk), "inputs": [{}] * 3}, format="json").status_code == 201
    assert WorkflowExecution.objects.count() == 3


def test_bulk_start_refuses_a_body_over_the_request_limit(api, user, settings):
    wf = diamond(user)
    body = json.dumps({"workflow": str(wf.pk), "inputs": [{"pad": "x" * 1100}] * 1000})
    assert len(body) > settings.FLOWPILOT_MAX_REQUEST_BYTES
    response = api.generic("POST", BULK, body, content_type="application/json")
    # The house answer of every endpoint to a body over FLOWPILOT_MAX_REQUEST_BYTES (flowpilot/errors.py).
    assert response.status_code == 413
    assert response.json()["message"].startswith("The request body is too large")
    assert not WorkflowExecution.objects.exists()


def test_bulk_start_of_another_users_workflow_is_not_found(api, other_user):
    theirs = diamond(other_user)
    response = api.post(BULK, {"workflow": str(theirs.pk), "inputs": [{}]}, format="json")
    assert response.status_code == 404 and response.json() == {"message": "Not found."}
    missing = api.post(BULK, {"workflow": str(uuid.uuid4()), "inputs": [{}]}, format="json")
    assert missing.status_code == 404
    assert not WorkflowExecution.objects.exists()


def test_bulk_start_needs_a_user(db, user):
    wf = diamond(user)
    assert APIClient().post(BULK, {"workflow": str(wf.pk), "inputs": [{}]}, format="json").status_code in (401, 403)
    assert not WorkflowExecution.objects.exists()


def test_bulk_start_of_an_inactive_workflow_is_a_conflict(api, user):
    wf = diamond(user, status="paused")
    response = api.post(BULK, {"workflow": str(wf.pk), "inputs": [{}, {}]}, format="json")
    assert response.status_code == 409 and "activate it" in response.json()["message"]
    assert not WorkflowExecution.objects.exists()


def test_bulk_start_answers_the_runs_idempotency_keys_started(api, user):
    wf = diamond(user)
    before = api.post("/api/v1/executions/", {"workflow_id": str(wf.pk), "idempotency_key": "k1"}, format="json")
    assert before.status_code == 201
    items = [{"input_data": {"n": 0}, "idempotency_key": "k0"}, {"input_data": {"n": 1}, "idempotency_key": "k1"},
             {"input_data": {"n": 2}}, {"input_data": {"n": 3}, "idempotency_key": "k0"}]
    first = api.post(BULK, {"workflow": str(wf.pk), "items": items}, format="json")
    assert first.status_code == 201, first.json()
    ids = first.json()["execution_ids"]
    assert first.json()["created"] == [True, False, True, False]
    assert ids[1] == before.json()["id"] and ids[3] == ids[0]  # a key repeated in the request: one run
    assert WorkflowExecution.objects.count() == 3
    # A redelivery of the keyed items answers their runs, 200 when nothing is new.
    again = api.post(BULK, {"workflow": str(wf.pk), "items": [items[0], items[1], items[3]]}, format="json")
    assert again.status_code == 200
    assert again.json() == {"count": 3, "execution_ids": [ids[0], ids[1], ids[0]], "created": [False] * 3}
    assert WorkflowExecution.objects.count() == 3


def test_bulk_start_respects_concurrency_limits(api, user):
    wf = diamond(user, max_concurrency=2)
    response = api.post(BULK, {"workflow": str(wf.pk), "inputs": [{}] * 5}, format="json")
    assert response.status_code == 201
    statuses = [WorkflowExecution.objects.get(pk=i).status for i in response.json()["execution_ids"]]
    assert statuses == ["running", "running", "pending", "pending", "pending"]  # first in, first out


def test_starting_runs_takes_a_fixed_number_of_queries(user, sync_executor):
    """Counted, never timed: one start, and a bulk start of 100, take the same queries."""
    wf = diamond(user)
    services.execution_start(workflow=wf, input_data={})  # warm: the version's definition is cached
    with CaptureQueriesContext(connection) as one:
        services.execution_start(workflow=wf, input_data={"n": 1})
    with CaptureQueriesContext(connection) as many:
        services.executions_start(workflow=wf, items=[services.StartItem({"n": i}) for i in range(100)])
    assert WorkflowExecution.objects.count() == 102
    # insert the runs, their step rows; start them; queue their first steps; write their events
    # (with the savepoints of the test's transaction around the service's own).
    assert len(one) == len(many) <= 7, [q["sql"][:80] for q in many.captured_queries]


def test_bulk_start_over_http_takes_a_fixed_number_of_queries(api, user):
    wf = diamond(user)

    def count(n: int) -> int:
        with CaptureQueriesContext(connection) as queries:
            response = api.post(BULK, {"workflow": str(wf.pk), "inputs": [{"n": i} for i in range(n)]},
                                format="json")
            assert response.status_code == 201
        return len(queries)

    count(1)
    assert count(1) == count(100)


# --- every path with and without its trailing slash (flowpilot/slashes.py) -----------------------

def test_post_without_the_trailing_slash_creates(api):
    response = api.post("/api/v1/workflows", SIGNUP, format="json")
    assert response.status_code == 201, response.data  # not a 301 to a GET that lost the body
    assert Workflow.objects.filter(pk=response.data["id"], name="signup").exists()


def _same_with_and_without_slash(api, method: str, path: str, body=None) -> tuple[int, int]:
    """The status of `path` with its slash and without, each on its own fresh copy of the state."""
    statuses = []
    for variant in (path, path.rstrip("/")):
        sid = transaction.savepoint()
        statuses.append(getattr(api, method)(variant, body, format="json").status_code)
        transaction.savepoint_rollback(sid)
    return tuple(statuses)


def test_documented_paths_answer_the_same_with_and_without_their_slash(api, user):
    workflow = diamond(user)
    draft = services.workflow_create(owner=user, data={"name": "draft"}, steps=[step("a", function="noop")])
    execution, _ = services.execution_start(workflow=workflow, input_data={})
    cases = [
        ("get", "/api/v1/workflows/", None),
        ("post", "/api/v1/workflows/", SIGNUP),
        ("post", "/api/v1/workflows/validate/", SIGNUP),
        ("get", f"/api/v1/workflows/{workflow.pk}/", None),
        ("put", f"/api/v1/workflows/{draft.pk}/", {"name": "renamed", "steps": [step("b", function="noop")]}),
        ("patch", f"/api/v1/workflows/{draft.pk}/", {"description": "changed"}),
        ("delete", f"/api/v1/workflows/{draft.pk}/", None),
        ("get", f"/api/v1/workflows/{draft.pk}/steps/", None),
        ("post", f"/api/v1/workflows/{draft.pk}/steps/", {"name": "second", "task_type": "log", "config": {"message": "x"}}),
        ("patch", f"/api/v1/workflows/{draft.pk}/steps/a/", {"name": "first"}),
        ("delete", f"/api/v1/workflows/{draft.pk}/steps/a/", None),
        ("post", f"/api/v1/workflows/{draft.pk}/activate/", None),
        ("get", f"/api/v1/workflows/{workflow.pk}/versions/", None),
        ("get", f"/api/v1/workflows/{workflow.pk}/export/", None),
        ("post", f"/api/v1/workflows/{workflow.pk}/run/", {"input_data": {}}),
        ("get", "/api/v1/executions/", None),
        ("post", "/api/v1/executions/", {"workflow_id": str(workflow.pk), "input_data": {}}),
        ("get", f"/api/v1/executions/{execution.pk}/", None),
        ("get", f"/api/v1/executions/{execution.pk}/logs/", None),
        ("post", f"/api/v1/executions/{execution.pk}/cancel/", None),
        ("get", "/api/v1/step-types/", None),
        ("get", "/api/v1/limits/", None),
        ("get", "/api/v1/credentials/", None),
        ("post", "/api/v1/tokens/", {"name": "ci"}),
        ("get", f"/api/v1/workflows/{workflow.pk}/triggers/", None),
        ("get", "/api/v1/metrics/workflows/", None),
        ("get", "/api/v1/auth/me/", None),
        ("get", "/api/v1/schema/", None),
    ]
    for method, path, body in cases:
        with_slash, without = _same_with_and_without_slash(api, method, path, body)
        assert with_slash == without and with_slash < 300, (method, path, with_slash, without)


def test_paths_outside_the_api_keep_their_redirect_and_the_app(client):
    assert client.get("/admin").status_code == 301  # APPEND_SLASH, as before
    assert client.get("/api/v1/no-such-thing").status_code == 404  # no route either way: a 404, not the app


# --- limit/offset where the client asks; capped ---------------------------------------------------

def test_a_list_asked_for_limit_and_offset_says_them_and_names_its_items(api, user):
    for name in ("a", "b", "c"):
        services.workflow_create(owner=user, data={"name": name})
    plain = api.get("/api/v1/workflows/").json()
    assert set(plain) == {"count", "next", "previous", "results"}  # today's page for who does not ask
    page = api.get("/api/v1/workflows?limit=2&offset=1").json()
    assert (page["count"], page["limit"], page["offset"], len(page["results"])) == (3, 2, 1, 2)
    assert page["workflows"] == page["results"]
    assert api.get("/api/v1/executions/?offset=0").json()["executions"] == []


def test_the_limit_is_capped_and_a_huge_offset_is_an_empty_page(api, user):
    services.workflow_create(owner=user, data={"name": "a"})
    assert api.get("/api/v1/workflows/?limit=100000").json()["limit"] == 1000
    page = api.get("/api/v1/workflows/?offset=233854295095871220482048")
    assert page.status_code == 200 and page.json()["results"] == []


# --- the steps sub-resource -----------------------------------------------------------------------

def test_a_step_given_by_name_gets_a_unique_key_made_from_it(api):
    workflow = create(api, {"name": "w"})
    keys = [api.post(f"/api/v1/workflows/{workflow['id']}/steps/", {"name": name, "task_type": "log", "config": {"message": "x"}},
                     format="json").data["key"]
            for name in ("validate-order", "validate order", "2nd step!")]
    assert keys == ["validate_order", "validate_order_2", "_2nd_step"]
    assert api.post(f"/api/v1/workflows/{workflow['id']}/steps/", {"task_type": "log", "config": {"message": "x"}},
                    format="json").status_code == 400  # neither a key nor a name
    assert [s["key"] for s in api.get(f"/api/v1/workflows/{workflow['id']}/steps/").data] == keys


def test_step_keys_made_from_names_are_valid_and_bounded():
    import re

    from workflows import bounds
    for name, taken in [("Étape über", set()), ("x" * 300, {"x" * 100}), ("---", set()), ("a b", {"a_b"})]:
        key = services.step_key_from_name(name, taken=taken)
        assert re.match(bounds.STEP_KEY_PATTERN, key) and key not in taken, (name, key)


def test_one_step_is_read_changed_and_removed(api):
    workflow = create(api)
    base = f"/api/v1/workflows/{workflow['id']}/steps"
    assert api.get(f"{base}/crm/").data["depends_on"] == ["welcome"]
    patched = api.patch(f"{base}/crm/", {"timeout_seconds": 45}, format="json").data
    assert patched["timeout_seconds"] == 45 and patched["max_retries"] == 2 and patched["position"] == {"x": 100, "y": 50}
    replaced = api.put(f"{base}/crm/", {"task_type": "log", "config": {"message": "hi"}}, format="json").data
    assert replaced["key"] == "crm" and replaced["task_type"] == "log" and replaced["depends_on"] == []
    assert api.delete(f"{base}/welcome/").status_code == 204  # nothing depends on it any more
    assert api.get(f"{base}/welcome/").status_code == 404
    assert api.delete(f"{base}/nope/").status_code == 404


def test_a_step_others_depend_on_is_not_removed_or_renamed(api):
    workflow = create(api)
    base = f"/api/v1/workflows/{workflow['id']}/steps"
    refused = api.delete(f"{base}/welcome/")
    assert refused.status_code == 409 and refused.data["dependents"] == ["crm"]
    assert api.patch(f"{base}/welcome/", {"key": "hello"}, format="json").status_code == 400
    assert [s["key"] for s in api.get(f"{base}/").data] == ["welcome", "crm"]  # nothing changed


def test_changing_a_step_of_an_active_workflow_publishes_a_version(api, user):
    workflow = diamond(user)
    base = f"/api/v1/workflows/{workflow.pk}/steps"
    assert api.patch(f"{base}/d/", {"name": "last"}, format="json").status_code == 200
    assert api.post(f"{base}/", {"name": "e", "task_type": "log", "config": {"message": "x"}, "depends_on": ["d"]}, format="json").status_code == 201
    assert api.delete(f"{base}/e/").status_code == 204
    workflow.refresh_from_db()
    assert workflow.version == 4 and workflow.versions.count() == 4


def test_an_active_workflow_keeps_its_last_step(api, user):
    workflow = active_workflow(user, [step("only", function="noop")])
    response = api.delete(f"/api/v1/workflows/{workflow.pk}/steps/only/")
    assert response.status_code == 409 and workflow.steps.filter(key="only").exists()


# --- max_retries given with a start ---------------------------------------------------------------

def _failing(user, **step_fields):
    return active_workflow(user, [step("f", function="fail", **step_fields)], max_retries=0, retry_base_delay=0)


def _attempts_after_sweeps(execution, sync_executor) -> int:
    from workflows.services.recovery import sweep

    sync_executor.drain()
    for _ in range(5):
        sweep(now=timezone.now() + timedelta(seconds=1))
        sync_executor.drain()
    return execution.task_executions.filter(step_key="f").count()


@pytest.mark.parametrize("path", ["/api/v1/executions/", "/api/v1/workflows/{id}/run/"])
def test_max_retries_on_a_start_overrides_the_workflows_default_for_that_run(api, user, sync_executor, path):
    workflow = _failing(user)
    body = {"workflow_id": str(workflow.pk), "input_data": {}, "max_retries": 2}
    response = api.post(path.format(id=workflow.pk), body, format="json")
    assert response.status_code == 201 and response.data["max_retries"] == 2
    execution = WorkflowExecution.objects.get(pk=response.data["id"])
    assert _attempts_after_sweeps(execution, sync_executor) == 3  # the workflow's 0 retries, overridden
    plain = api.post(path.format(id=workflow.pk), {**body, "max_retries": None}, format="json").data
    assert plain["max_retries"] is None
    assert _attempts_after_sweeps(WorkflowExecution.objects.get(pk=plain["id"]), sync_executor) == 1


def test_a_steps_own_max_retries_wins_over_the_runs(api, user, sync_executor):
    workflow = _failing(user, max_retries=1)
    response = api.post("/api/v1/executions/", {"workflow_id": str(workflow.pk), "max_retries": 5}, format="json")
    assert _attempts_after_sweeps(WorkflowExecution.objects.get(pk=response.data["id"]), sync_executor) == 2


@pytest.mark.parametrize("value", [-1, 101, "many"])
def test_max_retries_on_a_start_is_bounded(api, user, value):
    workflow = diamond(user)
    response = api.post("/api/v1/executions/", {"workflow_id": str(workflow.pk), "max_retries": value}, format="json")
    assert response.status_code == 400 and "max_retries" in response.data["fields"]
    assert not WorkflowExecution.objects.exists()


def test_health_names_the_broker_redis_too(db):
    for path in ("/health", "/health/ready"):
        body = APIClient().get(path).json()
        assert body["redis"] == body["broker"]
