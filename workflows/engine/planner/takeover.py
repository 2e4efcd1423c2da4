"""Can another version of a designed workflow take over a failed run? A pure decision over the new
version's graph and the status of each step's latest attempt (docs/adr/0023-retry-on-the-latest-version.md).

A step the run finished (completed or skipped) and the new version still has is kept: its output
stays, it does not run again. Failed, cancelled and never-run steps that the new version has run
with its config; steps the new version adds get a row and run when their dependencies are done;
steps it removed are left as they are (their attempts stay in the history; a pending one is
skipped). The takeover is refused when a kept step would depend, in the new version, on a step the
run has not finished: its output was made without that step, and running the step after it would
reverse the graph's order.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from .dag import DONE, Graph
from .states import TaskStatus as T


@dataclass(frozen=True)
class Takeover:
    """What a retry on another version does with each step key (each tuple in the graph's order,
    the removed ones sorted)."""

    kept: tuple[str, ...]     # in both, finished: kept as they are
    rerun: tuple[str, ...]    # in both, failed or cancelled: a new attempt on the new version
    pending: tuple[str, ...]  # in both, not run yet: run on the new version when ready
    added: tuple[str, ...]    # only in the new version: a new row, run when ready
    removed: tuple[str, ...]  # only in the run: left in its history (a pending one is skipped)
    problems: tuple[str, ...] = ()  # why the new version cannot take over; empty when it can


def takeover(graph: Graph, states: Mapping[str, str]) -> Takeover:
    """How a run whose latest attempts are `states` (by step key) continues on `graph`."""
    kept = tuple(k for k in graph.order if states.get(k) in DONE)
    rerun = tuple(k for k in graph.order if states.get(k) in (T.FAILED, T.CANCELLED))
    pending = tuple(k for k in graph.order if states.get(k) == T.PENDING)
    added = tuple(k for k in graph.order if k not in states)
    removed = tuple(sorted(k for k in states if k not in graph.deps))
    problems = []
    open_steps = sorted(k for k, status in states.items() if status not in DONE | {T.FAILED, T.CANCELLED, T.PENDING})
    if open_steps:
        problems.append(f"step {', '.join(map(repr, open_steps))} of the run is still "
                        f"{states[open_steps[0]]}; retry once it has ended")
    finished = set(kept)
    for key in kept:
        missing = [dep for dep in graph.deps[key] if dep not in finished]
        if missing:
            problems.append(f"step {key!r} is done in this run, but the latest version makes it depend on "
                            f"{', '.join(map(repr, missing))}, which the run has not done")
    return Takeover(kept=kept, rerun=rerun, pending=pending, added=added, removed=removed, problems=tuple(problems))
