"""Flow control at admission (docs/adr/0038-flow-control-at-admission.md): a workflow's
`limits.concurrency` (N running per key value, the workflow's own or a named limit shared by its
owner's workflows), `limits.priority` (the order pending runs take free slots) and `limits.rate` (run
starts per period per key, a run past it waits pending for its reserved slot).

    at_create(...)        the run's columns its version's limits give it (key values, max, priority)
    ordered(...)          pure: the order pending runs take free slots (priority, aging)
    decide(...)           pure: which of them start, given the slots each key holds
    choose(scope, now)    under the limit's lock row: the pending runs that start now
    take_rate_slot(...)   a run's start slot (engine/rate_buckets.py), reserved once, stored on the run

The slots a limit's key holds are its running (or paused-while-running) runs, counted under the lock:
nothing is counted up and down, so a worker dying mid-run leaks nothing (the run stays running until
the sweeper ends it, and the slot with it). A run without limits never reaches this module.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Count

from .. import flow_limits, templating
from ..flow_limits import Limits
from ..models import LimitLock, Workflow, WorkflowExecution
from . import rate_buckets
from .planner.states import ExecutionStatus as E

SCAN_CHUNK = 500


# --- scopes: whose limit ---------------------------------------------------------------------------

def scope(workflow_id, owner_id, name: str) -> str:
    """A workflow-level limit's scope (flow_limits.scope): its owner's when named, else its workflow's."""
    return flow_limits.scope(owner_id=owner_id, name=name, workflow_id=workflow_id)


AGING_MIN_SECONDS, AGING_MAX_SECONDS = 1.0, 86_400.0


def aging_seconds() -> float:
    """FLOWPILOT_PRIORITY_AGING_SECONDS, within 1 s .. 1 day."""
    return min(max(float(settings.FLOWPILOT_PRIORITY_AGING_SECONDS), AGING_MIN_SECONDS), AGING_MAX_SECONDS)


# --- at creation: the run's columns -----------------------------------------------------------------

def at_create(limits: Limits, workflow: Workflow, input_data: dict) -> dict:
    """The columns a new run of a version with `limits` gets: its concurrency limit's scope, key value
    and max, its priority, its rate key's value. Empty for a version without limits. Raises
    templating.TemplateError (the caller answers 400) for a key that does not render."""
    if not limits:
        return {}
    data = {"input": input_data}
    fields: dict = {}
    if limits.concurrency:
        c = limits.concurrency
        fields.update(limit_scope=scope(workflow.pk, workflow.owner_id, c.name),
                      limit_key=_render(c.key, data, "limits.concurrency.key"), limit_max=c.max)
    if limits.priority:
        try:
            fields["priority"] = flow_limits.priority_of(_render(limits.priority, data, "limits.priority", raw=True))
        except templating.TemplateError:
            fields["priority"] = 0  # an input without the field the priority reads: the default priority
    if limits.rate:
        fields["rate_key"] = _render(limits.rate.key, data, "limits.rate.key")
    return fields


def _render(template: str, data: dict, field: str, *, raw: bool = False):
    if not template:
        return ""
    if not templating.is_template(template):
        return template if raw else template[:255]
    value = templating.render(template, data, field=field)
    return value if raw else str(value)[:255]


# --- the rate: a run's start slot ---------------------------------------------------------------------

def take_rate_slot(execution: WorkflowExecution, limits: Limits, owner_id, now: datetime) -> datetime | None:
    """The run's start slot under its version's limits.rate: reserved the first time it is asked (the
    bucket's row and the run's rate_slot_at written in the caller's transaction: taken exactly once),
    the stored one afterwards. None: no rate limit. The caller saves the run."""
    if not limits.rate:
        return None
    if execution.rate_slot_at is None:
        rate = limits.rate
        slot = rate_buckets.take(scope(execution.workflow_id, owner_id, rate.name), execution.rate_key, rate, now)
        execution.rate_slot_at = slot.at
    return execution.rate_slot_at


# --- the order: priority, with aging -------------------------------------------------------------------

