"""Load test: FlowPilot's web tier in services mode, driven over HTTP by N concurrent clients.

What runs
    The real processes, as `make web`, `make worker` (twice) and `make beat` run them: `manage.py
    serve` with WEB_CONCURRENCY web processes, two `celery worker` (prefork, 2 processes each) and
    `celery beat`, over PostgreSQL and Redis. Its own database (`<name>_loadtest`, next to
    DATABASE_URL's, dropped and created) and Redis db 13 (flushed). The web runs with
    benchmarks/loadtest_settings.py: FlowPilot's settings plus one bare endpoint. API rate limits
    are off (one user sends everything). Clients are coroutines in this process (benchmarks/httpload.py),
    on 127.0.0.1 only.

Phases, each `--requests` requests (at most `--seconds`) from `--clients` clients
    bare      POST /bench/bare/: a bare DRF endpoint inserting one row (token auth, same server and
              middleware): the ceiling of this stack on this machine
    trigger   POST /api/v1/executions/, each with its own idempotency key (a 2-step workflow)
    read      GET /api/v1/executions/<id>/ of the runs just started
    list      GET /api/v1/executions/?limit=50
    webhook   POST /hooks/<token>/, HMAC-signed, each with its own Idempotency-Key
    paced     once the runs started so far are done, triggers for 30 s at half the trigger throughput
              measured (an open loop: latency counts from when each request was due)
    Then every accepted trigger and delivery must become a run that completes (--complete-timeout).

Figures per phase
    requests/s, latency p50/p95/p99 (ms), 5xx answers (and no answer at all), other non-2xx, peak
    PostgreSQL sessions on the database (all, and the web's: pg_stat_activity, sampled every 50 ms),
    peak resident memory of the web processes added up. Then the ratio of trigger to bare throughput.

    make loadtest                                     # 100 clients, 2,000 requests a phase
    make loadtest LOADTEST_ARGS="--clients 500"
    make loadtest LOADTEST_ARGS="--profile"           # py-spy on one web process in the trigger phase
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
import psycopg

from . import processes
from .databases import recreate_database
from .httpload import LoadResult, Request, run_load

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/flowpilot"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/15"
LOADTEST_REDIS_DB = 13
PHASES = ("bare", "trigger", "read", "list", "webhook", "paced")


@dataclass
class Phase:
    name: str
    result: LoadResult
    sessions_peak: int
    web_sessions_peak: int
    web_rss_peak: int

    def row(self) -> list[str]:
        r = self.result
        other = sum(n for code, n in r.statuses.items() if code and not 200 <= code < 300 and code < 500)
        return [self.name, f"{len(r.answers):,}", f"{r.requests_per_second:,.0f}", f"{r.latency_ms(50):,.1f}",
                f"{r.latency_ms(95):,.1f}", f"{r.latency_ms(99):,.1f}", str(len(r.server_errors)), str(other),
                str(self.sessions_peak), str(self.web_sessions_peak), f"{self.web_rss_peak / 2**20:,.0f}"]


class Watch:
    """Samples PostgreSQL's sessions on the database and the web's memory every 50 ms."""

    def __init__(self, admin_url: str, database: str, web_pid: int):
        self.admin_url, self.database, self.web_pid = admin_url, database, web_pid
        self.sessions = self.web_sessions = self.rss = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> Watch:
        self.sessions = self.web_sessions = self.rss = 0
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _loop(self) -> None:
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            while not self._stop.is_set():
                total, web = conn.execute(
                    "SELECT count(*), count(*) FILTER (WHERE application_name = 'flowpilot-web') "
                    "FROM pg_stat_activity WHERE datname = %s", [self.database]).fetchone()
                self.sessions, self.web_sessions = max(self.sessions, total), max(self.web_sessions, web)
                self.rss = max(self.rss, processes.rss_bytes(processes.process_tree(self.web_pid)))
                self._stop.wait(0.05)


def loadtest_urls() -> tuple[str, str]:
    db = urlsplit(os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL)
    if db.scheme not in ("postgres", "postgresql"):
        raise SystemExit(f"the load test needs PostgreSQL; DATABASE_URL is {db.scheme}://...")
    name = (db.path.lstrip("/") or "flowpilot").removesuffix("_loadtest") + "_loadtest"
    redis = urlsplit(os.environ.get("REDIS_URL") or DEFAULT_REDIS_URL)
    return urlunsplit(db._replace(path=f"/{name}")), urlunsplit(redis._replace(path=f"/{LOADTEST_REDIS_DB}"))


def configure(database_url: str, redis_url: str, args) -> dict[str, str]:
    os.environ.update({
        "DJANGO_SETTINGS_MODULE": "benchmarks.loadtest_settings",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "SECRET_KEY": os.environ.get("SECRET_KEY") or "flowpilot-loadtest-secret-key-not-for-production",
        "FLOWPILOT_STEP_MODULES": "benchmarks.functions",
        "FLOWPILOT_API_RATE_USER": "",  # one user sends everything: no per-user limit
        "FLOWPILOT_WEBHOOK_RATE": "10000000",
        "WEB_CONCURRENCY": str(args.web_processes),
        "FLOWPILOT_LOG_FORMAT": "plain",
    })
    if args.pool_max:
        os.environ["FLOWPILOT_DB_POOL_MAX"] = str(args.pool_max)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(processes.PROJECT_DIR), env.get("PYTHONPATH")]))
    return env


def fixtures() -> dict:
    """A user with a token, an active 2-step workflow of no-ops and a signed webhook on it."""
    from django.contrib.auth import get_user_model
    from rest_framework.authtoken.models import Token

    from triggers import services as trigger_services
    from workflows import services

    user = get_user_model().objects.create_user("loadtest")
    noop = {"task_type": "python", "config": {"function": "bench_noop"}}
    workflow = services.workflow_create(owner=user, data={"name": "signup", "status": "active"}, steps=[
        {"key": "welcome_email", **noop}, {"key": "crm_entry", **noop, "depends_on": ["welcome_email"]}])
    trigger, secret = trigger_services.trigger_create(workflow=workflow, type="webhook", data={})
    return {"token": Token.objects.create(user=user).key, "workflow_id": str(workflow.pk),
            "hook_path": f"/hooks/{trigger.token}/", "secret": secret}


def wait_ready(url: str, web: processes.Process, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if web.popen.poll() is not None:
            raise RuntimeError(f"the web exited:\n{web.tail()}")
        try:
            if httpx.get(f"{url}/health/ready", timeout=2).status_code == 200:
                time.sleep(1)  # uvicorn starts its processes one after another
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"the web was not ready within {timeout:.0f} s:\n{web.tail()}")


class Scenario:
    """The requests of each phase, over one set of fixtures."""

    def __init__(self, fx: dict):
        from triggers.services import sign

        self.fx, self.sign = fx, sign
        self.auth = {"Authorization": f"Token {fx['token']}"}
        self.started: list[str] = []
        self.keys = 0

    def bare(self, i: int) -> Request:
        return Request("POST", "/bench/bare/", json={"payload": {"email": f"user{i}@example.com"}}, headers=self.auth)

    def trigger(self, i: int) -> Request:
        self.keys += 1
        return Request("POST", "/api/v1/executions/", headers=self.auth, json={
            "workflow_id": self.fx["workflow_id"], "input_data": {"email": f"user{self.keys}@example.com"},
            "idempotency_key": f"signup-{self.keys}"})

    def read(self, i: int) -> Request:
        return Request("GET", f"/api/v1/executions/{self.started[i % len(self.started)]}/", headers=self.auth)

    def list(self, i: int) -> Request:
        return Request("GET", "/api/v1/executions/?limit=50", headers=self.auth)

    def webhook(self, i: int) -> Request:
        body = json.dumps({"event": "signup", "email": f"hook{i}@example.com"}).encode()
        return Request("POST", self.fx["hook_path"], body=body, headers={
            "Content-Type": "application/json", "Idempotency-Key": f"evt-{i}",
            "X-FlowPilot-Signature": self.sign(self.fx["secret"], body)})


def profile(pid: int, seconds: float, out: Path) -> subprocess.Popen | None:
    """py-spy on one web process for `seconds`, a speedscope file (open it at speedscope.app)."""
    spy = Path(sys.executable).with_name("py-spy")
    if not spy.exists():
        print("py-spy is not installed: no profile", file=sys.stderr)
        return None
    return subprocess.Popen([str(spy), "record", "-p", str(pid), "-d", str(int(seconds)), "-r", "200", "-f",
                             "speedscope", "-o", str(out), "--nonblocking"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.STDOUT)


def run_phases(url: str, scenario: Scenario, watch: Watch, args, log_dir: Path, web: processes.Process
               ) -> dict[str, Phase]:
    phases: dict[str, Phase] = {}

    def measure(name: str, make, *, count: int | None = None, **load) -> Phase:
        print(f"  {name}: {args.clients} clients ...", file=sys.stderr, flush=True)
        with watch:
            result = run_load(url, requests=make, clients=args.clients, count=count or args.requests,
                              seconds=args.seconds, **load)
        phase = Phase(name, result, watch.sessions, watch.web_sessions, watch.rss)
        print(f"  {name}: {result.summary()}", file=sys.stderr, flush=True)
        if result.server_errors:
            sample = result.server_errors[0]
            print(f"    first 5xx: {sample.status} {sample.error or sample.body}", file=sys.stderr)
        phases[name] = phase
        return phase

    # warm-up: every web process imports, connects and compiles its paths once
    run_load(url, requests=scenario.bare, clients=min(args.clients, 20), count=200)
    run_load(url, requests=scenario.trigger, clients=min(args.clients, 20), count=200)
    if "bare" in args.phases:
        measure("bare", scenario.bare)
    if "trigger" in args.phases:
        spy = None
        if args.profile:
            spy = profile(processes.web_workers(web.popen.pid)[0], min(args.seconds, 15),
                          log_dir.parent / "loadtest-web.speedscope.json")
        phase = measure("trigger", scenario.trigger)
        scenario.started += [a.body["id"] for a in phase.result.answers if a.status == 201]
        if spy:
            spy.wait(timeout=60)
            print(f"  profile of one web process: {log_dir.parent / 'loadtest-web.speedscope.json'}", file=sys.stderr)
    if "read" in args.phases and scenario.started:
        measure("read", scenario.read)
    if "list" in args.phases:
        measure("list", scenario.list)
    if "webhook" in args.phases:
        measure("webhook", scenario.webhook)
    if "paced" in args.phases and "trigger" in phases:
        # At half the trigger throughput, once the runs of the phases before are done: the steady state.
        waited, _ = wait_completed(args.database_url, args.complete_timeout)
        print(f"  (the runs before finished {waited:.0f} s after the last phase)", file=sys.stderr, flush=True)
        rate = phases["trigger"].result.requests_per_second / 2
        measure(f"paced {rate:,.0f}/s", scenario.trigger, rate=rate, count=max(100, round(rate * 30)))
    return phases


def wait_completed(database_url: str, timeout: float) -> tuple[int, dict]:
    """Wait until no run is left unfinished; answers (seconds waited, runs by status)."""
    begin = time.monotonic()
    with psycopg.connect(database_url, autocommit=True) as conn:
        while True:
            counts = dict(conn.execute("SELECT status, count(*) FROM workflows_workflowexecution "
                                       "GROUP BY status").fetchall())
            unfinished = sum(n for status, n in counts.items() if status not in ("completed", "failed", "cancelled"))
            if not unfinished or time.monotonic() - begin > timeout:
                return time.monotonic() - begin, counts
            time.sleep(0.5)


def report(phases: dict[str, Phase], args, counts: dict, waited: float) -> str:
    header = ["phase", "requests", "req/s", "p50 ms", "p95 ms", "p99 ms", "5xx", "other 4xx", "PG sessions",
              "web's", "web RSS MB"]
    rows = [header] + [p.row() for p in phases.values()]
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    lines = [
        f"Load test: {args.clients} concurrent clients, up to {args.requests:,} requests a phase; web "
        f"{args.web_processes} processes (pool {os.environ.get('FLOWPILOT_DB_POOL_MAX', 8)} each), 2 workers x 2, "
        f"beat; {os.cpu_count()} CPUs",
        "",
        *("  ".join(cell.rjust(w) if i else cell.ljust(w) for i, (cell, w) in enumerate(zip(row, widths)))
          for row in rows),
        "",
    ]
    if "bare" in phases and "trigger" in phases:
        ratio = phases["trigger"].result.requests_per_second / phases["bare"].result.requests_per_second
        lines.append(f"trigger / bare insert, requests/s: {ratio:.2f}")
    paced = next((p for name, p in phases.items() if name.startswith("paced")), None)
    if paced:
        lines.append(f"{paced.name}: p95 {paced.result.latency_ms(95):,.1f} ms")
    lines.append(f"runs: {', '.join(f'{n:,} {s}' for s, n in sorted(counts.items()))} "
                 f"({waited:.0f} s after the last phase)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.loadtest", description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=100, help="concurrent clients (default 100, at most 2000)")
    parser.add_argument("--requests", type=int, default=2000, help="requests per phase (default 2000)")
    parser.add_argument("--seconds", type=float, default=60.0, help="longest phase, seconds (default 60)")
    parser.add_argument("--web-processes", type=int, default=2, help="WEB_CONCURRENCY (default 2)")
    parser.add_argument("--pool-max", type=int, default=0, help="FLOWPILOT_DB_POOL_MAX (default: the setting's)")
    parser.add_argument("--phases", default=",".join(PHASES), help=f"some of {','.join(PHASES)}")
    parser.add_argument("--complete-timeout", type=float, default=300.0,
                        help="seconds to wait for every run to complete (default 300)")
    parser.add_argument("--profile", action="store_true", help="py-spy one web process during the trigger phase")
    args = parser.parse_args(argv)
    args.phases = [p.strip() for p in args.phases.split(",") if p.strip()]
    if unknown := set(args.phases) - set(PHASES):
        parser.error(f"unknown phases {sorted(unknown)}; choose from {', '.join(PHASES)}")
    if not 1 <= args.clients <= 2000 or not 1 <= args.requests <= 100_000 or not 0 < args.seconds <= 600:
        parser.error("clients 1..2000, requests 1..100000, seconds up to 600")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    database_url, redis_url = loadtest_urls()
    args.database_url = database_url
    database = urlsplit(database_url).path.lstrip("/")
    admin_url = urlunsplit(urlsplit(database_url)._replace(path="/postgres"))
    print(f"database {database} (recreated), redis db {LOADTEST_REDIS_DB} (flushed)", file=sys.stderr)
    recreate_database(database_url)
    env = configure(database_url, redis_url, args)

    import django

    django.setup()
    import redis
    from django.core.management import call_command
    from django.db import connections

    call_command("migrate", verbosity=0, interactive=False)
    redis.Redis.from_url(redis_url).flushdb()
    scenario = Scenario(fixtures())
    connections.close_all()

    port = processes.free_port()
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory(prefix="flowpilot-loadtest-") as tmp:
        log_dir = Path(tmp)
        queues = ["flowpilot.steps", "flowpilot.control"]
        workers = [processes.start_worker(f"worker{i}", queues=queues, concurrency=2, env=env, log_dir=log_dir)[0]
                   for i in (1, 2)]
        beat = processes.start_celery("beat", ["beat", "-l", "warning"], env=env, log_dir=log_dir)
        web = processes.start_web(host="127.0.0.1", port=port, workers=args.web_processes, env=env, log_dir=log_dir)
        try:
            wait_ready(url, web)
            watch = Watch(admin_url, database, web.popen.pid)
            phases = run_phases(url, scenario, watch, args, log_dir, web)
            waited, counts = wait_completed(database_url, args.complete_timeout)
        finally:
            for process in [web, beat, *workers]:
                processes.stop(process)
    print()
    print(report(phases, args, counts, waited))
    unfinished = sum(n for s, n in counts.items() if s != "completed")
    errors = sum(len(p.result.server_errors) for p in phases.values())
    return 1 if unfinished or errors else 0


if __name__ == "__main__":
    sys.exit(main())
