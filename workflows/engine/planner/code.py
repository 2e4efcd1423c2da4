"""The pure planner of a code workflow: what follows the run's current step attempt.

A code run is a sequence of step visits; the current one is its latest attempt row. No ORM here:
the orchestrator reads the row, asks `next_move`, and writes what it answers.
"""

from __future__ import annotations

from dataclasses import dataclass

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
