"""The Celery processes a benchmark runs: start them, wait until they answer, stop them."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class Process:
    name: str
    popen: subprocess.Popen
    log_path: Path

    def tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def start_celery(name: str, args: list[str], *, env: dict[str, str], log_dir: Path) -> Process:
    """`celery -A flowpilot <args>` in its own process group, its output in log_dir/<name>.log."""
    log_path = log_dir / f"{name}.log"
    with open(log_path, "wb") as log:
        popen = subprocess.Popen([sys.executable, "-m", "celery", "-A", "flowpilot", *args], cwd=PROJECT_DIR,
                                 env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    return Process(name=name, popen=popen, log_path=log_path)


def start_worker(name: str, *, queues: list[str], concurrency: int, env: dict[str, str], log_dir: Path,
                 include: str = "") -> tuple[Process, str]:
    """A prefork worker; answers the process and its node name (for ping)."""
    node = f"{name}@{socket.gethostname()}"
    args = ["worker", "-P", "prefork", "-c", str(concurrency), "-Q", ",".join(queues), "-n", node,
            "-l", "warning"]
    if include:
        args += ["-I", include]
    return start_celery(name, args, env=env, log_dir=log_dir), node


def wait_for_worker(app, process: Process, node: str, *, timeout: float = 60.0) -> None:
    """Until the worker answers a ping (its pool is up and it consumes)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.popen.poll() is not None:
            raise RuntimeError(f"{process.name} exited with {process.popen.returncode} before answering a ping")
        if app.control.ping(destination=[node], timeout=0.5):
            return
    raise RuntimeError(f"{process.name} did not answer a ping within {timeout:.0f} s:\n{process.tail()}")


@contextmanager
def running(process: Process) -> Iterator[Process]:
    """Stop the process on the way out, whatever happens; show its last lines if it died."""
    try:
        yield process
    except BaseException:
        if process.popen.poll() is not None:
            print(f"--- {process.name} exited with {process.popen.returncode}:\n{process.tail()}", file=sys.stderr)
        raise
    finally:
        stop(process)


def stop(process: Process, *, timeout: float = 15.0) -> None:
    """SIGTERM (Celery's warm shutdown), then SIGKILL to the process group if it lingers."""
    if process.popen.poll() is None:
        process.popen.send_signal(signal.SIGTERM)
        try:
            process.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            pass
    try:  # the pool's children are in the same process group, which we created
        os.killpg(process.popen.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    process.popen.wait()


def tasks_run(app, node: str) -> dict[str, int]:
    """How many messages of each task the worker has run since it started (Celery's own counter)."""
    stats = app.control.inspect(destination=[node], timeout=5).stats() or {}
    return dict(stats.get(node, {}).get("total", {}))


def start_web(*, host: str, port: int, workers: int, env: dict[str, str], log_dir: Path) -> Process:
    """`manage.py serve` (services mode: `workers` web processes behind one socket), its own process group."""
    log_path = log_dir / "web.log"
    with open(log_path, "wb") as log:
        popen = subprocess.Popen([sys.executable, "manage.py", "serve", "--host", host, "--port", str(port),
                                  "--no-migrate", "--workers", str(workers)], cwd=PROJECT_DIR, env=env, stdout=log,
                                 stderr=subprocess.STDOUT, start_new_session=True)
    return Process(name="web", popen=popen, log_path=log_path)


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of one live process (all its threads); 0 once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime (fields 14, 15)


def tree_cpu_seconds(root: int) -> float:
    """User + system CPU seconds of root and its live descendants (all their threads)."""
    return sum(cpu_seconds(pid) for pid in process_tree(root))


def postgres_cpu_seconds() -> float:
    """User + system CPU seconds of this machine's PostgreSQL processes (its backends and helpers) so
    far: the difference over a measurement is what the database spent on it (if nothing else ran)."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if (entry / "comm").read_text().strip() != "postgres":
                continue
        except OSError:
            continue
        total += cpu_seconds(int(entry.name))
    return total


def process_tree(pid: int) -> list[int]:
    """`pid` and its descendants (from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    tree, pending = [], [pid]
    while pending:
        current = pending.pop()
        tree.append(current)
        pending.extend(children.get(current, []))
    return tree


def web_workers(pid: int) -> list[int]:
    """The processes serving requests under `manage.py serve`: uvicorn's spawned workers (or the
    server itself when it runs alone)."""
    spawned = []
    for child in process_tree(pid)[1:]:
        try:
            if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes():
                spawned.append(child)
        except OSError:
            pass
    return spawned or [pid]


def rss_bytes(pids: list[int]) -> int:
    """Resident memory of these processes, added up (VmRSS)."""
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
        except OSError:
            pass
    return total


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
