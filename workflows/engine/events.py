"""Every transition is an event: written to ExecutionLog in the transaction that makes it.

`subscribers` (the live monitor, workflows/live.py) are called after commit with the rows of that
commit. A row about one attempt also carries that attempt's number as `row.attempt` (not a column),
and a row of a run its writer described carries the run's RunLabels as `row.run_labels` (else None).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.utils import timezone

from ..models import ExecutionLog, LogLevel

subscribers: list[Callable[[list[ExecutionLog]], None]] = []

# The columns a log row is written with (its id comes back), in the order of _INSERT's arrays.
_COLUMNS = ("execution_id", "task_execution_id", "step_key", "level", "event", "message", "details", "timestamp")
_TYPES = ("uuid", "uuid", "varchar", "varchar", "varchar", "text", "jsonb", "timestamptz")


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
        insert(rows)
        for row in rows:
            row.run_labels = self.labels.get(row.execution_id)
        published(rows)


def published(rows: list[ExecutionLog]) -> None:
    """Hand rows written in the current transaction to the subscribers once it commits (at once when
    no transaction is open: a statement that committed by itself)."""
    if subscribers:
        transaction.on_commit(lambda: [notify(rows) for notify in subscribers])


@functools.cache
def _insert_sql() -> str:
    quote = connection.ops.quote_name
    fields = [ExecutionLog._meta.get_field(name) for name in _COLUMNS]
    arrays = ", ".join(f"%s::{kind}[]" for kind in _TYPES)
    return (f"INSERT INTO {quote(ExecutionLog._meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) "
            f"SELECT * FROM UNNEST({arrays}) RETURNING {quote('id')}")


def insert(rows: list[ExecutionLog]) -> None:
    """Write new log rows in one statement, their ids set as bulk_create sets them. On PostgreSQL by
    SQL written once per process (UNNEST of one array per column): the ORM compiled its INSERT for
    every commit (docs/adr/0040); elsewhere bulk_create."""
    if connection.vendor != "postgresql":
        ExecutionLog.objects.bulk_create(rows)
        return
    details = ExecutionLog._meta.get_field("details")
    for row in rows:
        row.timestamp = timezone.now()  # auto_now_add, as bulk_create's pre_save sets it
    columns = [[str(row.execution_id) for row in rows],
               [None if row.task_execution_id is None else str(row.task_execution_id) for row in rows],
               [row.step_key for row in rows], [row.level for row in rows], [row.event for row in rows],
               [row.message for row in rows], [details.get_db_prep_save(row.details, connection) for row in rows],
               [row.timestamp for row in rows]]
    with connection.cursor() as cursor:
        cursor.execute(_insert_sql(), columns)
        ids = [found for (found,) in cursor.fetchall()]
    for row, pk in zip(rows, ids, strict=True):
        row.pk = pk
        row._state.adding, row._state.db = False, connection.alias
