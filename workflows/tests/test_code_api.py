"""Code workflows through the REST API: listed with kind "code" and their graph, read-only, runs
monitored and signalled like any other, events, and steps as actions (POST /api/v1/actions/<name>/)."""

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from workflows.code import SynchronousExecutor, engine
from workflows.models import TaskExecution, Workflow
from workflows.engine.planner.states import ExecutionStatus as E
from workflows.engine.planner.states import TaskStatus as T

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def synchronous(sync_executor):
    engine.set_executor(SynchronousExecutor())


@pytest.fixture
def staff(settings):
    settings.FLOWPILOT_API_RATE_USER = "1000000/minute"
    client = APIClient()
    client.force_authenticate(get_user_model().objects.create_user("root", is_staff=True))
    return client


def code_workflow(staff, name):
    listed = staff.get("/api/v1/workflows/", {"page_size": 100}).data["results"]
    return next(w for w in listed if w["name"] == name)


def test_code_workflows_are_listed_with_kind_and_graph(staff):
    wf = code_workflow(staff, "document_approval")
    assert wf["kind"] == "code" and wf["status"] == "active" and wf["owner"] == "flowpilot-code"
    assert wf["steps"] == []
    graph = wf["code"]
    assert graph["workflow_class"] == "workflows.tests.code_examples.DocumentApproval"
    assert graph["start"] == "assign_reviewer"
    assert [s["key"] for s in graph["steps"]] == ["assign_reviewer", "process_review", "escalate", "approve",
                                                  "request_revision"]
    edges = {(e["source"], e["target"], e["kind"]) for e in graph["edges"]}
    assert edges == {("assign_reviewer", "escalate", "timeout"), ("assign_reviewer", "process_review", "then"),
                     ("process_review", "approve", "goto"), ("process_review", "request_revision", "goto"),
                     ("escalate", "process_review", "then")}
    loop = code_workflow(staff, "reminder_loop")["code"]["edges"]
    assert {"source": "send_reminder", "target": "send_reminder", "kind": "sleep"} in loop
    designed = staff.post("/api/v1/workflows/", {"name": "drawn"}, format="json").data
    assert designed["kind"] == "designed" and designed["code"] is None


def test_listing_twice_stores_one_version(staff):
    code_workflow(staff, "user_onboarding")
    code_workflow(staff, "user_onboarding")
    assert Workflow.objects.get(name="user_onboarding").versions.count() == 1


def test_code_workflows_are_read_only(staff):
    wf = code_workflow(staff, "order_fulfillment")
    url = f"/api/v1/workflows/{wf['id']}/"
    for answer in (staff.put(url, {"name": "x"}, format="json"), staff.patch(url, {"name": "x"}, format="json"),
                   staff.delete(url), staff.post(f"{url}activate/"),
                   staff.post(f"{url}steps/", {"key": "x", "task_type": "log"}, format="json")):
        assert answer.status_code == 409, answer.data
        assert "defined in code" in answer.data["message"]
    assert Workflow.objects.get(pk=wf["id"]).name == "order_fulfillment"


def test_runs_are_started_monitored_signalled_and_cancelled_through_the_api(staff):
    wf = code_workflow(staff, "document_approval")
    started = staff.post(f"/api/v1/workflows/{wf['id']}/run/", {"input_data": {"document_id": 5}}, format="json")
    assert started.status_code == 201
    run_id = started.data["id"]
    engine.process_scheduled()
    detail = staff.get(f"/api/v1/executions/{run_id}/").data
    assert detail["status"] == "running"
    assert [t["step_key"] for t in detail["task_executions"]] == ["assign_reviewer"]
    assert detail["task_executions"][0]["status"] == "waiting"
    signalled = staff.post(f"/api/v1/executions/{run_id}/signal/",
                           {"name": "review_completed", "payload": {"approved": True}}, format="json")
    assert signalled.status_code == 200, signalled.data
    engine.process_scheduled()
    detail = staff.get(f"/api/v1/executions/{run_id}/").data
    assert detail["status"] == "completed" and detail["output_data"]["final_status"] == "approved"
    logs = staff.get(f"/api/v1/executions/{run_id}/logs/").data
    assert any(line["event"] == "execution.signal" for line in logs["logs"])

    other = engine.start("loan_application", application_id=1, credit_score=650)
    cancelled = staff.post(f"/api/v1/executions/{other.id}/cancel/")
    assert cancelled.status_code == 200 and cancelled.data["status"] == "cancelled"


def test_a_failed_code_run_is_retried_through_the_api(staff):
    from workflows.tests import code_examples

    code_examples.FAULTS["reserve_inventory"] = 3
    try:
        run = engine.start("order_fulfillment", order_id=2)
    finally:
        code_examples.FAULTS.clear()
    assert run.status == E.FAILED
    assert staff.post(f"/api/v1/executions/{run.id}/retry/").status_code == 200
    engine.process_scheduled()
    assert run.refresh().status == E.COMPLETED


