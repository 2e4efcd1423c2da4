"""A workflow's error workflow (ADR 0034): the setting over HTTP (owner, active, not itself), the user
default, and the start of the error run when a run fails for good (once per failure, never for an
error run's own failure). The real-worker proof is test_error_workflows_e2e.py."""

import pytest

from workflows import services
from workflows.engine.planner.states import ExecutionStatus as E
from workflows.models import ExecutionLog, TriggerSource, WorkflowExecution
from workflows.tests import functions
from workflows.tests.factories import active_workflow, step

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_faults():
    functions.FAULTS.clear()
    yield
    functions.FAULTS.clear()


def failing(owner, name="orders", **fields):
    return active_workflow(owner, [
        step("prepare", function="record", kwargs={"value": "{{ input.order }}"}),
        step("charge", function="create_patient", kwargs={"name": "{{ input.order }}"}, depends_on=["prepare"],
             max_retries=0),
    ], name=name, **fields)


def handler(owner, name="on error", **fields):
    return active_workflow(owner, [step("notify", function="record", kwargs={"value": "{{ input.execution_id }}"})],
                           name=name, **fields)


def run(workflow, executor, **input_data):
    execution, _ = services.execution_start(workflow=workflow, input_data=input_data)
    executor.drain()
    execution.refresh_from_db()
    return execution


def error_runs():
    return WorkflowExecution.objects.filter(triggered_by=TriggerSource.ERROR).order_by("created_at")


# --- the setting, over HTTP -------------------------------------------------------------------------

def test_the_error_workflow_is_set_shown_and_cleared(api, user):
    target = handler(user)
    wf = failing(user)
    answer = api.patch(f"/api/v1/workflows/{wf.pk}/", {"error_workflow_id": str(target.pk)}, format="json")
    assert answer.status_code == 200, answer.json()
    assert answer.json()["error_workflow_id"] == str(target.pk)
    assert api.get(f"/api/v1/workflows/{wf.pk}/").json()["error_workflow_id"] == str(target.pk)
    assert api.patch(f"/api/v1/workflows/{wf.pk}/", {"error_workflow_id": None},
                     format="json").json()["error_workflow_id"] is None
    created = api.post("/api/v1/workflows/", {"name": "new", "error_workflow_id": str(target.pk)}, format="json")
    assert created.status_code == 201 and created.json()["error_workflow_id"] == str(target.pk)


def test_an_error_workflow_must_be_yours_active_and_not_itself(api, user, other_user):
    wf = failing(user)
    theirs = handler(other_user)
    draft = services.workflow_create(owner=user, data={"name": "draft"})
    for target, words in [(theirs, "no such workflow of yours"), (draft, "not active"),
                          (wf, "cannot be the workflow itself")]:
        answer = api.patch(f"/api/v1/workflows/{wf.pk}/", {"error_workflow_id": str(target.pk)}, format="json")
        assert answer.status_code == 400, answer.json()
        assert words in str(answer.json()), answer.json()
    wf.refresh_from_db()
    assert wf.error_workflow_id is None  # nothing changed
    validated = api.post(f"/api/v1/workflows/validate/?workflow={wf.pk}", {"name": "orders",
                                                                         "error_workflow_id": str(draft.pk)},
                         format="json").json()
    assert not validated["valid"] and "error_workflow_id" in validated["errors"]


def test_the_user_default_is_yours_and_active(api, user, other_user):
    assert api.get("/api/v1/error-workflow-default/").json() == {"error_workflow_id": None}
    target = handler(user)
    answer = api.put("/api/v1/error-workflow-default/", {"error_workflow_id": str(target.pk)}, format="json")
    assert answer.status_code == 200 and answer.json() == {"error_workflow_id": str(target.pk)}
    assert api.get("/api/v1/error-workflow-default/").json() == {"error_workflow_id": str(target.pk)}
    bad = api.put("/api/v1/error-workflow-default/", {"error_workflow_id": str(handler(other_user).pk)},
                  format="json")
    assert bad.status_code == 400
    assert api.get("/api/v1/error-workflow-default/").json() == {"error_workflow_id": str(target.pk)}
    assert api.put("/api/v1/error-workflow-default/", {"error_workflow_id": None},
                   format="json").json() == {"error_workflow_id": None}


# --- the engine ---------------------------------------------------------------------------------------

def test_a_failed_run_starts_its_error_workflow_once_with_its_data(user, sync_executor):
    target = handler(user)
    wf = failing(user, error_workflow_id=target.pk)
    functions.FAULTS.add("A-17")
    failed = run(wf, sync_executor, order="A-17")
    assert failed.status == E.FAILED
    [error_run] = error_runs()
    assert error_run.workflow_id == target.pk and error_run.status == E.COMPLETED
    assert error_run.idempotency_key == f"error:{failed.pk}:0"
    data = error_run.input
    assert data["execution_id"] == str(failed.pk) and data["workflow_id"] == str(wf.pk)
    assert data["workflow_name"] == "orders" and data["failed_step"] == "charge"
    assert data["error"]["message"] == failed.error_message
    assert data["error"]["step_message"] == "database overloaded while creating A-17"
    assert data["input"] == {"order": "A-17"} and data["retry_count"] == 0
    log = ExecutionLog.objects.get(execution=failed, event="execution.error_workflow")
    assert log.details["error_execution_id"] == str(error_run.pk)

    # A retry that fails again is a new failure: one more error run; not a third on a redelivery.
    services.execution_retry(execution=failed, user=user)
    sync_executor.drain()
    failed.refresh_from_db()
    assert failed.status == E.FAILED and failed.retry_count == 1
    assert [r.idempotency_key for r in error_runs()] == [f"error:{failed.pk}:0", f"error:{failed.pk}:1"]


def test_the_user_default_is_used_when_the_workflow_names_none(api, user, sync_executor):
    default, own = handler(user, name="default"), handler(user, name="own")
    api.put("/api/v1/error-workflow-default/", {"error_workflow_id": str(default.pk)}, format="json")
    functions.FAULTS.add("x")
    run(failing(user, name="plain"), sync_executor, order="x")
    run(failing(user, name="named", error_workflow_id=own.pk), sync_executor, order="x")
    assert [(r.workflow.name, r.input["workflow_name"]) for r in error_runs()] == \
        [("default", "plain"), ("own", "named")]


def test_an_error_workflow_that_fails_starts_nothing_more(api, user, sync_executor):
    broken = active_workflow(user, [step("boom", function="fail", kwargs={"message": "handler down"},
                                         max_retries=0)], name="broken handler")
    api.put("/api/v1/error-workflow-default/", {"error_workflow_id": str(broken.pk)}, format="json")
    functions.FAULTS.add("y")
    failed = run(failing(user), sync_executor, order="y")
    [error_run] = error_runs()
    assert error_run.status == E.FAILED and error_run.input["execution_id"] == str(failed.pk)
    assert error_runs().count() == 1  # its own failure (default set) started no error workflow
    # Nor does a run of the error workflow itself, started directly, fail into itself.
    run(broken, sync_executor)
    assert error_runs().count() == 1


def test_an_error_workflow_no_longer_active_is_skipped_with_a_warning(user, sync_executor):
    target = handler(user)
    wf = failing(user, error_workflow_id=target.pk)
    services.workflow_update(workflow=target, data={"status": "archived"})
    functions.FAULTS.add("z")
    failed = run(wf, sync_executor, order="z")
    assert failed.status == E.FAILED and not error_runs().exists()
    log = ExecutionLog.objects.get(execution=failed, event="execution.error_workflow")
    assert log.level == "warning" and "not started" in log.message
