"""Diamond benchmark: FlowPilot in services mode against bare Celery doing the same no-op work.

What is measured
    N executions (default 1,000; --quick: 200) of a 5-step diamond a -> (b, c, d) -> e of no-op
    `python` steps, all started at once by `workflows.services.execution_start` in this process
    (each dispatches its first step through Celery/Redis); the same N started by the bulk path
    (`workflows.services.executions_start`, 1,000 per call); then N chains of 5 no-op Celery tasks.

How
    - Its own database and Redis db, never the dev data: the database `<name>_bench` next to
      DATABASE_URL's (default flowpilot_bench) is dropped, created and migrated; Redis db 14 of
      REDIS_URL's server is flushed. Both are set in os.environ before Django reads its settings.
    - FlowPilot: one `celery worker -P prefork -c 2 -Q flowpilot.steps,flowpilot.control` (two
      worker processes on this 2-core machine) with FLOWPILOT_STEP_MODULES=benchmarks.functions,
      and `celery beat` (PersistentScheduler) sending the sweeper every second, as in production.
    - Bare Celery: the FlowPilot worker and beat are stopped, then one worker of the same kind
      (same app and settings, prefork, same concurrency) serves benchmarks.bare's queue.
    - Each side first runs a few warm-up runs (not counted), then the clock starts just before the
      first run is sent; completion is polled (database / Redis list) until a deadline.

Figures
    executions/s and steps/s: runs and steps finished per second of wall time (from the first
    send to the last finish). Step latency: ready -> running (TaskExecution.queued_at ->
    started_at; bare: from the previous task returning, or the chain being sent, to the task
    starting). End-to-end: WorkflowExecution.created_at -> completed_at (bare: chain sent -> last
    task done). Ratio: FlowPilot steps/s over bare Celery tasks/s. Messages: what the worker ran
    (Celery's counters); fewer step messages than steps: workers followed on (ran a step they queued
    without a message, docs/adr/0019); more: the sweeper re-sent queued steps.
    All runs start at once, so latencies are mostly time spent in the queue behind other runs.
    Start, ms of CPU per run: this process's CPU (time.process_time) to start the runs (bare: to
    send the chains), divided by the runs; for single starts and for the bulk path.
    Worker / PostgreSQL CPU per step: user + system CPU of the worker's processes (its pool and the
    sweeps it runs) and of every PostgreSQL process (work on other databases too, if any runs
    meanwhile), over the burst, divided by the steps: what a step costs, which other work on the
    machine disturbs less than it disturbs the throughput.

    make bench                                   # 1,000 executions, 3 rounds: median and spread
    make bench BENCH_ARGS=--quick                # 200, one round, a smoke run
    make bench BENCH_ARGS="--executions 5000"
    DJANGO_SETTINGS_MODULE=my_settings PYTHONPATH=... make bench   # try a settings change
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from . import processes
from .databases import recreate_database

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/flowpilot"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/15"
BENCH_REDIS_DB = 14
WARMUP_RUNS = 20


@dataclass
class Result:
    runs: int
    steps: int
    submit_seconds: float
    wall_seconds: float
    step_latencies: list[float]
    end_to_end: list[float]
    messages: dict[str, int] = field(default_factory=dict)  # messages the worker ran, per task name
    paced: Result | None = None  # the same work at a steady rate below capacity
    start_cpu_seconds: float = float("nan")  # CPU of this process (time.process_time) to start or send them all
    bulk: Result | None = None  # FlowPilot: the same runs started by the bulk path (executions_start)
    worker_cpu_seconds: float = float("nan")  # the worker's processes, over the burst (sweeps included)
    postgres_cpu_seconds: float = float("nan")  # PostgreSQL's processes, over the burst

    @property
    def start_cpu_ms_per_run(self) -> float:
        return self.start_cpu_seconds * 1000 / self.runs

    def cpu_ms_per_step(self, seconds: float) -> float:
        return seconds * 1000 / self.steps

    @property
    def runs_per_second(self) -> float:
        return self.runs / self.wall_seconds

    @property
    def steps_per_second(self) -> float:
        return self.steps / self.wall_seconds


# --- environment -----------------------------------------------------------------------------

def bench_urls() -> tuple[str, str]:
    """The benchmark's own database and Redis db, on the servers DATABASE_URL and REDIS_URL name."""
    db = urlsplit(os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL)
    if db.scheme not in ("postgres", "postgresql"):
        raise SystemExit(f"the benchmark needs PostgreSQL; DATABASE_URL is {db.scheme}://...")
    name = db.path.lstrip("/") or "flowpilot"
    name = name if name.endswith("_bench") else f"{name}_bench"
    redis = urlsplit(os.environ.get("REDIS_URL") or DEFAULT_REDIS_URL)
    return (urlunsplit(db._replace(path=f"/{name}")), urlunsplit(redis._replace(path=f"/{BENCH_REDIS_DB}")))


