"""The engine's side of a mocked run, a replay (docs/adr/0026-replay-as-a-dry-run.md) or a test run
with pinned data (docs/adr/0031-test-run-with-pinned-data-and-bulk-rerun-in-the-ui.md): before its
attempt runs, ask the planner's rule (planner/replay.py) how it is answered, reading the original
run's recorded output only when the rule needs it. One seam: the orchestrator calls
`answer_in_replay` for every attempt, and runs the handler only when it answers None (always for a
real run).
"""

from __future__ import annotations

from ..models import TaskExecution, WorkflowExecution
from ..steps import registry
from ..steps.base import StepError
from .invoke import Outcome
from .planner import replay
from .planner.states import TaskStatus as T


def recorded_output(execution_id, step_key: str) -> tuple[bool, object]:
    """(True, output) of the last completed attempt of `step_key` in run `execution_id`; (False, None)
    when it has none (or the run is gone)."""
    if execution_id is None:
        return False, None
    rows = (TaskExecution.objects.filter(execution_id=execution_id, step_key=step_key, status=T.COMPLETED)
            .order_by("-visit", "-attempt").values_list("output", flat=True)[:1])
    for output in rows:
        return True, output
    return False, None


def answer_in_replay(execution: WorkflowExecution, *, step_key: str, task_type: str, config: dict) -> Outcome | None:
    """The outcome of a replay's or test run's attempt that does not run for real (a mock, a pin, a
    recording, or refused), or None when it runs (a real run's attempts always run)."""
    if execution.replay_mocks is None:  # a real run
        return None
    mocks, test_run = execution.replay_mocks, execution.test_run
    side_effects = registry.has_side_effects(task_type, config)
    recorded = (recorded_output(execution.replay_of_id, step_key)
                if replay.needs_recording(step_key=step_key, side_effects=side_effects, mocks=mocks,
                                          test_run=test_run) else (False, None))
    decided = replay.answer(step_key=step_key, side_effects=side_effects, mocks=mocks, recorded=recorded,
                            test_run=test_run)
    if decided.run:
        return None
    if decided.refused:
        return Outcome(error=StepError(decided.refused, retryable=False, details={"replay": "refused"}))
    said = {replay.MOCK: "the mock given", replay.PIN: "its pinned output"}.get(decided.source,
                                                                                 "the original run's output")
    kind = "Test run" if test_run else "Replay"
    return Outcome(output=decided.output, mocked=True,
                   logs=[("info", f"{kind}: step {step_key!r} answered with {said}, not run",
                          {"mocked": True, "source": decided.source})])
