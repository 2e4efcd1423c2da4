"""Metrics benchmark: the /api/v1/metrics/ endpoints and /metrics over 1,000,000 task executions.

What is measured
    The latency of each metrics endpoint through Django's test client (URL routing, authentication,
    parameters, selectors, serializers, JSON), p50 (and max) of --repeat calls after one warm-up
    call, as the workflows' owner and as staff, over windows of 24 h and 7 days.

The data (its own PostgreSQL database, never the dev data)
    The database `flowpilot_metrics_bench` next to DATABASE_URL's is dropped, created and migrated,
    then filled with INSERT ... SELECT generate_series: 20 workflows of one owner, 200,000 executions
    spread over 30 days (85 % completed, 10 % failed at their last step with one of 8 error texts
    with varying numbers and ids, 3 % cancelled, the newest 2 % pending or running), 5 task
    executions each (1,000,000), 5 % of them second attempts; durations from 5 ms to a minute.
    Then ANALYZE. `--keep` reuses a filled database.

    make bench-metrics
    make bench-metrics BENCH_ARGS="--repeat 15 --keep"
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from urllib.parse import urlsplit, urlunsplit

from .databases import recreate_database

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/flowpilot"
BENCH_DATABASE = "flowpilot_metrics_bench"
TOKEN = "bench-metrics-token"
ERRORS = [
    "Patient {n} already exists (MRN 'A-{m}')",
    "POST https://ehr.example.com/api/patients/{n}?token=t{m} failed: 503, request id {u}",
    "timeout after {n} s contacting crm.example.com",
    "Slack webhook answered 429, retry after {n} s",
    "user {u} not found",
    "invalid phone number '+1{n}'",
    "deadlock detected on row {n} of table patients",
    "SMTP 451 temporary failure for user{n}@example.com",
]


def database_url(base: str) -> str:
    return urlunsplit(urlsplit(base)._replace(path=f"/{BENCH_DATABASE}"))


def fill(*, executions: int, workflows: int, days: int) -> None:
    from django.contrib.auth import get_user_model
    from django.db import connection

    from workflows.models import Workflow, WorkflowVersion
    from workflows.signatures import signature

    owner = get_user_model().objects.create_user("owner")
    get_user_model().objects.create_user("staff", is_staff=True)
    wfs = Workflow.objects.bulk_create([Workflow(owner=owner, name=f"workflow {i:02d}", status="active", version=1)
                                        for i in range(workflows)])
    WorkflowVersion.objects.bulk_create([WorkflowVersion(workflow=w, number=1, definition={"steps": []}) for w in wfs])
    ids = ",".join(f"'{w.pk}'::uuid" for w in wfs)
    versions = ",".join(str(v) for v in WorkflowVersion.objects.order_by("workflow__name").values_list("pk", flat=True))
    texts = ",".join("'" + t.replace("'", "''") + "'" for t in ERRORS)
    signatures = ",".join(f"'{signature(t.format(n=1, m=1, u='00000000-0000-0000-0000-000000000000'))}'"
                          for t in ERRORS)
    sql = f"""
    CREATE TEMP TABLE bench_runs AS
    SELECT i, md5(i::text || 'run')::uuid AS id,
           (ARRAY[{ids}])[1 + i % {workflows}] AS workflow_id, (ARRAY[{versions}])[1 + i % {workflows}] AS version_id,
           CASE WHEN i > {executions} * 0.98 THEN (CASE WHEN i % 2 = 0 THEN 'running' ELSE 'pending' END)
                WHEN i % 100 < 10 THEN 'failed' WHEN i % 100 < 13 THEN 'cancelled' ELSE 'completed' END AS status,
           now() - interval '{days} days' * (1 - i::float / {executions}) AS created_at,
           (5 + floor(60000 * power(random(), 4)))::bigint AS duration_ms,
           (i * 7919) % 8 AS error
    FROM generate_series(1, {executions}) AS i;

    INSERT INTO workflows_workflowexecution (id, workflow_id, workflow_version_id, status, input, output,
        error_message, error_details, retry_count, triggered_by, concurrency_key, context, created_at,
        started_at, completed_at, duration_ms, overrides, handled_failures, test_run, paused_from)
    SELECT id, workflow_id, version_id, status, '{{}}', '{{}}',
           CASE WHEN status = 'failed' THEN 'step ''step_4'' failed' ELSE '' END, '{{}}', 0, 'api', '', '{{}}',
           created_at, CASE WHEN status = 'pending' THEN NULL ELSE created_at END,
           CASE WHEN status IN ('completed', 'failed', 'cancelled') THEN created_at + duration_ms * interval '1 ms' END,
           CASE WHEN status IN ('completed', 'failed', 'cancelled') THEN duration_ms END, '{{}}', '[]', false, ''
    FROM bench_runs;

    INSERT INTO workflows_taskexecution (id, execution_id, step_key, task_type, status, visit, attempt,
        round_first_attempt, error_message, error_details, created_at, queued_at, started_at, completed_at,
        duration_ms, error_signature, branch, signal_name, dispatch_count, worker_id, celery_task_id, mocked, held)
    SELECT md5(r.i::text || 'task' || s)::uuid, r.id, 'step_' || s, 'python', t.status, 1,
           CASE WHEN (r.i + s) % 20 = 0 THEN 2 ELSE 1 END, 1,
           CASE WHEN t.status = 'failed' THEN replace(replace(replace((ARRAY[{texts}])[1 + r.error],
               '{{n}}', (r.i * 31 % 100000)::text), '{{m}}', (r.i % 977)::text), '{{u}}', md5(r.i::text)::uuid::text)
                ELSE '' END,
           '{{}}', r.created_at, r.created_at, CASE WHEN t.status IN ('pending', 'queued') THEN NULL ELSE r.created_at END,
           CASE WHEN t.status IN ('completed', 'failed', 'cancelled')
                THEN r.created_at + (r.duration_ms / 5) * (s + 1) * interval '1 ms' END,
           CASE WHEN t.status IN ('completed', 'failed', 'cancelled') THEN r.duration_ms / 5 END,
           CASE WHEN t.status = 'failed' THEN (ARRAY[{signatures}])[1 + r.error] ELSE '' END,
           '', '', 1, '', '', false, false
    FROM bench_runs r CROSS JOIN generate_series(0, 4) AS s
    CROSS JOIN LATERAL (SELECT CASE
        WHEN r.status = 'completed' THEN 'completed'
        WHEN r.status = 'failed' THEN (CASE WHEN s < 4 THEN 'completed' ELSE 'failed' END)
        WHEN r.status = 'cancelled' THEN (CASE WHEN s < 2 THEN 'completed' ELSE 'cancelled' END)
        WHEN r.status = 'pending' THEN 'pending'
        ELSE (ARRAY['completed', 'running', 'waiting', 'queued', 'pending'])[1 + s] END AS status) AS t;
    DROP TABLE bench_runs;
    """
    with connection.cursor() as cursor:
        cursor.execute(sql)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def time_calls(call, repeat: int) -> tuple[float, float]:
    call()  # warm-up
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), max(times)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--executions", type=int, default=200_000, help="runs (x 5 task executions)")
    parser.add_argument("--workflows", type=int, default=20)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--repeat", type=int, default=7, help="timed calls per endpoint (after one warm-up)")
    parser.add_argument("--keep", action="store_true", help="reuse the filled database")
    args = parser.parse_args(argv)

    bench_url = database_url(os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL)
    if not args.keep:
        recreate_database(bench_url)
    os.environ["DATABASE_URL"] = bench_url
    os.environ.pop("REDIS_URL", None)  # the embedded settings: the figures come from the database only
    os.environ["FLOWPILOT_METRICS_TOKEN"] = TOKEN
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "flowpilot.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection
    from rest_framework.test import APIClient

    from workflows.models import TaskExecution, WorkflowExecution

    settings.FLOWPILOT_API_RATE_USER = None
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_CLASSES": []}
    settings.ALLOWED_HOSTS = ["*"]
    if not args.keep:
        call_command("migrate", verbosity=0)
        start = time.perf_counter()
        fill(executions=args.executions, workflows=args.workflows, days=args.days)
        print(f"filled in {time.perf_counter() - start:.1f} s")
    tasks, runs = TaskExecution.objects.count(), WorkflowExecution.objects.count()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_size_pretty(pg_database_size(current_database()))")
        size = cursor.fetchone()[0]
    print(f"{runs:,} executions, {tasks:,} task executions, database {size}; PostgreSQL "
          f"{connection.pg_version // 10000}; p50 / max of {args.repeat} calls, ms\n")

    from rest_framework.settings import api_settings

    api_settings.reload()
    users = {name: get_user_model().objects.get(username=name) for name in ("owner", "staff")}
    clients = {}
    for name, user in users.items():
        clients[name] = APIClient()
        clients[name].force_authenticate(user)
    workflow = str(WorkflowExecution.objects.values_list("workflow_id", flat=True).first())
    top = clients["owner"].get("/api/v1/metrics/errors/", {"window": "7d"}).json()["groups"][0]["signature"]
    endpoints = [
        ("workflows/", {}), ("workflows/?workflow=<one>", {"workflow": workflow}),
        ("steps/", {}), ("steps/?workflow=<one>", {"workflow": workflow}),
        ("throughput/", {}), ("throughput/?workflow=<one>", {"workflow": workflow}),
        ("running/", None), ("errors/", {}), ("errors/?workflow=<one>", {"workflow": workflow}),
        ("errors/retry/ (dry run)", "retry"),
    ]
    print(f"{'endpoint':34}" + "".join(f"{f'{who} {w}':>18}" for who in clients for w in ("24h", "7d")))
    for label, params in endpoints:
        cells = []
        for who, client in clients.items():
            for window in ("24h", "7d"):
                if params == "retry":
                    def call():
                        response = client.post("/api/v1/metrics/errors/retry/", {"signature": top, "dry_run": True},
                                               format="json")
                        assert response.status_code == 200, response.content
                elif params is None:
                    def call():
                        assert client.get("/api/v1/metrics/running/").status_code == 200
                else:
                    path = "/api/v1/metrics/" + label.split("?")[0]

                    def call():
                        response = client.get(path, {**params, "window": window})
                        assert response.status_code == 200, response.content
                p50, most = time_calls(call, args.repeat)
                cells.append(f"{p50:9.1f} /{most:7.1f}")
        print(f"{label:34}" + "".join(f"{c:>18}" for c in cells))
    scrape = APIClient()
    p50, most = time_calls(lambda: scrape.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}"), args.repeat)
    print(f"{'/metrics (Prometheus scrape)':34}{p50:9.1f} /{most:7.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
