"""GET /api/v1/approvals/ and POST /api/v1/approvals/<task_execution_id>/: the waiting approval and
signal steps a user may answer, answered through the signal service, with who, when and why kept."""

import pytest
from rest_framework.test import APIClient

from workflows.models import ExecutionLog, TaskExecution
from workflows.engine.planner.states import ExecutionStatus as E
from workflows.engine.planner.states import TaskStatus as T
from workflows.bounds import APPROVAL_COMMENT_MAX_LENGTH as COMMENT_MAX_LENGTH
from workflows.tests import functions
from workflows.tests.factories import active_workflow, step
from workflows.tests.test_flow_steps import record, start

URL = "/api/v1/approvals/"


@pytest.fixture(autouse=True)
def clean_calls():
    functions.CALLS.clear()


def approval_flow(owner, name="refunds", **config):
    return active_workflow(owner, [
        record("request", "request"),
        step("approve", "approval", config={"message": "Refund {{ input.amount }} EUR?", "timeout_seconds": 3600,
                                            **config}, depends_on=["request"]),
        record("refund", "refund", "approve:approved"),
        record("decline", "decline", "approve:rejected"),
    ], name=name)


def waiting(execution, key="approve") -> TaskExecution:
    return TaskExecution.objects.get(execution=execution, step_key=key)


def client_for(user, settings) -> APIClient:
    settings.FLOWPILOT_API_RATE_USER = "1000000/minute"
    client = APIClient()
    client.force_authenticate(user)
    return client


def snapshot(execution):
    """Everything an answer may change: the attempts, the run and its log."""
    execution.refresh_from_db()
    return ([(t.pk, t.status, t.output, t.branch) for t in TaskExecution.objects.filter(execution=execution)],
            execution.status, execution.context, ExecutionLog.objects.filter(execution=execution).count())


def test_the_list_shows_the_user_s_waiting_approvals_and_signals_only(api, user, other_user, settings, sync_executor):
    refunds = approval_flow(user)
    mine = start(refunds, sync_executor, amount=40)
    signal_wf = active_workflow(user, [step("wait", "wait_for_signal", config={"signal": "paid"})], name="payments")
    signal_run = start(signal_wf, sync_executor, order=7)
    theirs = start(approval_flow(other_user, name="theirs"), sync_executor, amount=99)
    done = start(approval_flow(user, name="done"), sync_executor, amount=1)
    api.post(f"{URL}{waiting(done).pk}/", {"approved": True}, format="json")
    timer = active_workflow(user, [step("nap", "delay", config={"seconds": 600})], name="timer")
    start(timer, sync_executor)  # a timer waits too, but nobody answers it

    page = api.get(URL).json()
    assert page["count"] == 2
    by_key = {item["step_key"]: item for item in page["results"]}
    approval, signal = by_key["approve"], by_key["wait"]
    assert approval["task_execution_id"] == str(waiting(mine).pk) and approval["execution_id"] == str(mine.pk)
    assert approval["workflow_name"] == "refunds" and approval["workflow_id"] == str(refunds.pk)
    assert approval["kind"] == "approval" and approval["workflow_version"] == 1
    assert approval["signal_name"] == "approval" and approval["message"] == "Refund 40 EUR?"
    assert approval["input_data"] == {"amount": 40} and approval["waiting_since"] and approval["timeout_at"]
    assert approval["approve_url"].startswith("http") and "/approval-links/" in approval["reject_url"]
    assert signal["kind"] == "signal" and signal["signal_name"] == "paid" and signal["workflow_name"] == "payments"
    assert signal["execution_id"] == str(signal_run.pk) and signal["approve_url"] is None

    other = client_for(other_user, settings).get(URL).json()
    assert [item["execution_id"] for item in other["results"]] == [str(theirs.pk)]
    paged = api.get(URL, {"limit": 1, "offset": 1}).json()
    assert paged["count"] == 2 and len(paged["approvals"]) == 1 and paged["limit"] == 1


