"""Reads that several callers share (the API, the admin, the commands, the services' own checks):
querysets and answers, never a write."""

from __future__ import annotations

from django.db.models import Exists, OuterRef

from .models import TaskExecution, Workflow
from .engine.planner.states import ExecutionStatus as E
from .engine.planner.states import TaskStatus as T


def workflow_has_runs_in_flight(workflow: Workflow) -> bool:
    """A workflow with pending or running executions may not be deleted (archive it instead)."""
    return workflow.executions.filter(status__in=[E.PENDING, E.RUNNING]).exists()


def workflow_runs_in_flight(workflow: Workflow) -> int:
    """How many of the workflow's executions are pending or running (what a delete waits for)."""
    return workflow.executions.filter(status__in=[E.PENDING, E.RUNNING]).count()


def failed_executions(executions, *, step_key: str | None = None, error_contains: str | None = None,
                      error_signature: str | None = None, failed_since=None, failed_until=None):
    """Failed executions whose current attempt of `step_key` (any step if None) failed with an error
    containing `error_contains`, or of signature `error_signature` (workflows/signatures.py), at or
    after `failed_since` and before `failed_until`: the selection of a bulk retry."""
    failed_now = TaskExecution.objects.filter(execution=OuterRef("pk"), status=T.FAILED).current()
    if step_key:
        failed_now = failed_now.filter(step_key=step_key)
    if error_contains:
        failed_now = failed_now.filter(error_message__icontains=error_contains)
    if error_signature:
        failed_now = failed_now.filter(error_signature=error_signature)
    if failed_since is not None:
        failed_now = failed_now.filter(completed_at__gte=failed_since)
    if failed_until is not None:
        failed_now = failed_now.filter(completed_at__lt=failed_until)
    return executions.filter(status=E.FAILED).filter(Exists(failed_now))
