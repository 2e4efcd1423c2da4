"""Run a handler with a time limit, on reusable daemon threads.

The worker waits for the handler at most `timeout` seconds and then moves on; a handler that
never returns keeps its thread (Python cannot kill a thread) but not the worker. Threads are reused
because starting one per step was a measurable share of a no-op step's cost; they are daemons, so
a stuck handler never keeps a worker process from exiting. Forked children start a fresh pool.
"""

from __future__ import annotations

import contextvars
import os
import queue
import threading
from collections.abc import Callable


class _Pool:
    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        self._pid = os.getpid()
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        self._idle = 0
        self._lock = threading.Lock()

    def run(self, fn: Callable[[], None], timeout: float) -> bool:
        """Run `fn`; True if it finished within `timeout` seconds."""
        if self._pid != os.getpid():
            self._reset()
        done = threading.Event()
        context = contextvars.copy_context()  # the caller's log context (flowpilot/logs.py) goes along

        def job() -> None:
            try:
                context.run(fn)
            finally:
                done.set()

        with self._lock:
            if self._idle:
                self._idle -= 1
            else:
                threading.Thread(target=self._serve, name="flowpilot-step", daemon=True).start()
        self._jobs.put(job)
        return done.wait(timeout)

    def _serve(self) -> None:
        while True:
            self._jobs.get()()
            with self._lock:
                self._idle += 1


_pool = _Pool()


def run_with_timeout(fn: Callable[[], None], timeout: float) -> bool:
    return _pool.run(fn, timeout)
