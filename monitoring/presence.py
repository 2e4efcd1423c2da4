"""Signs of life for /health: worker processes and the beat.

- Each worker (the process that consumes messages: a prefork worker's main process, or the
  embedded mode's in-process worker) runs a consumer bootstep that starts a thread refreshing its
  Heartbeat row every FLOWPILOT_PRESENCE_SECONDS while it consumes, and deletes it on a clean stop.
- The beat sends `monitoring.tasks.beat_tick` every FLOWPILOT_BEAT_TICK_SECONDS; the worker that runs
  it refreshes the "beat" row. So the beat's last tick is the last tick that reached a worker.

One small UPSERT per process per interval. Rows of processes that died without a clean stop age
out of the report (seen_at) and are deleted after a day.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from datetime import datetime, timedelta

from celery import bootsteps
from django.conf import settings
from django.db import close_old_connections
from django.utils import timezone

log = logging.getLogger(__name__)
BEAT = "beat"
FORGET_AFTER = timedelta(days=1)


def record(*, name: str, role: str, info: dict | None = None, now: datetime | None = None) -> None:
    from .models import Heartbeat

    now = now or timezone.now()
    updated = Heartbeat.objects.filter(name=name).update(seen_at=now, **({"info": info} if info is not None else {}))
    if not updated:
        Heartbeat.objects.update_or_create(name=name, defaults={"role": role, "info": info or {}, "seen_at": now},
                                           create_defaults={"role": role, "info": info or {}, "seen_at": now,
                                                            "started_at": now})


def forget(name: str) -> None:
    from .models import Heartbeat

    Heartbeat.objects.filter(name=name).delete()


def beat_ticked(now: datetime | None = None) -> None:
    record(name=BEAT, role="beat", info={"host": socket.gethostname(), "pid": os.getpid()}, now=now)


def seen(role: str, *, within: float, now: datetime | None = None) -> list:
    from .models import Heartbeat

    now = now or timezone.now()
    return list(Heartbeat.objects.filter(role=role, seen_at__gte=now - timedelta(seconds=within)).order_by("name"))


def last_tick() -> datetime | None:
    from .models import Heartbeat

    return Heartbeat.objects.filter(name=BEAT).values_list("seen_at", flat=True).first()


class WorkerPresence(bootsteps.StartStopStep):
    """Consumer bootstep: a thread refreshing this worker's Heartbeat row while the consumer runs."""

    requires = {"celery.worker.consumer.tasks:Tasks"}

    def __init__(self, parent, **kwargs):
        super().__init__(parent, **kwargs)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.name_ = ""

    def start(self, consumer) -> None:
        queues = sorted(q.name for q in consumer.app.amqp.queues.consume_from.values())
        self.name_ = f"{consumer.hostname}:{os.getpid()}"
        info = {"node": consumer.hostname, "host": socket.gethostname(), "pid": os.getpid(), "queues": queues}
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, args=(info,), name="flowpilot-presence", daemon=True)
        self._thread.start()

    def _loop(self, info: dict) -> None:
        first = True
        while True:
            try:
                close_old_connections()
                record(name=self.name_, role="worker", info=info)
                if first:
                    first = False
                    from .models import Heartbeat

                    Heartbeat.objects.filter(seen_at__lt=timezone.now() - FORGET_AFTER).delete()
            except Exception:  # the database may be restarting: report again next time
                log.warning("worker heartbeat failed", exc_info=True)
            if self._stop.wait(settings.FLOWPILOT_PRESENCE_SECONDS):
                return

    def stop(self, consumer) -> None:
        """The consumer stops (a lost broker connection, shutdown): no longer consuming."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def shutdown(self, consumer) -> None:
        self.stop(consumer)
        try:
            close_old_connections()
            forget(self.name_)
        except Exception:
            log.warning("could not remove the worker heartbeat %s", self.name_, exc_info=True)
