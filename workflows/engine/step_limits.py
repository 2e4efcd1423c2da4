"""A step's own limits (a step that calls hosts: `limits.concurrency`, `limits.rate`), enforced when
its attempt is about to be queued.

`gate` answers which of the attempts about to be queued may go now; the others are held back in the
same transaction, their status unchanged (pending, or retrying):

- rate, in two steps. Queued: the attempt reserves a slot of the limit's pacing bucket once (GCRA,
  flow_limits.reserve; the bucket's row locked for the UPDATE) and keeps it on its row
  (`rate_slot_at`), so a redelivered or re-swept attempt never takes a second one. A slot within
  FLOWPILOT_RATE_SLOT_HOLD_SECONDS is queued now; a later one waits durably (`throttled = "rate"`,
  `wake_at` = the slot less the hold), and the sweeper queues it then: at most about a hold's worth
  of attempts is queued ahead of the rate, whatever the backlog. Calling: right before the handler
  contacts its host (StepContext.before_call; http_client.send calls it), the attempt takes its slot
  of the limit's own bucket (start_slot) and waits for that instant (orchestrator._slot_waiter): the
  limit holds on the calls themselves, even for an attempt a busy worker picked up late.
- concurrency: the slots of a (scope, key) are the attempts holding it that are queued, or running
  with a live lease (never a counter: a killed worker's attempt stops counting when its lease
  expires). An attempt that finds them all taken waits (`throttled = "concurrency"`); the sweeper
  looks again each pass, oldest first. Counting and taking are serialised per (scope, key) by a
  transaction-scoped advisory lock on PostgreSQL (SQLite serialises every writer anyway).

A step without limits costs nothing here: the definition (cached) says so before any query.
docs/adr/0039-step-limits-and-debounce.md.
"""

from __future__ import annotations

import threading
import zlib
from collections.abc import Callable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from .. import flow_limits, templating
from ..models import LogLevel, TaskExecution, WorkflowExecution
from . import rate_buckets
from .events import Events
from .planner.states import TaskStatus as T

RATE = "rate"
# The pacing bucket of a rate limit (when attempts are queued) is the limit's scope with this first; the
# limit's own bucket (the scope itself) is taken when an attempt starts (start_slot).
QUEUE_PREFIX = "queue:"
CONCURRENCY = "concurrency"
KEY_MAX_LENGTH = 255


def hold_seconds() -> float:
    """How near a rate slot must be for its attempt to be queued now (its worker waits the rest)."""
    return float(settings.FLOWPILOT_RATE_SLOT_HOLD_SECONDS)


def scope_of(limit, *, workflow_id, owner_id, step_key: str) -> str:
    """Whose limit (flow_limits.scope): a named one is the owner's (shared by every workflow naming it),
    else the step's."""
    return flow_limits.scope(owner_id=owner_id, name=limit.name, workflow_id=workflow_id, step_key=step_key)


def label_of(limit, step_key: str) -> str:
    """How events and the why endpoint name a limit: its name, else its step."""
    return limit.name or f"step {step_key}"


def key_value(template: str, data: Callable[[], dict]) -> str:
    """The key template's value for the attempt ("" for none; a template that cannot be rendered
    puts the attempt in the "" key: limited with every other such attempt, never unlimited)."""
    if not template:
        return ""
    if not templating.is_template(template):
        return template[:KEY_MAX_LENGTH]
    try:
        return str(templating.render(template, data(), field="limits.key"))[:KEY_MAX_LENGTH]
    except templating.TemplateError:
        return ""


def gate(execution: WorkflowExecution, definition, rows: list[TaskExecution], *, now: datetime, events: Events,
         data: Callable[[], dict]) -> list[TaskExecution]:
    """The attempts in `rows` (about to be queued, all of the run `execution`) that may be queued now.
    The others are held back, their slot reserved (rate) or their wait recorded (concurrency)."""
    limited = [row for row in rows if definition.steps[row.step_key].limits]
    if not limited:
        return rows
    ids = {row.pk for row in limited}
    fresh = {row.pk: row for row in TaskExecution.objects.select_for_update(of=("self",)).filter(pk__in=ids)
             .only("id", "step_key", "attempt", "throttled", "rate_slot_at", "wake_at", "status")}
    cache: dict = {}

    def run_data() -> dict:
        if "data" not in cache:
            cache["data"] = data()
        return cache["data"]

    go = [row for row in rows if row.pk not in ids]
    for row in limited:
        current = fresh.get(row.pk)
        if current is not None and _admit(execution, definition.steps[row.step_key], current, now=now, events=events,
                                          data=run_data):
            go.append(row)
    return go