def configure(database_url: str, redis_url: str) -> dict[str, str]:
    """Point this process (before django.setup) and the subprocesses at the benchmark's services."""
    os.environ.update({
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "SECRET_KEY": os.environ.get("SECRET_KEY") or "flowpilot-bench-secret-key-not-for-production",
        "FLOWPILOT_STEP_MODULES": "benchmarks.functions",
    })
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "flowpilot.settings")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(processes.PROJECT_DIR), env.get("PYTHONPATH")]))
    return env


# --- figures ---------------------------------------------------------------------------------

def percentile(values: list[float], q: int) -> float:
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def difference(after: dict[str, int], before: dict[str, int]) -> dict[str, int]:
    return {name: count - before.get(name, 0) for name, count in after.items()}


def wait_until_done(label: str, count_done, total: int, *, timeout: float) -> None:
    """Poll `count_done()` until it reaches `total`, printing progress now and then; raise at the deadline."""
    clock = time.monotonic()
    deadline, shown = clock + timeout, clock
    while (done := count_done()) < total:
        now = time.monotonic()
        if now > deadline:
            raise RuntimeError(f"{label}: only {done} of {total} finished within {timeout:.0f} s")
        if now - shown >= 5:
            print(f"  {label}: {done}/{total} finished after {now - clock:.0f} s", file=sys.stderr, flush=True)
            shown = now
        time.sleep(0.25)


# --- FlowPilot -------------------------------------------------------------------------------

def diamond_workflow(owner, name: str):
    from workflows import services

    def step(key: str, *depends_on: str) -> dict:
        return {"key": key, "task_type": "python", "config": {"function": "bench_noop"},
                "depends_on": list(depends_on)}

    return services.workflow_create(owner=owner, data={"name": name, "status": "active"}, steps=[
        step("a"), step("b", "a"), step("c", "a"), step("d", "a"), step("e", "b", "c", "d")])


def paced(count: int, rate: float | None):
    """range(count), sleeping between items so that they come `rate` per second (None: at once)."""
    begin = time.monotonic()
    for i in range(count):
        if rate:
            time.sleep(max(0.0, begin + i / rate - time.monotonic()))
        yield i


def start_and_wait(workflow, runs: int, *, timeout: float, label: str, rate: float | None = None,
                   bulk: bool = False) -> tuple[float, float, float]:
    """Start `runs` executions (one by one, at once or `rate` per second; or, `bulk`, by the bulk
    path, FLOWPILOT_MAX_BULK_START per call) and wait for all to finish; answers (start, submitted)
    times and the CPU seconds this process spent starting them (time.process_time)."""
    from workflows import bounds, services
    from workflows.models import WorkflowExecution
    from workflows.engine.planner.states import EXECUTION_TERMINAL

    started, cpu = time.time(), time.process_time()
    if bulk:
        for first in range(0, runs, bounds.max_bulk_start()):
            services.executions_start(workflow=workflow, triggered_by="python", items=[
                services.StartItem({}) for _ in range(first, min(runs, first + bounds.max_bulk_start()))])
    else:
        for _ in paced(runs, rate):
            services.execution_start(workflow=workflow, input_data={}, triggered_by="python")
    cpu, submitted = time.process_time() - cpu, time.time()
    executions = WorkflowExecution.objects.filter(workflow=workflow)
    wait_until_done(label, executions.filter(status__in=EXECUTION_TERMINAL).count, runs, timeout=timeout)
    failed = executions.exclude(status="completed")
    if failed.exists():
        first = failed.first()
        raise RuntimeError(f"{label}: {failed.count()} executions did not complete; first: {first.pk} "
                           f"{first.status}: {first.error_message}")
    return started, submitted, cpu


