"""A circuit breaker per target origin (scheme, host, port) for outbound HTTP.

After FLOWPILOT_CIRCUIT_FAILURES consecutive failures (connection errors, timeouts, and the answers
of a host that is down or overloaded: 429, 502, 503, 504) the circuit opens for FLOWPILOT_CIRCUIT_COOLDOWN_SECONDS: calls fail fast with a retryable
CircuitOpen, without a request. After the cool-down one trial call is let through (half-open):
success closes the circuit, failure opens it for another cool-down. Any other answer (2xx, 3xx,
4xx, and a 500, which is usually about one request's input, not the host) proves the host is up
and closes it too. A fail-fast answer does not use up an attempt of the step's retry policy: the
step is retried after the cool-down as often as it takes. FLOWPILOT_CIRCUIT_FAILURES=0
turns the breaker off.

The decisions (`state_at`, `opens_after`) are pure. The state lives in Django's cache so that every
worker process sees it, in three keys per origin:

- failures: a counter (cache.incr), deleted on success;
- open_until: the wall-clock time the cool-down ends; it outlives the cool-down, because "past
  open_until" is what makes the circuit half-open rather than closed;
- trial: taken with cache.add (atomic in Redis and in LocMem) by the one call that may try.

Tolerated races, all of which cost at most a few extra requests or fail-fast answers, never a stuck
circuit: calls that were admitted before the circuit opened still finish and are recorded (a late
success closes the circuit, as any answer from the host would); two processes reaching the threshold
together both write open_until (nearly the same time); a success and a failure recorded at the same
moment may leave the counter one off; a trial whose worker died holds its slot only until the slot's
timeout (the call's timeout plus a margin). If the cache itself fails, calls are let through: the
breaker protects hosts, it must not become an outage of its own.
"""

from __future__ import annotations

import enum
import hashlib
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from urllib.parse import urlsplit

from django.conf import settings
from django.core.cache import BaseCache, cache as default_cache

from .steps.base import StepError

logger = logging.getLogger(__name__)

# How long a circuit's keys live without news: a host not called for a day starts closed again.
STATE_TTL_SECONDS = 24 * 3600
TRIAL_MARGIN_SECONDS = 5


