"""`make run` as a subprocess on a free port with its own var/ directory, for the tests that need
the whole product as users start it (embedded mode, and the browser tests)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
from pathlib import Path

import httpx
import pytest

from workflows.tests.cluster import ROOT, wait_for


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def embedded(request, tmp_path: Path):
    """(base URL, var dir) of a running `make run`; more environment variables by indirect
    parametrization: @pytest.mark.parametrize("embedded", [{"NAME": "value"}], indirect=True)."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY")}
    env.update(FLOWPILOT_VAR_DIR=str(tmp_path), PORT=str(port), FLOWPILOT_STEP_MODULES="workflows.tests.functions",
               FLOWPILOT_HTTP_ALLOWED_NETWORKS="127.0.0.0/8")
    env.update(getattr(request, "param", {}))
    with open(tmp_path / "run.log", "w") as log:
        proc = subprocess.Popen(["make", "--no-print-directory", "run"], cwd=ROOT, env=env, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"

    def healthy():
        assert proc.poll() is None, (tmp_path / "run.log").read_text()
        try:
            return httpx.get(f"{base}/health", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        wait_for(healthy, timeout=180, interval=0.5, message="make run to serve /health")
        yield base, tmp_path
    except AssertionError as error:
        raise AssertionError(f"{error}\n--- make run's output ---\n{(tmp_path / 'run.log').read_text()[-5000:]}")
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def admin_credentials(var: Path) -> dict[str, str]:
    """What the first start wrote to var/admin-credentials.txt: username, password, api token."""
    return dict(line.split(": ", 1) for line in (var / "admin-credentials.txt").read_text().splitlines())


def admin_api(base: str, var: Path) -> httpx.Client:
    return httpx.Client(base_url=f"{base}/api/v1", timeout=10,
                        headers={"Authorization": f"Token {admin_credentials(var)['api token']}"})
