"""Debounce (a workflow's `limits.debounce` {key, seconds}): a trigger whose key value has a run not
started yet replaces that run's input and pushes its start to `seconds` after itself (trailing edge),
instead of starting another run. Its first trigger creates the run scheduled `seconds` later.

Race-safe: the lookup and the replacement (or the creation) happen under a transaction-scoped
advisory lock on (workflow, key) on PostgreSQL, so concurrent triggers of one key queue on it and
each sees what the one before committed; the pending run itself is locked too, so a sweeper starting
it meanwhile wins and the trigger then starts a new one. docs/adr/0039-step-limits-and-debounce.md.
"""

from __future__ import annotations

import zlib
from datetime import datetime, timedelta

from django.db import connection

from .. import flow_limits, templating
from ..engine.events import Events
from ..errors import InvalidInput
from ..models import Workflow, WorkflowExecution
from ..engine.planner.states import ExecutionStatus as E

# A debounced run's key is stored with this mark first, so that an empty value is a key too (and the
# runs of workflows without debounce, whose column is empty, stay out of its index).
MARK = "="


def key_of(debounce: flow_limits.Debounce, input_data: dict, *, field: str) -> str:
    """The stored debounce key of a trigger with `input_data` (InvalidInput when its template fails)."""
    value = debounce.key
    if templating.is_template(value):
        try:
            value = str(templating.render(value, {"input": input_data}, field="limits.debounce.key"))
        except templating.TemplateError as exc:
            raise InvalidInput(str(exc), fields={field: [f"debounce key: {exc.message}"]}) from None
    return (MARK + value)[:255]


def lock(workflow: Workflow, key: str) -> None:
    """Serialise the triggers of one (workflow, key) until the transaction ends."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)",
                           [zlib.crc32(b"debounce") - 2**31, zlib.crc32(f"{workflow.pk}\x00{key}".encode()) - 2**31])


def start_at(debounce: flow_limits.Debounce, *, now: datetime, scheduled_at: datetime | None = None) -> datetime:
    """When a debounced run starts: `seconds` after its latest trigger (or after its scheduled time)."""
    base = scheduled_at if scheduled_at is not None and scheduled_at > now else now
    return base + timedelta(seconds=debounce.seconds)


def replace_pending(workflow: Workflow, key: str, *, input_data: dict, starts: datetime,
                    concurrency_key: str) -> WorkflowExecution | None:
    """The run of `workflow` with debounce key `key` that has not started, now with `input_data` and
    starting at `starts`; None when there is none (the caller creates it). Under lock(workflow, key)."""
    execution = (WorkflowExecution.objects.select_for_update(of=("self",))
                 .filter(workflow=workflow, debounce_key=key, status=E.PENDING, started_at__isnull=True)
                 .order_by("-created_at").first())
    if execution is None:
        return None
    execution.input, execution.scheduled_at, execution.concurrency_key = input_data, starts, concurrency_key
    execution.save(update_fields=["input", "scheduled_at", "concurrency_key"])
    events = Events()
    events.add(execution.pk, "execution.debounced",
               f"Trigger debounced: input replaced, start pushed to {starts.isoformat()}",
               scheduled_at=starts.isoformat())
    events.flush()
    execution.debounced = True
    return execution