class State(enum.Enum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


@dataclass(frozen=True)
class Policy:
    failures: int  # consecutive failures that open the circuit; 0 disables the breaker
    cooldown_seconds: float

    @classmethod
    def from_settings(cls) -> Policy:
        return cls(failures=settings.FLOWPILOT_CIRCUIT_FAILURES,
                   cooldown_seconds=settings.FLOWPILOT_CIRCUIT_COOLDOWN_SECONDS)

    @property
    def enabled(self) -> bool:
        return self.failures > 0


def state_at(open_until: float | None, now: float) -> State:
    """The circuit's state at `now`, given when its cool-down ends (None: it has not opened)."""
    if open_until is None:
        return State.CLOSED
    return State.OPEN if now < open_until else State.HALF_OPEN


def opens_after(failures: int, *, policy: Policy, trial: bool) -> bool:
    """Whether a failure opens (or re-opens) the circuit: a failed trial always does."""
    return trial or failures >= policy.failures


def origin(url: str) -> str:
    """scheme://host:port of a URL, the unit a circuit is kept for."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    port = parts.port or (443 if scheme == "https" else 80)
    host = (parts.hostname or "").lower()
    host = f"[{host}]" if ":" in host else host
    return f"{scheme}://{host}:{port}"


def host_key(value: str) -> str:
    """A host filter as a user gives it, as a circuit's key: an origin or a URL (scheme://host[:port]/...)
    gives its origin(); a bare host name is kept, lower-cased (it matches that host on any scheme and port)."""
    value = value.strip()
    return origin(value) if "://" in value else value.lower().rstrip("/")


def calls_host(url, key: str) -> bool:
    """Whether a step's configured URL calls the host of `key` (host_key). A URL with a template is
    judged by its fixed start, which must name the whole host (".../{{ input.path }}" does; a URL whose
    host is a template matches no key: it is known only when the step runs)."""
    if not isinstance(url, str) or not key:
        return False
    fixed = url.split("{{", 1)[0].split("{%", 1)[0]
    if "://" not in fixed or (fixed != url and "/" not in fixed.split("://", 1)[1]):
        return False
    try:
        parts, step_origin = urlsplit(fixed), origin(fixed)
    except ValueError:
        return False
    if not parts.hostname:
        return False
    return step_origin == key if "://" in key else parts.hostname == key


# Answers that say the host itself is down or overloaded, not that one request was bad.
DOWN_STATUSES = frozenset({429, 502, 503, 504})


class CircuitOpen(StepError):
    """Failing fast: the circuit for `origin` is open (retryable, after `retry_after` seconds)."""

    def __init__(self, origin: str, *, until: float, now: float, trial_in_flight: bool = False):
        when = datetime.fromtimestamp(until, tz=timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")
        why = " (a trial request is in flight)" if trial_in_flight else ""
        super().__init__(f"circuit open for {origin} until {when}{why}; not calling", retryable=True,
                         details={"circuit": origin, "open_until": when},
                         retry_after=max(until - now, 0.0), consumes_attempt=False)
        self.origin = origin


@dataclass(frozen=True)
class Ticket:
    """Permission for one call: `trial` when it is the half-open circuit's one trial."""

    origin: str
    trial: bool = False
    tracked: bool = True  # False when the breaker is off or its cache failed: nothing to record


class Breaker:
    """The breaker's storage side: admit a call, then record how it went."""

    def __init__(self, *, policy: Policy | None = None, cache: BaseCache | None = None,
                 clock: Callable[[], float] = time.time):
        self.policy = policy or Policy.from_settings()
        self.cache = cache or default_cache
        self.clock = clock

    def _keys(self, origin: str) -> tuple[str, str, str]:
        digest = hashlib.sha256(origin.encode()).hexdigest()[:32]  # any host fits a cache key
        return f"circuit:{digest}:failures", f"circuit:{digest}:open_until", f"circuit:{digest}:trial"

    def open_until(self, origin: str) -> float | None:
        """When the cool-down of `origin`'s circuit ends (past: half-open), None if it has not opened
        or the cache cannot say: a read for reports (GET /executions/{id}/why/), deciding nothing."""
        try:
            return self.cache.get(self._keys(origin)[1])
        except Exception:
            return None

    def admit(self, origin: str, *, call_timeout: float) -> Ticket:
        """A ticket for one call to `origin`, or CircuitOpen while the circuit is open."""
        if not self.policy.enabled:
            return Ticket(origin, tracked=False)
        _, open_key, trial_key = self._keys(origin)
        now = self.clock()
        try:
            open_until = self.cache.get(open_key)
            state = state_at(open_until, now)
            if state is State.CLOSED:
                return Ticket(origin)
            if state is State.OPEN:
                raise CircuitOpen(origin, until=open_until, now=now)
            slot = call_timeout + TRIAL_MARGIN_SECONDS
            if self.cache.add(trial_key, now + slot, timeout=math.ceil(slot)):
                return Ticket(origin, trial=True)
            trial_until = self.cache.get(trial_key) or now
        except CircuitOpen:
            raise
        except Exception:  # the cache is down: let the call through untracked
            logger.warning("circuit breaker: cache unavailable; calling %s unguarded", origin, exc_info=True)
            return Ticket(origin, tracked=False)
        raise CircuitOpen(origin, until=min(trial_until, now + self.policy.cooldown_seconds), now=now,
                          trial_in_flight=True)

    def succeeded(self, ticket: Ticket) -> None:
        """The host answered: the circuit closes."""
        if ticket.tracked:
            self._quietly(lambda: self.cache.delete_many(list(self._keys(ticket.origin))))

    def failed(self, ticket: Ticket) -> None:
        """A failure of the host's: count it, and open the circuit at the threshold or after a failed trial."""
        if not ticket.tracked:
            return
        failures_key, open_key, trial_key = self._keys(ticket.origin)

        def record() -> None:
            self.cache.add(failures_key, 0, timeout=STATE_TTL_SECONDS)
            try:
                failures = self.cache.incr(failures_key)
            except ValueError:  # expired between add and incr
                self.cache.add(failures_key, 1, timeout=STATE_TTL_SECONDS)
                failures = 1
            if opens_after(failures, policy=self.policy, trial=ticket.trial):
                open_until = self.clock() + self.policy.cooldown_seconds
                self.cache.set(open_key, open_until, timeout=STATE_TTL_SECONDS)
                logger.warning("circuit breaker: %s opened after %d consecutive failures", ticket.origin, failures)
            if ticket.trial:  # only after open_until moved on, so no second trial slips in between
                self.cache.delete(trial_key)

        self._quietly(record)

    def abandoned(self, ticket: Ticket) -> None:
        """The call was never made (e.g. the address was refused): give the trial slot back."""
        if ticket.tracked and ticket.trial:
            self._quietly(lambda: self.cache.delete(self._keys(ticket.origin)[2]))

    def _quietly(self, action: Callable[[], object]) -> None:
        try:
            action()
        except Exception:
            logger.warning("circuit breaker: cache unavailable; outcome not recorded", exc_info=True)
