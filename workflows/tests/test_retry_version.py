"""Retry on the run's version or on the workflow's latest one (POST .../retry/ and .../retry-failed/
with {"version": "original" | "latest"}): runs in-process against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import pytest

from workflows.engine.planner.dag import Graph
from workflows.engine.planner.states import ExecutionStatus as E
from workflows.engine.planner.states import TaskStatus as T
from workflows.engine.planner.takeover import takeover
from workflows.models import WorkflowExecution
from workflows.tests import functions
from workflows.tests.http_server import allow_loopback, fresh_circuits, server  # noqa: F401


def signup(url: str) -> dict:
    return {
        "name": "signup", "status": "active",
        "steps": [
            {"key": "welcome", "task_type": "python", "config": {"function": "record", "kwargs": {"value": "welcome"}}},
            {"key": "crm", "task_type": "http_request", "depends_on": ["welcome"], "max_retries": 0,
             "config": {"method": "POST", "url": url, "json": {"email": "{{ input.email }}"}}},
            {"key": "slack", "task_type": "python", "depends_on": ["crm"],
             "config": {"function": "record", "kwargs": {"value": "slack"}}},
        ],
    }


@pytest.fixture
def failed_run(api, server, allow_loopback, sync_executor):  # noqa: F811
    """A v1 run whose CRM step answered 500 (the CRM URL is wrong in v1)."""
    functions.CALLS.clear()
    workflow = api.post("/api/v1/workflows/", signup(f"{server.url}/status/500?body=crm+is+down"), format="json").data
    run = api.post(f"/api/v1/workflows/{workflow['id']}/run/", {"input_data": {"email": "a@example.com"}},
                   format="json").data
    sync_executor.drain()
    detail = api.get(f"/api/v1/executions/{run['id']}/").data
    assert detail["status"] == E.FAILED and detail["workflow_version"] == 1
    return workflow, detail


def fix_crm(api, workflow, url):
    response = api.patch(f"/api/v1/workflows/{workflow['id']}/steps/crm/", {"config": {"method": "POST", "url": url}},
                         format="json")
    assert response.status_code == 200, response.data
    assert api.get(f"/api/v1/workflows/{workflow['id']}/").data["version"] == 2


def by_step(detail) -> dict[str, list[dict]]:
    found: dict[str, list[dict]] = {}
    for row in detail["task_executions"]:
        found.setdefault(row["step_key"], []).append(row)
    return found


def test_a_failed_http_step_keeps_the_response_status_headers_and_body(api, failed_run):
    _, detail = failed_run
    [crm] = by_step(detail)["crm"]
    assert crm["status"] == T.FAILED and crm["workflow_version"] == 1
    assert crm["error_details"]["status_code"] == 500
    assert crm["error_details"]["body"] == "crm is down"
    assert crm["error_details"]["headers"]["content-type"] == "text/plain"


def test_retry_on_the_latest_version_calls_the_fixed_url_and_keeps_the_completed_steps(api, server, failed_run,
                                                                                        sync_executor):
    workflow, detail = failed_run
    fix_crm(api, workflow, f"{server.url}/crm")
    detail = api.get(f"/api/v1/executions/{detail['id']}/").data
    assert detail["retry_latest"] == {"version": 2, "problems": [], "added": [], "removed": []}

    response = api.post(f"/api/v1/executions/{detail['id']}/retry/", {"version": "latest"}, format="json")
    assert response.status_code == 200, response.data
    sync_executor.drain()
    detail = api.get(f"/api/v1/executions/{detail['id']}/").data
    assert detail["status"] == E.COMPLETED and detail["workflow_version"] == 2 and detail["retry_latest"] is None
    assert [r["path"] for r in server.requests] == ["/status/500?body=crm+is+down", "/crm"]
    steps = by_step(detail)
    assert [(r["status"], r["workflow_version"]) for r in steps["welcome"]] == [(T.COMPLETED, 1)]  # not run again
    assert [(r["attempt_number"], r["status"], r["workflow_version"]) for r in steps["crm"]] == [
        (1, T.FAILED, 1), (2, T.COMPLETED, 2)]
    assert [(r["status"], r["workflow_version"]) for r in steps["slack"]] == [(T.COMPLETED, 2)]
    assert [c["value"] for c in functions.CALLS] == ["welcome", "slack"]  # no second welcome
    messages = [log["message"] for log in api.get(f"/api/v1/executions/{detail['id']}/logs/").data["logs"]]
    assert any("Retry 1 on v2 (was v1)" in m for m in messages)


def test_retry_on_the_original_version_is_the_default_and_calls_the_old_url(api, server, failed_run, sync_executor):
    workflow, detail = failed_run
    fix_crm(api, workflow, f"{server.url}/crm")
    assert api.post(f"/api/v1/executions/{detail['id']}/retry/", {}, format="json").status_code == 200
    sync_executor.drain()
    detail = api.get(f"/api/v1/executions/{detail['id']}/").data
    assert detail["status"] == E.FAILED and detail["workflow_version"] == 1
    assert [r["path"] for r in server.requests] == ["/status/500?body=crm+is+down"] * 2
    assert [r["workflow_version"] for r in by_step(detail)["crm"]] == [1, 1]
    assert detail["retry_latest"]["version"] == 2  # still offered


def test_retry_on_the_latest_version_runs_added_steps_and_leaves_removed_ones(api, server, failed_run, sync_executor):
    workflow, detail = failed_run
    steps = signup(f"{server.url}/crm")["steps"][:2] + [
        {"key": "audit", "task_type": "python", "depends_on": ["crm"],
         "config": {"function": "record", "kwargs": {"value": "audit"}}}]
    assert api.patch(f"/api/v1/workflows/{workflow['id']}/", {"steps": steps}, format="json").status_code == 200
    preview = api.get(f"/api/v1/executions/{detail['id']}/").data["retry_latest"]
    assert preview == {"version": 2, "problems": [], "added": ["audit"], "removed": ["slack"]}
    assert api.post(f"/api/v1/executions/{detail['id']}/retry/", {"version": "latest"}, format="json").status_code == 200
    sync_executor.drain()
    detail = api.get(f"/api/v1/executions/{detail['id']}/").data
    assert detail["status"] == E.COMPLETED
    found = by_step(detail)
    assert [(r["status"], r["workflow_version"]) for r in found["slack"]] == [(T.SKIPPED, 1)]
    assert [(r["status"], r["workflow_version"]) for r in found["audit"]] == [(T.COMPLETED, 2)]
    assert [c["value"] for c in functions.CALLS] == ["welcome", "audit"]


def test_retry_on_the_latest_version_is_refused_when_it_cannot_take_over_and_nothing_changes(api, server, failed_run,
                                                                                             sync_executor):
    workflow, detail = failed_run
    steps = [{"key": "precheck", "task_type": "log", "config": {"message": "first"}},
             {**signup(f"{server.url}/crm")["steps"][0], "depends_on": ["precheck"]},
             *signup(f"{server.url}/crm")["steps"][1:]]
    assert api.patch(f"/api/v1/workflows/{workflow['id']}/", {"steps": steps}, format="json").status_code == 200
    problems = api.get(f"/api/v1/executions/{detail['id']}/").data["retry_latest"]["problems"]
    assert problems == ["step 'welcome' is done in this run, but the latest version makes it depend on 'precheck', "
                        "which the run has not done"]
    response = api.post(f"/api/v1/executions/{detail['id']}/retry/", {"version": "latest"}, format="json")
    assert response.status_code == 409
    assert response.data["message"].startswith("the latest version (v2) cannot take over this run: step 'welcome'")
    assert response.data["problems"] == problems
    after = api.get(f"/api/v1/executions/{detail['id']}/").data
    assert after["status"] == E.FAILED and after["workflow_version"] == 1 and after["retry_count"] == 0
    assert len(after["task_executions"]) == len(detail["task_executions"])
    # the run's own version still works
    assert api.post(f"/api/v1/executions/{detail['id']}/retry/", {"version": "original"},
                    format="json").status_code == 200


@pytest.mark.parametrize("body", [{"version": "newest"}, {"version": 2}, {"version": None}])
def test_a_bad_version_is_refused_with_a_400_and_changes_nothing(api, failed_run, body):
    _, detail = failed_run
    response = api.post(f"/api/v1/executions/{detail['id']}/retry/", body, format="json")
    assert response.status_code == 400 and "version" in response.data["fields"]
    assert WorkflowExecution.objects.get(pk=detail["id"]).retry_count == 0
    response = api.post("/api/v1/executions/retry-failed/", body, format="json")
    assert response.status_code == 400 and "version" in response.data["fields"]


def test_bulk_retry_on_the_latest_version(api, server, failed_run, sync_executor):
    workflow, first = failed_run
    second = api.post(f"/api/v1/workflows/{workflow['id']}/run/", {"input_data": {"email": "b@example.com"}},
                      format="json").data
    sync_executor.drain()
    fix_crm(api, workflow, f"{server.url}/crm")
    ids = [first["id"], second["id"]]
    dry = api.post("/api/v1/executions/retry-failed/", {"execution_ids": ids, "dry_run": True, "version": "latest"},
                   format="json").data
    assert dry["dry_run"] is True and dry["count"] == 2 and dry["outdated"] == 2
    assert WorkflowExecution.objects.filter(pk__in=ids, status=E.FAILED).count() == 2
    done = api.post("/api/v1/executions/retry-failed/", {"execution_ids": ids, "version": "latest"},
                    format="json").data
    assert done["retried"] == 2 and done["refused"] == {}
    sync_executor.drain()
    for execution in WorkflowExecution.objects.filter(pk__in=ids).select_related("workflow_version"):
        assert execution.status == E.COMPLETED and execution.workflow_version.number == 2
    assert sorted(r["path"] for r in server.requests).count("/crm") == 2


def test_bulk_retry_names_the_runs_the_latest_version_cannot_take_over(api, server, failed_run, sync_executor):
    workflow, detail = failed_run
    steps = [{"key": "precheck", "task_type": "log", "config": {"message": "first"}},
             {**signup(f"{server.url}/crm")["steps"][0], "depends_on": ["precheck"]},
             *signup(f"{server.url}/crm")["steps"][1:]]
    api.patch(f"/api/v1/workflows/{workflow['id']}/", {"steps": steps}, format="json")
    done = api.post("/api/v1/executions/retry-failed/", {"execution_ids": [detail["id"]], "version": "latest"},
                    format="json").data
    assert done["retried"] == 0
    assert list(done["refused"]) == [detail["id"]]
    assert "depend on 'precheck'" in done["refused"][detail["id"]]


# --- the pure decision ------------------------------------------------------------------------------

def graph(*steps: tuple[str, tuple[str, ...]]) -> Graph:
    return Graph.from_steps([{"key": key, "depends_on": list(deps)} for key, deps in steps])


def test_takeover_keeps_done_steps_reruns_failed_ones_adds_and_removes():
    new = graph(("a", ()), ("b", ("a",)), ("d", ("b",)))
    plan = takeover(new, {"a": T.COMPLETED, "b": T.FAILED, "c": T.PENDING})
    assert (plan.kept, plan.rerun, plan.pending, plan.added, plan.removed, plan.problems) == (
        ("a",), ("b",), (), ("d",), ("c",), ())


def test_takeover_refuses_a_done_step_that_would_depend_on_an_unfinished_one():
    new = graph(("x", ()), ("a", ("x",)), ("b", ("a",)))
    plan = takeover(new, {"a": T.COMPLETED, "b": T.FAILED})
    assert plan.problems == ("step 'a' is done in this run, but the latest version makes it depend on 'x', "
                             "which the run has not done",)


def test_takeover_refuses_while_a_step_still_runs():
    plan = takeover(graph(("a", ())), {"a": T.RUNNING})
    assert plan.problems == ("step 'a' of the run is still running; retry once it has ended",)


def test_takeover_keeps_skipped_steps_decided():
    plan = takeover(graph(("a", ()), ("b", ("a",))), {"a": T.SKIPPED, "b": T.CANCELLED})
    assert plan.kept == ("a",) and plan.rerun == ("b",) and not plan.problems
