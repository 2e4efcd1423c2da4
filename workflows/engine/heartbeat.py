"""Leases of running steps: one thread per worker process renews the leases of the steps it runs.

A step whose lease expires (its worker was killed, its machine lost) is taken back by the sweeper
and retried as a new attempt. One UPDATE per process per interval, whatever the number of steps.
"""

from __future__ import annotations

import logging
import os
import threading
from datetime import timedelta

from django.conf import settings
from django.db import close_old_connections
from django.utils import timezone

from ..models import TaskExecution
from .planner.states import TaskStatus

log = logging.getLogger(__name__)

_running: set[str] = set()
_lock = threading.Lock()
_thread: threading.Thread | None = None
_pid: int | None = None


def lease_until(now=None):
    return (now or timezone.now()) + timedelta(seconds=settings.FLOWPILOT_LEASE_SECONDS)


def track(task_id: str) -> None:
    with _lock:
        _running.add(str(task_id))
    _ensure_thread()


def untrack(task_id: str) -> None:
    with _lock:
        _running.discard(str(task_id))


def renew() -> int:
    with _lock:
        ids = list(_running)
    if not ids:
        return 0
    return TaskExecution.objects.filter(id__in=ids, status=TaskStatus.RUNNING).update(lease_expires_at=lease_until())


def _loop() -> None:
    while True:
        threading.Event().wait(settings.FLOWPILOT_HEARTBEAT_SECONDS)
        try:
            close_old_connections()
            renew()
        except Exception:  # the database may be restarting: try again next beat
            log.warning("lease renewal failed", exc_info=True)


def _ensure_thread() -> None:
    global _thread, _pid
    if _thread is not None and _pid == os.getpid() and _thread.is_alive():
        return
    with _lock:
        if _thread is None or _pid != os.getpid() or not _thread.is_alive():
            _pid = os.getpid()
            _thread = threading.Thread(target=_loop, name="flowpilot-heartbeat", daemon=True)
            _thread.start()
