"""The one interface between the orchestrator and a workflow's planner.

The orchestrator holds a run under its lock, offers its rows through a RunView (reads only, on
demand), asks the definition's Planner to `decide`, and writes the Decision: one write path for
designed workflows (dag.DagPlanner) and code workflows (code.CodePlanner). Pure: a planner sees
plain attempts and answers plain values; it never touches the database.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol


class Attempt(Protocol):
    """What a planner reads of a step's attempt."""

    step_key: str
    visit: int
    attempt: int
    status: str
    branch: str
    error_message: str
    output: Any


class RunView(Protocol):
    """A run's state as a planner may read it, each read made when first asked for."""

    def attempts(self, keys: Iterable[str] | None = None) -> Mapping[str, Attempt | None]:
        """The latest attempt of each step: of every step with a row (keys None), or of the steps in
        `keys` and of any other step asked for later (None for a step with no row)."""

    def latest(self) -> Attempt | None:
        """The run's most recent attempt (a code run's current step)."""

    def last_visit(self, key: str) -> int:
        """The highest visit of step `key` so far (0: never visited)."""

    def has_failed_attempt(self) -> bool:
        """Any failed attempt in the run (a view may know it from its last read of attempts by key)."""

    def has_open_step(self, besides: Iterable[str] = ()) -> bool:
        """A step not yet over (pending, queued, running, waiting or retrying), other than those in
        `besides` (the steps a decision is about to settle)."""

    def when(self, key: str, expression: str) -> bool:
        """Step `key`'s condition over the run's data; raises dag.ConditionError if it cannot say."""


@dataclass(frozen=True)
class Visit:
    """A new visit of a step (a code workflow's next step): a row to create, then queue."""

    key: str
    visit: int
    after: str  # the step it follows
    kwargs: dict | None = None  # an action's validated fields: the visit's keyword arguments


@dataclass
class Decision:
    """What the orchestrator must write: steps to queue, skip, fail (with why), halt, a new visit;
    the outcome once the run is over, and what a completed run answers."""

    queue: list[str] = field(default_factory=list)
    skip: list[str] = field(default_factory=list)
    fail: dict[str, str] = field(default_factory=dict)
    halt: list[str] = field(default_factory=list)
    visit: Visit | None = None
    outcome: str | None = None  # "completed", "failed" or None while the run goes on
    # A completed run's output: "outputs" (the last steps' outputs, by key) or "context" (a code run's).
    answer: str = "outputs"
    error: str = ""  # a failed run: what it says
    failed_steps: dict[str, str] = field(default_factory=dict)  # and why each step failed
    # The steps whose failure the run handled (a failure path, or continue on failure), when the
    # whole run was weighed; None when the decision did not look (no failure in the run).
    handled_failures: list[str] | None = None


class Planner(Protocol):
    """How a kind of workflow runs: the steps a new run gets rows for, then each next decision."""

    @property
    def initial_steps(self) -> tuple[str, ...]: ...

    def decide(self, run: RunView, changed: tuple[str, ...] = ()) -> Decision:
        """The next moves. `changed`: the steps whose attempt just moved (a planner may weigh only
        what is around them); none named: decide from the whole run."""
