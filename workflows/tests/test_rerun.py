"""Rerun from a step (POST /executions/{id}/rerun/, /executions/rerun/) and edit and resume (POST
/executions/{id}/retry/ with overrides), over the API on the in-process test database."""

from __future__ import annotations

import pytest

from workflows.engine.planner.states import ExecutionStatus as E
from workflows.engine.planner.states import TaskStatus as T
from workflows.models import ExecutionLog, Workflow, WorkflowExecution, WorkflowVersion
from workflows.tests import functions
from workflows.tests.factories import active_workflow, step
from workflows.tests.http_server import allow_loopback, fresh_circuits, server  # noqa: F401

pytestmark = pytest.mark.django_db


def chain(user, *, third: dict | None = None) -> Workflow:
    """a -> b -> (c, d beside each other) -> e; c fails when `third` says so."""
    return active_workflow(user, [
        step("a", function="record", kwargs={"value": "a"}),
        step("b", function="record", kwargs={"value": "{{ input.email }}"}, depends_on=["a"]),
        third or step("c", function="record", kwargs={"value": "c"}, depends_on=["b"]),
        step("d", function="record", kwargs={"value": "d"}, depends_on=["b"]),
        step("e", function="record", kwargs={"value": "e"}, depends_on=["c", "d"]),
    ], name="chain")


def run(api, sync_executor, workflow: Workflow, input_data: dict | None = None) -> dict:
    started = api.post(f"/api/v1/workflows/{workflow.pk}/run/", {"input_data": input_data or {"email": "a@x.io"}},
                       format="json").data
    sync_executor.drain()
    return api.get(f"/api/v1/executions/{started['id']}/").data


def attempts(detail: dict) -> dict[str, int]:
    found: dict[str, int] = {}
    for row in detail["task_executions"]:
        found[row["step_key"]] = max(found.get(row["step_key"], 0), row["attempt_number"])
    return found


def failing_c(user) -> Workflow:
    return chain(user, third=step("c", function="fail", kwargs={"message": "bad config", "retryable": False},
                                  depends_on=["b"], max_retries=0))


# --- rerun from a step ------------------------------------------------------------------------------

def test_a_completed_run_reruns_from_a_step_and_only_downstream_runs_again(api, user, sync_executor):
    detail = run(api, sync_executor, chain(user))
    assert detail["status"] == E.COMPLETED and detail["allowed_actions"] == ["rerun", "replay"]
    outputs_before = {r["step_key"]: r["output_data"] for r in detail["task_executions"]}
    answer = api.post(f"/api/v1/executions/{detail['id']}/rerun/", {"from_step": "c"}, format="json")
    assert answer.status_code == 200, answer.data
    assert answer.data["id"] == detail["id"]  # the same run, re-opened
    sync_executor.drain()
    detail = api.get(f"/api/v1/executions/{detail['id']}/").data
    assert detail["status"] == E.COMPLETED and detail["output_data"] == {"e": {"value": "e"}}
    assert attempts(detail) == {"a": 1, "b": 1, "d": 1, "c": 2, "e": 2}
    kept = {r["step_key"]: r["output_data"] for r in detail["task_executions"] if r["step_key"] in "abd"}
    assert kept == {k: outputs_before[k] for k in "abd"}
    log = ExecutionLog.objects.get(execution_id=detail["id"], event="execution.rerun")
    assert log.details["user"] == "alice" and log.details["from_step"] == "c" and log.details["steps"] == ["c", "e"]
    assert log.step_key == "c" and "Rerun from step 'c' by alice" in log.message


def test_a_failed_run_reruns_from_upstream_of_its_failure(api, user, sync_executor):
    workflow = active_workflow(user, [
        step("a", function="record", kwargs={"value": "a"}),
        step("b", function="flaky", kwargs={"fail_times": 1}, depends_on=["a"], max_retries=0),
        step("c", function="noop", depends_on=["b"]),
    ])
    detail = run(api, sync_executor, workflow)
    assert detail["status"] == E.FAILED and "rerun" in detail["allowed_actions"]
    assert api.post(f"/api/v1/executions/{detail['id']}/rerun/", {"from_step": "b"}, format="json").status_code == 200
    sync_executor.drain()
    detail = api.get(f"/api/v1/executions/{detail['id']}/").data
    assert detail["status"] == E.COMPLETED and attempts(detail) == {"a": 1, "b": 2, "c": 1}