def measure_flowpilot(workflow, runs: int, *, timeout: float, rate: float | None = None, bulk: bool = False) -> Result:
    from workflows.models import TaskExecution, WorkflowExecution

    started, submitted, cpu = start_and_wait(workflow, runs, timeout=timeout, label="FlowPilot bulk" if bulk
                                             else "FlowPilot", rate=rate, bulk=bulk)
    executions = list(WorkflowExecution.objects.filter(workflow=workflow).values_list("created_at", "completed_at"))
    tasks = list(TaskExecution.objects.filter(execution__workflow=workflow).values_list("queued_at", "started_at"))
    last = max(completed for _, completed in executions).timestamp()
    return Result(
        runs=len(executions), steps=len(tasks), submit_seconds=submitted - started, wall_seconds=last - started,
        step_latencies=[(run - ready).total_seconds() for ready, run in tasks],
        end_to_end=[(completed - created).total_seconds() for created, completed in executions],
        start_cpu_seconds=cpu)


# --- bare Celery -----------------------------------------------------------------------------

def send_and_wait_bare(redis_client, chains: int, *, timeout: float, label: str,
                       rate: float | None = None) -> tuple[float, float, list[dict]]:
    from . import bare

    redis_client.delete(bare.DONE_KEY)
    started, cpu = time.time(), time.process_time()
    for _ in paced(chains, rate):
        bare.send_chain()
    cpu, submitted = time.process_time() - cpu, time.time()
    wait_until_done(label, lambda: redis_client.llen(bare.DONE_KEY), chains, timeout=timeout)
    traces = [json.loads(item) for item in redis_client.lrange(bare.DONE_KEY, 0, -1)]
    return started, submitted, traces, cpu


def measure_bare(redis_client, chains: int, *, timeout: float, rate: float | None = None) -> Result:
    started, submitted, traces, cpu = send_and_wait_bare(redis_client, chains, timeout=timeout, label="bare Celery",
                                                         rate=rate)
    return Result(
        runs=len(traces), steps=sum(len(t["waits"]) for t in traces), submit_seconds=submitted - started,
        wall_seconds=max(t["done"] for t in traces) - started,
        step_latencies=[wait for t in traces for wait in t["waits"]],
        end_to_end=[t["done"] - t["created"] for t in traces], start_cpu_seconds=cpu)


# --- report ----------------------------------------------------------------------------------

