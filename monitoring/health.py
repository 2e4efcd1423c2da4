"""Health checks of the parts FlowPilot needs: the database, the broker, the workers and the beat.

Three questions, as orchestrators ask them: is the process alive (/health/live: it answers, nothing
checked), can it serve (/health/ready: database and broker), is everything up (/health: workers
and beat too).

Workers and beat are judged by their heartbeats (monitoring/presence.py): a worker counts when its
row was refreshed within FLOWPILOT_HEALTH_WORKER_SECONDS, the beat when its last tick reached a
worker within FLOWPILOT_HEALTH_BEAT_SECONDS. Every part is required: in services mode the separate
worker and beat processes, in the embedded mode the worker and beat threads of the server process.
"""

from __future__ import annotations

from django.conf import settings
from django.db import connection
from django.utils import timezone

from . import presence


def check_database() -> tuple[bool, str]:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        return True, "ok"
    except Exception as exc:
        return False, f"{type(exc).__name__}: {exc}"


def check_broker() -> tuple[bool, str]:
    if not settings.SERVICES_MODE:
        return True, "ok (in-process broker)"
    from flowpilot.celery import app

    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return True, "ok"
    except Exception as exc:
        return False, f"{type(exc).__name__}: {exc}"


def check_workers(now) -> tuple[bool, dict]:
    within = settings.FLOWPILOT_HEALTH_WORKER_SECONDS
    try:
        rows = presence.seen("worker", within=within, now=now)
    except Exception as exc:
        return False, {"status": f"unknown: {type(exc).__name__}", "count": 0, "seen": [], "within_seconds": within}
    seen = [{"name": row.name, "node": row.info.get("node", ""), "queues": row.info.get("queues", []),
             "last_seen": row.seen_at.isoformat(), "age_seconds": round((now - row.seen_at).total_seconds(), 1)}
            for row in rows]
    status = "ok" if seen else f"no worker seen in the last {within:g} s"
    return bool(seen), {"status": status, "count": len(seen), "seen": seen, "within_seconds": within}


def check_beat(now) -> tuple[bool, dict]:
    within = settings.FLOWPILOT_HEALTH_BEAT_SECONDS
    try:
        last = presence.last_tick()
    except Exception as exc:
        return False, {"status": f"unknown: {type(exc).__name__}", "last_tick": None, "age_seconds": None,
                       "within_seconds": within}
    age = None if last is None else round((now - last).total_seconds(), 1)
    ok = age is not None and age <= within
    status = "ok" if ok else ("no tick yet" if last is None else f"no tick in the last {within:g} s")
    return ok, {"status": status, "last_tick": last.isoformat() if last else None, "age_seconds": age,
                "within_seconds": within}


def readiness() -> tuple[bool, dict]:
    """What this web process needs to serve requests: the database and the broker. What load
    balancers and docker-compose's healthcheck ask (/health/ready); workers and beat are not needed
    to answer, so their absence does not take the web out of rotation."""
    database_ok, database = check_database()
    broker_ok, broker = check_broker()
    ready = database_ok and broker_ok
    # "redis": the broker's figure under the name seed 002's README uses (the broker is Redis in services mode).
    return ready, {"status": "ready" if ready else "not ready", "database": database, "broker": broker,
                   "redis": broker}


def report() -> tuple[bool, dict]:
    """Everything (/health, for monitoring): the database, the broker, the workers and the beat."""
    now = timezone.now()
    database_ok, database = check_database()
    broker_ok, broker = check_broker()
    workers_ok, workers = check_workers(now)
    beat_ok, beat = check_beat(now)
    healthy = database_ok and broker_ok and workers_ok and beat_ok
    return healthy, {
        "status": "healthy" if healthy else "unhealthy",
        "mode": "services" if settings.SERVICES_MODE else "embedded",
        "database": database,
        "broker": broker,
        "redis": broker,  # the same figure, named as seed 002's README reads it
        "workers": workers,
        "beat": beat,
    }