def test_approve_continues_the_run_and_keeps_who_and_when(api, user, sync_executor):
    execution = start(approval_flow(user), sync_executor, amount=40)
    task = waiting(execution)
    response = api.post(f"{URL}{task.pk}/", {"approved": True}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == T.COMPLETED and body["branch"] == "approved"
    assert body["decision"]["by"] == "alice" and body["decision"]["via"] == "app" and body["decision"]["approved"]
    sync_executor.drain()
    execution.refresh_from_db()
    assert execution.status == E.COMPLETED
    assert [c["value"] for c in functions.CALLS] == ["request", "refund"]
    task.refresh_from_db()
    assert task.output["decision"]["at"] and "approval" not in task.output and "approve_url" not in task.output


def test_reject_with_a_comment_is_logged(api, user, sync_executor):
    execution = start(approval_flow(user), sync_executor, amount=40)
    task = waiting(execution)
    response = api.post(f"{URL}{task.pk}/", {"approved": False, "comment": "  Over budget  "}, format="json")
    assert response.status_code == 200, response.content
    sync_executor.drain()
    assert [c["value"] for c in functions.CALLS] == ["request", "decline"]
    task.refresh_from_db()
    decision = task.output["decision"]
    assert decision["approved"] is False and decision["comment"] == "Over budget" and decision["by"] == "alice"
    completed = ExecutionLog.objects.get(execution=execution, task_execution=task, event="step.completed")
    assert completed.details["decision"] == decision
    assert "(rejected by alice)" in completed.message
    signal = ExecutionLog.objects.get(execution=execution, event="execution.signal")
    assert signal.details["comment"] == "Over budget" and signal.details["user"] == "alice"
    assert signal.details["via"] == "app"


def test_a_decided_step_answers_409_and_changes_nothing(api, user, sync_executor):
    execution = start(approval_flow(user), sync_executor, amount=40)
    task = waiting(execution)
    assert api.post(f"{URL}{task.pk}/", {"approved": True}, format="json").status_code == 200
    sync_executor.drain()
    before = snapshot(execution)
    response = api.post(f"{URL}{task.pk}/", {"approved": False, "comment": "too late"}, format="json")
    assert response.status_code == 409 and "not waiting" in response.json()["message"]
    assert snapshot(execution) == before


def test_a_cancelled_run_s_approval_answers_409(api, user, sync_executor):
    execution = start(approval_flow(user), sync_executor, amount=40)
    task = waiting(execution)
    assert api.post(f"/api/v1/executions/{execution.pk}/cancel/").status_code == 200
    assert api.get(URL).json()["count"] == 0
    assert api.post(f"{URL}{task.pk}/", {"approved": True}, format="json").status_code == 409


def test_another_user_s_step_is_404_and_unchanged(user, other_user, settings, sync_executor):
    execution = start(approval_flow(user), sync_executor, amount=40)
    task = waiting(execution)
    before = snapshot(execution)
    mallory = client_for(other_user, settings)
    response = mallory.post(f"{URL}{task.pk}/", {"approved": True}, format="json")
    assert response.status_code == 404
    assert mallory.post(f"{URL}00000000-0000-0000-0000-000000000000/", {"approved": True},
                        format="json").status_code == 404
    assert snapshot(execution) == before


@pytest.mark.parametrize("body,field", [
    ({"approved": "yes"}, "approved"),
    ({"approved": 1}, "approved"),
    ({}, "approved"),
    ({"approved": True, "comment": "x" * (COMMENT_MAX_LENGTH + 1)}, "comment"),
    ({"approved": True, "comment": 5}, "comment"),
    ([{"approved": True}], ""),
])
def test_bad_bodies_are_400_and_change_nothing(api, user, sync_executor, body, field):
    execution = start(approval_flow(user), sync_executor, amount=40)
    task = waiting(execution)
    before = snapshot(execution)
    response = api.post(f"{URL}{task.pk}/", body, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json().get("fields", {"": 1})
    assert snapshot(execution) == before


def test_a_plain_signal_is_answered_not_rejected(api, user, sync_executor):
    wf = active_workflow(user, [step("wait", "wait_for_signal", config={"signal": "paid"}),
                                record("ship", "ship", "wait:received")])
    execution = start(wf, sync_executor)
    task = waiting(execution, "wait")
    response = api.post(f"{URL}{task.pk}/", {"approved": False}, format="json")
    assert response.status_code == 400 and "answered, not rejected" in response.json()["message"]
    assert waiting(execution, "wait").status == T.WAITING
    assert api.post(f"{URL}{task.pk}/", {"approved": True, "comment": "paid in cash"},
                    format="json").status_code == 200
    sync_executor.drain()
    assert [c["value"] for c in functions.CALLS] == ["ship"]
    task.refresh_from_db()
    assert task.branch == "received" and task.output["decision"]["comment"] == "paid in cash"


def test_the_step_named_is_the_one_answered(api, user, sync_executor):
    """Two approvals wait in one run: the signal route answers the oldest; this one the one named."""
    wf = active_workflow(user, [
        step("legal", "approval", config={"message": "legal?"}),
        step("finance", "approval", config={"message": "finance?"}),
    ])
    execution = start(wf, sync_executor)
    finance = waiting(execution, "finance")
    assert api.post(f"{URL}{finance.pk}/", {"approved": False}, format="json").status_code == 200
    assert waiting(execution, "legal").status == T.WAITING
    finance.refresh_from_db()
    assert finance.branch == "rejected"


def test_the_signal_route_keeps_who_answered_too(api, user, sync_executor):
    execution = start(approval_flow(user), sync_executor, amount=40)
    response = api.post(f"/api/v1/executions/{execution.pk}/signal/",
                        {"name": "approval", "payload": {"approved": True}}, format="json")
    assert response.status_code == 200
    decision = waiting(execution).output["decision"]
    assert decision["by"] == "alice" and decision["via"] == "api" and decision["approved"] is True
