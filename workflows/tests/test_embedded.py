"""`make run`: the whole product in one process on SQLite, with no Redis: API, worker, scheduler."""

from __future__ import annotations

import json
import sqlite3
import time

import httpx
import pytest

from workflows.tests.cluster import wait_for
from workflows.tests.embedded import admin_api
from workflows.tests.http_server import Server


def finished(api: httpx.Client, execution_id: str) -> dict:
    def done():
        execution = api.get(f"/executions/{execution_id}/").json()
        return execution if execution["status"] in ("completed", "failed") else None

    return wait_for(done, timeout=30, interval=0.2, message="the run")


def test_make_run_serves_the_api_and_runs_workflows_with_no_services(embedded):
    base, var = embedded
    health = httpx.get(f"{base}/health").json()
    assert {k: health[k] for k in ("status", "mode", "database", "broker")} == {
        "status": "healthy", "mode": "embedded", "database": "ok", "broker": "ok (in-process broker)"}
    assert health["workers"]["status"] == "ok" and health["workers"]["seen"][0]["node"].startswith("embedded@")
    assert health["beat"]["status"] == "ok"  # the in-process worker and beat threads
    api = admin_api(base, var)
    assert httpx.get(f"{base}/api/v1/workflows/").status_code == 401
    workflow = api.post("/workflows/", json={"name": "embedded", "status": "active", "search_fields": {
        "name": "{{ input.name }}", "sum": "{{ steps.sum.output.sum }}"}, "steps": [
        {"key": "hello", "task_type": "log", "config": {"message": "hi {{ input.name }}"}},
        {"key": "wait", "task_type": "delay", "config": {"seconds": 1}, "depends_on": ["hello"]},
        {"key": "sum", "task_type": "python", "config": {"function": "add", "kwargs": {"a": "{{ input.n }}", "b": 2}},
         "depends_on": ["wait"]},
    ]}).json()
    started = time.monotonic()
    run = api.post(f"/workflows/{workflow['id']}/run/", json={"input_data": {"name": "Ada", "n": 40}})
    assert run.status_code == 201
    done = finished(api, run.json()["id"])
    assert done["status"] == "completed", done
    assert done["output_data"] == {"sum": {"sum": 42}}
    assert time.monotonic() - started >= 1  # the durable delay was honoured by the embedded scheduler
    logs = api.get(f"/executions/{run.json()['id']}/logs/").json()["logs"]
    assert "hi Ada" in [entry["message"] for entry in logs]
    # Search by business data on SQLite (issue 17): the input's value at start, a step's at its completion.
    assert done["search"] == {"name": "Ada", "sum": "42"}
    found = api.get("/executions/", params={"search.name": "Ada", "search.sum": "42"}).json()
    assert [row["id"] for row in found["results"]] == [run.json()["id"]]
    assert api.get("/executions/", params={"search.name": "Bob"}).json()["count"] == 0
    with sqlite3.connect(var / "flowpilot.sqlite3") as db:  # the list's filter, as selectors.with_search asks it
        plan = " ".join(str(row) for row in db.execute(
            "EXPLAIN QUERY PLAN SELECT id FROM workflows_workflowexecution WHERE id IN (SELECT execution_id FROM "
            "workflows_executionsearchvalue WHERE name = ? AND value = ?) ORDER BY created_at DESC LIMIT 20",
            ("name", "Ada")))
    assert "COVERING INDEX search_name_value" in plan, plan


@pytest.mark.parametrize("embedded", [{"FLOWPILOT_SWEEP_IDLE_INTERVAL": "3600"}], indirect=True)
def test_an_idle_server_wakes_for_a_run_and_its_timer(embedded):
    """Idle, the worker waits for the broker's wake-up and the sweeper rests (here for an hour):
    a run started over HTTP must wake both: its steps run, and its durable delay is swept on time."""
    base, var = embedded
    api = admin_api(base, var)
    workflow = api.post("/workflows/", json={"name": "wake-up", "status": "active", "steps": [
        {"key": "hello", "task_type": "log", "config": {"message": "awake"}},
        {"key": "wait", "task_type": "delay", "config": {"seconds": 1}, "depends_on": ["hello"]},
        {"key": "bye", "task_type": "log", "config": {"message": "done"}, "depends_on": ["wait"]},
    ]}).json()
    time.sleep(3)  # the first sweep has found nothing in flight: the sweeper rests, the worker waits
    for _ in range(2):  # and again once the server has gone idle after a run
        run = api.post(f"/workflows/{workflow['id']}/run/", json={"input_data": {}})
        assert run.status_code == 201
        done = finished(api, run.json()["id"])  # within 30 s: far sooner than the sweeper's hour of rest
        assert done["status"] == "completed", done
        assert [t["status"] for t in done["task_executions"]] == ["completed"] * 3
        time.sleep(3)


def test_the_example_signup_workflow_runs_end_to_end(embedded):
    """Shipped and loaded on first start: signup -> welcome email + (pro? CRM pro : CRM basic) -> Slack."""
    base, var = embedded
    api = admin_api(base, var)
    server = Server()
    try:
        (example,) = [w for w in api.get("/workflows/").json()["results"] if w["name"] == "New user signup"]
        assert example["status"] == "active"
        assert api.post("/credentials/", json={"name": "SLACK_WEBHOOK_URL", "value": f"{server.url}/slack"}
                        ).status_code == 201
        run = api.post(f"/workflows/{example['id']}/run/", json={"input_data": {
            "name": "Ada", "email": "ada@example.com", "plan": "pro", "crm_url": f"{server.url}/crm"}}).json()
        done = finished(api, run["id"])
        assert done["status"] == "completed", done
        status = {t["step_key"]: t["status"] for t in done["task_executions"]}
        assert status == {"signup": "completed", "welcome_email": "completed", "plan": "completed",
                          "crm_pro": "completed", "crm_basic": "skipped", "notify_slack": "completed"}
        crm, slack = ([r for r in server.requests if r["path"] == path] for path in ("/crm", "/slack"))
        assert len(crm) == 1 and json.loads(crm[0]["body"])["tier"] == "pro"
        assert len(slack) == 1 and json.loads(slack[0]["body"])["text"] == "New pro signup: Ada (ada@example.com)"
        assert f"{server.url}/slack" not in json.dumps(done)  # the webhook URL is a credential: redacted
        mails = [p.read_text() for p in (var / "mail").iterdir()]
        assert len(mails) == 1 and "Welcome aboard, Ada!" in mails[0] and "ada@example.com" in mails[0]
    finally:
        server.close()