def test_rerun_refusals_change_nothing(api, user, other_user, sync_executor):
    workflow = chain(user)
    detail = run(api, sync_executor, workflow)
    url = f"/api/v1/executions/{detail['id']}/rerun/"
    logs = ExecutionLog.objects.filter(execution_id=detail["id"]).count()

    unknown = api.post(url, {"from_step": "nope"}, format="json")
    assert unknown.status_code == 400 and "from_step" in unknown.data["fields"]
    assert "'nope' is not a step of this run's version (v1)" in unknown.data["message"]
    assert api.post(url, {}, format="json").status_code == 400
    assert api.post(url, {"from_step": "x" * 101}, format="json").status_code == 400

    running = api.post(f"/api/v1/workflows/{workflow.pk}/run/", {}, format="json").data  # queued, not drained
    busy = api.post(f"/api/v1/executions/{running['id']}/rerun/", {"from_step": "a"}, format="json")
    assert busy.status_code == 409 and "while it runs" in busy.data["message"]
    assert busy.data["allowed_actions"] == ["cancel", "pause"]

    assert ExecutionLog.objects.filter(execution_id=detail["id"]).count() == logs
    assert WorkflowExecution.objects.get(pk=detail["id"]).status == E.COMPLETED
    sync_executor.drain()


def test_bulk_rerun_takes_a_selection_or_filters_and_is_bounded(api, user, sync_executor, settings):
    workflow = chain(user)
    other = active_workflow(user, [step("solo", function="noop")], name="other")
    runs = [run(api, sync_executor, workflow)["id"] for _ in range(3)]
    solo = run(api, sync_executor, other)["id"]

    dry = api.post("/api/v1/executions/rerun/", {"from_step": "d", "execution_ids": runs[:2], "dry_run": True},
                   format="json")
    assert dry.status_code == 200 and dry.data["dry_run"] is True and sorted(dry.data["execution_ids"]) == sorted(runs[:2])
    assert attempts(api.get(f"/api/v1/executions/{runs[0]}/").data)["d"] == 1  # a dry run changes nothing

    # every finished run of the user, from step d: the other workflow's run has no such step
    settings.FLOWPILOT_MAX_BULK_RERUN = 3
    too_many = api.post("/api/v1/executions/rerun/", {"from_step": "d"}, format="json")
    assert too_many.status_code == 400 and "at most 3" in too_many.data["message"]
    settings.FLOWPILOT_MAX_BULK_RERUN = 4
    # The dry run previews what the versions refuse, with why (what the UI shows before rerunning).
    preview = api.post("/api/v1/executions/rerun/", {"from_step": "d", "status": "completed", "dry_run": True},
                       format="json")
    assert preview.data["count"] == 3 and sorted(preview.data["execution_ids"]) == sorted(runs)
    assert list(preview.data["refused"]) == [solo] and "not a step" in preview.data["refused"][solo]
    assert attempts(api.get(f"/api/v1/executions/{runs[0]}/").data)["d"] == 1
    done = api.post("/api/v1/executions/rerun/", {"from_step": "d", "status": "completed"}, format="json")
    assert done.status_code == 200, done.data
    assert done.data["rerun"] == 3 and sorted(done.data["execution_ids"]) == sorted(runs)
    assert list(done.data["refused"]) == [solo] and "not a step" in done.data["refused"][solo]
    sync_executor.drain()
    for run_id in runs:
        detail = api.get(f"/api/v1/executions/{run_id}/").data
        assert detail["status"] == E.COMPLETED and attempts(detail) == {"a": 1, "b": 1, "c": 1, "d": 2, "e": 2}

    by_workflow = api.post("/api/v1/executions/rerun/", {"from_step": "solo", "workflow_id": str(other.pk)},
                           format="json")
    assert by_workflow.data["execution_ids"] == [solo] and by_workflow.data["refused"] == {}
    sync_executor.drain()
    assert api.post("/api/v1/executions/rerun/", {"from_step": "d", "status": "running"},
                    format="json").status_code == 400


