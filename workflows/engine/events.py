"""Every transition is an event: written to ExecutionLog in the transaction that makes it.

`subscribers` (the live monitor, workflows/live.py) are called after commit with the rows of that
commit. A row about one attempt also carries that attempt's number as `row.attempt` (not a column).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import transaction

from ..models import ExecutionLog, LogLevel

subscribers: list[Callable[[list[ExecutionLog]], None]] = []


@dataclass
class Events:
    """Collects the log lines of one transaction and writes them in one INSERT."""

    rows: list[ExecutionLog] = field(default_factory=list)

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
        published(rows)


def published(rows: list[ExecutionLog]) -> None:
    """Hand rows written in the current transaction to the subscribers once it commits (at once when
    no transaction is open: a statement that committed by itself)."""
    if subscribers:
        transaction.on_commit(lambda: [notify(rows) for notify in subscribers])
