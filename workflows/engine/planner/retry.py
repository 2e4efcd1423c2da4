"""Retry policy: a validated value and the pure backoff arithmetic."""

from __future__ import annotations

import random
from dataclasses import dataclass

from ... import bounds


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
        # Bounds from workflows/bounds.py; written so that NaN fails every comparison.
        if not 0 <= self.max_retries <= bounds.MAX_RETRIES:
            raise ValueError(f"max_retries must be between 0 and {bounds.MAX_RETRIES}")
        high = bounds.max_retry_delay()
        for name in ("base_delay", "max_delay"):
            if not 0 <= getattr(self, name) <= high:
                raise ValueError(f"{name} must be between 0 and {high:g} seconds")
        if not 1 <= self.backoff_factor <= bounds.max_backoff_factor():
            raise ValueError(f"backoff_factor must be between 1 and {bounds.max_backoff_factor():g}")
        if self.max_delay < self.base_delay:
            raise ValueError("max_delay must be at least base_delay")

    @property
    def max_attempts(self) -> int:
        return self.max_retries + 1

    def delay_bounds(self, retry_number: int) -> tuple[float, float]:
        """The (lowest, highest) wait before retry number `retry_number` (1 for the first retry)."""
        try:
            raw = min(self.max_delay, self.base_delay * self.backoff_factor ** max(retry_number - 1, 0))
        except OverflowError:  # a large factor to a large power: past the maximum is the maximum
            raw = self.max_delay
        return (raw / 2, raw) if self.jitter else (raw, raw)

    def delay(self, retry_number: int, rand: random.Random | None = None) -> float:
        low, high = self.delay_bounds(retry_number)
        return low if low == high else (rand or random).uniform(low, high)

    def should_retry(self, attempts_made: int, *, retryable: bool = True) -> bool:
        return retryable and attempts_made < self.max_attempts

    @classmethod
    def merged(cls, default: dict, override: dict, *, clamp: bool = False) -> RetryPolicy:
        """The workflow's default policy with a step's non-empty fields laid over it. With `clamp`
        (the engine reading a stored definition) each value is brought within the bounds instead
        of refused: a definition stored before a bound existed still runs."""
        values = {k: v for k, v in default.items() if v is not None}
        values.update({k: v for k, v in override.items() if v is not None})
        return cls.clamped(values) if clamp else cls(**values)

    @classmethod
    def clamped(cls, values: dict) -> RetryPolicy:
        default = cls.__dataclass_fields__
        high = bounds.max_retry_delay()
        base = bounds.clamp(values.get("base_delay"), 0.0, high, default=default["base_delay"].default)
        return cls(
            max_retries=int(bounds.clamp(values.get("max_retries"), 0, bounds.MAX_RETRIES,
                                         default=default["max_retries"].default)),
            base_delay=base,
            backoff_factor=bounds.clamp(values.get("backoff_factor"), 1.0, bounds.max_backoff_factor(),
                                        default=default["backoff_factor"].default),
            max_delay=max(base, bounds.clamp(values.get("max_delay"), 0.0, high, default=default["max_delay"].default)),
            jitter=bool(values.get("jitter", True)),
        )
