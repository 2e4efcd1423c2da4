"""Dead-letter queues over HTTP (monitoring/dead_letters.py): failed runs grouped by workflow, failed
step and error signature (numbers masked into one queue), retry of a queue (the runs resume at their
failed step), dismiss (cancelled: out of the queues), and the owner rule."""

import pytest

from workflows import services
from workflows.engine.planner.states import ExecutionStatus as E
from workflows.engine.planner.states import TaskStatus as T
from workflows.models import TaskExecution
from workflows.tests import functions
from workflows.tests.factories import active_workflow, step

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_faults():
    functions.FAULTS.clear()
    yield
    functions.FAULTS.clear()


def workflow(owner, name="signups"):
    return active_workflow(owner, [
        step("otp", function="record", kwargs={"value": "otp"}),
        step("crm", "python", config={"function": "fail", "kwargs": {"message": "{{ input.error }}",
                                                                      "retryable": False}},
             depends_on=["otp"]),
    ], name=name)


def fail(wf, executor, error):
    execution, _ = services.execution_start(workflow=wf, input_data={"error": error})
    executor.drain()
    execution.refresh_from_db()
    assert execution.status == E.FAILED
    return execution


@pytest.fixture
def failures(user, other_user, sync_executor):
    """Three runs failing at crm with 'CRM timeout after N ms' (one queue: the numbers masked), two
    with 'CRM said: invalid email' (another queue); another user's run with the same timeout."""
    wf = workflow(user)
    timeouts = [fail(wf, sync_executor, f"CRM timeout after {ms} ms") for ms in (3001, 3017, 4999)]
    invalid = [fail(wf, sync_executor, "CRM said: invalid email") for _ in range(2)]
    theirs = fail(workflow(other_user, name="theirs"), sync_executor, "CRM timeout after 12 ms")
    return wf, timeouts, invalid, theirs


def groups(api):
    answer = api.get("/api/v1/dead-letters/")
    assert answer.status_code == 200, answer.json()
    return answer.json()["groups"]


def test_queues_group_by_workflow_step_and_masked_error(api, failures):
    wf, timeouts, invalid, _ = failures
    queues = groups(api)
    assert sorted((g["workflow_name"], g["step_key"], g["count"], g["pattern"]) for g in queues) == [
        ("signups", "crm", 2, "CRM said: invalid email"),
        ("signups", "crm", 3, "CRM timeout after <n> ms"),
    ]
    timeout = next(g for g in queues if g["count"] == 3)
    assert timeout["id"] == f"{wf.pk}.crm.{timeout['signature']}"
    assert set(timeout["sample_execution_ids"]) == {str(e.pk) for e in timeouts}
    assert timeout["sample_execution_ids"][0] == str(timeouts[-1].pk)  # the latest first
    assert timeout["sample_message"] == "CRM timeout after 4999 ms"
    assert timeout["first_seen"] <= timeout["last_seen"]
    detail = api.get(f"/api/v1/dead-letters/{timeout['id']}/").json()
    assert detail["count"] == 3 and detail["group"]["id"] == timeout["id"]
    assert [r["id"] for r in detail["runs"]] == [str(e.pk) for e in timeouts]  # oldest failure first
    assert detail["runs"][0]["input"] == {"error": "CRM timeout after 3001 ms"}


def test_retrying_a_queue_resumes_its_runs_at_the_failed_step(api, failures, sync_executor):
    _, timeouts, invalid, theirs = failures
    timeout = next(g for g in groups(api) if g["count"] == 3)
    answer = api.post(f"/api/v1/dead-letters/{timeout['id']}/retry/", {}, format="json")
    assert answer.status_code == 200, answer.json()
    assert sorted(answer.json()["execution_ids"]) == sorted(str(e.pk) for e in timeouts)
    assert answer.json()["remaining"] == 0
    sync_executor.drain()  # they fail again (same input): each resumed at crm, otp not run again
    for execution in timeouts:
        execution.refresh_from_db()
        assert execution.retry_count == 1 and execution.status == E.FAILED
        rows = TaskExecution.objects.filter(execution=execution)
        assert rows.filter(step_key="otp").count() == 1
        assert [r.status for r in rows.filter(step_key="crm").order_by("attempt")] == [T.FAILED, T.FAILED]
    for execution in [*invalid, theirs]:
        execution.refresh_from_db()
        assert execution.retry_count == 0  # other queues, and the other user's run, untouched