def _admit(execution: WorkflowExecution, step, row: TaskExecution, *, now, events: Events, data) -> bool:
    limits = step.limits
    workflow = execution.workflow
    fields: dict = {}
    if limits.concurrency is not None:
        scope = scope_of(limits.concurrency, workflow_id=workflow.pk, owner_id=workflow.owner_id,
                         step_key=step.key)
        key = key_value(limits.concurrency.key, data)
        _lock(scope, key)
        if slots_taken(scope, key, now=now) >= limits.concurrency.max:
            if row.throttled != CONCURRENCY:
                _hold(row, throttled=CONCURRENCY, wake_at=now, limit_scope=scope, limit_key=key)
                events.add(execution.pk, "step.throttled",
                           f"Step {step.key!r} waiting: concurrency limit {label_of(limits.concurrency, step.key)}"
                           f" ({limits.concurrency.max} at once{_of_key(key)}) is full",
                           level=LogLevel.INFO, task=row, limit="concurrency", key=key)
            return False
        fields.update(limit_scope=scope, limit_key=key)
    if limits.rate is not None and row.rate_slot_at is None:
        scope = scope_of(limits.rate, workflow_id=workflow.pk, owner_id=workflow.owner_id, step_key=step.key)
        key = key_value(limits.rate.key, data)
        row.rate_slot_at = take_slot(limits.rate, QUEUE_PREFIX + scope, key, now=now)
        fields["rate_slot_at"] = row.rate_slot_at
        if row.rate_slot_at - now > timedelta(seconds=hold_seconds()):
            _hold(row, throttled=RATE, wake_at=row.rate_slot_at - timedelta(seconds=hold_seconds()), **fields)
            events.add(execution.pk, "step.throttled",
                       f"Step {step.key!r} waiting: rate limit {label_of(limits.rate, step.key)}, next slot at "
                       f"{row.rate_slot_at.isoformat()}",
                       level=LogLevel.INFO, task=row, limit="rate", key=key, until=row.rate_slot_at.isoformat())
            return False
    elif row.rate_slot_at is not None and row.rate_slot_at - now > timedelta(seconds=hold_seconds()):
        return False  # its slot is still far: it goes when the sweeper finds it due
    TaskExecution.objects.filter(pk=row.pk).update(throttled="", **fields)
    return True


def _of_key(key: str) -> str:
    return f" for key {key!r}" if key else ""


def _hold(row: TaskExecution, *, throttled: str, wake_at: datetime, **fields) -> None:
    row.throttled, row.wake_at = throttled, wake_at
    TaskExecution.objects.filter(pk=row.pk).update(throttled=throttled, wake_at=wake_at, **fields)


def _lock(scope: str, key: str) -> None:
    """Serialise the count-and-take of one (scope, key) until the transaction ends."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)",
                           [zlib.crc32(b"step-concurrency") - 2**31, zlib.crc32(f"{scope}\x00{key}".encode()) - 2**31])


def slots_taken(scope: str, key: str, *, now: datetime) -> int:
    """Attempts holding a slot of (scope, key): queued, or running under a live lease."""
    return (TaskExecution.objects.filter(limit_scope=scope, limit_key=key, status__in=[T.QUEUED, T.RUNNING])
            .exclude(status=T.RUNNING, lease_expires_at__lt=now).count())


def take_slot(rate: flow_limits.Rate, scope: str, key: str, *, now: datetime) -> datetime:
    """Reserve the next slot of the bucket (scope, key) in the caller's transaction (rate_buckets.take,
    shared with the run admission's rate). Answers the slot's instant (now, or later)."""
    return rate_buckets.take(scope, key, rate, now).at


def start_slot(execution: WorkflowExecution, step, task: TaskExecution, *,
               data: Callable[[], dict]) -> Callable[[], datetime] | None:
    """For a running attempt of a rate-limited step: what takes its slot of the limit's own bucket,
    in its own transaction, keeping it on its row (rate_slot_at), when called right before the
    handler contacts its host (it calls at that instant). The slot a call is made at is the one the
    limit counts, so a worker that picked the attempt up late cannot bunch it with the next ones.
    The scope and key are found now (the caller's thread); the taking may run on the step's thread,
    whose database connection is closed after. None for a step without a rate limit."""
    rate = step.limits.rate
    if rate is None:
        return None
    workflow = execution.workflow
    scope = scope_of(rate, workflow_id=workflow.pk, owner_id=workflow.owner_id, step_key=step.key)
    key = key_value(rate.key, data)

    def take() -> datetime:
        now = timezone.now()
        try:
            with transaction.atomic():
                at = take_slot(rate, scope, key, now=now)
                TaskExecution.objects.filter(pk=task.pk).update(rate_slot_at=at)
        finally:
            if threading.current_thread() is not threading.main_thread():
                connection.close()  # the step's thread holds no connection between steps
        task.rate_slot_at = at
        return at

    return take
