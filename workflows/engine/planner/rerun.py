"""Which steps a run re-opens when it is rerun from a step: a pure decision over the run's graph and
the status of each step's latest attempt (docs/adr/0025-rerun-from-a-step-and-edit-and-resume.md).

The step and everything downstream of it (its descendants in the DAG: both sides of a branch, the
join after them) run again as new attempts; everything upstream, and every other finished step,
keeps its attempts and outputs. A failed or cancelled step that is not downstream is resumed as a
retry would resume it (a new attempt): the run cannot complete without it. A step downstream that
never ran (pending) keeps its row and runs when ready.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass

from .dag import DONE, Graph
from .states import TaskStatus as T

# A step whose latest attempt ended: a new attempt can be made for it.
ENDED = DONE | {T.FAILED, T.CANCELLED}


@dataclass(frozen=True)
class Reopen:
    """What a rerun from `from_step` does with each step key (each tuple in the graph's order)."""

    from_step: str
    again: tuple[str, ...]     # the step and its descendants that ended: a new attempt each
    waiting: tuple[str, ...]   # its descendants that never ran: they run when ready, as they are
    resumed: tuple[str, ...]   # failed or cancelled steps outside: a new attempt, as a retry makes
    kept: tuple[str, ...]      # every other step: kept as it is (upstream outputs stay)
    problems: tuple[str, ...] = ()  # why the run cannot be re-opened; empty when it can


def descendants(graph: Graph, key: str) -> set[str]:
    """The steps downstream of `key` (not `key` itself), in O(their edges)."""
    found: set[str] = set()
    todo = deque(graph.dependents(key))
    while todo:
        step = todo.popleft()
        if step not in found:
            found.add(step)
            todo.extend(graph.dependents(step))
    return found


def reopen(graph: Graph, states: Mapping[str, str], from_step: str) -> Reopen:
    """How a run whose latest attempts are `states` (by step key) is re-opened from `from_step`.
    A step of the graph with no row counts as pending (not reached yet)."""
    if from_step not in graph.deps:
        return Reopen(from_step, (), (), (), (), problems=(f"{from_step!r} is not a step of this run's version",))
    status = {key: states.get(key, T.PENDING) for key in graph.order}
    downstream = descendants(graph, from_step) | {from_step}
    open_steps = [k for k in graph.order if status[k] not in ENDED | {T.PENDING}]
    problems = ()
    if open_steps:
        problems = (f"step {', '.join(map(repr, open_steps))} of the run is still {status[open_steps[0]]}; "
                    "rerun once it has ended",)
    again = tuple(k for k in graph.order if k in downstream and status[k] in ENDED)
    waiting = tuple(k for k in graph.order if k in downstream and status[k] == T.PENDING)
    resumed = tuple(k for k in graph.order if k not in downstream and status[k] in (T.FAILED, T.CANCELLED))
    kept = tuple(k for k in graph.order if k not in downstream and k not in resumed)
    return Reopen(from_step, again, waiting, resumed, kept, problems)