@dataclass(frozen=True)
class Candidate:
    """A pending run that may start now (due), as admission weighs it."""

    id: object
    created_at: datetime
    priority: int = 0
    key: str = ""
    max: int = 0  # its concurrency limit's max (limits.concurrency); 0: none of its own


def ordered(candidates: Iterable[Candidate], now: datetime, aging: float) -> list[Candidate]:
    """The order pending runs take free slots: a run pending for `aging` seconds or more goes before
    every younger one, oldest first (nothing starves longer than that plus the older runs' turn);
    the younger ones highest priority first, then oldest first. choose's two queries read exactly this."""
    cutoff = now - timedelta(seconds=aging)
    old = sorted((c for c in candidates if c.created_at <= cutoff), key=lambda c: (c.created_at, str(c.id)))
    young = sorted((c for c in candidates if c.created_at > cutoff),
                   key=lambda c: (-c.priority, c.created_at, str(c.id)))
    return old + young


def decide(candidates: Iterable[Candidate], held: Mapping[str, int]) -> list:
    """Which of the (ordered) candidates start: each while its key holds fewer than its max running
    runs (a run that starts holds one more). A candidate whose key is full is passed over, not
    waited for: the next one may have a free key."""
    holding = dict(held)
    chosen = []
    for candidate in candidates:
        if holding.get(candidate.key, 0) >= candidate.max:
            continue
        holding[candidate.key] = holding.get(candidate.key, 0) + 1
        chosen.append(candidate.id)
    return chosen


# --- choosing under the limit's lock --------------------------------------------------------------------

def lock(limit_scope: str) -> None:
    """Lock the limit's row until the transaction ends (created the first time: one row per limit)."""
    if not LimitLock.objects.select_for_update().filter(scope=limit_scope).exists():
        LimitLock.objects.bulk_create([LimitLock(scope=limit_scope)], ignore_conflicts=True)
        LimitLock.objects.select_for_update().filter(scope=limit_scope).exists()


def holding(*, limit_scope: str | None = None, workflow_id=None):
    """The runs holding slots: running, or paused while running (unpaused, it carries on without
    waiting for a slot)."""
    where = {"limit_scope": limit_scope} if limit_scope is not None else {"workflow_id": workflow_id}
    return WorkflowExecution.objects.filter(**where).holding_slots()


def pending_in_order(runs, now: datetime, aging: float):
    """Pending due runs of `runs` in `ordered`'s order, as two index scans (the aged, oldest first;
    then the rest by priority): yields model rows with id, created_at, priority, limit_key, limit_max,
    concurrency_key."""
    pending = runs.filter(status=E.PENDING).due(now).only("id", "created_at", "priority", "limit_key", "limit_max",
                                                          "concurrency_key")
    cutoff = now - timedelta(seconds=aging)
    yield from pending.filter(created_at__lte=cutoff).order_by("created_at", "id").iterator(chunk_size=SCAN_CHUNK)
    yield from pending.filter(created_at__gt=cutoff).order_by("-priority", "created_at", "id") \
        .iterator(chunk_size=SCAN_CHUNK)


def choose(limit_scope: str, *, now: datetime, besides: Iterable = ()) -> list:
    """The pending runs of a concurrency limit that start now (the limit's row locked until the
    transaction ends: one admission at a time per limit, across every workflow sharing it), leaving
    out `besides` (runs the caller could not lock)."""
    lock(limit_scope)
    held = dict(holding(limit_scope=limit_scope).values("limit_key").annotate(n=Count("id"))
                .values_list("limit_key", "n"))
    runs = WorkflowExecution.objects.filter(limit_scope=limit_scope)
    besides = list(besides)
    rows = pending_in_order(runs.exclude(pk__in=besides) if besides else runs, now, aging_seconds())
    # Read in chunks of SCAN_CHUNK while deciding: at worst every pending run of the limit is read (a full
    # key passes its runs over; a later one of a free key must still be found), six columns each.
    return decide((Candidate(row.pk, row.created_at, row.priority, row.limit_key, row.limit_max) for row in rows),
                  held)
