"""Every transition is an event: written to ExecutionLog in the transaction that makes it.

`subscribers` (the live monitor, workflows/live.py) are called after commit with the rows of that
commit. A row about one attempt also carries that attempt's number as `row.attempt` (not a column),
and a row of a run its writer described carries the run's RunLabels as `row.run_labels` (else None).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import transaction

from ..models import ExecutionLog, LogLevel

subscribers: list[Callable[[list[ExecutionLog]], None]] = []


@dataclass(frozen=True)
class RunLabels:
    """What the subscribers label a run's events with, when the writer has it in hand: they read it
    from the database otherwise (one query per commit)."""

    workflow_id: object
    workflow_name: str
    owner_id: object


def labels_of(execution) -> RunLabels:
    """A run's labels, from the run with its workflow loaded."""
    workflow = execution.workflow
    return RunLabels(workflow_id=workflow.pk, workflow_name=workflow.name, owner_id=workflow.owner_id)


@dataclass
class Events:
    """Collects the log lines of one transaction and writes them in one INSERT."""

    rows: list[ExecutionLog] = field(default_factory=list)
    labels: dict = field(default_factory=dict)  # execution id -> RunLabels, given by `describe`

    def describe(self, execution_id, labels: RunLabels) -> None:
        """The run's labels, handed to the subscribers on each of its rows (`row.run_labels`)."""
        self.labels[execution_id] = labels

    def add(self, execution_id, event: str, message: str, *, level: str = LogLevel.INFO, task=None,
            step_key: str = "", **details) -> None:
        row = ExecutionLog(
            execution_id=execution_id, task_execution_id=getattr(task, "pk", task), event=event,
            step_key=step_key or getattr(task, "step_key", ""), level=level, message=message, details=details)
        row.attempt = getattr(task, "attempt", None)
        self.rows.append(row)

    def flush(self) -> None:
        if not self.rows:
            return
        rows, self.rows = self.rows, []
        ExecutionLog.objects.bulk_create(rows)
        for row in rows:
            row.run_labels = self.labels.get(row.execution_id)
        published(rows)


def published(rows: list[ExecutionLog]) -> None:
    """Hand rows written in the current transaction to the subscribers once it commits (at once when
    no transaction is open: a statement that committed by itself)."""
    if subscribers:
        transaction.on_commit(lambda: [notify(rows) for notify in subscribers])