def test_bulk_rerun_takes_retry_faileds_filters(api, user, sync_executor):
    failed = run(api, sync_executor, failing_c(user))["id"]
    fine = run(api, sync_executor, chain(user))["id"]
    answer = api.post("/api/v1/executions/rerun/", {"from_step": "b", "step_key": "c", "error_contains": "bad config",
                                                    "dry_run": True}, format="json")
    assert answer.data["execution_ids"] == [failed] and fine not in answer.data["execution_ids"]


def test_only_the_owner_reruns(api, user, other_user, sync_executor):
    from rest_framework.test import APIClient

    detail = run(api, sync_executor, chain(user))
    mallory = APIClient()
    mallory.force_authenticate(other_user)
    assert mallory.post(f"/api/v1/executions/{detail['id']}/rerun/", {"from_step": "a"}, format="json").status_code == 404
    assert mallory.post("/api/v1/executions/rerun/", {"from_step": "a"}, format="json").data["count"] == 0


# --- edit and resume --------------------------------------------------------------------------------

FIXED_C = {"function": "record", "kwargs": {"value": "fixed {{ input.email }}"}}


def test_edit_and_resume_uses_the_overrides_for_this_run_only(api, user, sync_executor):
    workflow = failing_c(user)
    detail = run(api, sync_executor, workflow)
    assert detail["status"] == E.FAILED and detail["overrides"] == {} and detail["overridden_by"] is None
    versions = list(WorkflowVersion.objects.filter(workflow=workflow).values_list("number", "definition"))
    functions.CALLS.clear()

    answer = api.post(f"/api/v1/executions/{detail['id']}/retry/", {"overrides": {
        "input": {"email": "b@x.io"}, "steps": {"c": {"config": FIXED_C}}}}, format="json")
    assert answer.status_code == 200, answer.data
    assert answer.data["overrides"] == {"input": {"email": "b@x.io"}, "steps": {"c": {"config": FIXED_C}}}
    assert answer.data["overridden_by"] == "alice" and answer.data["overridden_at"]
    sync_executor.drain()
    detail = api.get(f"/api/v1/executions/{detail['id']}/").data
    assert detail["status"] == E.COMPLETED
    assert detail["input_data"] == {"email": "a@x.io"}  # the run's own input is kept; the override is beside it
    c = [r for r in detail["task_executions"] if r["step_key"] == "c"]
    assert [(r["status"], r["attempt_number"]) for r in c] == [(T.FAILED, 1), (T.COMPLETED, 2)]
    assert c[-1]["output_data"] == {"value": "fixed b@x.io"}  # the override's config, rendered over the new input
    called = [call["value"] for call in functions.CALLS]
    assert called[0] == "fixed b@x.io" and called[-1] == "e"
    assert not {"a", "a@x.io", "b@x.io"} & set(called)  # a and b completed: kept, not run again
    # The workflow is unchanged: same version number, same definitions, no new version.
    workflow.refresh_from_db()
    assert workflow.version == 1
    assert list(WorkflowVersion.objects.filter(workflow=workflow).values_list("number", "definition")) == versions
    log = ExecutionLog.objects.get(execution_id=detail["id"], event="execution.overridden")
    assert log.details == {"user": "alice", "input": True, "steps": ["c"]}
    assert "b@x.io" not in log.message and "fixed" not in log.message  # what changed, not the values

    # A rerun later keeps using the run's overrides.
    functions.CALLS.clear()
    api.post(f"/api/v1/executions/{detail['id']}/rerun/", {"from_step": "b"}, format="json")
    sync_executor.drain()
    assert sorted(call["value"] for call in functions.CALLS) == ["b@x.io", "d", "e", "fixed b@x.io"]


