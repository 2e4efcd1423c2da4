"""The step function the benchmark's workflows call, loaded by the workers with
FLOWPILOT_STEP_MODULES=benchmarks.functions."""

from __future__ import annotations

from workflows.steps.python import step_function


@step_function("bench_noop")
def bench_noop() -> dict:
    """Does nothing: the benchmark measures the engine, not the step."""
    return {}
