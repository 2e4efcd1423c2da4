"""A mocked run's one rule: how a step of a replay (docs/adr/0026-replay-as-a-dry-run.md) or of a test
run (docs/adr/0031-test-run-with-pinned-data-and-bulk-rerun-in-the-ui.md) is answered.

A step with a mock (the user's, or the pinned output of a test run) answers with it. In a replay, a
step with side effects answers with the original run's recorded output else is refused (it fails,
never runs for real), and every other step runs. In a test run ("mocks answer, everything else runs
for real") every step without a mock runs. Pure: the engine (workflows/engine/replay.py) reads the
recording and writes what this answers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

MOCK = "mock"  # the user's mock
RECORDING = "recording"  # the original run's output
PIN = "pin"  # a test run's pinned output (frozen into the run at its start)


@dataclass(frozen=True)
class ReplayAnswer:
    """Exactly one of: run (the handler runs for real), output (answered with it, from `source`),
    refused (the reason the step may not run)."""

    run: bool = False
    output: dict | None = None
    source: str = ""
    refused: str = ""


RUN = ReplayAnswer(run=True)


def needs_recording(*, step_key: str, side_effects: bool, mocks: Mapping[str, Any], test_run: bool = False) -> bool:
    """Whether `answer` will need the original's recorded output of this step (so the engine reads it only then)."""
    return not test_run and side_effects and step_key not in mocks


def answer(*, step_key: str, side_effects: bool, mocks: Mapping[str, Any],
           recorded: tuple[bool, Any] = (False, None), test_run: bool = False) -> ReplayAnswer:
    """How step `step_key` of a replay (or, `test_run`, of a test run with pinned data) is answered.
    `recorded`: (True, output) when the original run completed this step (its last completed
    attempt), else (False, None); a test run has no original and never reads one."""
    if step_key in mocks:
        return ReplayAnswer(output=_as_output(mocks[step_key]), source=PIN if test_run else MOCK)
    if test_run or not side_effects:
        return RUN
    found, output = recorded
    if found:
        return ReplayAnswer(output=_as_output(output), source=RECORDING)
    return ReplayAnswer(refused=f"step {step_key!r} has side effects and is not run in a replay; the original run has "
                                "no completed output for it and no mock was given (give one in `mocks`)")


def _as_output(value: Any) -> dict:
    """An output as handlers answer one: a dict, or anything else as {"result": value}."""
    return value if isinstance(value, dict) else {"result": value}
