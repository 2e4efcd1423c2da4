"""Triggers on the designer's canvas in real headless chromium (playwright-core, Debian's chromium)
against `make run`'s server: frontend/e2e/triggers.test.mjs adds a webhook trigger and listens for a
test delivery; this test fires that delivery, signed as the README says, with httpx, while the
browser waits; then it checks on the server what the browser did. Screenshots in test-artifacts/."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import subprocess
import time

import httpx
import pytest

from flowpilot.testing import CHROMIUM
from workflows.tests.cluster import ROOT, wait_for
from workflows.tests.embedded import admin_api, admin_credentials, embedded  # noqa: F401 (a fixture)

pytestmark = pytest.mark.browser
ARTIFACTS = ROOT / "test-artifacts"


def signed_post(url: str, secret: str, payload: dict) -> httpx.Response:
    body = json.dumps(payload).encode()
    timestamp = str(int(time.time()))
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return httpx.post(url, content=body, timeout=10, headers={
        "Content-Type": "application/json", "X-FlowPilot-Signature": f"t={timestamp},v1={digest}"})


def test_webhook_and_schedule_triggers_on_the_canvas(embedded):  # noqa: F811
    base, var = embedded
    api = admin_api(base, var)
    created = api.post("/workflows/", json={"name": "Shop orders", "steps": [
        {"key": "hello", "task_type": "log", "config": {"message": "order from {{ input.name }}"}},
        {"key": "bye", "task_type": "log", "config": {"message": "done"}, "depends_on": ["hello"]}]})
    assert created.status_code == 201, created.text
    workflow_id = created.json()["id"]
    assert api.post(f"/workflows/{workflow_id}/activate/").status_code == 200

    empty = api.post("/workflows/", json={"name": "Empty canvas", "steps": []})
    assert empty.status_code == 201, empty.text
    credentials = admin_credentials(var)
    browser = subprocess.Popen(
        ["node", "--test", "--test-reporter=spec", "e2e/triggers.test.mjs"], cwd=ROOT / "frontend",
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, "BASE_URL": base, "FP_USERNAME": credentials["username"],
             "FP_PASSWORD": credentials["password"], "CHROMIUM": CHROMIUM, "ARTIFACTS": str(ARTIFACTS),
             "WORKFLOW_ID": workflow_id, "EMPTY_WORKFLOW_ID": empty.json()["id"]})
    try:
        hook: dict = {}

        def listening() -> bool:
            assert browser.poll() is None, browser.stdout.read()[-12000:]
            hooks = [t for t in api.get(f"/workflows/{workflow_id}/triggers/").json() if t["type"] == "webhook"]
            if not hooks:
                return False
            hook.update(hooks[0])
            return api.get(f"/triggers/{hook['id']}/listen/").json()["listening"]

        wait_for(listening, timeout=120, interval=0.5, message="the browser to listen for a test delivery")
        secret = api.post(f"/triggers/{hook['id']}/reveal-secret/").json()["secret"]
        answer = signed_post(hook["url"], secret, {"name": "Ada", "order": 42})
        assert answer.status_code == 202, answer.text
        output, _ = browser.communicate(timeout=300)
    finally:
        if browser.poll() is None:
            browser.kill()
            browser.wait()
    assert browser.returncode == 0, output[-12000:]

    # What the browser did, as the server has it.
    triggers = {t["type"]: t for t in api.get(f"/workflows/{workflow_id}/triggers/").json()}
    assert set(triggers) == {"webhook", "schedule"}
    assert triggers["webhook"]["name"] == "From the shop" and triggers["webhook"]["enabled"]
    schedule = triggers["schedule"]
    assert (schedule["cron"], schedule["timezone"], schedule["enabled"]) == ("30 2 * * 1-5", "Europe/Paris", False)
    sample = api.get(f"/workflows/{workflow_id}/").json()["metadata"]["sample_input"]
    assert (sample["name"], sample["order"], sample["_webhook"]["trigger_id"]) == ("Ada", 42, hook["id"])
    (delivery,) = api.get(f"/triggers/{hook['id']}/deliveries/").json()
    assert delivery["accepted"] and delivery["execution_id"] == answer.json()["execution_id"]
    run = api.get(f"/executions/{delivery['execution_id']}/").json()
    assert run["triggered_by"] == "webhook" and run["input_data"]["name"] == "Ada"
    for shot in ("trigger-webhook-listening", "trigger-webhook-captured", "trigger-schedule", "designer-steps-selected",
                 "monitor-webhook-run"):
        assert (ARTIFACTS / f"{shot}.png").stat().st_size > 10_000
