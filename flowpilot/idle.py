"""Whether the embedded engine has work in flight: so that its sweeper can rest while it has none,
and wake as soon as a run starts.

Embedded (one process), every step's message goes through this process's memory broker, which calls
`work_arrived` (flowpilot/memory_broker.py), as does a run scheduled for later, which sends nothing
until the sweeper starts it (orchestrator.enter); a sweep that finds no run and no attempt in flight
calls `at_rest` with the count it read before looking. The engine is idle while no step was
published since such a sweep began: then the beat sends the sweeper every FLOWPILOT_SWEEP_IDLE_INTERVAL
instead of every FLOWPILOT_SWEEP_INTERVAL, and `wait_for_work` wakes it when work arrives
(flowpilot/beat_scheduler.py). In services mode the beat, the workers and the web are different
processes: none of this applies, and the sweeper runs every FLOWPILOT_SWEEP_INTERVAL.
"""

from __future__ import annotations

import threading

_lock = threading.Lock()
_published = 0  # step messages published (and runs scheduled) in this process
_rest_from: int | None = None  # _published when the last sweep that found nothing in flight began
_work = threading.Event()


def work_arrived() -> None:
    global _published
    with _lock:
        _published += 1
    _work.set()


def published() -> int:
    return _published


def at_rest(*, published_before: int) -> None:
    """A sweep that began when `published()` was `published_before` found nothing in flight."""
    global _rest_from
    with _lock:
        _rest_from = published_before


def is_idle() -> bool:
    return _rest_from is not None and _rest_from == _published


def forget_work() -> None:
    """Before looking at the schedule: a step published from now on makes `wait_for_work` return."""
    _work.clear()


def wait_for_work(timeout: float) -> bool:
    """Until a step is published (True) or `timeout` seconds pass (False)."""
    return _work.wait(timeout)