def test_a_bounded_retry_says_what_remains(api, failures):
    timeout = next(g for g in groups(api) if g["count"] == 3)
    answer = api.post(f"/api/v1/dead-letters/{timeout['id']}/retry/", {"limit": 2}, format="json").json()
    assert (answer["count"], answer["remaining"]) == (2, 1)
    assert api.post(f"/api/v1/dead-letters/{timeout['id']}/retry/", {"limit": 0}, format="json").status_code == 400


def test_dismissing_a_queue_cancels_its_runs(api, failures):
    _, timeouts, invalid, _ = failures
    invalid_queue = next(g for g in groups(api) if g["count"] == 2)
    answer = api.post(f"/api/v1/dead-letters/{invalid_queue['id']}/dismiss/", {}, format="json")
    assert answer.status_code == 200 and answer.json()["count"] == 2
    for execution in invalid:
        execution.refresh_from_db()
        assert execution.status == E.CANCELLED
    assert [g["count"] for g in groups(api)] == [3]
    assert api.get(f"/api/v1/dead-letters/{invalid_queue['id']}/").status_code == 404
    # Given up: not in the bulk retry's selection either.
    retried = api.post("/api/v1/executions/retry-failed/", {"dry_run": True}, format="json").json()
    assert sorted(retried["execution_ids"]) == sorted(str(e.pk) for e in timeouts)


def test_another_users_queue_is_not_there(api, failures, other_user):
    _, _, _, theirs = failures
    assert all(g["workflow_name"] == "signups" for g in groups(api))
    their_step = TaskExecution.objects.get(execution=theirs, step_key="crm", status=T.FAILED)
    their_queue = f"{theirs.workflow_id}.crm.{their_step.error_signature}"
    assert api.get(f"/api/v1/dead-letters/{their_queue}/").status_code == 404
    assert api.post(f"/api/v1/dead-letters/{their_queue}/retry/", {}, format="json").status_code == 404
    assert api.post(f"/api/v1/dead-letters/{their_queue}/dismiss/", {}, format="json").status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == E.FAILED and theirs.retry_count == 0
    assert api.get("/api/v1/dead-letters/not-a-queue/").status_code == 404


def test_a_run_whose_steps_were_undone_is_neither_a_dead_letter_nor_retried_in_bulk(api, user, sync_executor):
    """A run that went through compensation failed for good, but its completed steps were undone and a
    retry refuses it: it is not in the queues, nor in a bulk retry's selection (which would skip it
    without a word); the runs list finds it by its phase."""
    undone_wf = active_workflow(user, [
        step("otp", function="record", kwargs={"value": "otp"}, compensate_with="undo_otp"),
        step("undo_otp", function="record", kwargs={"value": "undone"}),
        step("crm", "python", config={"function": "fail", "kwargs": {"message": "{{ input.error }}",
                                                                      "retryable": False}}, depends_on=["otp"]),
    ], name="undone")
    undone = fail(undone_wf, sync_executor, "CRM down")
    assert undone.phase == "compensated"
    plain = fail(workflow(user), sync_executor, "CRM down")
    queues = groups(api)
    assert [(q["workflow_name"], q["count"]) for q in queues] == [("signups", 1)]
    selected = api.post("/api/v1/executions/retry-failed/", {"dry_run": True}, format="json").json()
    assert selected["execution_ids"] == [str(plain.pk)]
    listed = api.get("/api/v1/executions/", {"phase": "compensated"}).json()["results"]
    assert [run["id"] for run in listed] == [str(undone.pk)]
    assert api.get("/api/v1/executions/", {"phase": "nonsense"}).status_code == 400
