"""The one writer of `status`: every status change in FlowPilot goes through `transition()` (one
locked instance) or `transition_rows()` (a conditional UPDATE on many rows). Both refuse a pair that
is not in the state table (planner/states.py), so an illegal transition is impossible rather than
merely unlikely; given the Events of the transaction, both record the change's event, named by the
table, with the caller's words (a Note).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from django.db import connection, models, transaction
from django.db.models import F, Value
from django.utils import timezone

from ..signatures import signature
from ..sql import MillisecondsBetween
from .planner.states import TABLES, E, Note, T, check, event_of

if TYPE_CHECKING:
    from django.db.models import Model, QuerySet

    from .events import Events


# The timestamp each target status sets, where it has one.
_STAMPS = {
    "execution": {E.RUNNING: "started_at", E.COMPLETED: "completed_at", E.FAILED: "completed_at",
                  E.CANCELLED: "completed_at"},
    "task": {T.QUEUED: "queued_at", T.RUNNING: "started_at", T.COMPLETED: "completed_at",
             T.FAILED: "completed_at", T.SKIPPED: "completed_at", T.CANCELLED: "completed_at"},
}


def _derived(model: type[Model], fields: dict[str, Any], *, instance: Model | None = None) -> None:
    """Columns kept with what a transition writes, for the metrics (monitoring/metrics.py): the
    signature of the error it records, and the duration when it sets completed_at (from started_at:
    the instance's, or each row's in the UPDATE; none if the row never started)."""
    names = {f.name for f in model._meta.concrete_fields}
    if "error_message" in fields and "error_signature" in names:
        fields["error_signature"] = signature(fields["error_message"]) if fields["error_message"] else ""
    if "duration_ms" not in names or "completed_at" not in fields:
        return
    end = fields["completed_at"]
    if end is None:
        fields["duration_ms"] = None
    elif instance is not None:
        started = fields.get("started_at", instance.started_at)
        fields["duration_ms"] = (end - started) // timedelta(milliseconds=1) if started else None
    else:
        fields["duration_ms"] = MillisecondsBetween(F("started_at"), Value(end, output_field=models.DateTimeField()))


def emit(events: Events, kind: str, status: str, notes: Note | Iterable[Note], *, created: bool = False,
         source: str | None = None) -> None:
    """Record the event of a change already written: a row created in `status` (`created`), or a
    move whose words could only be known after it (the claim reads the attempt it won)."""
    name = event_of(kind, status, created=created, source=source)
    for note in [notes] if isinstance(notes, Note) else notes:
        events.add(note.execution_id, name, note.message, level=note.level, task=note.task, **note.details)
def stamp_of(kind: str, target: str) -> str | None:
    """The timestamp field a move to `target` sets (started_at, completed_at...), if any."""
    return _STAMPS[kind].get(target)


def _kind_of(model: type[Model]) -> str:
    kind = getattr(model, "state_machine", None)
    if kind not in TABLES:
        raise TypeError(f"{model.__name__} has no state machine")
    return kind


def transition(obj: Model, target: str, *, now=None, events: Events | None = None, note: Note | None = None,
               **fields: Any) -> Model:
    """Move one row, locked by the caller (select_for_update inside atomic), to `target`.

    The stamp field of the target (started_at, completed_at...) is set unless given, and only the
    changed fields are written. With `events`, the move's event is recorded with `note`.
    """
    if (events is None) != (note is None):
        raise TypeError("transition() records its event with both `events` and a `note`, or neither")
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("transition() needs a transaction holding the row's lock")
    kind = _kind_of(type(obj))
    source = obj.status
    check(kind, source, target)
    stamp = _STAMPS[kind].get(target)
    if stamp and stamp not in fields and not (target == E.RUNNING and kind == "execution"
                                               and obj.started_at):
        fields[stamp] = now or timezone.now()
    _derived(type(obj), fields, instance=obj)
    obj.status = target
    for name, value in fields.items():
        setattr(obj, name, value)
    obj.save(update_fields=["status", *fields])
    if events is not None:
        emit(events, kind, target, note, source=source)
    return obj


def transition_rows(queryset: QuerySet, source: str | Iterable[str], target: str, *, now=None,
                    events: Events | None = None, notes: Iterable[Note] = (), **fields: Any) -> int:
    """Conditionally move the rows of `queryset` that are in `source` to `target`; returns how many moved.

    The condition is in the UPDATE itself, so two workers racing for one row cannot both win.
    With `events`, the move's event is recorded with each of `notes` (one per row the caller names)
    when the UPDATE moved a row: a claim that lost says nothing.
    """
    notes = list(notes)
    kind, sources = _prepared(queryset.model, source, target, now, fields, notes, events)
    moved = queryset.filter(status__in=sources).update(status=target, **fields)
    if moved and notes:
        emit(events, kind, target, notes)
    return moved


def transition_ids(model: type[Model], ids: Iterable, source: str | Iterable[str], target: str, *, now=None,
                   events: Events | None = None, notes: Iterable[Note] = (), **fields: Any) -> int:
    """transition_rows() for the rows of `model` whose primary keys are `ids`: the same checks, stamps
    and events; on PostgreSQL one UPDATE by SQL written once per process for each set of columns (the
    ORM compiles its UPDATE anew each time: a sixth of a worker's CPU per step, docs/adr/0041)."""
    ids = list(ids)
    if connection.vendor != "postgresql" or not ids:
        return transition_rows(model.objects.filter(pk__in=ids), source, target, now=now, events=events,
                               notes=notes, **fields)
    notes = list(notes)
    kind, sources = _prepared(model, source, target, now, fields, notes, events)
    meta = model._meta
    durations = tuple(isinstance(value, MillisecondsBetween) for value in fields.values())
    params: list[Any] = [target]
    for (name, value), duration in zip(fields.items(), durations):
        if duration:  # _derived's duration_ms: from each row's started_at to completed_at, by the SQL
            name, value = "completed_at", fields["completed_at"]
        params.append(meta.get_field(name).get_db_prep_save(value, connection))
    params.append([meta.pk.get_db_prep_value(i, connection) for i in ids])
    params.extend(sources)
    names = tuple(fields)
    with connection.cursor() as cursor:
        cursor.execute(_update_sql(model, names, durations, len(sources)), params)
        moved = cursor.rowcount
    if moved and notes:
        emit(events, kind, target, notes)
    return moved


@functools.cache
def _update_sql(model: type[Model], names: tuple[str, ...], durations: tuple[bool, ...], sources: int) -> str:
    quote, meta = connection.ops.quote_name, model._meta
    started = quote(meta.get_field("started_at").column) if any(durations) else ""
    sets = [f"{quote('status')} = %s"]
    for name, duration in zip(names, durations):
        column = quote(meta.get_field(name).column)
        sets.append(f"{column} = FLOOR(EXTRACT(EPOCH FROM (%s - {started})) * 1000)::bigint" if duration
                    else f"{column} = %s")
    keys = f"%s::{meta.pk.db_type(connection)}[]"
    return (f"UPDATE {quote(meta.db_table)} SET {', '.join(sets)} WHERE {quote(meta.pk.column)} = ANY({keys}) "
            f"AND {quote('status')} IN ({', '.join(['%s'] * sources)})")


def _prepared(model: type[Model], source: str | Iterable[str], target: str, now, fields: dict[str, Any],
              notes: list[Note], events: Events | None) -> tuple[str, list[str]]:
    """What a conditional move writes: its kind and sources, each pair checked against the state table;
    `fields` completed with the target's stamp and the derived columns."""
    if notes and events is None:
        raise TypeError("transition_rows() needs the `events` to record its notes in")
    kind = _kind_of(model)
    sources = [source] if isinstance(source, str) else list(source)
    for src in sources:
        check(kind, src, target)
    stamp = _STAMPS[kind].get(target)
    if stamp and stamp not in fields:
        fields[stamp] = now or timezone.now()
    _derived(model, fields)
    return kind, sources
