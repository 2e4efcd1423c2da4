"""Search index benchmark: ?search.<name>=<value> on the executions list over 200,000 runs, on
PostgreSQL and on SQLite (the embedded default), with the planner's plans (docs/adr/0028).

What is measured
    For each database, the plan (EXPLAIN; on PostgreSQL EXPLAIN ANALYZE) of the API's list query
    (the owner's runs, newest first, a page of 20) filtered by: a value one run has (a phone), a
    value a quarter of the runs have (a plan), both (AND-ed); and the p50 / max latency of
    GET /api/v1/executions/?search... through Django's test client, after a warm-up call.

The data (its own databases, never the dev data)
    PostgreSQL: `flowpilot_search_bench` next to DATABASE_URL's, dropped, created and migrated;
    SQLite: a file in a temporary directory, migrated. Then one owner, 2 workflows (one with no
    search fields), 200,000 runs over 30 days, each with two search values (phone: one per run;
    plan: one of 4), so 400,000 rows in workflows_executionsearchvalue. Then ANALYZE.

    python -m benchmarks.search_index                  # both databases
    python -m benchmarks.search_index --database sqlite --executions 50000
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from urllib.parse import urlsplit, urlunsplit

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/flowpilot"
BENCH_DATABASE = "flowpilot_search_bench"
PLANS = ("gold", "silver", "bronze", "free")
QUERIES = [
    ("one run's phone", {"search.phone": "+910123456"}),
    ("a quarter's plan", {"search.plan": "gold"}),
    ("phone AND plan", {"search.phone": "+910123456", "search.plan": "gold"}),
]


def fill(*, executions: int, postgres: bool) -> None:
    from django.contrib.auth import get_user_model
    from django.db import connection

    from workflows.models import Workflow, WorkflowVersion

    owner = get_user_model().objects.create_user("owner")
    fields = {"phone": "{{ input.phone }}", "plan": "{{ input.plan }}"}
    searched = Workflow.objects.create(owner=owner, name="signup", status="active", version=1, search_fields=fields)
    plain = Workflow.objects.create(owner=owner, name="plain", status="active", version=1)
    versions = [WorkflowVersion.objects.create(workflow=w, number=1, definition={"steps": []}).pk
                for w in (searched, plain)]
    wf = [searched.pk.hex, plain.pk.hex]
    plans = ", ".join(f"'{p}'" for p in PLANS)
    version = f"(CASE WHEN i % 10 = 9 THEN {versions[1]} ELSE {versions[0]} END)"
    false = "false" if postgres else "0"
    if postgres:
        series = f"SELECT i, md5(i::text || 'run')::uuid AS id FROM generate_series(0, {executions - 1}) AS i"
        created = f"now() - interval '30 days' * (1 - i::float / {executions})"
        workflow = f"(CASE WHEN i % 10 = 9 THEN '{wf[1]}'::uuid ELSE '{wf[0]}'::uuid END)"
        phone = "'+91' || lpad(i::text, 7, '0')"
        plan = f"(ARRAY[{plans}])[1 + i % 4]"
    else:
        series = (f"WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i < {executions - 1}) "
                  "SELECT i, lower(hex(randomblob(16))) AS id FROM s")
        workflow = f"(CASE WHEN i % 10 = 9 THEN '{wf[1]}' ELSE '{wf[0]}' END)"
        created = f"strftime('%Y-%m-%d %H:%M:%f', 'now', '-30 days', '+' || (i * 2592000.0 / {executions}) || ' seconds')"
        phone = "'+91' || substr('0000000' || i, -7, 7)"
        plan = f"(CASE i % 4 WHEN 0 THEN 'gold' WHEN 1 THEN 'silver' WHEN 2 THEN 'bronze' ELSE 'free' END)"
    # The same rows on both: a tenth of the runs are of the workflow without search fields.
    statements = [
        f"CREATE TEMP TABLE bench_runs AS {series}",
        "INSERT INTO workflows_workflowexecution (id, workflow_id, workflow_version_id, status, input, output, "
        "error_message, error_details, retry_count, triggered_by, concurrency_key, context, created_at, overrides, "
        "handled_failures, test_run, paused_from) "
        f"SELECT id, {workflow}, {version}, 'completed', '{{}}', '{{}}', '', '{{}}', 0, 'api', '', '{{}}', "
        f"{created}, '{{}}', '[]', {false}, '' FROM bench_runs",
        f"INSERT INTO workflows_executionsearchvalue (execution_id, name, value) SELECT id, 'phone', {phone} "
        "FROM bench_runs WHERE i % 10 <> 9",
        f"INSERT INTO workflows_executionsearchvalue (execution_id, name, value) SELECT id, 'plan', {plan} "
        "FROM bench_runs WHERE i % 10 <> 9",
        "DROP TABLE bench_runs", "ANALYZE",
    ]
    for statement in statements:
        with connection.cursor() as cursor:
            cursor.execute(statement)


def time_calls(call, repeat: int) -> tuple[float, float]:
    call()  # warm-up
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), max(times)


def run(database: str, *, executions: int, repeat: int) -> None:
    """One database's figures, in this process (Django is set up for that database only)."""
    if database == "postgres":
        from .databases import recreate_database

        url = urlunsplit(urlsplit(os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL)._replace(
            path=f"/{BENCH_DATABASE}"))
        recreate_database(url)
        os.environ["DATABASE_URL"] = url
    else:
        os.environ.pop("DATABASE_URL", None)
        os.environ["FLOWPILOT_VAR_DIR"] = tempfile.mkdtemp(prefix="flowpilot-search-bench-")
    os.environ.pop("REDIS_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "flowpilot.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection
    from rest_framework.settings import api_settings
    from rest_framework.test import APIClient

    from workflows import search_fields, selectors
    from workflows.models import ExecutionSearchValue, WorkflowExecution

    settings.FLOWPILOT_API_RATE_USER = None
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_CLASSES": []}
    settings.ALLOWED_HOSTS = ["*"]
    api_settings.reload()
    call_command("migrate", verbosity=0)
    start = time.perf_counter()
    fill(executions=executions, postgres=database == "postgres")
    print(f"== {connection.vendor}: {WorkflowExecution.objects.count():,} runs, "
          f"{ExecutionSearchValue.objects.count():,} search values, filled in {time.perf_counter() - start:.1f} s")
    owner = get_user_model().objects.get(username="owner")
    client = APIClient()
    client.force_authenticate(owner)
    for label, params in QUERIES:
        filters = search_fields.parse_filters(params.items())
        query = selectors.with_search(WorkflowExecution.objects.visible_to(owner).for_api(), filters) \
            .order_by("-created_at")[:20]
        options = {"analyze": True} if connection.vendor == "postgresql" else {}
        print(f"\n-- {label}: ?{'&'.join(f'{k}={v}' for k, v in params.items())}")
        print(query.explain(**options))

        def call():
            response = client.get("/api/v1/executions/", params)
            assert response.status_code == 200, response.content

        p50, most = time_calls(call, repeat)
        count = client.get("/api/v1/executions/", params).json()["count"]
        print(f"GET /api/v1/executions/ (count {count:,}): p50 {p50:.1f} ms, max {most:.1f} ms over {repeat} calls")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=["postgres", "sqlite", "both"], default="both")
    parser.add_argument("--executions", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=7, help="timed calls per query (after one warm-up)")
    args = parser.parse_args(argv)
    if args.database == "both":  # one process per database: Django is set up once per process
        for database in ("postgres", "sqlite"):
            subprocess.run([sys.executable, "-m", "benchmarks.search_index", "--database", database,
                            "--executions", str(args.executions), "--repeat", str(args.repeat)], check=True)
        return 0
    run(args.database, executions=args.executions, repeat=args.repeat)
    return 0


if __name__ == "__main__":
    sys.exit(main())
