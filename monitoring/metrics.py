"""Selectors of the metrics: figures computed in the database from the execution tables.

Every function takes `executions`, a WorkflowExecution queryset already limited to what the caller may
see (`WorkflowExecution.objects.visible_to(user)`), and a window [since, until) on when a run or an
attempt ended (`completed_at`). Each answers in a fixed number of queries, whatever the number of rows:
aggregates and window functions in SQL, on PostgreSQL and SQLite alike, over columns kept at write time
(`duration_ms`, `error_signature`: workflows/engine/planner/states.py).

Definitions (docs/adr/0009-metrics-from-the-execution-tables.md):

- a workflow's runs: executions that ended completed or failed in the window; failures: the failed
  ones; durations: started_at -> completed_at of those runs; retries: attempts after the first
  (attempt > 1) of its steps that ended in the window; last_success_at: its latest completed run,
  in or before the window (None if it never completed).
- a step's runs: its attempts that ended completed or failed in the window (each attempt counts);
  failures, retries, durations of those attempts; last_success_at: its latest completed attempt
  in the window.
- percentiles are exact, by nearest rank: p-th percentile = the value at rank ceil(p * n / 100) of
  the n durations in ascending order (p50 of 1..100 ms is 50, p95 is 95).
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from datetime import timezone as dt_timezone

from django.db import connection
from django.db.models import Count, F, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import RowNumber
from django.db.models.expressions import Window
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from workflows.models import TaskExecution, Workflow, WorkflowExecution
from workflows.engine.planner.states import ExecutionStatus as E
from workflows.sql import EpochSeconds
from workflows.engine.planner.states import TaskStatus as T

ENDED = (E.COMPLETED, E.FAILED)  # the outcomes a failure rate is taken over (cancelled runs are not)
PERCENTILES = (50, 95)


@dataclass(frozen=True)
class WorkflowStats:
    workflow_id: uuid.UUID
    workflow_name: str
    runs: int
    failures: int
    failure_rate: float | None  # failures / runs, 0..1; None when runs == 0
    retries: int
    p50_ms: int | None
    p95_ms: int | None
    max_ms: int | None
    last_success_at: datetime | None


@dataclass(frozen=True)
class StepStats:
    workflow_id: uuid.UUID
    workflow_name: str
    step_key: str
    runs: int
    failures: int
    failure_rate: float | None
    retries: int
    p50_ms: int | None
    p95_ms: int | None
    max_ms: int | None
    last_success_at: datetime | None


# --- helpers -------------------------------------------------------------------------------------

def rate(failures: int, runs: int) -> float | None:
    return failures / runs if runs else None


def as_datetime(value) -> datetime | None:
    """A timestamp from raw SQL: SQLite answers text (UTC, naive), PostgreSQL a datetime."""
    if value is None or isinstance(value, datetime):
        return value
    parsed = parse_datetime(value)
    return timezone.make_aware(parsed, dt_timezone.utc) if timezone.is_naive(parsed) else parsed


def as_uuid(value) -> uuid.UUID:
    """A uuid column from raw SQL: SQLite answers its 32 hex characters."""
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


def _summary(rows: QuerySet, group: Sequence[str], *, duration: str, status: str, failed: str,
             completed: str, attempt: str | None = None, ended: str) -> list[tuple]:
    """One query: per group, (*group values, runs, failures, retries, p50, p95, max, last success).

    `rows` is the ORM's queryset of the rows to summarise; its columns (named in the arguments) are
    annotated here with each row's rank by duration within its group (nulls last) and the group's
    count of durations, then summed up around it in SQL (the ORM cannot aggregate a window function).
    """
    partition = [F(g) for g in group]
    inner = rows.annotate(
        rank_=Window(RowNumber(), partition_by=partition, order_by=F(duration).asc(nulls_last=True)),
        n_=Window(Count(duration), partition_by=partition),
        **{f"g{i}_": F(g) for i, g in enumerate(group)},
        d_=F(duration), s_=F(status), e_=F(ended), **({"a_": F(attempt)} if attempt else {}),
    ).order_by().values(*[f"g{i}_" for i in range(len(group))], "rank_", "n_", "d_", "s_", "e_",
                        *(["a_"] if attempt else []))
    sql, params = inner.query.sql_with_params()
    groups = ", ".join(f"g{i}_" for i in range(len(group)))
    ranks = ", ".join(f"MAX(CASE WHEN rank_ = (n_ * {p} + 99) / 100 THEN d_ END)" for p in PERCENTILES)
    retries = "SUM(CASE WHEN a_ > 1 THEN 1 ELSE 0 END)" if attempt else "0"
    outer = (f"SELECT {groups}, COUNT(*), SUM(CASE WHEN s_ = %s THEN 1 ELSE 0 END), {retries}, {ranks}, "
             f"MAX(d_), MAX(CASE WHEN s_ = %s THEN e_ END) FROM ({sql}) AS rows_ GROUP BY {groups}")
    with connection.cursor() as cursor:
        cursor.execute(outer, (failed, completed, *params))
        return cursor.fetchall()


# --- the selectors -------------------------------------------------------------------------------

def workflow_stats(*, executions: QuerySet, since: datetime, until: datetime,
                   workflow_id=None) -> list[WorkflowStats]:
    """Per workflow with runs in `executions` (or the one of `workflow_id`), the figures of the runs
    that ended in [since, until): 3 queries. Workflows without runs in the window have runs=0."""
    if workflow_id is not None:
        executions = executions.filter(workflow_id=workflow_id)
    last_success = (WorkflowExecution.objects.real().filter(workflow=OuterRef("pk"), status=E.COMPLETED)
                    .order_by("-completed_at").values("completed_at")[:1])
    workflows = list(
        Workflow.objects.filter(pk__in=executions.order_by().values("workflow_id"))
        .annotate(last_success_at=Subquery(last_success)).order_by("name", "pk")
        .values_list("pk", "name", "last_success_at"))
    ended = executions.filter(status__in=ENDED, completed_at__gte=since, completed_at__lt=until)
    figures = {as_uuid(row[0]): row[1:] for row in _summary(
        ended, ["workflow_id"], duration="duration_ms", status="status", failed=E.FAILED, completed=E.COMPLETED,
        ended="completed_at")}
    retries = dict(
        TaskExecution.objects.filter(execution__in=executions.order_by().values("pk"), attempt__gt=1,
                                     status__in=[T.COMPLETED, T.FAILED], completed_at__gte=since,
                                     completed_at__lt=until)
        .order_by().values("execution__workflow_id").annotate(n=Count("pk")).values_list("execution__workflow_id", "n"))
    out = []
    for pk, name, last in workflows:
        runs, failures, _, p50, p95, longest, _ = figures.get(pk, (0, 0, 0, None, None, None, None))
        out.append(WorkflowStats(
            workflow_id=pk, workflow_name=name, runs=runs, failures=failures or 0, failure_rate=rate(failures, runs),
            retries=retries.get(pk, 0), p50_ms=p50, p95_ms=p95, max_ms=longest, last_success_at=as_datetime(last)))
    return out


def step_stats(*, executions: QuerySet, since: datetime, until: datetime, workflow_id=None,
               step_key: str | None = None) -> list[StepStats]:
    """Per (workflow, step) with attempts that ended in [since, until): their figures. 2 queries."""
    attempts = TaskExecution.objects.filter(execution__in=executions.order_by().values("pk"),
                                            status__in=[T.COMPLETED, T.FAILED],
                                            completed_at__gte=since, completed_at__lt=until)
    if workflow_id is not None:
        attempts = attempts.filter(execution__workflow_id=workflow_id)
    if step_key is not None:
        attempts = attempts.filter(step_key=step_key)
    rows = _summary(attempts, ["execution__workflow_id", "step_key"], duration="duration_ms", status="status",
                    failed=T.FAILED, completed=T.COMPLETED, attempt="attempt", ended="completed_at")
    names = dict(Workflow.objects.filter(pk__in={as_uuid(r[0]) for r in rows}).values_list("pk", "name"))
    out = [
        StepStats(workflow_id=as_uuid(wf), workflow_name=names.get(as_uuid(wf), ""), step_key=key, runs=runs,
                  failures=failures, failure_rate=rate(failures, runs), retries=retries, p50_ms=p50, p95_ms=p95,
                  max_ms=longest, last_success_at=as_datetime(last))
        for wf, key, runs, failures, retries, p50, p95, longest, last in rows
    ]
    return sorted(out, key=lambda s: (s.workflow_name, str(s.workflow_id), s.step_key))


# --- throughput ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Bucket:
    start: datetime
    started: int  # runs created in the bucket
    completed: int  # runs that ended in the bucket, by outcome
    failed: int


def throughput(*, executions: QuerySet, since: datetime, until: datetime, bucket_seconds: int,
               workflow_id=None) -> list[Bucket]:
    """Runs started, completed and failed per bucket of `bucket_seconds` (aligned on the epoch, so a
    bucket of an hour starts on the hour, UTC) from the one holding `since` to the one before `until`.
    Empty buckets are listed with zeros. 2 queries."""
    if workflow_id is not None:
        executions = executions.filter(workflow_id=workflow_id)
    size = Value(bucket_seconds)

    def counts(rows: QuerySet, column: str):
        return (rows.order_by().annotate(bucket_=EpochSeconds(column) / size * size)
                .values("bucket_", "status").annotate(n_=Count("pk")).values_list("bucket_", "status", "n_"))

    ended = counts(executions.filter(status__in=ENDED, completed_at__gte=since, completed_at__lt=until),
                   "completed_at")
    started = counts(executions.filter(created_at__gte=since, created_at__lt=until), "created_at")
    table: dict[int, dict[str, int]] = {}
    for bucket, status, n in ended:
        table.setdefault(bucket, {}).setdefault(status, 0)
        table[bucket][status] += n
    for bucket, _status, n in started:
        table.setdefault(bucket, {}).setdefault("started", 0)
        table[bucket]["started"] += n
    first = int(since.timestamp()) // bucket_seconds * bucket_seconds
    out = []
    for start in range(first, math.ceil(until.timestamp()), bucket_seconds):
        row = table.get(start, {})
        out.append(Bucket(start=datetime.fromtimestamp(start, dt_timezone.utc), started=row.get("started", 0),
                          completed=row.get(E.COMPLETED, 0), failed=row.get(E.FAILED, 0)))
    return out


# --- what runs now -------------------------------------------------------------------------------

@dataclass(frozen=True)
class RunningNow:
    workflow_id: uuid.UUID
    workflow_name: str
    pending: int  # runs waiting to start (a concurrency slot, or their scheduled time)
    running: int  # runs started and not ended
    waiting: int  # of the running ones, runs with a step waiting for a timer or a signal
    steps_queued: int  # attempts by status now
    steps_running: int
    steps_waiting: int
    steps_retrying: int


def running_now(*, executions: QuerySet, workflow_id=None) -> list[RunningNow]:
    """Per workflow with runs in flight: runs pending and running, and their steps by status. 3 queries."""
    if workflow_id is not None:
        executions = executions.filter(workflow_id=workflow_id)
    runs = (executions.filter(status__in=[E.PENDING, E.RUNNING]).order_by().values("workflow_id", "status")
            .annotate(n_=Count("pk")).values_list("workflow_id", "status", "n_"))
    steps = (TaskExecution.objects.filter(execution__in=executions.filter(status=E.RUNNING).order_by().values("pk"),
                                          status__in=[T.QUEUED, T.RUNNING, T.WAITING, T.RETRYING])
             .order_by().values("execution__workflow_id", "status")
             .annotate(n_=Count("pk"), runs_=Count("execution_id", distinct=True))
             .values_list("execution__workflow_id", "status", "n_", "runs_"))
    table: dict[uuid.UUID, dict[str, int]] = {}
    for wf, status, n in runs:
        table.setdefault(wf, {})[status] = n
    for wf, status, n, distinct_runs in steps:
        table.setdefault(wf, {})[f"steps_{status}"] = n
        if status == T.WAITING:
            table[wf]["waiting"] = distinct_runs
    names = dict(Workflow.objects.filter(pk__in=table).values_list("pk", "name")) if table else {}
    out = [RunningNow(workflow_id=wf, workflow_name=names.get(wf, ""), pending=row.get(E.PENDING, 0),
                      running=row.get(E.RUNNING, 0), waiting=row.get("waiting", 0),
                      steps_queued=row.get("steps_queued", 0), steps_running=row.get("steps_running", 0),
                      steps_waiting=row.get("steps_waiting", 0), steps_retrying=row.get("steps_retrying", 0))
           for wf, row in table.items()]
    return sorted(out, key=lambda r: (r.workflow_name, str(r.workflow_id)))
