"""Scale benchmark: does a waiting run cost the sweeper anything? (issue 14)

What is measured
    `sweep()` (workflows/services/recovery.py, what celery-beat runs every second) with 0, 1,000 and
    1,000,000 waiting runs and nothing due: the median and fastest duration and the number of
    queries of --repeat sweeps (after one warm-up), and the process's RSS. Then, in each non-empty
    case, the wake rate: --due of the waiting timers are made due, and sweeps run until all of them
    are woken (each woken run completes; the next case makes up for them); woken per second is --due
    over the time those sweeps took. The last column is 1,000,000 vs 0: a flat sweep reads only due
    rows, so its ratio stays near 1.

The data (its own PostgreSQL database, never the dev data)
    The database `<DATABASE_URL's name>_scale_bench` is dropped, created and migrated; two active
    one-step workflows (a 30-day `delay`, a `wait_for_signal` with no timeout) are made through the
    services; then INSERT ... SELECT generate_series adds runs `running` whose one attempt is
    `waiting`: half on a timer due in 30 to 60 days, half on a signal (no wake_at). Then ANALYZE. The
    ids count up (not random uuid4s) so that a million rows go in in seconds: the sweep never reads by id.

    make bench-scale
    make bench-scale BENCH_ARGS="--waiting 200000 --due 2000 --repeat 9"
"""

from __future__ import annotations

import argparse
import logging
import os
import resource
import statistics
import sys
import time
from contextlib import contextmanager
from urllib.parse import urlsplit, urlunsplit

from .databases import recreate_database

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/flowpilot"


def database_url(base: str) -> str:
    parts = urlsplit(base)
    return urlunsplit(parts._replace(path=f"/{parts.path.lstrip('/') or 'flowpilot'}_scale_bench"))


