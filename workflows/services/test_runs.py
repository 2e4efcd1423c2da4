"""A test run with pinned data: a run of the workflow's current version started from the designer,
whose steps with a pinned output answer from it (workflows/engine/replay.py, the replay's seam) and
whose other steps run for real (docs/adr/0031-test-run-with-pinned-data-and-bulk-rerun-in-the-ui.md)."""

from __future__ import annotations

from ..models import TriggerSource, Workflow, WorkflowExecution
from .executions import StartItem, executions_start
from .pinned_data import pinned_outputs


def execution_test_run(*, workflow: Workflow, input_data: dict | None = None, user=None,
                       max_retries: int | None = None) -> WorkflowExecution:
    """Start a test run with pinned data: a run of the workflow's current version (checked and bounded
    as any start: active workflow, input within the payload limit) whose steps with a pinned output
    answer from it (`mocked: true`, never run) and whose other steps run for real. The pins are read
    now and kept on the run (`replay_mocks`, `test_run`), so editing them later does not change it.
    Triggered by `manual`; not counted by the metrics, the alerts nor a bulk retry (`.real()`)."""
    mocks = pinned_outputs(workflow=workflow) if workflow.version else {}
    [(execution, _)] = executions_start(
        workflow=workflow, items=[StartItem(input_data, None)], triggered_by=TriggerSource.MANUAL, user=user,
        max_retries=max_retries, fields={"replay_mocks": mocks, "test_run": True},
        said=f" as a test run, {len(mocks)} step(s) pinned")
    return execution
