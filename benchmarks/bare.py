"""The same no-op work as plain Celery tasks, for comparison: a chain of 5 no-op tasks per run.

The tasks use the project's Celery app (same broker, JSON, acks_late, prefetch) and their own
queue, served by a worker started with `-I benchmarks.bare -Q bench.bare`. A trace dict travels
down the chain (each task's result is the next task's argument): each task records how long it
waited since the previous one returned (or since the chain was sent), and the last task pushes
the trace to a Redis list, which the benchmark reads.
"""

from __future__ import annotations

import json
import os
import time

import redis

from flowpilot.celery import app

QUEUE = "bench.bare"
DONE_KEY = "bench:bare:done"
CHAIN_LENGTH = 5

_redis: redis.Redis | None = None


def _client() -> redis.Redis:
    global _redis
    if _redis is None:  # one client per worker process, made after the fork
        _redis = redis.Redis.from_url(os.environ["REDIS_URL"])
    return _redis


@app.task(name="benchmarks.bare.noop", queue=QUEUE, ignore_result=True)
def noop(trace: dict, last: bool = False) -> dict:
    started = time.time()
    trace["waits"].append(started - trace["sent"])
    if last:
        trace["done"] = time.time()
        _client().rpush(DONE_KEY, json.dumps(trace))
    trace["sent"] = time.time()  # the worker sends the next task of the chain right after we return
    return trace


def send_chain() -> None:
    """Send one chain of CHAIN_LENGTH no-op tasks."""
    from celery import chain

    now = time.time()
    first = noop.s({"created": now, "sent": now, "waits": []})
    rest = [noop.s(last=i == CHAIN_LENGTH - 1) for i in range(1, CHAIN_LENGTH)]
    chain(first, *rest).apply_async()
