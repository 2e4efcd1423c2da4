"""Failing open while Redis (the cache, the broker, the channel layer) cannot be reached.

A rate limit, a message to the broker or a live update must not take the API down with it: the
request goes on, and each miss is logged and counted for Prometheus (GET /metrics,
monitoring/prometheus.py). The database stays the truth: a queued row is the outbox the sweeper
re-sends once the broker is back (workflows/services/recovery.py), and webhook replays are refused from
the database (triggers/replay.py).
"""

from __future__ import annotations

import logging

from prometheus_client import Counter

log = logging.getLogger(__name__)

# Labelled only: in multi-process mode a child is made when first counted, after monitoring.prometheus
# has chosen the value class.
REQUESTS_UNLIMITED = Counter("flowpilot_requests_unlimited",
                             "Requests let through without their rate limit: the cache was unavailable.",
                             ["limit"])
DISPATCH_DEFERRED = Counter("flowpilot_dispatch_deferred",
                            "Messages not sent to the broker (it was unavailable): left queued for the sweeper.",
                            ["task"])
LIVE_UPDATES_PAUSED = Counter("flowpilot_live_updates_paused",
                              "Times live updates were paused because the channel layer failed.", ["layer"])
COUNTERS = (REQUESTS_UNLIMITED, DISPATCH_DEFERRED, LIVE_UPDATES_PAUSED)


def request_unlimited(limit: str, exc: BaseException) -> None:
    """A request let through because its rate (`limit`) could not be checked."""
    log.warning("%s rate not checked, the cache is unavailable: %s: %s", limit, type(exc).__name__, exc)
    REQUESTS_UNLIMITED.labels(limit=limit).inc()


def dispatch_deferred(task: str, count: int, exc: BaseException) -> None:
    """`count` messages of `task` not sent; their rows stay queued and the sweeper re-sends them."""
    log.warning("%d %s message(s) not sent, the broker is unavailable (%s: %s); the sweeper will re-send them",
                count, task, type(exc).__name__, exc)
    DISPATCH_DEFERRED.labels(task=task).inc(count)


def live_updates_paused(layer: str, pause: float, exc: BaseException) -> None:
    log.warning("live updates not delivered for %g s: the channel layer failed (%s: %s)", pause,
                type(exc).__name__, exc)
    LIVE_UPDATES_PAUSED.labels(layer=layer).inc()