def rss_mb() -> float:
    """The process's resident set now (Linux), or its peak where /proc is missing."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@contextmanager
def bulk_load(cursor, tables: list[str]):
    """A bulk load as PostgreSQL's manual advises: the secondary indexes dropped and built again after
    (one sort each instead of a million random inserts), no foreign-key triggers (the rows are
    consistent by construction)."""
    cursor.execute("""SELECT indexrelid::regclass::text, pg_get_indexdef(indexrelid) FROM pg_index
                      WHERE indrelid = ANY(%s::regclass[]) AND NOT indisprimary AND NOT indisunique""", [tables])
    indexes = cursor.fetchall()
    for name, _ in indexes:
        cursor.execute(f"DROP INDEX {name}")
    cursor.execute("SET session_replication_role = replica")
    try:
        yield
    finally:
        cursor.execute("SET session_replication_role = DEFAULT")
        cursor.execute("SET maintenance_work_mem = '256MB'")  # each index sorted in memory
        for _, definition in indexes:
            cursor.execute(definition)


def add_waiting(count: int, *, first: int, timer: tuple, signal: tuple) -> None:
    """`count` more waiting runs (numbered from `first`): even ones on a timer, odd ones on a signal."""
    from django.db import connection

    (timer_wf, timer_version), (signal_wf, signal_version) = timer, signal
    sql = f"""
    CREATE TEMP TABLE bench_waiting AS
    SELECT i, ('00000000-0000-4000-8000-' || lpad(to_hex(i), 12, '0'))::uuid AS id, i % 2 = 0 AS on_timer,
           now() - interval '1 hour' * (i % 240) AS created_at
    FROM generate_series({first}, {first + count - 1}) AS i;

    INSERT INTO workflows_workflowexecution (id, workflow_id, workflow_version_id, status, input, output,
        error_message, error_details, retry_count, triggered_by, concurrency_key, context, created_at, started_at,
        overrides, handled_failures, test_run, paused_from)
    SELECT id, CASE WHEN on_timer THEN '{timer_wf}'::uuid ELSE '{signal_wf}'::uuid END,
           CASE WHEN on_timer THEN {timer_version} ELSE {signal_version} END,
           'running', '{{}}', '{{}}', '', '{{}}', 0, 'api', '', '{{}}', created_at, created_at, '{{}}', '[]', false, ''
    FROM bench_waiting;

    INSERT INTO workflows_taskexecution (id, execution_id, step_key, task_type, status, visit, attempt,
        round_first_attempt, input, output, error_message, error_details, created_at, queued_at, started_at,
        error_signature, branch, signal_name, dispatched_at, dispatch_count, wake_at, worker_id, celery_task_id,
        mocked, held)
    SELECT ('00000001-0000-4000-8000-' || lpad(to_hex(i), 12, '0'))::uuid, id,
           CASE WHEN on_timer THEN 'wait' ELSE 'payment' END,
           CASE WHEN on_timer THEN 'delay' ELSE 'wait_for_signal' END, 'waiting', 1, 1, 1, '{{}}',
           CASE WHEN on_timer THEN '{{}}' ELSE '{{"on_timeout": "branch"}}' END::jsonb, '', '{{}}',
           created_at, created_at, created_at, '', '', CASE WHEN on_timer THEN '' ELSE 'payment' END,
           created_at, 1,
           CASE WHEN on_timer THEN now() + interval '30 days' + interval '1 second' * (i % 2592000) END, '', '',
           false, false
    FROM bench_waiting;
    DROP TABLE bench_waiting;
    """
    with connection.cursor() as cursor, bulk_load(cursor, ["workflows_workflowexecution", "workflows_taskexecution"]):
        cursor.execute(sql)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE workflows_workflowexecution")
        cursor.execute("ANALYZE workflows_taskexecution")


class QueryCount:
    """Counts the statements sent on the default connection (CaptureQueriesContext keeps at most 9,000)."""

    def __init__(self):
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)

    def __enter__(self):
        from django.db import connection

        self._wrapped = connection.execute_wrapper(self)
        self._wrapped.__enter__()
        return self

    def __exit__(self, *exc):
        return self._wrapped.__exit__(*exc)


def measure_sweeps(repeat: int) -> dict:
    """Median duration (ms) and query count of `repeat` sweeps with nothing due, after a warm-up."""
    from workflows.services.recovery import sweep

    sweep()
    times, queries = [], []
    for _ in range(repeat):
        with QueryCount() as counted:
            start = time.perf_counter()
            report = sweep()
            times.append((time.perf_counter() - start) * 1000)
        assert not any(report.as_dict().values()), f"nothing should be due: {report}"
        queries.append(counted.count)
    return {"ms": statistics.median(times), "best": min(times), "queries": statistics.median(queries),
            "rss": rss_mb()}


def measure_wakes(due: int) -> dict:
    """Make `due` waiting timers due; sweep until all are woken. Woken per second, sweeps, queries."""
    from django.db import connection

    from workflows.models import TaskExecution
    from workflows.services.recovery import sweep

    with connection.cursor() as cursor:
        cursor.execute("""UPDATE workflows_taskexecution SET wake_at = now() - interval '1 second'
                          WHERE id IN (SELECT id FROM workflows_taskexecution
                                       WHERE status = 'waiting' AND signal_name = '' AND wake_at > now()
                                       ORDER BY wake_at LIMIT %s)""", [due])
    woken, sweeps, queries = 0, 0, 0
    start = time.perf_counter()
    while woken < due and sweeps < due:
        with QueryCount() as counted:
            woken += sweep().timers_fired
        sweeps += 1
        queries += counted.count
    seconds = time.perf_counter() - start
    left = TaskExecution.objects.filter(status="waiting", wake_at__lte=time_now()).count()
    assert woken == due and left == 0, f"woke {woken} of {due}; {left} still due"
    return {"due": due, "per_second": due / seconds, "sweeps": sweeps, "queries_per_run": queries / due,
            "rss": rss_mb()}


def time_now():
    from django.utils import timezone

    return timezone.now()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--waiting", type=int, default=1_000_000, help="waiting runs in the largest case")
    parser.add_argument("--due", type=int, default=500, help="timers made due to measure the wake rate")
    parser.add_argument("--repeat", type=int, default=7, help="timed sweeps per case (after one warm-up)")
    args = parser.parse_args(argv)

    bench_url = database_url(os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL)
    recreate_database(bench_url)
    os.environ["DATABASE_URL"] = bench_url
    os.environ.pop("REDIS_URL", None)  # the embedded settings: the figures come from the database only
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "flowpilot.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection

    from workflows import services
    from workflows.engine.executors import SynchronousExecutor, set_executor
    from workflows.models import WorkflowVersion

    settings.DEBUG = False
    logging.getLogger("workflows.services.recovery").setLevel(logging.WARNING)  # no line per sweep
    set_executor(SynchronousExecutor())  # a woken one-step run completes; nothing is sent to a broker
    call_command("migrate", verbosity=0)
    owner = get_user_model().objects.create_user("owner")
    made = []
    for name, step in (("timer", {"key": "wait", "task_type": "delay", "config": {"seconds": 2592000}}),
                       ("signal", {"key": "payment", "task_type": "wait_for_signal", "config": {"signal": "payment"}})):
        workflow = services.workflow_create(owner=owner, data={"name": name, "status": "active"},
                                            steps=[{**step, "depends_on": []}])
        made.append((workflow.pk, WorkflowVersion.objects.get(workflow=workflow).pk))
    timer, signal = made
    print(f"PostgreSQL {connection.pg_version // 10000}; BATCH per phase "
          f"{__import__('workflows.services.recovery', fromlist=['BATCH']).BATCH}; "
          f"median of {args.repeat} sweeps with nothing due\n")

    results, wakes, inserted, woken = {}, {}, 0, 0
    cases = sorted({0, min(1_000, args.waiting), args.waiting})
    for waiting in cases:
        more = waiting - (inserted - woken)  # woken runs completed: make up for them
        if more > 0:
            start = time.perf_counter()
            add_waiting(more, first=inserted + 1, timer=timer, signal=signal)
            print(f"  + {more:,} waiting runs in {time.perf_counter() - start:.1f} s")
            inserted += more
        results[waiting] = measure_sweeps(args.repeat)
        if waiting:
            wakes[waiting] = measure_wakes(min(args.due, waiting // 2))
            woken += wakes[waiting]["due"]

    low, high = results[cases[0]], results[cases[-1]]
    print()
    print(f"{'waiting runs':28}" + "".join(f"{n:>14,}" for n in cases) + f"{f'{cases[-1]:,} / 0':>16}")
    for label, key, fmt in (("sweep, median ms", "ms", "{:14.2f}"), ("sweep, fastest ms", "best", "{:14.2f}"),
                            ("queries per sweep", "queries", "{:14.0f}"),
                            ("RSS, MB", "rss", "{:14.1f}")):
        row = "".join(fmt.format(results[n][key]) for n in cases)
        ratio = high[key] / low[key] if low[key] else float("nan")
        print(f"{label:28}{row}{ratio:15.2f}x")
    print()
    for waiting, wake in wakes.items():
        print(f"with {waiting:,} waiting: {wake['due']:,} due timers woken in {wake['sweeps']} sweeps, "
              f"{wake['per_second']:,.0f} woken/s, {wake['queries_per_run']:.1f} queries per woken run, "
              f"RSS {wake['rss']:.1f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
