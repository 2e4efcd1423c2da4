"""Live events sent to channel-layer groups from any thread, without making the thread wait.

The engine commits in worker threads and processes that have no event loop; a channel layer is
asyncio. `submit()` only puts the commit's events in an outbox and, if no send is under way, wakes
an event loop (call_soon_threadsafe). That loop waits `linger` seconds for more commits, then sends
everything the outbox holds: one message per group, in commit order, and only to the groups that
have members (one Redis round trip asks which do; nobody watching costs no more). Under load a wake-up
and a send carry many commits instead of one each. The loop is the one the WebSocket consumers of
this process run on when there is one (the in-memory layer of the embedded mode only delivers
there), else a daemon thread's own loop (a Celery worker process).

Each group_send is bounded by a timeout and tried twice (a pooled connection from before a Redis
restart fails once); then sending pauses: events are dropped unsent for `pause` seconds, so a dead
Redis costs a timeout now and then, not one per commit. Nothing raises into the engine. Best
effort: the database stays the truth, and a client that reconnects reads it again.
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

from flowpilot import fail_open

log = logging.getLogger(__name__)

Batch = dict[str, list[dict]]  # group -> the events of one commit for it, in order
MESSAGE_TYPE = "live.events"  # handled by LiveConsumer.live_events
MAX_EVENTS_PER_MESSAGE = 500


class _Outbox:
    def __init__(self) -> None:
        self.batches: deque[Batch] = deque()
        self.draining = False


class GroupSender:
    def __init__(self, *, message_type: str = MESSAGE_TYPE, linger: float = 0.02, max_pending: int = 10_000,
                 send_timeout: float = 2.0, pause: float = 5.0) -> None:
        self.message_type = message_type
        self.linger = linger
        self.max_pending = max_pending
        self.send_timeout = send_timeout
        self.pause = pause
        self._paused_until = 0.0
        self._lock = threading.Lock()
        self._pid = 0
        self._own_loop: asyncio.AbstractEventLoop | None = None
        self._consumer_loop: asyncio.AbstractEventLoop | None = None
        self._outboxes: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # loop -> _Outbox

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        """Send on `loop` from now on: the WebSocket consumers of this process run there."""
        self._consumer_loop = loop

    def submit(self, batch: Batch) -> None:
        """Queue one commit's events for their groups and return at once."""
        if not batch:
            return
        loop = self._loop()
        dropped = wake = False
        with self._lock:
            outbox = self._outboxes.setdefault(loop, _Outbox())
            if len(outbox.batches) >= self.max_pending:
                dropped = True
            else:
                outbox.batches.append(batch)
                wake, outbox.draining = not outbox.draining, True
        if dropped:
            log.warning("live updates dropped: %d commits are waiting for the channel layer", self.max_pending)
        elif wake:
            try:
                loop.call_soon_threadsafe(self._start, loop, outbox)
            except RuntimeError:  # the loop closed meanwhile (a test's loop, a server stopping)
                log.debug("live updates dropped: their event loop is closed")

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

    def _start(self, loop: asyncio.AbstractEventLoop, outbox: _Outbox) -> None:
        loop.create_task(self._drain(outbox))

    async def _drain(self, outbox: _Outbox) -> None:
        while True:
            await asyncio.sleep(self.linger)  # let the commits of the next moments join this send
            with self._lock:
                if not outbox.batches:
                    outbox.draining = False
                    return
                batches = list(outbox.batches)
                outbox.batches.clear()
            if time.monotonic() < self._paused_until:
                continue  # the layer failed a moment ago: drop, do not wait for another timeout
            layer = get_channel_layer()
            by_group = merged(batches)
            try:
                async with asyncio.timeout(self.send_timeout):
                    listened = await groups_with_members(layer, list(by_group))
            except Exception as exc:  # noqa: BLE001  (nothing may reach the engine)
                listened = set(by_group)  # cannot tell: send to all, and let the sends report
                log.debug("could not ask which groups have members: %s", exc)
            for group in (g for g in by_group if g in listened):
                events = by_group[group]
                for start in range(0, len(events), MAX_EVENTS_PER_MESSAGE):
                    if time.monotonic() < self._paused_until:
                        break
                    chunk = events[start:start + MAX_EVENTS_PER_MESSAGE]
                    await self._send(layer, group, {"type": self.message_type, "events": chunk})

    async def _send(self, layer, group: str, message: dict) -> None:
        for attempt in (1, 2):
            try:
                async with asyncio.timeout(self.send_timeout):
                    await layer.group_send(group, message)
                return
            except Exception as exc:  # noqa: BLE001  (nothing may reach the engine)
                if attempt == 2:
                    self._failed(exc)

    def _failed(self, exc: Exception) -> None:
        fail_open.live_updates_paused(type(get_channel_layer()).__name__, self.pause, exc)
        self._paused_until = time.monotonic() + self.pause


async def groups_with_members(layer, groups: list[str]) -> set[str]:
    """The groups someone listens to. channels-redis keeps a group's members in one key per group: one
    pipelined EXISTS per Redis host answers for all of them. Other layers: the in-memory layer's table,
    or every group when the layer cannot tell."""
    if hasattr(layer, "_group_key") and hasattr(layer, "consistent_hash"):  # channels_redis RedisChannelLayer
        by_host: dict[int, list[str]] = {}
        for group in groups:
            by_host.setdefault(layer.consistent_hash(group), []).append(group)
        found = set()
        for index, host_groups in by_host.items():
            pipe = layer.connection(index).pipeline(transaction=False)
            for group in host_groups:
                pipe.exists(layer._group_key(group))
            found |= {g for g, exists in zip(host_groups, await pipe.execute()) if exists}
        return found
    if isinstance(getattr(layer, "groups", None), dict):  # channels' InMemoryChannelLayer
        return {g for g in groups if layer.groups.get(g)}
    return set(groups)


def merged(batches: list[Batch]) -> Batch:
    """Consecutive commits' events, per group, in commit order."""
    out: Batch = {}
    for batch in batches:
        for group, events in batch.items():
            out.setdefault(group, []).extend(events)
    return out


sender = GroupSender()
