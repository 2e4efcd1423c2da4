"""Real processes for end-to-end tests: Celery workers and beat against the test database and
Redis, and a local HTTP receiver that counts what the steps send it."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


def wait_for(predicate, *, timeout: float, interval: float = 0.2, message: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {message}")


class Cluster:
    """Workers and a beat (the sweeper's clock) in their own process groups, killable for real."""

    def __init__(self, **overrides: str):
        self.tmp = Path(tempfile.mkdtemp(prefix="flowpilot-e2e-"))
        self.env = {
            **os.environ,
            "DATABASE_URL": database_url(),
            "REDIS_URL": settings.REDIS_URL,
            "FLOWPILOT_STEP_MODULES": "workflows.tests.functions",
            "FLOWPILOT_HTTP_ALLOWED_NETWORKS": "127.0.0.0/8",
            "FLOWPILOT_LEASE_SECONDS": "3",
            "FLOWPILOT_HEARTBEAT_SECONDS": "0.5",
            "FLOWPILOT_REDISPATCH_AFTER_SECONDS": "5",
            "FLOWPILOT_SWEEP_INTERVAL": "0.5",
            "FLOWPILOT_BROKER_VISIBILITY_TIMEOUT": "60",
            "PYTHONUNBUFFERED": "1",
            **overrides,
        }
        self.processes: dict[str, subprocess.Popen] = {}
        self.restarts: Counter[str] = Counter()
        self._lock = threading.Lock()  # a supervisor's restart against the test's kill or stop

    def _spawn(self, name: str, args: list[str], ready: str | None) -> subprocess.Popen:
        proc = self._popen(name, [sys.executable, "-m", "celery", "-A", "flowpilot", *args])
        if ready is None:
            time.sleep(1)
            assert proc.poll() is None, f"{name} exited:\n{self.log(name)}"
        else:
            wait_for(lambda: ready in self.log(name) or proc.poll() is not None, timeout=60,
                     message=f"{name} to start")
            assert proc.poll() is None, f"{name} exited:\n{self.log(name)}"
        return proc

    def _popen(self, name: str, argv: list[str], *, mode: str = "w") -> subprocess.Popen:
        log = open(self.tmp / f"{name}.log", mode)
        proc = subprocess.Popen(argv, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
        self.processes[name] = proc
        return proc

    def start_web(self, name: str = "web", *, workers: int = 2) -> str:
        """`manage.py serve` in services mode, `workers` web processes on a free port: answers its URL
        once every process answers /health/live."""
        port = free_port()
        proc = self._popen(name, [sys.executable, "manage.py", "serve", "--host", "127.0.0.1", "--port", str(port),
                                  "--no-migrate", "--workers", str(workers)])
        url = f"http://127.0.0.1:{port}"

        def answers() -> bool:
            assert proc.poll() is None, f"{name} exited:\n{self.log(name)}"
            try:
                return httpx.get(f"{url}/health/live", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(answers, timeout=60, message=f"{name} to answer")
        time.sleep(1)  # uvicorn starts its processes one after the other: let the last one listen too
        return url

    def log(self, name: str) -> str:
        return (self.tmp / f"{name}.log").read_text(errors="replace")

    def start_worker(self, name: str = "worker", *, concurrency: int = 2, restart: bool = False) -> subprocess.Popen:
        """A worker; `restart`: under a supervisor, as production runs it (docker-compose's `restart:
        unless-stopped`): started again when it exits on its own (`restarts` counts it), never when the
        test kills or stops it."""
        args = ["worker", "-P", "prefork", "-c", str(concurrency), "-n", f"{name}@%h",
                "-Q", "flowpilot.steps,flowpilot.control", "-l", "info", "--without-gossip", "--without-mingle"]
        proc = self._spawn(name, args, ready="ready.")
        if restart:
            threading.Thread(target=self._supervise, args=(name, args), daemon=True).start()
        return proc

    def _supervise(self, name: str, args: list[str]) -> None:
        while (proc := self.processes.get(name)) is not None:
            proc.wait()
            with self._lock:
                if self.processes.get(name) is not proc:  # killed or stopped by the test: it stays down
                    return
                self.restarts[name] += 1
                self._popen(name, [sys.executable, "-m", "celery", "-A", "flowpilot", *args], mode="a")

    def start_beat(self) -> subprocess.Popen:
        return self._spawn("beat", ["beat", "-S", "celery.beat.PersistentScheduler", "-s",
                                    str(self.tmp / "beat-schedule"), "--pidfile=", "-l", "info"],
                           ready=None)

    def kill(self, name: str) -> None:
        """SIGKILL the whole process group: the worker and its pool processes die mid-step."""
        with self._lock:
            proc = self.processes.pop(name)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)

    def stop(self) -> None:
        with self._lock:
            stopping, self.processes = self.processes, {}
        for proc in stopping.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait(timeout=5)


@contextmanager
def fresh_cluster(**overrides: str) -> Iterator[Cluster]:
    """A Cluster on an emptied broker, stopped on the way out (start its processes as the test needs)."""
    flush_broker()
    cluster = Cluster(**overrides)
    try:
        yield cluster
    finally:
        cluster.stop()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def database_url() -> str:
    """The test database, as the processes started by a test reach it."""
    db = connection.settings_dict
    return f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def pg_connections(dsn: str, *, database: str, application_name: str) -> int:
    """Sessions PostgreSQL has open on `database` for one kind of process (pg_stat_activity)."""
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        return conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND application_name = %s",
                            [database, application_name]).fetchone()[0]


class Sampler:
    """Samples a count (e.g. pg_connections) every `interval` seconds in a thread; `peak` is the most seen."""

    def __init__(self, sample, *, interval: float = 0.05):
        self.sample = sample
        self.interval = interval
        self.values: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.values.append(self.sample())
            except Exception:  # the server restarting (a fault test): no sample this time
                pass
            self._stop.wait(self.interval)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    @property
    def peak(self) -> int:
        return max(self.values, default=0)


class OwnPostgres:
    """A PostgreSQL cluster of the test's own (pg_createcluster, trust auth) on a free port, so that a
    fault test can restart it without touching the server every other test uses."""

    def __init__(self):
        self.version = sorted(os.listdir("/etc/postgresql"))[-1]
        self.name = f"flowpilot_fault_{os.getpid()}"
        self.port = free_port()
        subprocess.run(["pg_createcluster", self.version, self.name, "-p", str(self.port), "--start",
                        "--", "--auth=trust"], check=True, capture_output=True)

    def url(self, database: str = "postgres") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def restart(self) -> None:
        """Stop (fast: every session is cut) and start again."""
        subprocess.run(["pg_ctlcluster", self.version, self.name, "restart", "-m", "fast"], check=True,
                       capture_output=True)

    def drop(self) -> None:
        subprocess.run(["pg_dropcluster", self.version, self.name, "--stop"], capture_output=True)


class OwnRedis:
    """A Redis server of the test's own on a free port (nothing kept on disk)."""

    def __init__(self):
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="flowpilot-redis-"))
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.start()

    def start(self) -> None:
        """Start the server (again, after `stop`: empty, on the same port)."""
        subprocess.run(["redis-server", "--daemonize", "yes", "--bind", "127.0.0.1", "--port", str(self.port),
                        "--save", "", "--appendonly", "no", "--dir", str(self.dir),
                        "--logfile", str(self.dir / "redis.log")], check=True)
        wait_for(lambda: _redis_up(self.port), timeout=10, message="the test's Redis to start")

    def stop(self) -> None:
        import redis

        try:
            redis.Redis(host="127.0.0.1", port=self.port).shutdown(nosave=True)
        except redis.exceptions.ConnectionError:
            pass
        wait_for(lambda: not _redis_up(self.port), timeout=10, message="the test's Redis to stop")


