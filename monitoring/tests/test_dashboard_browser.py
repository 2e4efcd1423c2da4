"""The monitoring dashboard in real headless chromium against `make run`'s server, with real numbers:
a known history is made through the API (10 runs of "Patient registration", 3 failing with one
error), then frontend/e2e/dashboard.test.mjs checks the figures the page shows, drills down, creates
an alert rule through /alerts and retries the error group; here the server's side of it is checked.
Screenshots (dashboard.png, dashboard-workflow.png, alerts.png, ...) are kept in test-artifacts/."""

from __future__ import annotations

import json

import pytest

from workflows.tests.cluster import wait_for
from workflows.tests.embedded import admin_api, embedded  # noqa: F401 (a fixture: `make run` as a subprocess)
from workflows.tests.http_server import Server
from workflows.tests.test_browser import ARTIFACTS, browser_script

pytestmark = pytest.mark.browser
RUNS, FAILING = 10, 3


def test_the_dashboard_shows_real_numbers_and_alerts_are_made_in_the_browser(embedded, capsys):  # noqa: F811
    base, var = embedded
    api = admin_api(base, var)
    receiver = Server()
    try:
        # `flaky` fails while its attempt is at most fail_times: with no retries, fail=1 fails the run
        # (and a retry of it passes); fail=0 passes.
        created = api.post("/workflows/", json={"name": "Patient registration", "status": "active", "steps": [
            {"key": "register", "task_type": "python", "max_retries": 0,
             "config": {"function": "flaky", "kwargs": {"fail_times": "{{ input.fail }}"}}}]})
        assert created.status_code == 201, created.text
        workflow = created.json()
        runs = [api.post(f"/workflows/{workflow['id']}/run/", json={"input_data": {"patient": i, "fail": int(i % 3 == 1)}})
                for i in range(RUNS)]
        assert [r.status_code for r in runs] == [201] * RUNS
        assert sum(i % 3 == 1 for i in range(RUNS)) == FAILING

        def all_ended():
            rows = api.get("/executions/", params={"workflow": workflow["id"], "limit": 50}).json()["results"]
            statuses = sorted(r["status"] for r in rows)
            return statuses if all(s in ("completed", "failed") for s in statuses) and len(rows) == RUNS else None

        statuses = wait_for(all_ended, timeout=60, interval=0.3, message="the 10 runs to end")
        assert statuses.count("failed") == FAILING, statuses
        figures = api.get("/metrics/workflows/", params={"window": "1h"}).json()["workflows"]
        (mine,) = [f for f in figures if f["workflow_id"] == workflow["id"]]
        assert (mine["runs"], mine["failures"], mine["failure_rate"]) == (RUNS, FAILING, 0.3)

        output = browser_script("e2e/dashboard.test.mjs", base=base, var=var, WORKFLOW_ID=workflow["id"],
                                EXPECT_RUNS=str(RUNS), EXPECT_FAILED=str(FAILING), RECEIVER_URL=receiver.url)
        (line,) = [line for line in output.splitlines() if "DASHBOARD-FIGURES" in line]
        shown = json.loads(line.split("DASHBOARD-FIGURES ", 1)[1])
        assert (shown["runs"], shown["failure_rate"]) == ("10", "30%")
        assert shown["error"]["count"] == "3"

        # The rule the browser made, as the server has it; its test reached the receiver.
        (rule,) = api.get("/alert-rules/").json()["results"]
        assert {k: rule[k] for k in ("name", "kind", "threshold", "window_minutes", "min_runs", "workflow_id",
                                     "channels")} == {
            "name": "Patient registrations failing", "kind": "failure_rate", "threshold": 0.2, "window_minutes": 60,
            "min_runs": 5, "workflow_id": workflow["id"], "channels": [{"type": "webhook", "url": f"{receiver.url}/alerts"}]}
        tests = [r for r in receiver.requests if r["path"] == "/alerts"]
        assert len(tests) == 1 and json.loads(tests[0]["body"])["state"] == "test"

        # "Retry these" retried the three failed runs, which passed on their second attempt.
        rows = api.get("/executions/", params={"workflow": workflow["id"], "limit": 50}).json()["results"]
        assert sorted(r["status"] for r in rows) == ["completed"] * RUNS
        assert sorted(r["retry_count"] for r in rows) == [0] * (RUNS - FAILING) + [1] * FAILING
        for shot in ("dashboard", "dashboard-charts", "dashboard-workflow", "alerts", "dashboard-after-retry"):
            assert (ARTIFACTS / f"{shot}.png").stat().st_size > 10_000
        with capsys.disabled():
            print(f"\ndashboard figures: {json.dumps(shown)}")
    finally:
        receiver.close()
