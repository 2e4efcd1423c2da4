"""Redis down (the cache, the broker and the channel layer at once): the API keeps answering, over real
HTTP to `manage.py serve`, with the throttles on. Throttles, caches and live events fail open; a run
is still created, its queued row the outbox, and it completes once Redis is back and a worker and
the beat (the sweeper re-sends what could not be sent) are started. The Redis is this test's own.
"""

from __future__ import annotations

import json
import time
from urllib.parse import urlsplit

import httpx
import pytest
from rest_framework.authtoken.models import Token

from triggers.services import sign
from workflows.models import WorkflowExecution
from workflows.engine.planner.states import ExecutionStatus as E
from workflows.tests.cluster import Cluster, OwnRedis, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.services, pytest.mark.django_db(transaction=True)]

TIMEOUT = 30  # generous: a request that waits on the dead Redis longer than this is hung
METRICS_TOKEN = "outage-metrics-token"


def metric_values(text: str) -> dict[str, float]:
    """The samples of a Prometheus text page, by name and labels."""
    return {line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
            for line in text.splitlines() if line and not line.startswith("#")}


def test_the_api_works_while_redis_is_down_and_the_runs_complete_once_it_is_back(user):
    redis = OwnRedis()
    cluster = Cluster(REDIS_URL=redis.url, FLOWPILOT_API_RATE_USER="1000/minute",
                      FLOWPILOT_API_RATE_ANON="1000/minute", FLOWPILOT_WEBHOOK_RATE="1000", FLOWPILOT_METRICS_TOKEN=METRICS_TOKEN,
                      FLOWPILOT_REDISPATCH_AFTER_SECONDS="1")
    headers = {"Authorization": f"Token {Token.objects.create(user=user).key}"}
    try:
        url = cluster.start_web(workers=1)
        with httpx.Client(base_url=url, headers=headers, timeout=TIMEOUT) as client:
            assert client.get("/api/v1/workflows/").status_code == 200  # the web's connections to Redis are open
            redis.stop()

            created = client.post("/api/v1/workflows/", json={"name": "outage", "status": "active", "steps": [
                {"key": "one", "task_type": "python", "config": {"function": "noop"}},
                {"key": "two", "task_type": "python", "config": {"function": "noop"}, "depends_on": ["one"]}]})
            assert created.status_code == 201, created.text
            workflow_id = created.json()["id"]
            started = client.post("/api/v1/executions/", json={"workflow_id": workflow_id, "input_data": {"n": 1},
                                                                "idempotency_key": "outage-1"})
            assert started.status_code == 201, started.text
            listed = client.get("/api/v1/executions/")
            assert listed.status_code == 200, listed.text
            assert started.json()["id"] in {run["id"] for run in listed.json()["results"]}
            detail = client.get(f"/api/v1/executions/{started.json()['id']}/")
            assert detail.status_code == 200, detail.text

            hook = client.post(f"/api/v1/workflows/{workflow_id}/triggers/", json={"type": "webhook"})
            assert hook.status_code == 201, hook.text
            body = json.dumps({"n": 2}).encode()
            delivered = client.post(urlsplit(hook.json()["url"]).path, content=body, headers={
                "Content-Type": "application/json", "X-FlowPilot-Signature": sign(hook.json()["secret"], body)})
            assert delivered.status_code == 202, delivered.text

            # Each miss counted: the throttles let the requests through, the steps were not sent.
            scraped = client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
            assert scraped.status_code == 200, scraped.text
            counted = metric_values(scraped.text)
            assert counted.get('flowpilot_requests_unlimited_total{limit="api_user"}', 0) >= 5  # the five API calls
            assert counted.get('flowpilot_requests_unlimited_total{limit="webhook"}', 0) >= 1
            assert counted.get('flowpilot_dispatch_deferred_total{task="run_step"}', 0) >= 2

        runs = {started.json()["id"], delivered.json()["execution_id"]}
        print("\nwith Redis down: " + ", ".join(f"{r.request.method} {r.request.url.path} {r.status_code} in "
                                                f"{r.elapsed.total_seconds():.2f} s"
                                                for r in (created, started, listed, detail, hook, delivered)))

        redis.start()
        back = time.monotonic()
        cluster.start_worker(concurrency=1)
        cluster.start_beat()
        started_at = time.monotonic()
        wait_for(lambda: WorkflowExecution.objects.filter(pk__in=runs, status=E.COMPLETED).count() == 2,
                 timeout=60, interval=0.5, message="both runs to complete once Redis is back")
        print(f"worker and beat started in {started_at - back:.1f} s; both runs completed "
              f"{time.monotonic() - started_at:.1f} s later")
    finally:
        cluster.stop()
        redis.stop()
