"""Pure decisions of a run's compensation (the saga pattern; docs/adr/0035-compensation.md).

When a run fails for good (or is cancelled with {"compensate": true}), the compensation steps of the
steps that completed run one after another, in exactly the reverse order of those steps'
completion. `plan` fixes that order once, from the completed steps; `next_move` answers, from the
statuses of the compensation attempts so far, which one to start, or how the compensation ended.
No ORM: the orchestrator (engine/compensating.py) reads the rows and writes what these answer.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from .states import TaskStatus as T

# A run's phase (WorkflowExecution.phase): "" while it runs normally.
COMPENSATING = "compensating"  # its compensations are running: no normal step starts
COMPENSATED = "compensated"  # every compensation completed
COMPENSATION_FAILED = "compensation_failed"  # a compensation failed for good (or was stopped): the chain stopped
PHASES = (COMPENSATING, COMPENSATED, COMPENSATION_FAILED)


@dataclass(frozen=True)
class Entry:
    """One compensation to run: step `compensation` undoes step `step`. `visit`: the compensation
    step's visit (a compensation step shared by several steps runs once for each, as visits 1, 2...),
    so each has its own attempt rows and idempotency key."""

    step: str
    compensation: str
    visit: int

    def as_json(self) -> dict:
        return {"step": self.step, "compensation": self.compensation, "visit": self.visit}

    @classmethod
    def from_json(cls, data: Mapping) -> Entry:
        return cls(step=str(data["step"]), compensation=str(data["compensation"]), visit=int(data["visit"]))


@dataclass(frozen=True)
class Completed:
    """A step of the run whose latest attempt completed, and when (ties broken by `order`: the
    attempt's creation)."""

    step: str
    completed_at: object
    order: object = 0


def plan(completed: Iterable[Completed], compensate_with: Mapping[str, str]) -> list[Entry]:
    """The compensations to run, in order: those of the completed steps that name one, latest
    completed first. Steps that never completed (failed, skipped, cancelled, never started) are not
    compensated."""
    latest_first = sorted((c for c in completed if compensate_with.get(c.step)),
                          key=lambda c: (c.completed_at, c.order, c.step), reverse=True)
    visits: dict[str, int] = {}
    entries = []
    for done in latest_first:
        target = compensate_with[done.step]
        visits[target] = visits.get(target, 0) + 1
        entries.append(Entry(step=done.step, compensation=target, visit=visits[target]))
    return entries


@dataclass(frozen=True)
class Move:
    """What to do next: start `start` (its first attempt), or wait (both None: a compensation is in
    progress), or end with `outcome` (COMPENSATED, or COMPENSATION_FAILED naming the entry `failed`)."""

    start: Entry | None = None
    outcome: str | None = None
    failed: Entry | None = None


STOPPED = frozenset({T.FAILED, T.CANCELLED, T.SKIPPED})


def next_move(entries: Iterable[Entry], states: Mapping[tuple[str, int], str]) -> Move:
    """The next move of a compensation, given the status of the latest attempt of each compensation
    (by (compensation step, visit); absent: not started). One at a time, in the plan's order; a
    compensation that failed for good stops the chain (the ones after it never start)."""
    for entry in entries:
        state = states.get((entry.compensation, entry.visit))
        if state is None:
            return Move(start=entry)
        if state == T.COMPLETED:
            continue
        if state in STOPPED:
            return Move(outcome=COMPENSATION_FAILED, failed=entry)
        return Move()  # pending, queued, running, waiting or retrying: wait for it
    return Move(outcome=COMPENSATED)