def report(ours: Result, bare: Result, *, concurrency: int) -> str:
    def ms(seconds: float) -> str:
        return f"{seconds * 1000:,.1f}"

    rows = [
        ("runs (executions / chains)", f"{ours.runs:,}", f"{bare.runs:,}"),
        ("steps (tasks)", f"{ours.steps:,}", f"{bare.steps:,}"),
        ("executions/s (chains/s)", f"{ours.runs_per_second:,.1f}", f"{bare.runs_per_second:,.1f}"),
        ("steps/s (tasks/s)", f"{ours.steps_per_second:,.1f}", f"{bare.steps_per_second:,.1f}"),
        ("step latency p50, ms", ms(percentile(ours.step_latencies, 50)), ms(percentile(bare.step_latencies, 50))),
        ("step latency p95, ms", ms(percentile(ours.step_latencies, 95)), ms(percentile(bare.step_latencies, 95))),
        ("end-to-end p50, ms", ms(percentile(ours.end_to_end, 50)), ms(percentile(bare.end_to_end, 50))),
        ("end-to-end p95, ms", ms(percentile(ours.end_to_end, 95)), ms(percentile(bare.end_to_end, 95))),
        ("time to send all, s", f"{ours.submit_seconds:.2f}", f"{bare.submit_seconds:.2f}"),
        ("start, ms of CPU per run (in-process)", f"{ours.start_cpu_ms_per_run:.2f}", f"{bare.start_cpu_ms_per_run:.2f}"),
        ("wall time, s", f"{ours.wall_seconds:.2f}", f"{bare.wall_seconds:.2f}"),
        ("worker CPU per step, ms", f"{ours.cpu_ms_per_step(ours.worker_cpu_seconds):.2f}",
         f"{bare.cpu_ms_per_step(bare.worker_cpu_seconds):.2f}"),
        ("PostgreSQL CPU per step, ms", f"{ours.cpu_ms_per_step(ours.postgres_cpu_seconds):.2f}",
         f"{bare.cpu_ms_per_step(bare.postgres_cpu_seconds):.2f}"),
        ("step messages run by the worker", f"{ours.messages.get('workflows.tasks.run_step', 0):,}",
         f"{bare.messages.get('benchmarks.bare.noop', 0):,}"),
        ("sweeps run by the worker", f"{ours.messages.get('workflows.tasks.sweep', 0):,}", "-"),
    ]
    if ours.bulk:
        rows += [
            (f"bulk start, {ours.bulk.runs:,} runs:", "", ""),
            ("  start, ms of CPU per run", f"{ours.bulk.start_cpu_ms_per_run:.2f}", "-"),
            ("  time to start all, s", f"{ours.bulk.submit_seconds:.2f}", "-"),
            ("  executions/s", f"{ours.bulk.runs_per_second:,.1f}", "-"),
        ]
    if ours.paced and bare.paced:
        rate = ours.paced.runs / max(ours.paced.submit_seconds, 1e-9)
        rows += [
            (f"paced, {ours.paced.runs} runs at {rate:.0f}/s:", "", ""),
            ("  step latency p50, ms", ms(percentile(ours.paced.step_latencies, 50)),
             ms(percentile(bare.paced.step_latencies, 50))),
            ("  step latency p95, ms", ms(percentile(ours.paced.step_latencies, 95)),
             ms(percentile(bare.paced.step_latencies, 95))),
            ("  end-to-end p50, ms", ms(percentile(ours.paced.end_to_end, 50)),
             ms(percentile(bare.paced.end_to_end, 50))),
            ("  end-to-end p95, ms", ms(percentile(ours.paced.end_to_end, 95)),
             ms(percentile(bare.paced.end_to_end, 95))),
        ]
    width = max(len(r[0]) for r in rows)
    lines = [
        f"Diamond benchmark: {ours.runs:,} runs of 5 no-op steps, 1 prefork worker x {concurrency} processes"
        f" per side, {os.cpu_count()} CPUs",
        "FlowPilot: a -> (b, c, d) -> e, sweeper (celery beat) every 1 s.  Bare Celery: chain of 5 tasks.",
        "",
        f"{'':<{width}}  {'FlowPilot':>12}  {'bare Celery':>12}",
        f"{'-' * width}  {'-' * 12}  {'-' * 12}",
        *(f"{name:<{width}}  {a:>12}  {b:>12}" for name, a, b in rows),
        "",
        f"FlowPilot / bare Celery, steps/s: {ours.steps_per_second / bare.steps_per_second:.3f}",
    ]
    resent = ours.messages.get("workflows.tasks.run_step", 0) - ours.steps
    if resent > 0:
        lines.append(f"Note: {resent:,} step messages more than steps: the sweeper re-sent steps queued longer than "
                     "FLOWPILOT_REDISPATCH_AFTER_SECONDS (harmless: the claim drops duplicates).")
    return "\n".join(lines)