def test_a_code_run_is_neither_rerun_from_a_step_nor_edited(staff):
    from workflows.tests import code_examples

    done = engine.start("order_fulfillment", order_id=3)
    assert done.status == E.COMPLETED
    detail = staff.get(f"/api/v1/executions/{done.id}/").data
    assert "rerun" not in detail["allowed_actions"]
    refused = staff.post(f"/api/v1/executions/{done.id}/rerun/", {"from_step": detail["task_executions"][0]["step_key"]},
                         format="json")
    assert refused.status_code == 409 and "code workflow" in refused.data["message"]
    code_examples.FAULTS["reserve_inventory"] = 3
    try:
        failed = engine.start("order_fulfillment", order_id=4)
    finally:
        code_examples.FAULTS.clear()
    assert failed.status == E.FAILED
    edit = staff.post(f"/api/v1/executions/{failed.id}/retry/", {"overrides": {"input": {"order_id": 5}}}, format="json")
    assert edit.status_code == 409 and "code workflow" in edit.data["message"]
    assert staff.get(f"/api/v1/executions/{failed.id}/").data["allowed_actions"] == ["retry", "cancel", "replay"]


def test_an_event_posted_to_the_api_reaches_a_waiting_code_run(staff):
    run = engine.start("payment_wait", order_id=8)
    answer = staff.post("/api/v1/events/", {"name": "payment_received", "payload": {"amount": 3}}, format="json")
    assert answer.status_code in (200, 201, 202), answer.data
    engine.process_scheduled()
    assert run.refresh().status == E.COMPLETED and run.data["amount"] == 3


# --- actions -----------------------------------------------------------------------------------------

def start_expense(user, **fields):
    return engine.start_run("expense_approval", {"expense_id": 1, "amount": 12.5, **fields}, user=user)


def test_an_action_resumes_the_waiting_step_with_its_validated_fields(api, user):
    run = start_expense(user)
    assert (run.current_step, run.step_status, run.waiting_signal) == ("review", T.WAITING,
                                                                       "action:expense_submit_review")
    answer = api.post("/api/v1/actions/expense_submit_review/",
                      {"workflow_run_id": str(run.id), "approved": True, "comment": "ok"}, format="json")
    assert answer.status_code == 200, answer.data
    engine.process_scheduled()
    run.refresh()
    assert run.status == E.COMPLETED
    assert run.data == {"expense_id": 1, "amount": 12.5, "approved": True, "comment": "ok", "status": "approved"}
    rows = TaskExecution.objects.filter(execution_id=run.id, step_key="review").order_by("visit")
    assert [(r.visit, r.status) for r in rows] == [(1, T.COMPLETED), (2, T.COMPLETED)]
    assert rows[1].input["kwargs"] == {"approved": True, "comment": "ok"}


def test_an_action_with_bad_fields_is_a_400_and_changes_nothing(api, user):
    run = start_expense(user)
    answer = api.post("/api/v1/actions/expense_submit_review/",
                      {"workflow_run_id": str(run.id), "approved": "perhaps"}, format="json")
    assert answer.status_code == 400
    assert "approved" in answer.data["fields"]
    missing = api.post("/api/v1/actions/expense_submit_review/", {"approved": True}, format="json")
    assert missing.status_code == 400 and "workflow_run_id" in missing.data["fields"]
    assert run.refresh().step_status == T.WAITING


def test_an_action_on_someone_elses_run_is_a_404(api, other_user):
    run = start_expense(other_user)
    answer = api.post("/api/v1/actions/expense_submit_review/",
                      {"workflow_run_id": str(run.id), "approved": True}, format="json")
    assert answer.status_code == 404
    assert run.refresh().step_status == T.WAITING


def test_an_action_on_a_run_not_waiting_there_is_a_409(api, user):
    run = start_expense(user)
    body = {"workflow_run_id": str(run.id), "approved": False}
    assert api.post("/api/v1/actions/expense_submit_review/", body, format="json").status_code == 200
    engine.process_scheduled()
    again = api.post("/api/v1/actions/expense_submit_review/", body, format="json")
    assert again.status_code == 409
    other = engine.start_run("loan_application", {"application_id": 1, "credit_score": 650}, user=user)
    wrong = api.post("/api/v1/actions/expense_submit_review/", {**body, "workflow_run_id": str(other.id)},
                     format="json")
    assert wrong.status_code == 409


def test_the_user_sees_the_runs_they_started_of_code_workflows(api, user, other_user):
    mine = start_expense(user)
    start_expense(other_user)
    listed = api.get("/api/v1/executions/").data["results"]
    assert [r["id"] for r in listed] == [str(mine.id)]


def test_actions_are_in_the_openapi_schema(api):
    schema = api.get("/api/v1/schema/", HTTP_ACCEPT="application/json").json()
    operation = schema["paths"]["/api/v1/actions/expense_submit_review/"]["post"]
    body = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    fields = schema["components"]["schemas"][body]
    assert set(fields["properties"]) == {"workflow_run_id", "approved", "comment"}
    assert set(fields["required"]) == {"workflow_run_id", "approved"}
