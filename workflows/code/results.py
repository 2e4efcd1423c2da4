"""What a code step answers: the next move of the run (goto, complete, fail, sleep, wait).

Each is a plain frozen value; the runtime (runtime.py) turns it into a step output or a Wait that the
orchestrator records like any other step's result.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any


def step_name(ref: Any) -> str:
    """A step named by its method (`self.approve`, `Cls.approve`) or by its name ("approve")."""
    if isinstance(ref, str):
        return ref
    name = getattr(ref, "__name__", None)
    if not name:
        raise TypeError(f"name a step by its method or its name, not {ref!r}")
    return name


@dataclass(frozen=True)
class Goto:
    step: str


@dataclass(frozen=True)
class Complete:
    data: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Fail:
    message: str


@dataclass(frozen=True)
class Sleep:
    duration: timedelta


@dataclass(frozen=True)
class WaitForSignal:
    """Park until signal `name` (an event when `event`), or until `timeout`: then `on_timeout`'s step
    runs, or the run fails when there is none. After the signal, `then` runs (default: the step
    declared after the waiting one; the run completes if there is none)."""

    name: str
    timeout: timedelta | None = None
    on_timeout: str | None = None
    then: str | None = None
    event: bool = False


def goto(step: Any) -> Goto:
    """Run `step` next (a new visit of it, if it ran before)."""
    return Goto(step_name(step))


def complete(**data: Any) -> Complete:
    """Merge `data` into the context and complete the run."""
    return Complete(data)


def fail(message: str) -> Fail:
    """Fail the run with `message` (no retry)."""
    return Fail(str(message))


def sleep(duration: timedelta) -> Sleep:
    """A durable timer: the same step runs again (a new visit) after `duration`, holding no worker."""
    if not isinstance(duration, timedelta) or duration < timedelta(0):
        raise ValueError("sleep() takes a timedelta that is not negative")
    return Sleep(duration)


def _check_timeout(timeout: timedelta | None) -> None:
    if timeout is not None and (not isinstance(timeout, timedelta) or timeout <= timedelta(0)):
        raise ValueError("timeout must be a positive timedelta")


class _Wait:
    """`wait.for_signal(...)`: the namespace the seeds write."""

    @staticmethod
    def for_signal(name: str, *, timeout: timedelta | None = None, on_timeout: Any = None,
                   then: Any = None) -> WaitForSignal:
        _check_timeout(timeout)
        return WaitForSignal(name=str(name), timeout=timeout,
                             on_timeout=step_name(on_timeout) if on_timeout is not None else None,
                             then=step_name(then) if then is not None else None)

    @staticmethod
    def for_event(name: str, *, timeout: timedelta | None = None, on_timeout: Any = None,
                  then: Any = None) -> WaitForSignal:
        return wait_for_event(name, timeout=timeout, on_timeout=on_timeout, then=then)


wait = _Wait()


def wait_for_event(name: str, *, timeout: timedelta | None = None, on_timeout: Any = None,
                   then: Any = None) -> WaitForSignal:
    """Park until event `name` is emitted (emit() or POST /api/v1/events/); its payload is merged
    into the context."""
    _check_timeout(timeout)
    return WaitForSignal(name=str(name), timeout=timeout,
                         on_timeout=step_name(on_timeout) if on_timeout is not None else None,
                         then=step_name(then) if then is not None else None, event=True)


Result = Goto | Complete | Fail | Sleep | WaitForSignal