@pytest.mark.parametrize("overrides,field", [
    ({"steps": {"nope": {"config": {}}}}, "overrides.steps.nope"),
    ({"steps": {"c": {"config": {"kwargs": {}}}}}, "overrides.steps.c.config.function"),
    ({"steps": {"c": {"config": {"function": "record", "kwargs": "{{ oops"}}}}, "overrides.steps.c.config.kwargs"),
    ({"steps": {"c": {"config": {"function": "record"}, "name": "x"}}}, "overrides.steps.c"),
    ({"steps": {"c": []}}, "overrides.steps.c"),
    ({"input": [1]}, "overrides.input"),
    ({"inputs": {}}, "overrides.inputs"),
    ({"input": {"big": "x" * 300_000}}, "overrides"),
    ({"input": {"nul": "\x00"}}, "overrides.input.nul"),
    ("text", "overrides"),
])
def test_a_bad_override_is_a_400_that_changes_nothing(api, user, sync_executor, overrides, field):
    detail = run(api, sync_executor, failing_c(user))
    rows = len(detail["task_executions"])
    answer = api.post(f"/api/v1/executions/{detail['id']}/retry/", {"overrides": overrides}, format="json")
    assert answer.status_code == 400, answer.data
    assert any(name.startswith(field) for name in answer.data["fields"]), answer.data
    after = api.get(f"/api/v1/executions/{detail['id']}/").data
    assert after["status"] == E.FAILED and after["overrides"] == {} and after["retry_count"] == 0
    assert len(after["task_executions"]) == rows


def test_overrides_on_a_run_that_cannot_be_retried_is_a_409(api, user, sync_executor):
    detail = run(api, sync_executor, chain(user))
    answer = api.post(f"/api/v1/executions/{detail['id']}/retry/", {"overrides": {"input": {"x": 1}}}, format="json")
    assert answer.status_code == 409 and "cannot edit an execution that is completed" in answer.data["message"]
    assert api.get(f"/api/v1/executions/{detail['id']}/").data["overrides"] == {}


def test_an_overridden_config_resolves_secrets_in_the_worker_and_never_echoes_them(api, user, sync_executor, server,
                                                                                     allow_loopback, fresh_circuits):  # noqa: F811
    from workflows import credentials

    credentials.credential_create(owner=user, name="CRM_TOKEN", value="s3cret-token-value")
    workflow = active_workflow(user, [
        step("crm", "http_request", max_retries=0, config={"method": "POST", "url": f"{server.url}/status/401"}),
    ])
    detail = run(api, sync_executor, workflow)
    assert detail["status"] == E.FAILED
    fixed = {"method": "POST", "url": f"{server.url}/crm",
             "headers": {"Authorization": "Bearer {{ secrets.CRM_TOKEN }}"}}
    answer = api.post(f"/api/v1/executions/{detail['id']}/retry/", {"overrides": {"steps": {"crm": {"config": fixed}}}},
                      format="json")
    assert answer.status_code == 200, answer.data
    sync_executor.drain()
    assert server.requests[-1]["headers"]["Authorization"] == "Bearer s3cret-token-value"  # resolved in the worker
    page = api.get(f"/api/v1/executions/{detail['id']}/")
    logs = api.get(f"/api/v1/executions/{detail['id']}/logs/")
    assert page.data["status"] == E.COMPLETED
    assert page.data["overrides"]["steps"]["crm"]["config"] == fixed  # as written: the template, not the value
    assert "s3cret-token-value" not in page.content.decode() and "s3cret-token-value" not in logs.content.decode()


def test_a_retry_on_the_latest_version_drops_the_step_overrides_and_keeps_the_input(api, user, sync_executor):
    workflow = failing_c(user)
    detail = run(api, sync_executor, workflow)
    api.post(f"/api/v1/executions/{detail['id']}/retry/", {"overrides": {
        "input": {"email": "b@x.io"}, "steps": {"c": {"config": {"function": "fail", "kwargs": {"retryable": False}}}}}},
        format="json")
    sync_executor.drain()
    assert api.get(f"/api/v1/executions/{detail['id']}/").data["status"] == E.FAILED
    fixed = api.patch(f"/api/v1/workflows/{workflow.pk}/steps/c/", {"config": FIXED_C}, format="json")
    assert fixed.status_code == 200, fixed.data
    answer = api.post(f"/api/v1/executions/{detail['id']}/retry/", {"version": "latest"}, format="json")
    assert answer.status_code == 200, answer.data
    assert answer.data["overrides"] == {"input": {"email": "b@x.io"}}  # v2's config of c applies
    sync_executor.drain()
    detail = api.get(f"/api/v1/executions/{detail['id']}/").data
    assert detail["status"] == E.COMPLETED and detail["workflow_version"] == 2
    assert [r["output_data"] for r in detail["task_executions"] if r["step_key"] == "c"][-1] == {"value": "fixed b@x.io"}
