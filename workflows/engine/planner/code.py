"""The pure planner of a code workflow: what follows the run's current step attempt.

A code run is a sequence of step visits; the current one is its latest attempt row. No ORM here:
CodePlanner (a Planner, decision.py) reads the row through the orchestrator's RunView, asks
`next_move`, and answers the Decision the orchestrator writes.
"""

from __future__ import annotations

from dataclasses import dataclass

from .decision import Decision, RunView, Visit
from .states import TaskStatus as T

TASK_TYPE = "code"  # the task type of every step of a code workflow


@dataclass(frozen=True)
class Move:
    kind: str  # "queue" (send the current attempt), "goto", "complete", "fail", or "none" (in flight)
    step: str = ""
    message: str = ""
    kwargs: dict | None = None  # an action's validated fields: the keyword arguments of the next visit


def next_move(*, status: str, branch: str = "", output: dict | None = None) -> Move:
    if status == T.PENDING:
        return Move("queue")
    if status == T.FAILED:
        return Move("fail")
    if status != T.COMPLETED:
        return Move("none")  # queued, running, waiting, retrying: it finishes by itself; cancelled: over
    output = output or {}
    nxt = output.get("timeout_next") if branch == "timeout" else output.get("next")
    if not isinstance(nxt, dict):
        return Move("fail", message="the step answered no next move")
    if nxt.get("step"):
        kwargs = output.get("kwargs") if output.get("action") and branch != "timeout" else None
        return Move("goto", step=str(nxt["step"]), kwargs=kwargs if isinstance(kwargs, dict) else None)
    return Move("complete")


@dataclass(frozen=True)
class CodePlanner:
    """The Planner of a code workflow: a run starts with its start step; each step names the next
    (a new visit), or completes the run with its context as output, or fails it. A step visited
    more than `max_visits` times fails the run (a loop missing its way out)."""

    start: str
    steps: frozenset[str]
    max_visits: int

    @property
    def initial_steps(self) -> tuple[str, ...]:
        return (self.start,)

    def decide(self, run: RunView, changed: tuple[str, ...] = ()) -> Decision:
        row = run.latest()
        if row is None:
            return Decision()
        move = next_move(status=row.status, branch=row.branch, output=row.output)
        if move.kind == "queue":
            return Decision(queue=[row.step_key])
        if move.kind == "goto" and move.step in self.steps:
            visit = run.last_visit(move.step) + 1
            if visit > self.max_visits:
                message = f"step {move.step!r} would run a visit {visit} (FLOWPILOT_CODE_MAX_VISITS: " \
                          f"{self.max_visits}); is the loop missing its way out?"
                return Decision(outcome="failed", error=message, failed_steps={move.step: message})
            return Decision(visit=Visit(move.step, visit, after=row.step_key, kwargs=move.kwargs))
        if move.kind == "complete":
            return Decision(outcome="completed", answer="context")
        if move.kind in ("fail", "goto"):
            message = move.message or row.error_message or f"no step {move.step!r}"
            return Decision(outcome="failed", error=f"step {row.step_key!r} failed: {message}",
                            failed_steps={row.step_key: message})
        return Decision()  # in flight: it finishes by itself