def flush_broker() -> None:
    import redis

    redis.Redis.from_url(settings.REDIS_URL).flushdb()


def _redis_up(port: int) -> bool:
    import redis

    try:
        return bool(redis.Redis(host="127.0.0.1", port=port, socket_timeout=0.5).ping())
    except redis.exceptions.ConnectionError:
        return False


def serve_json(handle, *, quiet_errors: bool = False, poll_interval: float = 0.5) -> tuple[ThreadingHTTPServer, str]:
    """A local HTTP server on a free port, serving in a thread of its own: each POST's JSON body, with its
    path and Idempotency-Key, goes to `handle(path, key, body) -> (status, answer)`, whose answer is sent
    as JSON. `quiet_errors`: a connection dropped by its client (a killed worker) is not reported.
    Answers the server (shut it down when done) and its base URL."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
            status, answer = handle(self.path, self.headers.get("Idempotency-Key", ""), body)
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    if quiet_errors:
        server.handle_error = lambda request, address: None
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": poll_interval}, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


class Receiver:
    """A local HTTP service standing in for an SMS gateway and a patient database.

    It deduplicates by Idempotency-Key like a careful receiver: a repeated key gets the first answer
    again and causes nothing. `delivered` counts real effects per (path, subject).
    """

    def __init__(self):
        self.lock = threading.Lock()
        self.requests: Counter = Counter()  # path -> requests received
        self.keys: dict[str, dict] = defaultdict(dict)  # path -> key -> (status, body)
        self.delivered: Counter = Counter()  # (path, subject) -> effects
        self.failing: set[str] = set()  # subjects for which /patients answers 500
        self.server, self.url = serve_json(self.handle)

    def handle(self, path: str, key: str, body: dict) -> tuple[int, dict]:
        subject = str(body.get("name") or body.get("phone") or "")
        with self.lock:
            self.requests[path] += 1
            if key and key in self.keys[path]:
                return self.keys[path][key]
            if path == "/patients" and subject in self.failing:
                return 500, {"error": "database overloaded"}  # not remembered: a retry may succeed
            self.delivered[(path, subject)] += 1
            answer = (201 if path == "/patients" else 200), {"ok": True, "subject": subject}
            if key:
                self.keys[path][key] = answer
            return answer

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