# --- the two sides --------------------------------------------------------------------------

def run_flowpilot(app, *, owner, runs: int, concurrency: int, timeout: float, env: dict, log_dir: Path,
                  paced_runs: int, rate: float, round_: int = 1) -> Result:
    """Worker and beat up, warm up, measure, and stop them."""
    warmup = diamond_workflow(owner, f"diamond warm-up {round_}")
    diamond, steady = diamond_workflow(owner, f"diamond {round_}"), diamond_workflow(owner, f"diamond paced {round_}")
    in_bulk = diamond_workflow(owner, f"diamond bulk {round_}")
    worker, node = processes.start_worker("flowpilot", queues=["flowpilot.steps", "flowpilot.control"],
                                          concurrency=concurrency, env=env, log_dir=log_dir)
    with processes.running(worker), processes.running(processes.start_celery(
            "beat", ["beat", "-S", "celery.beat.PersistentScheduler", "-s", str(log_dir / "beat-schedule"),
                     "-l", "warning"], env=env, log_dir=log_dir)):
        processes.wait_for_worker(app, worker, node)
        start_and_wait(warmup, WARMUP_RUNS, timeout=60, label="FlowPilot warm-up")
        result = counted(app, worker, node, lambda: measure_flowpilot(diamond, runs, timeout=timeout))
        result.bulk = measure_flowpilot(in_bulk, runs, timeout=timeout, bulk=True)
        result.paced = measure_flowpilot(steady, paced_runs, timeout=timeout, rate=rate)
    return result


def counted(app, worker: processes.Process, node: str, measure) -> Result:
    """The burst `measure()` runs, with what it cost counted around it: the messages the worker ran,
    the CPU of the worker's processes and of PostgreSQL's."""
    before = processes.tasks_run(app, node)
    cpu = processes.tree_cpu_seconds(worker.popen.pid), processes.postgres_cpu_seconds()
    result = measure()
    result.worker_cpu_seconds = processes.tree_cpu_seconds(worker.popen.pid) - cpu[0]
    result.postgres_cpu_seconds = processes.postgres_cpu_seconds() - cpu[1]
    result.messages = difference(processes.tasks_run(app, node), before)
    return result


def run_bare(app, redis_client, *, runs: int, concurrency: int, timeout: float, env: dict, log_dir: Path,
             paced_runs: int, rate: float, round_: int = 1) -> Result:
    worker, node = processes.start_worker("bare", queues=["bench.bare"], concurrency=concurrency, env=env,
                                          log_dir=log_dir, include="benchmarks.bare")
    with processes.running(worker):
        processes.wait_for_worker(app, worker, node)
        send_and_wait_bare(redis_client, WARMUP_RUNS, timeout=60, label="bare Celery warm-up")
        result = counted(app, worker, node, lambda: measure_bare(redis_client, runs, timeout=timeout))
        result.paced = measure_bare(redis_client, paced_runs, timeout=timeout, rate=rate)
    return result


