"""celery-beat's scheduler: django-celery-beat's DatabaseScheduler, asking the database whether the
schedule changed less often when it can be told, and resting the embedded sweeper while it is idle.

The DatabaseScheduler reads PeriodicTasks.last_change at every tick, and a due entry makes two ticks:
with the sweeper sent every second, that query was most of an idle embedded server's work. Every
change to the schedule (a cron trigger saved, an interval edited in the admin) goes through
PeriodicTasks.update_changed, which saves that row: a change made in this process is seen through
that save (once committed) at the next tick, so the database only needs asking every
FLOWPILOT_BEAT_SCHEDULE_CHECK_SECONDS for changes other processes made. The embedded mode's API runs
in the beat's process; in services mode the default is 0: ask at every tick, as before.

Embedded, the sweeper is sent every FLOWPILOT_SWEEP_INTERVAL while the engine has work in flight
and every FLOWPILOT_SWEEP_IDLE_INTERVAL while it has none (flowpilot/idle.py); the beat's sleep
between ticks ends as soon as a step is published, so a run started while idle gets its timers and
retries swept at the usual cadence at once.
"""

from __future__ import annotations

import threading
from time import monotonic

from django.conf import settings
from django.db import transaction
from django.db.models.signals import post_save
from django_celery_beat import schedulers
from django_celery_beat.models import PeriodicTasks

from . import idle

SWEEP_ENTRY = "flowpilot-sweep"  # settings.CELERY_BEAT_SCHEDULE

_changed_here = threading.Event()


def _schedule_changed(**kwargs) -> None:
    transaction.on_commit(_changed_here.set)  # before the commit the beat would read the old time


post_save.connect(_schedule_changed, sender=PeriodicTasks, dispatch_uid="flowpilot-beat-schedule-changed")


class DatabaseScheduler(schedulers.DatabaseScheduler):
    _checked_at: float | None = None
    _swept_at: float | None = None  # when the sweeper was last sent (monotonic)
    _resting = False  # the engine was idle at the last tick

    def tick(self, *args, **kwargs):
        if settings.SERVICES_MODE:
            return super().tick(*args, **kwargs)
        idle.forget_work()  # a step published from here on ends the wait below
        resting = idle.is_idle()
        if self._resting and not resting:
            self._heap = None  # work came: the sweeper's due time is read anew, on the usual cadence
        self._resting = resting
        interval = super().tick(*args, **kwargs)
        if not interval or interval <= 0 or not resting:
            return interval  # busy: sleep as beat does
        idle.wait_for_work(interval)
        return 0  # slept here, where a published step ends the sleep

    def is_due(self, entry):
        is_due, next_time = super().is_due(entry)
        if entry.name != SWEEP_ENTRY or settings.SERVICES_MODE:
            return is_due, next_time
        now = monotonic()
        if is_due and idle.is_idle() and self._swept_at is not None:
            rest = settings.FLOWPILOT_SWEEP_IDLE_INTERVAL - (now - self._swept_at)
            if rest > 0:
                return False, rest
        if is_due:
            self._swept_at = now
        return is_due, next_time

    def schedule_changed(self) -> bool:
        every = settings.FLOWPILOT_BEAT_SCHEDULE_CHECK_SECONDS
        now = monotonic()
        if (not _changed_here.is_set() and self._checked_at is not None
                and now - self._checked_at < every):
            return False
        _changed_here.clear()
        self._checked_at = now
        return super().schedule_changed()
