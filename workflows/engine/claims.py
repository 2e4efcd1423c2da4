"""The claim: a queued attempt moves to running once, with its lease and its event.

Every step starts with it, so it is written for the round trips it costs. On PostgreSQL it is one
statement, committed by itself: the UPDATE (its condition, `status = 'queued'`, makes a second
delivery claim nothing), the attempt's run read through the UPDATE's FROM, and the step.started log
row inserted from what the UPDATE returned, all in one data-modifying CTE. One round trip instead of
five (BEGIN, UPDATE, SELECT, INSERT, COMMIT). Its commit does not wait for the WAL to reach the
disk (synchronous_commit off for this statement's transaction alone): a claim can be lost only in a
database crash before any later commit (WAL is flushed in order, and the step's result is committed
synchronously after it), and then the attempt is back in `queued` and sent again by the sweeper with
the same idempotency key, as an attempt whose worker died while running is retried: no guarantee of
DESIGN.md's is weakened, and a step no longer waits for two disk flushes. Elsewhere (SQLite, the embedded default) the same
moves in one transaction through transition_rows. Both check the move against the state table and
stamp what the table says (started_at), as every other writer of `status` does (transitions.py).

A worker that follows on (executors.py) claims the step it will run next in the transaction that
queued it (`claim_queued`, under the run's lock): one UPDATE more in that transaction instead of a
claim of its own, and its event goes out with the transaction's others, in order (docs/adr/0040).
"""

from __future__ import annotations

import functools
from datetime import datetime

from django.db import connection, transaction

from ..models import ExecutionLog, LogLevel, TaskExecution, Workflow, WorkflowExecution
from .events import Events, RunLabels, published
from .raw_rows import loaded
from .planner.states import Note, T, check, event_of
from .transitions import emit, stamp_of, transition_rows

_TASK = [f for f in TaskExecution._meta.concrete_fields]
_RUN = [f for f in WorkflowExecution._meta.concrete_fields]
_STARTED = "Step {key!r} attempt {attempt} started"


def claim(task_id, *, now: datetime, lease_expires_at: datetime, worker_id: str,
          celery_task_id: str) -> TaskExecution | None:
    """queued -> running, once: the attempt (its run loaded), or None when another delivery claimed
    it first (or it is no longer queued, or held: its run is paused, and unpausing sends it again)."""
    check("task", T.QUEUED, T.RUNNING)
    fields = {stamp_of("task", T.RUNNING): now, "lease_expires_at": lease_expires_at,
              "worker_id": worker_id[:255], "celery_task_id": celery_task_id[:255]}
    if connection.vendor == "postgresql" and not connection.in_atomic_block:
        return _claim_in_one_statement(task_id, fields, worker_id=worker_id, now=now)
    with transaction.atomic():
        if not transition_rows(TaskExecution.objects.filter(pk=task_id, held=False), T.QUEUED, T.RUNNING, now=now,
                               **fields):
            return None
        task = TaskExecution.objects.select_related("execution").get(pk=task_id)
        events = Events()  # the event of the claim, once the claim read the attempt it won
        emit(events, "task", T.RUNNING, Note(task.execution_id, _STARTED.format(key=task.step_key,
                                                                                attempt=task.attempt),
                                             task=task, details={"worker_id": worker_id}))
        events.flush()
    return task


def claim_queued(task_id, execution: WorkflowExecution, events: Events, *, now: datetime,
                 lease_expires_at: datetime, worker_id: str, celery_task_id: str) -> TaskExecution | None:
    """queued -> running for an attempt queued in the caller's transaction (or deferred by this worker
    in an earlier one: ADR 0041), which holds its run's lock (`execution`): the attempt, or None when
    it is not claimable (held, or claimed already). Nothing commits here: the
    claim is durable with the rest of the transaction, and rolls back with it."""
    check("task", T.QUEUED, T.RUNNING)
    fields = {stamp_of("task", T.RUNNING): now, "lease_expires_at": lease_expires_at,
              "worker_id": worker_id[:255], "celery_task_id": celery_task_id[:255]}
    if connection.vendor == "postgresql":
        task = _claim_returning(task_id, fields)
    elif transition_rows(TaskExecution.objects.filter(pk=task_id, held=False), T.QUEUED, T.RUNNING, now=now, **fields):
        task = TaskExecution.objects.get(pk=task_id)
    else:
        task = None
    if task is None:
        return None
    task.execution = execution
    emit(events, "task", T.RUNNING, Note(execution.pk, _STARTED.format(key=task.step_key, attempt=task.attempt),
                                         task=task, details={"worker_id": worker_id}))
    return task


