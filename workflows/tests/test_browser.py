"""The designer and the live monitor in real headless chromium (playwright-core, Debian's chromium)
against `make run`'s server. The browser scripts live in frontend/e2e/; these tests give them a
server, a local receiver and credentials, then check on the server what the browser did.
Screenshots and figures are kept in test-artifacts/."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess

import httpx
import pytest

from flowpilot.testing import CHROMIUM
from triggers.tests.test_browser import signed_post
from workflows.tests.cluster import ROOT, wait_for
from workflows.tests.embedded import admin_api, admin_credentials
from workflows.tests.http_server import Server

pytestmark = pytest.mark.browser
ARTIFACTS = ROOT / "test-artifacts"


def browser_script(script: str, *, base: str, var, **env: str) -> str:
    """Run one node:test script of frontend/e2e/ against the server; its output."""
    credentials = admin_credentials(var)
    result = subprocess.run(
        ["node", "--test", "--test-reporter=spec", script], cwd=ROOT / "frontend", capture_output=True, text=True,
        timeout=600, env={**os.environ, "BASE_URL": base, "FP_USERNAME": credentials["username"],
                          "FP_PASSWORD": credentials["password"], "CHROMIUM": CHROMIUM,
                          "ARTIFACTS": str(ARTIFACTS), **env})
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-12000:]
    return output


def test_draw_run_watch_live_fail_retry_complete(embedded):
    base, var = embedded
    api = admin_api(base, var)
    receiver = Server()
    try:
        for name, value in (("SLACK_WEBHOOK_URL", f"{receiver.url}/slack"), ("crm_token", "crm-secret-token")):
            assert api.post("/credentials/", json={"name": name, "value": value}).status_code == 201

        browser_script("e2e/designer-to-monitor.test.mjs", base=base, var=var, RECEIVER_URL=receiver.url)

        # What the browser built and ran, as the server has it.
        (workflow,) = api.get("/workflows/", params={"search": "Signup journey"}).json()["results"]
        steps = {s["key"]: s for s in workflow["steps"]}
        assert {k: (s["task_type"], s["depends_on"]) for k, s in steps.items()} == {
            "signup": ("log", []), "welcome_email": ("send_email", ["signup"]),
            "crm": ("http_request", ["welcome_email"]), "notify_slack": ("slack", ["crm"])}
        assert steps["crm"]["config"]["url"] == f"{receiver.url}/flaky/crm?fail=1"
        assert steps["crm"]["max_retries"] == 0
        assert steps["notify_slack"]["config"]["credential"] == "SLACK_WEBHOOK_URL"
        (run,) = api.get("/executions/", params={"workflow": workflow["id"]}).json()["results"]
        assert run["status"] == "completed" and run["retry_count"] == 1, run
        detail = api.get(f"/executions/{run['id']}/").json()
        assert [(t["step_key"], t["attempt_number"], t["status"]) for t in detail["task_executions"]] == [
            ("signup", 1, "completed"), ("welcome_email", 1, "completed"), ("crm", 1, "failed"),
            ("crm", 2, "completed"), ("notify_slack", 1, "completed")]
        crm = [r for r in receiver.requests if r["path"].startswith("/flaky/crm")]
        slack = [r for r in receiver.requests if r["path"] == "/slack"]
        assert len(crm) == 2 and len(slack) == 1
        assert json.loads(slack[0]["body"])["text"] == "New signup: Ada (ada@example.com)"
        mails = [p.read_text() for p in (var / "mail").iterdir()]
        assert len(mails) == 1 and "Welcome aboard, Ada!" in mails[0]  # sent once, not again on retry
        for shot in ("designer", "monitor-failed", "monitor"):
            assert (ARTIFACTS / f"{shot}.png").stat().st_size > 10_000
    finally:
        receiver.close()


def test_credentials_page_picker_create_new_and_a_missing_credential(embedded):
    """Issue 16's credentials in the browser (frontend/e2e/credentials.test.mjs): what the browser
    created and picked is what the server has; the values never came back; the delete was refused."""
    base, var = embedded
    api = admin_api(base, var)

    browser_script("e2e/credentials.test.mjs", base=base, var=var)

    stored = {c["name"]: c for c in api.get("/credentials/").json()["results"]}
    assert {"crm_token", "slack_hook"} <= set(stored)  # crm_token still there: its delete was refused
    (workflow,) = api.get("/workflows/", params={"search": "Credentials journey"}).json()["results"]
    steps = {s["key"]: s for s in workflow["steps"]}
    assert steps["http_request"]["config"] == {"method": "GET", "timeout": 30, "follow_redirects": True,
                                               "url": "https://crm.invalid/api/contacts",
                                               "auth": {"type": "bearer", "credential": "crm_token"}}
    assert steps["slack"]["config"]["credential"] == "slack_hook"
    uses = [{"id": workflow["id"], "name": workflow["name"], "steps": ["http_request"]}]
    assert stored["crm_token"]["used_by"] == uses
    detail = api.get(f"/workflows/{workflow['id']}/").json()
    assert workflow["status"] == "draft" and list(detail["warnings"]) == ["steps.log.config.message"]
    text = json.dumps(api.get("/credentials/").json())
    assert "crm-secret-token-123" not in text and "hooks.slack.invalid" not in text
    for shot in ("credentials", "designer-credential-picker", "designer-missing-credential", "credentials-delete-refused"):
        assert (ARTIFACTS / f"{shot}.png").stat().st_size > 10_000


def test_a_500_step_workflow_in_the_designer(embedded, capsys):
    """A benchmark figure (printed and kept in test-artifacts/ui-benchmark.json), not a timed assertion."""
    base, var = embedded
    api = admin_api(base, var)
    steps = [{"key": f"s{i}", "task_type": "log", "config": {"message": f"step {i}"},
              "depends_on": [f"s{(i - 1) // 2}"] if i else [],  # a binary tree, 9 levels deep
              "position": {"x": (i.bit_length()) * 280, "y": (i - (1 << (i.bit_length() - 1)) if i else 0) * 90}}
             for i in range(500)]
    created = api.post("/workflows/", json={"name": "Five hundred steps", "steps": steps})
    assert created.status_code == 201, created.text
    output = browser_script("e2e/designer-500.bench.mjs", base=base, var=var, WORKFLOW_ID=created.json()["id"])
    (line,) = [line for line in output.splitlines() if "UI-BENCH" in line]
    figures = json.loads(line.split("UI-BENCH ", 1)[1])
    assert figures["nodes"] == 500 and 0 < figures["nodes_in_dom"] <= 500
    with capsys.disabled():
        print(f"\n500-step designer: {json.dumps(figures)}")


def test_build_a_structured_condition_in_the_designer_and_run_its_branches(embedded):
    """The conditional step's condition builder (frontend/e2e/condition-builder.test.mjs): what the
    browser built is the structured condition in the saved definition, and runs take its branches."""
    base, var = embedded
    api = admin_api(base, var)
    created = api.post("/workflows/", json={
        "name": "Plan router", "metadata": {"sample_input": {"plan": "pro", "customer": {"tier": "gold"}}},
        "steps": [
            {"key": "check", "task_type": "conditional", "config": {"condition": "{{ input.plan == 'free' }}"}},
            {"key": "pro", "task_type": "log", "config": {"message": "pro plan"}, "depends_on": ["check:true"]},
            {"key": "other", "task_type": "log", "config": {"message": "other plan"}, "depends_on": ["check:false"]},
        ]})
    assert created.status_code == 201, created.text
    workflow_id = created.json()["id"]

    browser_script("e2e/condition-builder.test.mjs", base=base, var=var, WORKFLOW_ID=workflow_id)

    steps = {s["key"]: s for s in api.get(f"/workflows/{workflow_id}/").json()["steps"]}
    assert steps["check"]["config"] == {"condition": {"field": "plan", "operator": "eq", "value": "pro"}}
    assert (steps["pro"]["depends_on"], steps["other"]["depends_on"]) == (["check:true"], ["check:false"])
    assert api.post(f"/workflows/{workflow_id}/activate/").status_code == 200

    def run(plan: str) -> dict:
        started = api.post(f"/workflows/{workflow_id}/run/", json={"input_data": {"plan": plan}})
        assert started.status_code == 201, started.text
        detail = {}

        def finished() -> bool:
            detail.update(api.get(f"/executions/{started.json()['id']}/").json())
            return detail["status"] in ("completed", "failed")

        wait_for(finished, timeout=30, interval=0.2, message=f"the {plan} run to finish")
        assert detail["status"] == "completed", detail
        return {t["step_key"]: (t["status"], t["output_data"]) for t in detail["task_executions"] if t["is_latest"]}

    pro = run("pro")
    assert pro["check"] == ("completed", {"branch": "true"})
    assert (pro["pro"][0], pro["other"][0]) == ("completed", "skipped")
    free = run("free")
    assert free["check"] == ("completed", {"branch": "false"})
    assert (free["pro"][0], free["other"][0]) == ("skipped", "completed")


@pytest.mark.parametrize("embedded", [{"FLOWPILOT_ALERT_INTERVAL": "1"}], indirect=True)
def test_docs_offline_admin_forms_and_links_out_to_the_address_served(embedded):
    """Issue 16: the menu's API docs render with every other host refused, the admin adds and changes
    a schedule (the beat's row follows) and a credential (frontend/e2e/docs-and-admin.test.mjs); a run
    started with the API token is `api`; an alert fired by the beat links the app's pages under the
    address `make run` serves (a free port here, not 8000), with no FLOWPILOT_PUBLIC_URL set."""
    base, var = embedded
    api = admin_api(base, var)
    receiver = Server()
    try:
        failing = api.post("/workflows/", json={"name": "Always fails", "status": "active", "steps": [
            {"key": "boom", "task_type": "python", "max_retries": 0,
             "config": {"function": "fail", "kwargs": {"retryable": False}}}]})
        assert failing.status_code == 201, failing.text
        failing = failing.json()
        started = api.post(f"/workflows/{failing['id']}/run/", json={"input_data": {}})
        assert started.status_code == 201 and started.json()["triggered_by"] == "api", started.text
        rule = api.post("/alert-rules/", json={
            "name": "always failing", "workflow_id": failing["id"], "kind": "failure_rate", "threshold": 0.1,
            "min_runs": 1, "window_minutes": 15, "channels": [{"type": "webhook", "url": f"{receiver.url}/hook"}]})
        assert rule.status_code == 201, rule.text

        example = next(w for w in api.get("/workflows/").json()["results"] if w["id"] != failing["id"])
        browser_script("e2e/docs-and-admin.test.mjs", base=base, var=var, WORKFLOW_NAME=example["name"])

        # The schedule the browser made and changed in the admin, and its celery-beat row.
        (trigger,) = [t for t in api.get(f"/workflows/{example['id']}/triggers/").json() if t["name"] == "every morning"]
        assert (trigger["type"], trigger["cron"], trigger["timezone"]) == ("schedule", "45 6 * * *", "Europe/Paris")
        with sqlite3.connect(var / "flowpilot.sqlite3") as db:
            beat = db.execute(
                "SELECT c.minute, c.hour, c.timezone, t.enabled, t.args FROM triggers_trigger tr"
                " JOIN django_celery_beat_periodictask t ON t.id = tr.periodic_task_id"
                " JOIN django_celery_beat_crontabschedule c ON c.id = t.crontab_id WHERE tr.name = ?",
                ("every morning",)).fetchall()
        assert beat == [("45", "6", "Europe/Paris", 1, json.dumps([trigger["id"]]))], beat
        assert "CRM_TOKEN" in {c["name"] for c in api.get("/credentials/").json()["results"]}
        for shot in ("menu-docs-admin", "api-docs-swagger", "api-docs-redoc", "admin-schedule-trigger",
                     "admin-credential"):
            assert (ARTIFACTS / f"{shot}.png").stat().st_size > 10_000, shot

        # The beat's evaluation has no request: its links name the address served, and open the app.
        hooks = wait_for(lambda: [r for r in receiver.requests if r["path"] == "/hook"], timeout=60, interval=0.5,
                         message="the alert to fire")
        links = json.loads(hooks[0]["body"])["links"]
        assert links == {"rule": f"{base}/alerts", "workflow": f"{base}/workflows/{failing['id']}",
                         "failed_executions": f"{base}/executions?workflow={failing['id']}&status=failed",
                         "latest_failed_execution": f"{base}/executions/{started.json()['id']}"}
        page = httpx.get(links["latest_failed_execution"])
        assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    finally:
        receiver.close()


def failed_crm_run(api, name: str, crm_url: str) -> tuple[str, dict]:
    """An active workflow welcome -> crm (an HTTP POST to `crm_url`, no retries) and a run of it that
    failed at the CRM: (the workflow's id, the run as started)."""
    created = api.post("/workflows/", json={"name": name, "status": "active", "steps": [
        {"key": "welcome", "task_type": "log", "config": {"message": "hello {{ input.email }}"}},
        {"key": "crm", "task_type": "http_request", "depends_on": ["welcome"], "max_retries": 0,
         "config": {"method": "POST", "url": crm_url, "json": {"email": "{{ input.email }}"}}},
    ]})
    assert created.status_code == 201, created.text
    workflow_id = created.json()["id"]
    run = api.post(f"/workflows/{workflow_id}/run/", json={"input_data": {"email": "ada@example.com"}}).json()
    wait_for(lambda: api.get(f"/executions/{run['id']}/").json()["status"] == "failed", timeout=30, interval=0.2,
             message="the run to fail at the CRM")
    return workflow_id, run


def test_manage_a_workflow_and_retry_a_failed_run_on_its_latest_version(embedded):
    """frontend/e2e/workflow-management.test.mjs: settings, duplicate, delete, export/import, the failed
    step's response body, and a retry on the latest version; checked here on the server."""
    base, var = embedded
    api = admin_api(base, var)
    receiver = Server()
    try:
        wrong = f"{receiver.url}/status/500?body=the+CRM+is+down%3A+no+such+endpoint+%2Fv1%2Fcontacts"
        workflow_id, run = failed_crm_run(api, "CRM sync", wrong)

        browser_script("e2e/workflow-management.test.mjs", base=base, var=var, WORKFLOW_ID=workflow_id,
                       RUN_ID=run["id"], RECEIVER_URL=receiver.url)

        workflow = api.get(f"/workflows/{workflow_id}/").json()
        assert (workflow["description"], workflow["max_retries"], workflow["max_concurrency"]) == (
            "Sync new users to the CRM", 2, 5)
        assert {s["key"]: s for s in workflow["steps"]}["crm"]["config"]["url"] == f"{receiver.url}/v2/contacts"
        names = sorted(w["name"] for w in api.get("/workflows/", params={"search": "CRM sync"}).json()["results"])
        assert names == ["CRM sync", "CRM sync"]  # the original and the import; the copy was deleted
        detail = api.get(f"/executions/{run['id']}/").json()
        assert detail["status"] == "completed" and detail["workflow_version"] == workflow["version"] >= 2
        assert [(t["step_key"], t["attempt_number"], t["status"], t["workflow_version"])
                for t in detail["task_executions"]] == [
            ("welcome", 1, "completed", 1), ("crm", 1, "failed", 1), ("crm", 2, "completed", workflow["version"])]
        paths = [r["path"] for r in receiver.requests]
        assert paths == [wrong.removeprefix(receiver.url), "/v2/contacts"]  # welcome was not run again
        for shot in ("manage-settings-refused", "manage-list", "manage-duplicate", "manage-imported",
                     "monitor-error-body", "retry-version-dialog", "monitor-retried-on-latest"):
            assert (ARTIFACTS / f"{shot}.png").stat().st_size > 10_000
    finally:
        receiver.close()


def test_search_fields_in_the_settings_the_executions_filter_and_the_run_page(embedded):
    """frontend/e2e/search-fields.test.mjs (issue 17, search by business data): the field the browser
    declared, and the runs it found, as the server has them."""
    base, var = embedded
    api = admin_api(base, var)
    created = api.post("/workflows/", json={"name": "Patients", "status": "active", "steps": [
        {"key": "hello", "task_type": "log", "config": {"message": "hello {{ input.phone }}"}}]})
    assert created.status_code == 201, created.text
    workflow_id = created.json()["id"]

    browser_script("e2e/search-fields.test.mjs", base=base, var=var, WORKFLOW_ID=workflow_id)

    assert api.get(f"/workflows/{workflow_id}/").json()["search_fields"] == {"phone": "{{ input.phone }}"}
    found = api.get("/executions/", params={"search.phone": "+91123"}).json()["results"]
    assert len(found) == 2 and all(run["search"] == {"phone": "+91123"} for run in found)
    for shot in ("search-field-refused", "executions-search-filter", "run-search-values"):
        assert (ARTIFACTS / f"{shot}.png").stat().st_size > 10_000


def test_edit_and_resume_then_rerun_from_here_in_the_monitor(embedded):
    """frontend/e2e/edit-and-rerun.test.mjs: a failed run's CRM config corrected for this run only, the
    run resumed, then rerun from its first step; checked here on the server."""
    base, var = embedded
    api = admin_api(base, var)
    receiver = Server()
    try:
        wrong = f"{receiver.url}/status/500?body=down"
        workflow_id, run = failed_crm_run(api, "CRM edit", wrong)

        browser_script("e2e/edit-and-rerun.test.mjs", base=base, var=var, RUN_ID=run["id"], WORKFLOW_ID=workflow_id,
                       RECEIVER_URL=receiver.url)

        def done():  # the bulk rerun from crm (the last thing the browser did) has finished
            answer = api.get(f"/executions/{run['id']}/").json()
            return answer if answer["status"] == "completed" and len(answer["task_executions"]) == 6 else None
        detail = wait_for(done, timeout=30, interval=0.2, message="the bulk rerun from crm to finish")
        assert detail["status"] == "completed" and detail["overridden_by"] == credentials_user(var)
        assert detail["overrides"]["steps"]["crm"]["config"]["url"] == f"{receiver.url}/v2/contacts"
        assert [(t["step_key"], t["attempt_number"], t["status"]) for t in detail["task_executions"]] == [
            ("welcome", 1, "completed"), ("crm", 1, "failed"), ("crm", 2, "completed"),
            ("welcome", 2, "completed"), ("crm", 3, "completed"), ("crm", 4, "completed")]
        assert [r["path"] for r in receiver.requests] == ["/status/500?body=down"] + ["/v2/contacts"] * 3
        workflow = api.get(f"/workflows/{workflow_id}/").json()
        assert workflow["version"] == 1 and {s["key"]: s for s in workflow["steps"]}["crm"]["config"]["url"] == wrong
    finally:
        receiver.close()


def test_pause_a_run_on_its_page_and_resume_it_from_the_list(embedded):
    """frontend/e2e/pause-resume.test.mjs: the run page's Pause, the list's Resume selected; checked here
    on the server: the run's timer is still ahead, and who paused and resumed it is logged."""
    base, var = embedded
    api = admin_api(base, var)
    created = api.post("/workflows/", json={"name": "Paused in the UI", "status": "active", "steps": [
        {"key": "nap", "task_type": "delay", "config": {"seconds": 3600}},
        {"key": "after", "task_type": "log", "depends_on": ["nap"], "config": {"message": "done"}},
    ]})
    assert created.status_code == 201, created.text
    run = api.post(f"/workflows/{created.json()['id']}/run/", json={"input_data": {}}).json()
    wait_for(lambda: any(t["status"] == "waiting" for t in api.get(f"/executions/{run['id']}/").json()["task_executions"]),
             timeout=30, interval=0.2, message="the timer to start")

    browser_script("e2e/pause-resume.test.mjs", base=base, var=var, RUN_ID=run["id"])

    detail = api.get(f"/executions/{run['id']}/").json()
    assert detail["status"] == "running" and detail["allowed_actions"] == ["cancel", "pause"]
    assert [t["status"] for t in detail["task_executions"]] == ["waiting", "pending"]
    logs = api.get(f"/executions/{run['id']}/logs/?limit=500").json()["logs"]
    assert [(e["event"], e["details"]["user"]) for e in logs if e["event"].startswith("execution.") and "paused" in e["event"]] \
        == [("execution.paused", credentials_user(var)), ("execution.unpaused", credentials_user(var))]


def credentials_user(var) -> str:
    return admin_credentials(var)["username"]


def test_approve_in_the_monitor_reject_on_the_approvals_page_and_by_link(embedded):
    """frontend/e2e/approvals.test.mjs: approval steps decided through the UI and an emailed link;
    the server then holds each decision with who made it, how and why."""
    base, var = embedded
    api = admin_api(base, var)
    created = api.post("/workflows/", json={"name": "Refunds", "steps": [
        {"key": "request", "task_type": "log", "config": {"message": "refund asked"}},
        {"key": "approve", "task_type": "approval", "depends_on": ["request"],
         "config": {"message": "Refund {{ input.amount }} EUR to {{ input.customer }}?", "timeout_seconds": 3600,
                    "recipient": "finance@example.com"}},
        {"key": "refund", "task_type": "log", "config": {"message": "refunded"}, "depends_on": ["approve:approved"]},
        {"key": "decline", "task_type": "log", "config": {"message": "declined"}, "depends_on": ["approve:rejected"]},
    ]})
    assert created.status_code == 201, created.text
    workflow_id = created.json()["id"]
    assert api.post(f"/workflows/{workflow_id}/activate/").status_code == 200
    runs = {}
    for name, amount, customer in (("A", 40, "Ada"), ("B", 990, "Bob"), ("C", 75, "Cy")):
        started = api.post(f"/workflows/{workflow_id}/run/", json={"input_data": {"amount": amount, "customer": customer}})
        assert started.status_code == 201, started.text
        runs[name] = started.json()["id"]

    waiting = {}

    def all_waiting() -> bool:
        waiting.update({item["execution_id"]: item for item in api.get("/approvals/").json()["results"]})
        return set(runs.values()) <= set(waiting)

    wait_for(all_waiting, timeout=60, interval=0.5, message="the three runs to wait at their approval")
    link = waiting[runs["C"]]["approve_url"]
    assert link.startswith("http")
    path = link[link.index("/approval-links/"):]

    browser_script("e2e/approvals.test.mjs", base=base, var=var, RUN_A=runs["A"], RUN_B=runs["B"],
                   LINK_URL=f"{base}{path}")

    def decision_of(run_id: str) -> tuple[dict, dict]:
        detail = api.get(f"/executions/{run_id}/").json()
        steps = {t["step_key"]: t for t in detail["task_executions"]}
        return detail, steps

    finished = {}

    def all_completed() -> bool:
        finished.update({name: decision_of(run_id) for name, run_id in runs.items()})
        return all(detail["status"] == "completed" for detail, _ in finished.values())

    wait_for(all_completed, timeout=60, interval=0.5, message="the three runs to complete")
    user = admin_credentials(var)["username"]
    detail, steps = finished["A"]
    assert steps["approve"]["output_data"]["decision"] | {"at": None} == {
        "approved": True, "by": user, "via": "app", "comment": "Small amount, fine", "recipient": "", "at": None}
    assert (steps["refund"]["status"], steps["decline"]["status"]) == ("completed", "skipped")
    detail, steps = finished["B"]
    assert steps["approve"]["output_data"]["decision"]["comment"] == "Over the refund limit"
    assert steps["approve"]["output_data"]["decision"]["approved"] is False
    assert (steps["refund"]["status"], steps["decline"]["status"]) == ("skipped", "completed")
    logs = api.get(f"/executions/{runs['B']}/logs/").json()["logs"]
    assert any(line["details"].get("comment") == "Over the refund limit" and line["details"].get("user") == user
               for line in logs)
    detail, steps = finished["C"]
    assert steps["approve"]["output_data"]["decision"]["via"] == "link"
    assert steps["approve"]["output_data"]["decision"]["by"] == "finance@example.com"
    assert steps["refund"]["status"] == "completed"
    for shot in ("approval-monitor-waiting", "approval-monitor-approved", "approvals-page", "approval-link-page"):
        assert (ARTIFACTS / f"{shot}.png").stat().st_size > 10_000


def test_the_issue_16_journey_through_the_ui_only(embedded):
    """Issue 16's "Done means" in one browser script (frontend/e2e/issue-16-journey.test.mjs), through
    the UI only: this side gives it a real HTTP server (the CRM's 500 with a body, then 200; Slack),
    fires the webhook's test delivery, signed as the README says, while the browser listens, then
    checks on the server what the browser did."""
    base, var = embedded
    api = admin_api(base, var)
    receiver = Server()
    name = "Signup to Slack (journey)"
    credentials = admin_credentials(var)
    browser = subprocess.Popen(
        ["node", "--test", "--test-reporter=spec", "e2e/issue-16-journey.test.mjs"], cwd=ROOT / "frontend",
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, "BASE_URL": base, "FP_USERNAME": credentials["username"],
             "FP_PASSWORD": credentials["password"], "CHROMIUM": CHROMIUM, "ARTIFACTS": str(ARTIFACTS),
             "RECEIVER_URL": receiver.url})
    try:
        hook: dict = {}

        def listening() -> bool:
            assert browser.poll() is None, browser.stdout.read()[-12000:]
            found = api.get("/workflows/", params={"search": name}).json()["results"]
            hooks = found and [t for t in api.get(f"/workflows/{found[0]['id']}/triggers/").json()
                               if t["type"] == "webhook"]
            if not hooks:
                return False
            hook.update(hooks[0])
            return api.get(f"/triggers/{hook['id']}/listen/").json()["listening"]

        wait_for(listening, timeout=180, interval=0.5, message="the browser to listen for a test delivery")
        secret = api.post(f"/triggers/{hook['id']}/reveal-secret/").json()["secret"]
        answer = signed_post(hook["url"], secret, {"name": "Ada", "email": "ada@example.com"})
        assert answer.status_code == 409, answer.text  # a draft does not run; the delivery is captured
        output, _ = browser.communicate(timeout=420)
    finally:
        if browser.poll() is None:
            browser.kill()
            browser.wait()
        receiver.close()
    assert browser.returncode == 0, output[-12000:]

    # The workflow drawn, the original and its import.
    workflows = api.get("/workflows/", params={"search": name}).json()["results"]
    assert [w["name"] for w in workflows] == [name, name], workflows
    original = min(workflows, key=lambda w: w["created_at"])
    imported = max(workflows, key=lambda w: w["created_at"])
    assert original["id"] != imported["id"]
    steps = {s["key"]: s for s in original["steps"]}
    assert {k: (s["task_type"], s["depends_on"]) for k, s in steps.items()} == {
        "signup": ("log", []), "welcome_email": ("send_email", ["signup"]), "crm": ("http_request", ["welcome_email"]),
        "review": ("approval", ["crm"]), "notify_slack": ("slack", ["review:approved"])}
    assert steps["crm"]["config"]["url"] == f"{receiver.url}/v2/contacts"
    assert steps["notify_slack"]["config"]["credential"] == "slack_signups"
    assert {s["key"]: (s["task_type"], s["depends_on"], s["config"]) for s in imported["steps"]} == {
        k: (s["task_type"], s["depends_on"], s["config"]) for k, s in steps.items()}

    # The credential, used by the workflow; its value never came back.
    stored = {c["name"]: c for c in api.get("/credentials/").json()["results"]}
    assert original["id"] in {w["id"] for w in stored["slack_signups"]["used_by"]}
    assert f"{receiver.url}/slack" not in json.dumps(api.get("/credentials/").json())

    # The triggers: the webhook's captured delivery (refused: the workflow was a draft) kept as the
    # sample input; the schedule on Mondays at 09:00 in Paris, paused.
    triggers = {t["type"]: t for t in api.get(f"/workflows/{original['id']}/triggers/").json()}
    assert set(triggers) == {"webhook", "schedule"}
    assert triggers["webhook"]["name"] == "Signup form"
    schedule = triggers["schedule"]
    assert (schedule["cron"], schedule["timezone"], schedule["enabled"]) == ("0 9 * * 1", "Europe/Paris", False)
    (delivery,) = api.get(f"/triggers/{hook['id']}/deliveries/").json()
    assert not delivery["accepted"] and delivery["execution_id"] is None, delivery
    sample = api.get(f"/workflows/{original['id']}/").json()["metadata"]["sample_input"]
    assert (sample["name"], sample["email"], sample["_webhook"]["trigger_id"]) == ("Ada", "ada@example.com", hook["id"])

    # The one run: the CRM failed on the first version, then ran on the latest; approved; completed.
    (run,) = api.get("/executions/", params={"workflow": original["id"]}).json()["results"]
    detail = api.get(f"/executions/{run['id']}/").json()
    latest = api.get(f"/workflows/{original['id']}/").json()["version"]
    assert detail["status"] == "completed" and detail["input_data"]["name"] == "Ada", detail
    attempts = [(t["step_key"], t["attempt_number"], t["status"], t["workflow_version"])
                for t in detail["task_executions"]]
    first = attempts[0][3]
    assert latest > first
    assert attempts == [
        ("signup", 1, "completed", first), ("welcome_email", 1, "completed", first), ("crm", 1, "failed", first),
        ("crm", 2, "completed", latest), ("review", 1, "completed", latest),
        ("notify_slack", 1, "completed", latest)], attempts
    tasks = {t["step_key"]: t for t in detail["task_executions"] if t["is_latest"]}
    decision = tasks["review"]["output_data"]["decision"]
    assert (decision["approved"], decision["by"], decision["via"], decision["comment"]) == (
        True, credentials["username"], "app", "Looks like a real customer")
    assert [r["path"] for r in receiver.requests if not r["path"].startswith("/slack")] == [
        "/status/500?body=the%20CRM%20is%20down%3A%20no%20such%20endpoint%20%2Fv1%2Fcontacts", "/v2/contacts"]
    (slack,) = [r for r in receiver.requests if r["path"] == "/slack"]  # the credential's URL
    assert json.loads(slack["body"])["text"] == "New signup: Ada (ada@example.com)"
    mails = [p.read_text() for p in (var / "mail").iterdir()]
    assert len(mails) == 1 and "Welcome aboard, Ada!" in mails[0]  # sent once, not again on retry
    for shot in ("01-credentials", "02-designer", "03-webhook-listening", "04-webhook-captured", "05-schedule",
                 "06-monitor-error-body", "07-designer-fixed", "08-retry-on-latest", "09-approval-waiting",
                 "10-monitor-completed", "11-imported"):
        assert (ARTIFACTS / f"journey-{shot}.png").stat().st_size > 10_000, shot


def test_open_a_failed_run_in_the_designer_fix_test_on_its_data_and_resume(embedded):
    """Issue 17 (frontend/e2e/debug-a-run.test.mjs): a run fails at its second step on real data; in
    the browser its data is pinned on the canvas, the fix is tested against the first step's recorded
    output and the run resumed with it (retry with overrides). The workflow itself is not changed."""
    base, var = embedded
    api = admin_api(base, var)
    broken = "{{ steps.order.output.result.totl * 2 }}"
    created = api.post("/workflows/", json={"name": "Invoice a rush order", "status": "active", "steps": [
        {"key": "order", "task_type": "data_transform", "position": {"x": 0, "y": 0},
         "config": {"source": "{{ input.order }}", "transforms": [{"type": "pick", "fields": ["id", "total"]}]}},
        {"key": "invoice", "task_type": "data_transform", "depends_on": ["order"], "max_retries": 0,
         "position": {"x": 320, "y": 0}, "config": {"source": broken}}]})
    assert created.status_code == 201, created.text
    workflow = created.json()
    started = api.post(f"/workflows/{workflow['id']}/run/", json={"input_data": {"order": {"id": 42, "total": 30, "note": "rush"}}})
    assert started.status_code == 201, started.text
    run_id = started.json()["id"]
    detail = {}

    def failed() -> bool:
        detail.update(api.get(f"/executions/{run_id}/").json())
        return detail["status"] in ("failed", "completed")

    wait_for(failed, timeout=30, interval=0.2, message="the run to fail")
    assert detail["status"] == "failed" and "totl" in detail["error_message"], detail

    output = browser_script("e2e/debug-a-run.test.mjs", base=base, var=var, RUN_ID=run_id)

    # What the browser pinned, as the server keeps it: the run's data, per workflow.
    pins = api.get(f"/workflows/{workflow['id']}/pinned-data/").json()
    assert pins["source_execution"] == run_id and pins["input"] == {"order": {"id": 42, "total": 30, "note": "rush"}}
    assert pins["steps"]["order"]["output"] == {"result": {"id": 42, "total": 30}}
    assert "output" not in pins["steps"]["invoice"]
    # The fix was for this run only: the workflow is as it was.
    steps = {s["key"]: s for s in api.get(f"/workflows/{workflow['id']}/").json()["steps"]}
    assert steps["invoice"]["config"] == {"source": broken}
    assert api.get(f"/workflows/{workflow['id']}/").json()["version"] == 1
    assert "RESUME-START" in output
    # The run resumed with the fix (needs the server's retry with overrides) and completed.
    detail = api.get(f"/executions/{run_id}/").json()
    assert detail["status"] == "completed", detail
    latest = {t["step_key"]: t for t in detail["task_executions"] if t["is_latest"]}
    assert latest["invoice"]["output_data"] == {"result": 60} and latest["invoice"]["attempt_number"] == 2
    assert latest["order"]["attempt_number"] == 1  # kept its output
    assert detail["overrides"]["steps"] == {"invoice": {"config": {"source": "{{ steps.order.output.result.total * 2 }}"}}}
    for shot in ("designer-run-pinned", "designer-run-tested", "monitor-resumed"):
        assert (ARTIFACTS / f"{shot}.png").stat().st_size > 10_000


def test_draw_a_failure_path_run_it_and_see_the_handled_failure(embedded):
    """frontend/e2e/failure-paths.test.mjs (issue 18, docs/adr/0032): the edge the browser drew from the
    CRM step's failed handle, and the run it started, as the server has them."""
    base, var = embedded
    api = admin_api(base, var)
    receiver = Server()
    try:
        created = api.post("/workflows/", json={"name": "Signup with review", "steps": [
            {"key": "crm", "task_type": "http_request", "max_retries": 0, "position": {"x": 0, "y": 0},
             "config": {"method": "POST", "url": f"{receiver.url}/status/500", "json": {"email": "{{ input.email }}"}}},
            {"key": "welcome", "task_type": "log", "depends_on": ["crm"], "position": {"x": 320, "y": 0},
             "config": {"message": "welcome {{ input.email }}"}},
            {"key": "review", "task_type": "log", "position": {"x": 320, "y": 200},
             "config": {"message": "manual review: {{ steps.crm.error.message }}"}}]})
        assert created.status_code == 201, created.text
        workflow_id = created.json()["id"]

        browser_script("e2e/failure-paths.test.mjs", base=base, var=var, WORKFLOW_ID=workflow_id)

        steps = {s["key"]: s for s in api.get(f"/workflows/{workflow_id}/").json()["steps"]}
        assert steps["review"]["depends_on"] == ["crm:failed"] and steps["welcome"]["depends_on"] == ["crm"]
        (run,) = api.get("/executions/", params={"workflow": workflow_id}).json()["results"]
        assert run["status"] == "completed" and run["handled_failures"] == ["crm"], run
        detail = {t["step_key"]: t for t in api.get(f"/executions/{run['id']}/").json()["task_executions"]}
        assert detail["review"]["output_data"]["message"].startswith("manual review: ")
        assert "500" in detail["review"]["output_data"]["message"]
        for shot in ("designer-failure-path", "monitor-handled-failure"):
            assert (ARTIFACTS / f"{shot}.png").stat().st_size > 10_000
    finally:
        receiver.close()


def test_set_a_compensation_in_the_designer_run_it_and_see_the_compensation_phase(embedded):
    """frontend/e2e/compensation.test.mjs (issue 18, docs/adr/0035): the compensation the browser set in
    the step form, and the run it started, as the server has them."""
    base, var = embedded
    api = admin_api(base, var)
    receiver = Server()
    try:
        created = api.post("/workflows/", json={"name": "Trip", "steps": [
            {"key": "book", "task_type": "http_request", "max_retries": 0, "position": {"x": 0, "y": 0},
             "config": {"method": "POST", "url": f"{receiver.url}/book", "json": {"trip": "{{ input.trip }}"}}},
            {"key": "pay", "task_type": "http_request", "depends_on": ["book"], "max_retries": 0,
             "position": {"x": 320, "y": 0}, "config": {"method": "POST", "url": f"{receiver.url}/status/500"}},
            {"key": "cancel_booking", "task_type": "log", "position": {"x": 0, "y": 220},
             "config": {"message": "cancel {{ compensating.step }} of {{ input.trip }}"}}]})
        assert created.status_code == 201, created.text
        workflow_id = created.json()["id"]

        browser_script("e2e/compensation.test.mjs", base=base, var=var, WORKFLOW_ID=workflow_id)

        steps = {s["key"]: s for s in api.get(f"/workflows/{workflow_id}/").json()["steps"]}
        assert steps["book"]["compensate_with"] == "cancel_booking" and steps["cancel_booking"]["depends_on"] == []
        (run,) = api.get("/executions/", params={"workflow": workflow_id}).json()["results"]
        assert run["status"] == "failed" and run["phase"] == "compensated", run
        detail = {t["step_key"]: t for t in api.get(f"/executions/{run['id']}/").json()["task_executions"]}
        assert detail["cancel_booking"]["compensates"] == "book"
        assert detail["cancel_booking"]["output_data"]["message"] == "cancel book of t-1"
        assert [r["path"] for r in receiver.requests] == ["/book", "/status/500"]
        for shot in ("designer-compensation", "monitor-compensation"):
            assert (ARTIFACTS / f"{shot}.png").stat().st_size > 10_000
    finally:
        receiver.close()
