"""Retry policy: a validated value and the pure backoff arithmetic."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently a step is retried.

    max_retries: retries after the first attempt (so at most max_retries + 1 attempts).
    base_delay, max_delay: seconds. The n-th retry waits base_delay * backoff_factor**(n-1), capped
    at max_delay, with "equal jitter" (between half and all of that) so that 200 runs failing at
    once do not all come back in the same millisecond.
    """

    max_retries: int = 3
    base_delay: float = 1.0
    backoff_factor: float = 2.0
    max_delay: float = 300.0
    jitter: bool = True

    def __post_init__(self):
        if not 0 <= self.max_retries <= 100:
            raise ValueError("max_retries must be between 0 and 100")
        if self.base_delay < 0 or self.max_delay < 0:
            raise ValueError("retry delays must not be negative")
        if self.backoff_factor < 1:
            raise ValueError("backoff_factor must be at least 1")
        if self.max_delay < self.base_delay:
            raise ValueError("max_delay must be at least base_delay")

    @property
    def max_attempts(self) -> int:
        return self.max_retries + 1

    def delay_bounds(self, retry_number: int) -> tuple[float, float]:
        """The (lowest, highest) wait before retry number `retry_number` (1 for the first retry)."""
        raw = min(self.max_delay, self.base_delay * self.backoff_factor ** max(retry_number - 1, 0))
        return (raw / 2, raw) if self.jitter else (raw, raw)

    def delay(self, retry_number: int, rand: random.Random | None = None) -> float:
        low, high = self.delay_bounds(retry_number)
        return low if low == high else (rand or random).uniform(low, high)

    def should_retry(self, attempts_made: int, *, retryable: bool = True) -> bool:
        return retryable and attempts_made < self.max_attempts

    @classmethod
    def merged(cls, default: dict, override: dict) -> RetryPolicy:
        """The workflow's default policy with a step's non-empty fields laid over it."""
        values = {k: v for k, v in default.items() if v is not None}
        values.update({k: v for k, v in override.items() if v is not None})
        return cls(**values)
