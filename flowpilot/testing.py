"""pytest plugin (loaded with -p before Django's settings): real PostgreSQL and Redis when they
answer (always in CI), else the embedded mode.

In CI (CI set) an unreachable service is an error. Elsewhere the tests marked `services` or
`e2e` are skipped and the rest run on SQLite. Tests marked `browser` need Debian's chromium
(CHROMIUM, default /usr/bin/chromium) and the built frontend: in CI their absence is an error.

Under pytest-xdist (`make test` runs two workers) each worker gets its own Redis db here, next to
REDIS_URL's, as pytest-django gives it its own test database (docs/adr/0030).
"""

from __future__ import annotations

import os
import socket
import time
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.core.management.base import CommandError
from django.test import TransactionTestCase


def _reachable(url: str, default_port: int) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or default_port), timeout=1):
            return True
    except OSError:
        return False


IN_CI = bool(os.environ.get("CI"))
# Under pytest-xdist (make test: -n 2) each worker process is gw0, gw1, ...; set before this plugin loads.
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
WORKER_INDEX = int(WORKER.removeprefix("gw")) if WORKER.startswith("gw") else 0
REDIS_DATABASES = 16  # Redis's default `databases`


def worker_redis_url(url: str, index: int) -> str:
    """REDIS_URL for xdist worker `index`: its own db number, the base's plus `index` (minus, when that
    would pass the last db), so that a worker's flushdb and its Celery queues never touch another's.
    (pytest-django gives each worker its own database the same way: test_<name>_gw<index>.)"""
    if not index:
        return url
    parts = urlsplit(url)
    base = int(parts.path.strip("/") or 0)
    db = base + index if base + index < REDIS_DATABASES else base - index
    if not 0 <= db < REDIS_DATABASES:
        raise RuntimeError(f"no Redis db for xdist worker {index} next to {url}: run fewer workers (-n)")
    return urlunsplit(parts._replace(path=f"/{db}"))


if WORKER_INDEX and os.environ.get("REDIS_URL"):
    os.environ["REDIS_URL"] = worker_redis_url(os.environ["REDIS_URL"], WORKER_INDEX)
_pg = os.environ.get("DATABASE_URL", "")
_redis = os.environ.get("REDIS_URL", "")
SERVICES = bool(_pg and _redis) and _reachable(_pg, 5432) and _reachable(_redis, 6379)
if not SERVICES:
    if IN_CI:
        raise RuntimeError(f"CI needs PostgreSQL ({_pg or 'DATABASE_URL unset'}) and Redis "
                           f"({_redis or 'REDIS_URL unset'}) reachable; .ci/run starts them")
    for name in ("DATABASE_URL", "REDIS_URL"):
        os.environ.pop(name, None)
    # Each xdist worker a directory of its own, inside the one its parent set (the workers inherit its environment).
    os.environ["FLOWPILOT_VAR_DIR"] = os.path.join(
        os.environ.get("FLOWPILOT_VAR_DIR") or os.path.join(os.path.dirname(__file__), "..", "var", "test"), WORKER)
os.environ.setdefault("FLOWPILOT_STEP_MODULES", "workflows.tests.functions")
# The seed examples of code workflows (workflows.code), registered as an app's workflows.py would be.
os.environ.setdefault("FLOWPILOT_CODE_WORKFLOW_MODULES", "workflows.tests.code_examples")

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
BROWSER = os.access(CHROMIUM, os.X_OK)


def pytest_collection_modifyitems(config, items):
    skip_services = pytest.mark.skip(
        reason="needs PostgreSQL and Redis (DATABASE_URL, REDIS_URL); CI always runs these")
    skip_browser = pytest.mark.skip(reason=f"needs Debian's chromium at {CHROMIUM} (make test installs it)")
    for item in items:
        if not SERVICES and (item.get_closest_marker("services") or item.get_closest_marker("e2e")):
            item.add_marker(skip_services)
        elif item.get_closest_marker("browser") and not BROWSER:
            if IN_CI:
                raise RuntimeError(f"CI runs the browser tests: no chromium at {CHROMIUM} (make test installs it)")
            item.add_marker(skip_browser)


# A transactional test's data is flushed after it (TRUNCATE of every table). The e2e modules keep real
# worker, beat and web processes running across their tests, and one of them may be inside a
# transaction that locks two tables (a step's record, a sweep, a presence beat) when the TRUNCATE
# takes its locks: PostgreSQL then breaks the deadlock by failing one side, sometimes the flush, and
# the next test found the last one's rows. The flush is taken again, as the processes' own
# transactions are; any other failure is raised at once.
LOCK_RACES = {"40P01", "55P03", "40001"}  # deadlock_detected, lock_not_available, serialization_failure
FLUSH_ATTEMPTS = 5
_flush = TransactionTestCase._fixture_teardown


def lost_a_lock_race(error: BaseException | None) -> bool:
    while error is not None:
        if getattr(error, "sqlstate", None) in LOCK_RACES:
            return True
        error = error.__cause__
    return False


def _flush_again_after_a_lock_race(self) -> None:
    for attempt in range(1, FLUSH_ATTEMPTS + 1):
        try:
            return _flush(self)
        except CommandError as error:
            if attempt == FLUSH_ATTEMPTS or not lost_a_lock_race(error):
                raise
            time.sleep(0.1 * attempt)


TransactionTestCase._fixture_teardown = _flush_again_after_a_lock_race
