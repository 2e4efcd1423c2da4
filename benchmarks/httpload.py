"""Drive an HTTP server with N concurrent clients, from this process, and measure what it answers.

Used by `make loadtest` (benchmarks/loadtest.py) and by the load tests (workflows/tests/test_load.py):
one way to send load and count answers. Each client is a coroutine with its own keep-alive connection
(aiohttp), taking the next request from a shared source until the count or the time is up, so at
most `clients` requests are in flight at once. Only 127.0.0.1 is driven: a load test never leaves
the machine.

    result = run_load(base_url, requests=plan, clients=100, count=3000, seconds=60)
    print(result.summary())
"""

from __future__ import annotations

import asyncio
import itertools
import statistics
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import aiohttp

MAX_CLIENTS = 2_000
MAX_REQUESTS = 1_000_000
MAX_SECONDS = 3_600.0
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    json: object = None
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    label: str = ""


@dataclass
class Answer:
    request: Request
    status: int  # 0: no HTTP answer (connection refused or reset, timeout)
    seconds: float
    body: object = None  # the JSON body when it is JSON, else the text (first 500 characters)
    error: str = ""


@dataclass
class LoadResult:
    clients: int
    wall_seconds: float
    answers: list[Answer]

    @property
    def statuses(self) -> Counter:
        return Counter(a.status for a in self.answers)

    @property
    def server_errors(self) -> list[Answer]:
        """5xx answers, and requests that got no answer at all."""
        return [a for a in self.answers if a.status >= 500 or a.status == 0]

    @property
    def requests_per_second(self) -> float:
        return len(self.answers) / self.wall_seconds if self.wall_seconds else 0.0

    def latency_ms(self, q: int) -> float:
        return percentile([a.seconds * 1000 for a in self.answers], q)

    def summary(self) -> str:
        statuses = ", ".join(f"{code or 'no answer'}: {n}" for code, n in sorted(self.statuses.items()))
        return (f"{len(self.answers)} requests from {self.clients} clients in {self.wall_seconds:.2f} s "
                f"({self.requests_per_second:,.0f}/s); p50 {self.latency_ms(50):.1f} ms, p95 "
                f"{self.latency_ms(95):.1f} ms, p99 {self.latency_ms(99):.1f} ms; {statuses}")


def percentile(values: list[float], q: int) -> float:
    """The nearest-rank percentile (q in 1..100); nan for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, -(-q * len(ordered) // 100))  # ceil(q/100 * n)
    return ordered[rank - 1]


def mean(values: list[float]) -> float:
    return statistics.fmean(values) if values else float("nan")


def check_local(base_url: str) -> None:
    host = urlsplit(base_url).hostname or ""
    if host not in LOCAL_HOSTS:
        raise ValueError(f"load is sent to 127.0.0.1 only, not to {host!r}")


def run_load(base_url: str, *, requests: Iterator[Request] | Callable[[int], Request], clients: int,
             count: int, seconds: float = 120.0, rate: float | None = None,
             timeout: float = 60.0) -> LoadResult:
    """Send up to `count` requests (and for at most `seconds`) from `clients` concurrent clients.

    `requests` is an iterator of Requests, or a function of the request's index. With `rate`, the
    requests start at that many per second (an open loop: latency includes waiting for a free
    client); without it, each client sends its next request as soon as the last one is answered.
    """
    check_local(base_url)
    if not 1 <= clients <= MAX_CLIENTS:
        raise ValueError(f"clients must be between 1 and {MAX_CLIENTS}")
    if not 1 <= count <= MAX_REQUESTS:
        raise ValueError(f"count must be between 1 and {MAX_REQUESTS}")
    if not 0 < seconds <= MAX_SECONDS:
        raise ValueError(f"seconds must be between 0 and {MAX_SECONDS:g}")
    source = (requests(i) for i in itertools.count()) if callable(requests) else iter(requests)
    return asyncio.run(_drive(base_url.rstrip("/"), source, clients=clients, count=count, seconds=seconds,
                              rate=rate, timeout=timeout))


async def _drive(base_url: str, source: Iterator[Request], *, clients: int, count: int, seconds: float,
                 rate: float | None, timeout: float) -> LoadResult:
    answers: list[Answer] = []
    issued = 0
    begin = time.monotonic()
    deadline = begin + seconds

    def take() -> tuple[Request, float] | None:
        """The next request and when it is due (now, or on the rate's schedule)."""
        nonlocal issued
        if issued >= count or time.monotonic() >= deadline:
            return None
        try:
            request = next(source)
        except StopIteration:
            return None
        due = begin + issued / rate if rate else 0.0
        issued += 1
        return request, due

    connector = aiohttp.TCPConnector(limit=clients, limit_per_host=clients, force_close=False)
    client_timeout = aiohttp.ClientTimeout(total=timeout)

    async def client(session: aiohttp.ClientSession) -> None:
        while (item := take()) is not None:
            request, due = item
            if due:
                await asyncio.sleep(max(0.0, due - time.monotonic()))
            started = due if due else time.monotonic()
            answers.append(await _send(session, base_url, request, started))

    async with aiohttp.ClientSession(connector=connector, timeout=client_timeout) as session:
        await asyncio.gather(*(client(session) for _ in range(clients)))
    return LoadResult(clients=clients, wall_seconds=time.monotonic() - begin, answers=answers)


async def _send(session: aiohttp.ClientSession, base_url: str, request: Request, started: float) -> Answer:
    try:
        async with session.request(request.method, base_url + request.path, json=request.json,
                                   data=request.body, headers=request.headers) as response:
            text = await response.text(errors="replace")
            seconds = time.monotonic() - started
            body: object = text[:500]
            if response.content_type == "application/json":
                try:
                    body = await response.json(content_type=None)
                except ValueError:
                    pass
            return Answer(request, response.status, seconds, body)
    except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
        return Answer(request, 0, time.monotonic() - started, error=f"{type(exc).__name__}: {exc}")