@functools.cache
def _claim_returning_sql(names: tuple[str, ...]) -> str:
    quote = connection.ops.quote_name
    assignments = ", ".join(f"{quote(name)} = %s" for name in names)
    return (f"UPDATE {quote(TaskExecution._meta.db_table)} SET {quote('status')} = %s, {assignments} "
            f"WHERE {quote('id')} = %s AND {quote('status')} = %s AND NOT {quote('held')} "
            f"RETURNING {', '.join(quote(f.column) for f in _TASK)}")


def _claim_returning(task_id, fields: dict) -> TaskExecution | None:
    with connection.cursor() as cursor:
        cursor.execute(_claim_returning_sql(tuple(fields)), [T.RUNNING, *fields.values(), task_id, T.QUEUED])
        found = cursor.fetchone()
    return None if found is None else loaded(TaskExecution, _TASK, list(found))


def _claim_in_one_statement(task_id, fields: dict, *, worker_id: str, now: datetime) -> TaskExecution | None:
    quote = connection.ops.quote_name
    task_table, run_table = quote(TaskExecution._meta.db_table), quote(WorkflowExecution._meta.db_table)
    workflow_table = quote(Workflow._meta.db_table)
    log_table = quote(ExecutionLog._meta.db_table)
    assignments = ", ".join(f"{quote(name)} = %s" for name in fields)
    returned = ", ".join([*(f"t.{quote(f.column)}" for f in _TASK), *(f"e.{quote(f.column)} AS {quote('run_' + f.column)}" for f in _RUN),
                          f"w.{quote('name')} AS {quote('workflow_name')}", f"w.{quote('owner_id')} AS {quote('owner_id')}"])
    sql = f"""
        WITH unhurried AS (SELECT set_config('synchronous_commit', 'off', true)),
        claimed AS (
            UPDATE {task_table} t SET {quote("status")} = %s, {assignments}
            FROM {run_table} e, {workflow_table} w, unhurried
            WHERE t.{quote("id")} = %s AND t.{quote("status")} = %s AND NOT t.{quote("held")}
              AND e.{quote("id")} = t.{quote("execution_id")} AND w.{quote("id")} = e.{quote("workflow_id")}
            RETURNING {returned}
        ), logged AS (
            INSERT INTO {log_table} ({quote("execution_id")}, {quote("task_execution_id")}, {quote("step_key")},
                                     {quote("level")}, {quote("event")}, {quote("message")}, {quote("details")},
                                     {quote("timestamp")})
            SELECT c.{quote("execution_id")}, c.{quote("id")}, c.{quote("step_key")}, %s, %s,
                   format('Step %%L attempt %%s started', c.{quote("step_key")}, c.{quote("attempt")}),
                   jsonb_build_object('worker_id', %s::text), %s
            FROM claimed c
            RETURNING {quote("id")}
        )
        SELECT claimed.*, (SELECT {quote("id")} FROM logged) FROM claimed
    """
    event = event_of("task", T.RUNNING)
    params = [T.RUNNING, *fields.values(), task_id, T.QUEUED, LogLevel.INFO, event, worker_id, now]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        found = cursor.fetchone()
    if found is None:
        return None
    values = list(found)
    task_values, run_values = values[:len(_TASK)], values[len(_TASK):len(_TASK) + len(_RUN)]
    workflow_name, owner_id, log_id = values[len(_TASK) + len(_RUN):]
    task = loaded(TaskExecution, _TASK, task_values)
    task.execution = loaded(WorkflowExecution, _RUN, run_values)
    row = ExecutionLog(pk=log_id, execution_id=task.execution_id, task_execution_id=task.pk, step_key=task.step_key,
                       level=LogLevel.INFO, event=event, timestamp=now, details={"worker_id": worker_id},
                       message=_STARTED.format(key=task.step_key, attempt=task.attempt))
    row.attempt = task.attempt
    row.run_labels = RunLabels(workflow_id=task.execution.workflow_id, workflow_name=workflow_name, owner_id=owner_id)
    published([row])
    return task