# --- main ------------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.diamond", description=__doc__.split("\n")[0])
    parser.add_argument("--executions", type=int, default=None, help="runs per side (default 1000)")
    parser.add_argument("--quick", action="store_true", help="a smoke run: 200 executions")
    parser.add_argument("--concurrency", type=int, default=2, help="worker processes per side (default 2)")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds to wait for each side (default 600)")
    parser.add_argument("--paced", type=int, default=100,
                        help="runs for the latency phase, started at a steady --rate (default 100)")
    parser.add_argument("--rate", type=float, default=10.0, help="runs per second in the latency phase (default 10)")
    parser.add_argument("--rounds", type=int, default=None,
                        help="rounds of both sides, one after the other (default 3; --quick: 1): the table is the "
                             "median round's, followed by every round's figures, their median and spread")
    args = parser.parse_args(argv)
    # Stopped with SIGTERM as with Ctrl-C: unwind, so that the worker and beat are stopped too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    runs = args.executions or (200 if args.quick else 1000)
    rounds = max(1, min(args.rounds or (1 if args.quick else 3), 9))
    sides = {"runs": runs, "concurrency": args.concurrency, "timeout": args.timeout, "paced_runs": args.paced,
             "rate": args.rate}

    database_url, redis_url = bench_urls()
    print(f"database {urlsplit(database_url).path.lstrip('/')} (recreated), redis db {BENCH_REDIS_DB} (flushed)",
          file=sys.stderr)
    recreate_database(database_url)
    env = configure(database_url, redis_url)

    import django

    django.setup()  # only now: the settings read the environment set above
    import redis
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from flowpilot.celery import app

    call_command("migrate", verbosity=0, interactive=False)
    redis_client = redis.Redis.from_url(redis_url)
    redis_client.flushdb()
    owner = get_user_model().objects.create(username="bench")

    results: list[tuple[Result, Result]] = []
    with tempfile.TemporaryDirectory(prefix="flowpilot-bench-") as tmp:
        log_dir = Path(tmp)
        for round_ in range(1, rounds + 1):
            vacuum()
            ours = run_flowpilot(app, owner=owner, env=env, log_dir=log_dir, round_=round_, **sides)
            bare = run_bare(app, redis_client, env=env, log_dir=log_dir, round_=round_, **sides)
            results.append((ours, bare))
            print(f"round {round_}/{rounds}: FlowPilot {ours.steps_per_second:.1f} steps/s, bare Celery "
                  f"{bare.steps_per_second:.1f} tasks/s, ratio {ratio(ours, bare):.3f}", file=sys.stderr)

    middle = sorted(results, key=lambda pair: ratio(*pair))[len(results) // 2]
    print()
    print(report(*middle, concurrency=args.concurrency))
    if len(results) > 1:
        print()
        print(spread(results))
    return 0


def vacuum() -> None:
    """Each round starts from a vacuumed database, as autovacuum keeps a production one (it may be
    off on a development server: then dead rows of earlier rounds would slow the later ones)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE)")


def ratio(ours: Result, bare: Result) -> float:
    return ours.steps_per_second / bare.steps_per_second


def spread(results: list[tuple[Result, Result]]) -> str:
    """Every round's figures, with their median and spread (min - max): one noisy round does not decide."""
    def line(name: str, values: list[float], fmt: str) -> str:
        each = "  ".join(format(v, fmt) for v in values)
        return (f"{name:<34} median {format(statistics.median(values), fmt):>9}   "
                f"[{format(min(values), fmt)} - {format(max(values), fmt)}]   rounds: {each}")

    paced = [pair for pair in results if pair[0].paced and pair[1].paced]
    lines = [
        f"Over {len(results)} rounds (the table above is the median round's):",
        line("FlowPilot steps/s", [o.steps_per_second for o, _ in results], ".1f"),
        line("bare Celery tasks/s", [b.steps_per_second for _, b in results], ".1f"),
        line("FlowPilot / bare Celery", [ratio(o, b) for o, b in results], ".3f"),
        line("FlowPilot worker CPU/step, ms", [o.cpu_ms_per_step(o.worker_cpu_seconds) for o, _ in results], ".2f"),
        line("FlowPilot PostgreSQL CPU/step, ms", [o.cpu_ms_per_step(o.postgres_cpu_seconds) for o, _ in results],
             ".2f"),
        line("bare worker CPU/task, ms", [b.cpu_ms_per_step(b.worker_cpu_seconds) for _, b in results], ".2f"),
    ]
    if paced:
        lines += [
            line("paced step latency p50, ms", [percentile(o.paced.step_latencies, 50) * 1000 for o, _ in paced], ".1f"),
            line("paced step latency p95, ms", [percentile(o.paced.step_latencies, 95) * 1000 for o, _ in paced], ".1f"),
            line("bare paced latency p50, ms", [percentile(b.paced.step_latencies, 50) * 1000 for _, b in paced], ".1f"),
        ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
