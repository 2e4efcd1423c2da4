"""Idle benchmark: what an idle `make run` server costs, and how fast it wakes up for a run.

What is measured
    1. CPU while idle: the embedded server (`manage.py serve`, as `make run` starts it: the web, the
       in-process worker, beat and sweeper in one process, SQLite, no Redis) is started, /health/ready
       waited for, then left alone for --settle seconds (start-up work: migrations, the first sweep);
       then the CPU time (user + system) of its process tree is read from /proc over --seconds
       (default 30) of idle wall time. Printed as % of one core.
    2. Wake-up: then a one-step workflow (a `log` step) is saved and started over HTTP, and the time
       from sending the start request to the run's `completed` status is printed (polled every
       5 ms), so a longer idle poll cannot hide a slow wake-up. --runs N repeats it, each after
       --gap seconds of idle.

How
    `make run`'s own command (`manage.py serve`, with PORT and HOST) without its install and
    frontend build steps, so the process tree measured is the server's. Its own data: a temporary FLOWPILOT_VAR_DIR (SQLite file, credentials), a free port, and no
    DATABASE_URL / REDIS_URL / SECRET_KEY from the environment: never a developer's var/.

    make bench-idle
    make bench-idle BENCH_ARGS="--seconds 60 --runs 5"
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from . import processes

PROJECT_DIR = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(var: Path, port: int) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY")}
    env.update(FLOWPILOT_VAR_DIR=str(var), PORT=str(port), HOST="127.0.0.1")
    with open(var / "serve.log", "wb") as log:
        return subprocess.Popen([sys.executable, "manage.py", "serve"], cwd=PROJECT_DIR, env=env, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)


def wait_ready(proc: subprocess.Popen, base: str, log: Path, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(f"{base}/health/ready", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"the server did not answer /health/ready within {timeout:.0f} s:\n{log.read_text()[-3000:]}")


def measure_idle(pid: int, seconds: float) -> float:
    """% of one core used by the process tree over `seconds` of wall time."""
    cpu0, wall0 = processes.tree_cpu_seconds(pid), time.monotonic()
    time.sleep(seconds)
    cpu1, wall1 = processes.tree_cpu_seconds(pid), time.monotonic()
    return 100 * (cpu1 - cpu0) / (wall1 - wall0)


def start_to_complete(api: httpx.Client, workflow_id: str, timeout: float = 30) -> float:
    """Seconds from sending the start request to the run reading `completed`."""
    started = time.monotonic()
    response = api.post(f"/workflows/{workflow_id}/run/", json={"input_data": {}})
    response.raise_for_status()
    execution_id = response.json()["id"]
    while time.monotonic() - started < timeout:
        status = api.get(f"/executions/{execution_id}/").json()["status"]
        if status == "completed":
            return time.monotonic() - started
        if status in ("failed", "cancelled"):
            raise RuntimeError(f"the run ended {status}")
        time.sleep(0.005)
    raise RuntimeError(f"the run did not complete within {timeout:.0f} s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=30.0, help="idle wall time measured (default 30)")
    parser.add_argument("--settle", type=float, default=5.0, help="idle time before measuring (default 5)")
    parser.add_argument("--runs", type=int, default=1, help="runs started after idle (default 1)")
    parser.add_argument("--gap", type=float, default=3.0, help="idle seconds before each further run")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="flowpilot-bench-idle-") as tmp:
        var, port = Path(tmp), free_port()
        base = f"http://127.0.0.1:{port}"
        proc = start_server(var, port)
        try:
            wait_ready(proc, base, var / "serve.log")
            time.sleep(args.settle)
            percent = measure_idle(proc.pid, args.seconds)
            print(f"idle CPU: {percent:.2f}% of a core over {args.seconds:.0f} s (process tree of pid {proc.pid})")

            creds = dict(line.split(": ", 1) for line in (var / "admin-credentials.txt").read_text().splitlines())
            with httpx.Client(base_url=f"{base}/api/v1", timeout=10,
                              headers={"Authorization": f"Token {creds['api token']}"}) as api:
                workflow = api.post("/workflows/", json={"name": "bench-idle", "status": "active", "steps": [
                    {"key": "hello", "task_type": "log", "config": {"message": "awake"}}]})
                workflow.raise_for_status()
                time.sleep(args.gap)  # saving the workflow was activity: idle again before the run
                for run in range(args.runs):
                    if run:
                        time.sleep(args.gap)
                    latency = start_to_complete(api, workflow.json()["id"])
                    print(f"run {run + 1}: start request -> completed in {latency * 1000:.0f} ms")
            if proc.poll() is not None:
                raise RuntimeError(f"the server exited with {proc.returncode}")
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
