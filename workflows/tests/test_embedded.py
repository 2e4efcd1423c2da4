"""`make run`: the whole product in one process on SQLite, with no Redis: API, worker, scheduler."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from workflows.tests.cluster import ROOT, wait_for
from workflows.tests.http_server import Server


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def embedded(tmp_path: Path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY")}
    env.update(FLOWPILOT_VAR_DIR=str(tmp_path), PORT=str(port), FLOWPILOT_STEP_MODULES="workflows.tests.functions",
               FLOWPILOT_HTTP_ALLOWED_NETWORKS="127.0.0.0/8")
    log = open(tmp_path / "run.log", "w")
    proc = subprocess.Popen(["make", "--no-print-directory", "run"], cwd=ROOT, env=env, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"

    def healthy():
        assert proc.poll() is None, (tmp_path / "run.log").read_text()
        try:
            return httpx.get(f"{base}/health", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        wait_for(healthy, timeout=120, interval=0.5, message="make run to serve /health")
        yield base, tmp_path
    except AssertionError as error:
        raise AssertionError(f"{error}\n--- make run's output ---\n{(tmp_path / 'run.log').read_text()[-5000:]}")
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def admin_api(base: str, var: Path) -> httpx.Client:
    credentials = dict(line.split(": ", 1) for line in (var / "admin-credentials.txt").read_text().splitlines())
    return httpx.Client(base_url=f"{base}/api/v1", headers={"Authorization": f"Token {credentials['api token']}"},
                        timeout=10)


def finished(api: httpx.Client, execution_id: str) -> dict:
    return wait_for(lambda: (lambda e: e if e["status"] in ("completed", "failed") else None)(
        api.get(f"/executions/{execution_id}/").json()), timeout=30, interval=0.2, message="the run")


def test_make_run_serves_the_api_and_runs_workflows_with_no_services(embedded):
    base, var = embedded
    health = httpx.get(f"{base}/health").json()
    assert health == {"status": "healthy", "mode": "embedded", "database": "ok", "broker": "ok (in-process broker)"}
    api = admin_api(base, var)
    assert httpx.get(f"{base}/api/v1/workflows/").status_code == 401
    workflow = api.post("/workflows/", json={"name": "embedded", "status": "active", "steps": [
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
