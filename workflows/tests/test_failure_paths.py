"""Failure paths ("<key>:failed") and continue on failure, over the API, steps run in this process."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from workflows.models import ExecutionLog, TaskExecution
from workflows.services.recovery import sweep
from workflows.tests import functions


@pytest.fixture(autouse=True)
def clean_functions():
    functions.CALLS.clear()


def fail(key, depends_on=(), **extra):
    return {"key": key, "task_type": "python", "config": {"function": "fail", "kwargs": {"message": "CRM down"}},
            "depends_on": list(depends_on), "max_retries": 1, "retry_base_delay": 0, **extra}


def log(key, depends_on=(), message=None, **extra):
    return {"key": key, "task_type": "log", "config": {"message": message or key}, "depends_on": list(depends_on),
            **extra}


def run(api, sync_executor, steps, **input_data):
    wf = api.post("/api/v1/workflows/", {"name": "signup", "status": "active", "steps": steps}, format="json")
    assert wf.status_code == 201, wf.data
    started = api.post(f"/api/v1/workflows/{wf.data['id']}/run/", {"input_data": input_data}, format="json")
    assert started.status_code == 201, started.data
    sync_executor.drain()
    for _ in range(3):  # a retry comes due (retry_base_delay 0): the sweeper queues it
        sweep(now=timezone.now() + timedelta(seconds=1))
        sync_executor.drain()
    detail = api.get(f"/api/v1/executions/{started.data['id']}/")
    assert detail.status_code == 200
    return detail.data


def latest(detail) -> dict:
    return {t["step_key"]: t for t in detail["task_executions"] if t["is_latest"]}


SIGNUP = [fail("crm"), log("welcome", ["crm"]), log("done", ["welcome"]),
          log("review", ["crm:failed"], "manual review: {{ steps.crm.error.message }} ({{ steps.crm.error.type }}, "
                                        "{{ steps.crm.error.attempts }} attempts)"),
          log("notify", ["review"], "{{ steps.review.output.message }}")]


def test_a_failure_path_runs_with_the_error_and_the_run_completes_with_a_handled_failure(api, sync_executor):
    detail = run(api, sync_executor, SIGNUP)
    steps = latest(detail)
    assert detail["status"] == "completed" and detail["handled_failures"] == ["crm"]
    assert detail["error_message"] == ""
    assert {k: s["status"] for k, s in steps.items()} == {
        "crm": "failed", "welcome": "skipped", "done": "skipped", "review": "completed", "notify": "completed"}
    assert steps["crm"]["attempt_number"] == 2  # after its retry: failed for good
    assert steps["review"]["output_data"] == {"message": "manual review: CRM down (StepError, 2 attempts)"}
    assert steps["notify"]["output_data"] == {"message": "manual review: CRM down (StepError, 2 attempts)"}
    listed = api.get("/api/v1/executions/", {"workflow": detail["workflow"]}).data
    rows = listed["results"] if isinstance(listed, dict) else listed
    assert [r["handled_failures"] for r in rows] == [["crm"]]
    assert ExecutionLog.objects.filter(execution_id=detail["id"], event="step.failure_handled",
                                       step_key="crm").count() == 1


def test_when_the_step_completes_its_failure_path_is_skipped(api, sync_executor):
    steps = [log("crm"), *SIGNUP[1:]]
    detail = run(api, sync_executor, steps)
    assert detail["status"] == "completed" and detail["handled_failures"] == []
    assert {k: s["status"] for k, s in latest(detail).items()} == {
        "crm": "completed", "welcome": "completed", "done": "completed", "review": "skipped", "notify": "skipped"}


def test_a_failing_failure_path_fails_the_run(api, sync_executor):
    steps = [fail("crm"), log("welcome", ["crm"]), fail("review", ["crm:failed"]), log("notify", ["review"])]
    detail = run(api, sync_executor, steps)
    assert detail["status"] == "failed" and "review" in detail["error_message"]
    assert list(detail["error_details"]["failed_steps"]) == ["review"]
    assert detail["handled_failures"] == ["crm"]
    assert {k: s["status"] for k, s in latest(detail).items()} == {
        "crm": "failed", "welcome": "skipped", "review": "failed", "notify": "pending"}  # as after any failure


def test_a_step_without_a_failure_path_fails_the_run_as_before(api, sync_executor):
    detail = run(api, sync_executor, [fail("crm"), log("welcome", ["crm"])])
    assert detail["status"] == "failed" and detail["handled_failures"] == []


def test_continue_on_failure_carries_the_error_as_output_and_the_run_completes(api, sync_executor):
    steps = [fail("crm", continue_on_failure=True),
             log("welcome", ["crm"], "crm said: {{ steps.crm.output.error.message }}")]
    detail = run(api, sync_executor, steps)
    steps = latest(detail)
    assert detail["status"] == "completed" and detail["handled_failures"] == ["crm"]
    assert steps["crm"]["status"] == "failed"
    assert steps["crm"]["output_data"] == {"error": {"message": "CRM down", "type": "StepError", "details": {},
                                                     "attempts": 2}}
    assert steps["welcome"]["output_data"] == {"message": "crm said: CRM down"}
    # its first attempt (retried) kept no output: only the failure for good answers the error
    assert TaskExecution.objects.get(execution_id=detail["id"], step_key="crm", attempt=1).output is None


def test_a_sink_that_continues_on_failure_answers_its_error_as_the_runs_output(api, sync_executor):
    detail = run(api, sync_executor, [log("a"), fail("crm", ["a"], continue_on_failure=True)])
    assert detail["status"] == "completed" and detail["handled_failures"] == ["crm"]
    assert detail["output_data"]["crm"]["error"]["message"] == "CRM down"


def test_failure_paths_and_continue_on_failure_are_versioned_and_answered(api):
    steps = [fail("crm", continue_on_failure=True), log("review", ["crm:failed"])]
    wf = api.post("/api/v1/workflows/", {"name": "w", "status": "active", "steps": steps}, format="json").data
    answered = {s["key"]: s for s in wf["steps"]}
    assert answered["crm"]["continue_on_failure"] is True and answered["review"]["continue_on_failure"] is False
    assert answered["review"]["depends_on"] == ["crm:failed"]
    (version,) = api.get(f"/api/v1/workflows/{wf['id']}/versions/").data
    defined = {s["key"]: s for s in version["definition"]["steps"]}
    assert defined["crm"]["continue_on_failure"] is True and "continue_on_failure" not in defined["review"]
    assert defined["review"]["depends_on"] == ["crm:failed"]
    exported = api.get(f"/api/v1/workflows/{wf['id']}/export/")
    assert exported.status_code == 200
    again = api.post("/api/v1/workflows/import/", exported.json(), format="json")
    assert again.status_code == 201, again.data
    copied = {s["key"]: s for s in api.get(f"/api/v1/workflows/{again.data['id']}/").data["steps"]}
    assert copied["crm"]["continue_on_failure"] is True and copied["review"]["depends_on"] == ["crm:failed"]
