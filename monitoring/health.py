"""Health checks of the parts FlowPilot needs: the database and the broker."""

from __future__ import annotations

from django.conf import settings
from django.db import connection


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


def report() -> tuple[bool, dict]:
    checks = {"database": check_database(), "broker": check_broker()}
    healthy = all(ok for ok, _ in checks.values())
    return healthy, {
        "status": "healthy" if healthy else "unhealthy",
        "mode": "services" if settings.SERVICES_MODE else "embedded",
        **{name: detail for name, (ok, detail) in checks.items()},
    }
