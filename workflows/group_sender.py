"""Channel-layer group messages sent from any thread without making it wait.

The engine commits in worker threads and processes that have no event loop; a channel layer is
asyncio. `sender.submit()` only hands the batch to an event loop (call_soon_threadsafe) and returns:
the loop sends it, in submission order, each group_send bounded by a timeout, and logs a failure
(Redis down) instead of raising it. The loop is the one the WebSocket consumers of this process run
on when there is one (the in-memory layer of the embedded mode only delivers on that loop), else a
daemon thread's own loop (a Celery worker process). A send that fails twice running pauses sending:
batches are dropped unsent for `pause` seconds, so a dead Redis costs a timeout now and then, not
one per message.
Best effort: the database stays the truth, and a client that reconnects reads it again.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
import weakref
from collections import deque

from channels.layers import get_channel_layer

log = logging.getLogger(__name__)

Batch = list[tuple[str, dict]]  # (group, message) pairs


class GroupSender:
    def __init__(self, *, max_pending: int = 1000, send_timeout: float = 2.0, pause: float = 5.0) -> None:
        self.max_pending = max_pending
        self.send_timeout = send_timeout
        self.pause = pause
        self._paused_until = 0.0
        self._lock = threading.Lock()
        self._pid = 0
        self._own_loop: asyncio.AbstractEventLoop | None = None
        self._consumer_loop: asyncio.AbstractEventLoop | None = None
        self._pending: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # loop -> deque of batches

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        """Send on `loop` from now on: the WebSocket consumers of this process run there."""
        self._consumer_loop = loop

    def submit(self, batch: Batch) -> None:
        """Queue `batch` for sending and return at once."""
        if not batch:
            return
        loop = self._loop()
        try:
            loop.call_soon_threadsafe(self._enqueue, loop, batch)
        except RuntimeError:  # the loop closed meanwhile (a test's loop, a server stopping)
            log.debug("live update dropped: its event loop is closed")

    def _loop(self) -> asyncio.AbstractEventLoop:
        consumer = self._consumer_loop
        if consumer is not None and consumer.is_running() and not consumer.is_closed():
            return consumer
        with self._lock:
            if self._own_loop is None or self._pid != os.getpid():  # none yet, or inherited by a fork
                self._pid = os.getpid()
                self._own_loop = asyncio.new_event_loop()
                threading.Thread(target=self._own_loop.run_forever, name="flowpilot-live", daemon=True).start()
            return self._own_loop

    def _enqueue(self, loop: asyncio.AbstractEventLoop, batch: Batch) -> None:
        pending = self._pending.get(loop)
        if pending is None:
            pending = self._pending[loop] = deque()
        if len(pending) >= self.max_pending:
            log.warning("live updates dropped: %d batches are waiting for the channel layer", len(pending))
            return
        pending.append(batch)
        if len(pending) == 1:  # nothing is draining this loop's queue: start
            loop.create_task(self._drain(pending))

    async def _drain(self, pending: deque) -> None:
        while pending:
            layer = get_channel_layer()
            for group, message in pending[0]:
                if time.monotonic() < self._paused_until:
                    break  # the layer failed a moment ago: drop, do not wait for another timeout
                await self._send(layer, group, message)
            pending.popleft()

    async def _send(self, layer, group: str, message: dict) -> None:
        # Twice: a pooled connection from before a Redis restart fails once, and then reconnects.
        for attempt in (1, 2):
            try:
                await asyncio.wait_for(layer.group_send(group, message), self.send_timeout)
                return
            except Exception as exc:  # noqa: BLE001  (nothing may reach the engine)
                if attempt == 2:
                    self._failed(exc)

    def _failed(self, exc: Exception) -> None:
        log.warning("live updates not delivered for %g s: the channel layer failed (%s: %s)", self.pause,
                    type(exc).__name__, exc)
        self._paused_until = time.monotonic() + self.pause


sender = GroupSender()
