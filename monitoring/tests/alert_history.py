"""Runs that ended at given times, written directly (as the transitions would leave them), for the
alert tests: each run has one attempt of one step, lasting `duration_ms`."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from workflows.models import TaskExecution, WorkflowExecution
from workflows.engine.planner.states import ExecutionStatus as E
from workflows.engine.planner.states import TaskStatus as T
from workflows.tests.factories import active_workflow, step


def registration(owner, name: str = "patient registration"):
    return active_workflow(owner, [step("validate", function="noop"),
                                   step("create_patient", function="noop", depends_on=["validate"])], name=name)


def add_runs(workflow, *, ended: datetime, ok: int = 0, failed: int = 0, duration_ms: int = 100,
             step_key: str = "create_patient") -> None:
    version = workflow.versions.order_by("-number").first().pk
    executions, tasks = [], []
    for index in range(ok + failed):
        bad = index >= ok
        end = ended - timedelta(milliseconds=index)
        start = end - timedelta(milliseconds=duration_ms)
        execution = WorkflowExecution(id=uuid.uuid4(), workflow=workflow, workflow_version_id=version,
                                      status=E.FAILED if bad else E.COMPLETED, started_at=start, completed_at=end,
                                      duration_ms=duration_ms)
        executions.append(execution)
        tasks.append(TaskExecution(execution=execution, step_key=step_key, task_type="python", attempt=1,
                                   status=T.FAILED if bad else T.COMPLETED, started_at=start, completed_at=end,
                                   duration_ms=duration_ms, error_message="EHR answered 503" if bad else ""))
    WorkflowExecution.objects.bulk_create(executions)
    TaskExecution.objects.bulk_create(tasks)
