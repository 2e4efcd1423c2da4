"""GET /metrics: the token, real counts parsed with Prometheus's own text parser, the gauges computed
at scrape (database and broker), and several processes adding up (PROMETHEUS_MULTIPROC_DIR)."""

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

from monitoring.tests import history
from workflows import services
from workflows.tests.conftest import fresh_definition_cache, other_user, sync_executor, user  # noqa: F401
from workflows.tests.factories import active_workflow, step

ROOT = Path(__file__).resolve().parents[2]


def scrape(client=None, **headers) -> dict:
    response = (client or Client()).get("/metrics", **headers)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain")
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(response.content.decode()) for sample in family.samples}


def value(samples: dict, name: str, **labels) -> float:
    return samples.get((name, tuple(sorted({k: str(v) for k, v in labels.items()}.items()))), 0)


@pytest.fixture
def open_metrics(settings):
    settings.FLOWPILOT_METRICS_TOKEN = "t0ken-for-tests"
    return {"HTTP_AUTHORIZATION": "Bearer t0ken-for-tests"}


@pytest.mark.django_db
def test_the_token(settings):
    settings.FLOWPILOT_METRICS_TOKEN = "s3cret"
    client = Client()
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics").headers["WWW-Authenticate"].startswith("Bearer")
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Token s3cret").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret").status_code == 200
    assert client.post("/metrics", HTTP_AUTHORIZATION="Bearer s3cret").status_code == 405
    settings.FLOWPILOT_METRICS_TOKEN = ""
    settings.SERVICES_MODE = True
    refused = client.get("/metrics")
    assert refused.status_code == 403 and b"FLOWPILOT_METRICS_TOKEN" in refused.content
    settings.SERVICES_MODE = False  # the embedded mode: one machine, served without a token
    assert client.get("/metrics").status_code == 200


@pytest.mark.django_db(transaction=True)  # counted after commit
def test_executions_and_steps_are_counted_by_workflow_step_and_status(user, sync_executor, open_metrics):
    good = active_workflow(user, [step("a", function="noop"), step("b", function="noop", depends_on=["a"])],
                           name="good")
    bad = active_workflow(user, [step("a", function="noop"),
                                 step("create_patient", function="fail", kwargs={"retryable": False},
                                      depends_on=["a"])], name="bad")
    for workflow, runs in ((good, 3), (bad, 2)):
        for _ in range(runs):
            services.execution_start(workflow=workflow)
    sync_executor.drain()
    samples = scrape(**open_metrics)
    g, b = ({"workflow_id": w.pk, "workflow": w.name} for w in (good, bad))
    for status, n in (("pending", 3), ("running", 3), ("completed", 3), ("failed", 0)):
        assert value(samples, "flowpilot_executions_total", **g, status=status) == n, status
    for status, n in (("pending", 2), ("running", 2), ("completed", 0), ("failed", 2)):
        assert value(samples, "flowpilot_executions_total", **b, status=status) == n, status
    for key in "ab":
        for status in ("queued", "running", "completed"):
            assert value(samples, "flowpilot_steps_total", **g, step=key, status=status) == 3
    assert value(samples, "flowpilot_steps_total", **b, step="create_patient", status="failed") == 2
    assert value(samples, "flowpilot_steps_total", **b, step="create_patient", status="completed") == 0
    assert value(samples, "flowpilot_execution_duration_seconds_count", **g, status="completed") == 3
    assert value(samples, "flowpilot_execution_duration_seconds_count", **b, status="failed") == 2
    assert value(samples, "flowpilot_step_duration_seconds_count", **b, step="create_patient", status="failed") == 2
    assert value(samples, "flowpilot_step_duration_seconds_bucket", **g, step="a", status="completed", le="3600.0") == 3
    assert 0 <= value(samples, "flowpilot_step_duration_seconds_sum", **g, step="a", status="completed") < 30


@pytest.mark.django_db
def test_in_flight_gauges_from_the_database(user, other_user, open_metrics, settings):
    history.build(user=user, other_user=other_user)
    settings.SERVICES_MODE = False  # the broker's figure has its own test
    samples = scrape(**open_metrics)
    for status, n in (("pending", 2), ("running", 9)):
        assert value(samples, "flowpilot_executions_in_flight", status=status) == n
    for status, n in (("queued", 1), ("running", 5), ("waiting", 3), ("retrying", 0)):
        assert value(samples, "flowpilot_steps_in_flight", status=status) == n
    assert not any(name.startswith("flowpilot_broker") for name, _ in samples)


@pytest.mark.services
@pytest.mark.django_db
def test_the_broker_queue_length_from_redis(open_metrics):
    import redis

    if not django_settings.SERVICES_MODE:
        pytest.skip("needs Redis (REDIS_URL)")
    client = redis.Redis.from_url(django_settings.CELERY_BROKER_URL)
    queue = django_settings.CELERY_TASK_DEFAULT_QUEUE
    priority = queue + "\x06\x163"
    client.delete(queue, priority)
    try:
        client.rpush(queue, "m1", "m2", "m3")
        client.rpush(priority, "m4")
        samples = scrape(**open_metrics)
        assert value(samples, "flowpilot_broker_queue_length", queue=queue) == 4
        assert value(samples, "flowpilot_broker_queue_length", queue="flowpilot.control") == 0
    finally:
        client.delete(queue, priority)


COUNT_IN_A_PROCESS = """
import django; django.setup()
from monitoring.prometheus import EXECUTIONS, STEP_SECONDS
for _ in range({n}):
    EXECUTIONS.labels("wf-1", "signup", "completed").inc()
    STEP_SECONDS.labels("wf-1", "signup", "send_email", "completed").observe(0.2)
"""


@pytest.mark.django_db
def test_several_processes_add_up(tmp_path, monkeypatch, open_metrics):
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "flowpilot.settings", "PROMETHEUS_MULTIPROC_DIR": str(tmp_path),
           "SECRET_KEY": os.environ.get("SECRET_KEY", "x" * 50)}
    for n in (3, 4):  # two processes, as two prefork workers (or a worker and the web process)
        done = subprocess.run([sys.executable, "-c", COUNT_IN_A_PROCESS.format(n=n)], cwd=ROOT, env=env,
                              capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
    files = sorted(path.name for path in tmp_path.glob("*.db"))
    assert len(files) >= 2
    # Named by host and pid: containers sharing the directory repeat pids.
    host = socket.gethostname().replace("_", "-")
    assert all(name.split("_", 1)[1].startswith(f"{host}-") for name in files), files
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    samples = scrape(**open_metrics)
    labels = {"workflow_id": "wf-1", "workflow": "signup"}
    assert value(samples, "flowpilot_executions_total", **labels, status="completed") == 7
    assert value(samples, "flowpilot_step_duration_seconds_count", **labels, step="send_email", status="completed") == 7
    assert value(samples, "flowpilot_step_duration_seconds_bucket", **labels, step="send_email", status="completed",
                 le="0.25") == 7
    assert value(samples, "flowpilot_steps_in_flight", status="queued") == 0  # the gauges are there too
