"""Why isn't it running? The diagnosis of a run from plain values (no ORM, no cache, no clock).

A selector (monitoring/why.py) reads what the engine, the workers and the circuit breaker record:
each step's current attempt, the run's concurrency holders, the workers that listen on the steps'
queue, the circuits' states; `diagnose` says, for the run and for each step that is not running,
why, as reason codes with a sentence and, where there is one, the time it ends (`until`).
docs/adr/0027-why-isnt-it-running.md gives the codes and the shape.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime

from .states import ExecutionStatus as E
from .states import TaskStatus as T

# The reason codes, in one place (the API's and the monitor's vocabulary).
CONCURRENCY = "concurrency"  # a pending run: its concurrency limit's slots (or its key's) are held by other runs
SCHEDULED = "scheduled"  # a pending run scheduled to start later
STARTING = "starting"  # a pending run nothing holds back: it starts at the next admission
QUEUED = "queued"  # a step sent to its queue, a worker listens: waiting its turn
NO_WORKER = "no_worker"  # a step sent to a queue no live worker listens on
RUNNING = "running"
TIMER = "timer"  # a durable timer (a delay, a code workflow's sleep)
SIGNAL = "signal"  # waiting for a named signal (with a timeout or not)
APPROVAL = "approval"  # waiting for a person to approve or reject
CHILDREN = "children"  # waiting for its child runs (sub_workflow, for_each)
BACKOFF = "backoff"  # an attempt failed; the next one is due at `until`
CIRCUIT_OPEN = "circuit_open"  # the last attempt was refused by an open circuit breaker
UPSTREAM = "upstream"  # waiting for the steps it depends on
HALTED = "halted"  # not started (or stopped before it held a worker) because another step failed
FAILED = "failed"
CANCELLED = "cancelled"
COMPLETED = "completed"
PAUSED = "paused"  # the run is paused (docs/adr/0033): no new step starts, its timers wait for the unpause
# A step (or, for the workflow-level rate, a run) waiting for its rate limit's slot, `until` the slot (issue 18).
# A step waiting for its own concurrency limit's slot answers CONCURRENCY with its step key (ADR 0039).
RATE_LIMIT = "rate_limit"

REASONS = (CONCURRENCY, SCHEDULED, STARTING, QUEUED, NO_WORKER, RUNNING, TIMER, SIGNAL, APPROVAL, CHILDREN,
           BACKOFF, CIRCUIT_OPEN, UPSTREAM, HALTED, FAILED, CANCELLED, COMPLETED, PAUSED, RATE_LIMIT)
# How many run ids a sentence names (the reason's `runs` holds the same ones).
NAMED_RUNS = 5


@dataclass(frozen=True)
class Step:
    """A step's current attempt, as the diagnosis reads it."""

    step_key: str
    status: str
    attempt: int = 1
    depends_on: tuple[str, ...] = ()
    queued_at: datetime | None = None
    started_at: datetime | None = None
    wake_at: datetime | None = None
    signal_name: str = ""
    approval: bool = False  # an approval step's wait (approve/reject), not a plain signal
    for_children: bool = False  # waiting for its child runs (sub_workflow, for_each), not a signal
    children: tuple[str, ...] = ()  # those of them not finished yet (some, by id)
    worker_id: str = ""
    lease_expires_at: datetime | None = None
    error_message: str = ""
    # A retrying attempt: why the attempt before it failed, and the circuit (origin) that refused it.
    previous_error: str = ""
    previous_circuit: str = ""
    # Held back by the step's own limits (engine/step_limits.py): "rate" (until rate_slot_at) or
    # "concurrency"; `limit`: how the limit is named (its name, or "step <key>").
    throttled: str = ""
    rate_slot_at: datetime | None = None
    limit: str = ""
    concurrency_max: int | None = None
    limit_key: str = ""


@dataclass(frozen=True)
class Worker:
    """A worker process seen alive recently (monitoring/presence.py) and the queues it consumes."""

    name: str
    queues: tuple[str, ...]


@dataclass(frozen=True)
class Admission:
    """What holds a pending run back: the workflow's limits and the runs holding them."""

    max_concurrency: int | None = None
    running: int = 0  # the workflow's running executions
    slot_holders: tuple[str, ...] = ()  # some of them (ids the asker may see), when every slot is taken
    concurrency_key: str = ""  # this run's key value
    key_held: int = 0  # running executions with the same key value
    key_holders: tuple[str, ...] = ()  # some of them (ids the asker may see)
    # limits.concurrency (docs/adr/0038): its name ("" : the workflow's own), this run's key value, its max,
    # the runs holding that key's slots (how many, some of them).
    limit: bool = False
    limit_name: str = ""
    limit_key: str = ""
    limit_max: int = 0
    limit_held: int = 0
    limit_holders: tuple[str, ...] = ()
    # limits.rate: the start slot reserved for this run, the limit's name and this run's key value.
    rate_slot_at: datetime | None = None
    rate_name: str = ""
    rate_key: str = ""


@dataclass(frozen=True)
class RunState:
    status: str
    now: datetime
    steps: tuple[Step, ...] = ()  # the current attempt of each step, in the definition's order
    queue: str = ""  # the queue a step's message goes to
    workers: tuple[Worker, ...] = ()
    admission: Admission = field(default_factory=Admission)
    scheduled_at: datetime | None = None
    error_message: str = ""
    completed_at: datetime | None = None
    circuits: Mapping[str, datetime | None] = field(default_factory=dict)  # origin -> open until (None: closed)
    # Whether the scheduler (celery beat, which runs the sweeper) ticked lately: due timers and retries
    # wait for it. None: not asked (nothing was due).
    scheduler_alive: bool | None = None


@dataclass(frozen=True)
class Reason:
    step_key: str | None  # None: about the run as a whole
    reason: str
    detail: str
    until: datetime | None = None
    runs: tuple[str, ...] = ()  # the runs it is about (concurrency holders, child runs)
    queue: str = ""  # no_worker / queued: the queue
    host: str = ""  # circuit_open: the origin


def _at(moment: datetime | None) -> str:
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z") if moment else "?"


def _ago(now: datetime, moment: datetime | None) -> str:
    if moment is None:
        return ""
    seconds = max(int((now - moment).total_seconds()), 0)
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h"


def _runs(ids: tuple[str, ...], total: int | None = None) -> str:
    """"run a, b and 3 more": the first few ids named, the rest (and those the asker may not see) counted."""
    total = len(ids) if total is None else max(total, len(ids))
    shown = ids[:NAMED_RUNS]
    more = total - len(shown)
    if not shown:
        return f"{total} other run{'s' if total != 1 else ''}"
    named = f"run{'s' if total > 1 else ''} {', '.join(shown)}"
    return f"{named} and {more} more" if more > 0 else named


def diagnose(state: RunState) -> list[Reason]:
    """Why the run, and each of its steps that is not running, is where it is. A finished run says
    how it finished (and, failed, which step failed and what it halted); a pending run what keeps it
    from starting; a running run, step by step, what each open step waits for (a running step
    says `running`). Completed and skipped steps are over: not listed."""
    if state.status == E.PENDING:
        return [_pending_run(state)]
    if state.status == E.PAUSED:
        return _paused_run(state)
    failed = [s.step_key for s in state.steps if s.status == T.FAILED]
    reasons: list[Reason] = []
    if state.status == E.COMPLETED:
        return [Reason(None, COMPLETED, f"completed at {_at(state.completed_at)}", None)]
    if state.status == E.FAILED:
        where = f" at step {failed[0]}" if failed else ""
        reasons.append(Reason(None, FAILED, f"failed{where}: {state.error_message}".rstrip(": ")))
    elif state.status == E.CANCELLED:
        reasons.append(Reason(None, CANCELLED, "cancelled: no new step starts"))
    finished = state.status != E.RUNNING
    for step in state.steps:
        reason = _step(step, state, failed, finished)
        if reason is not None:
            reasons.append(reason)
    return reasons


def _paused_run(state: RunState) -> list[Reason]:
    """A paused run, and each step still to run: paused (a step running finishes; what it would wait
    for otherwise is said too: a timer's due time is kept, `until`)."""
    started = any(s.status not in (T.PENDING,) for s in state.steps)
    reasons = [Reason(None, PAUSED, "paused: no new step starts and its timers wait until it is unpaused"
                      + ("" if started else "; it has not started"))]
    failed = [s.step_key for s in state.steps if s.status == T.FAILED]
    for step in state.steps:
        if step.status in (T.COMPLETED, T.SKIPPED, T.RUNNING, T.FAILED, T.CANCELLED):
            reason = _step(step, state, failed, False)
            if reason is not None:
                reasons.append(reason)
            continue
        otherwise = {T.PENDING: "it starts once unpaused and its upstream steps are done",
                     T.QUEUED: "queued; sent again when unpaused"}.get(step.status)
        until = None
        if otherwise is None:  # waiting or retrying: what it waits for, its due time kept
            held = _waiting(step, state.now) if step.status == T.WAITING else _retrying(step, state)
            otherwise, until = held.detail, held.until
        reasons.append(Reason(step.step_key, PAUSED, f"paused ({otherwise})", until))
    return reasons


def _pending_run(state: RunState) -> Reason:
    now, admission = state.now, state.admission
    if admission.rate_slot_at is not None and admission.rate_slot_at > now:
        name = admission.rate_name or "of this workflow"
        key = f" (key {admission.rate_key!r})" if admission.rate_key else ""
        return Reason(None, RATE_LIMIT, f"waiting: rate limit {name}{key}, next slot at {_at(admission.rate_slot_at)}",
                      admission.rate_slot_at)
    if state.scheduled_at is not None and state.scheduled_at > now:
        return Reason(None, SCHEDULED, f"scheduled to start at {_at(state.scheduled_at)}", state.scheduled_at)
    if admission.limit and admission.limit_held >= admission.limit_max:
        name = f"limit {admission.limit_name}" if admission.limit_name else "this workflow's limit"
        key = f" key {admission.limit_key!r}" if admission.limit_key else ""
        return Reason(None, CONCURRENCY,
                      f"waiting for a concurrency slot: {name}{key} has all {admission.limit_max} held by "
                      f"{_runs(admission.limit_holders, admission.limit_held)}", runs=admission.limit_holders)
    if admission.key_held:
        return Reason(None, CONCURRENCY,
                      f"waiting for a concurrency slot: key {admission.concurrency_key!r} is held by "
                      f"{_runs(admission.key_holders, admission.key_held)}", runs=admission.key_holders)
    if admission.max_concurrency and admission.running >= admission.max_concurrency:
        return Reason(None, CONCURRENCY,
                      f"waiting for a concurrency slot: all {admission.max_concurrency} held by "
                      f"{_runs(admission.slot_holders, admission.running)}", runs=admission.slot_holders)
    return Reason(None, STARTING, "nothing holds it back: it starts at the next admission")


def _step(step: Step, state: RunState, failed: list[str], finished: bool) -> Reason | None:
    now, key = state.now, step.step_key
    status = step.status
    if status in (T.COMPLETED, T.SKIPPED):
        return None
    if status == T.FAILED:
        return Reason(key, FAILED, f"failed (attempt {step.attempt}): {step.error_message}".rstrip(": "))
    others = [k for k in failed if k != key]
    if status == T.CANCELLED or (status == T.PENDING and (failed or finished)):
        if others:
            return Reason(key, HALTED, f"not run: step {others[0]} failed"
                                       + (f" (and {len(others) - 1} more)" if len(others) > 1 else ""))
        return Reason(key, CANCELLED, "cancelled" if status == T.CANCELLED else "not started: the run was cancelled")
    if step.throttled and status in (T.PENDING, T.RETRYING):
        return _throttled(step, now)
    if status == T.PENDING:
        waiting_for = [d for d in step.depends_on if _open(state, d)]
        if waiting_for:
            return Reason(key, UPSTREAM, f"waiting for step {', '.join(waiting_for)} to finish")
        return Reason(key, UPSTREAM, "ready: it is queued at the run's next move")
    if status == T.RUNNING:
        if step.lease_expires_at is not None and step.lease_expires_at < now:
            return Reason(key, RUNNING, f"its worker {step.worker_id or '?'} stopped renewing its lease at "
                                        f"{_at(step.lease_expires_at)}: the sweeper takes it back")
        since = f" for {_ago(now, step.started_at)}" if step.started_at else ""
        return Reason(key, RUNNING, f"running on {step.worker_id or 'a worker'}{since}")
    if status == T.QUEUED:
        listening = [w for w in state.workers if state.queue in w.queues]
        waited = _ago(now, step.queued_at)
        if not listening:
            return Reason(key, NO_WORKER, f"queued {waited} ago; no worker listening on queue {state.queue}",
                          queue=state.queue)
        many = f"{len(listening)} workers listen" if len(listening) > 1 else "1 worker listens"
        return Reason(key, QUEUED, f"queued {waited} ago on {state.queue} ({many}): waiting its turn",
                      queue=state.queue)
    if status == T.WAITING:
        return _due(_waiting(step, now), step, state)
    if status == T.RETRYING:
        return _due(_retrying(step, state), step, state)
    raise ValueError(f"no diagnosis for a step that is {status!r}")  # a new status needs its reason here


def _throttled(step: Step, now: datetime) -> Reason:
    key, limit = step.step_key, step.limit or f"step {step.step_key}"
    if step.throttled == "rate":
        return Reason(key, RATE_LIMIT, f"waiting: rate limit {limit}, next slot at {_at(step.rate_slot_at)}",
                      step.rate_slot_at)
    of_key = f" for key {step.limit_key!r}" if step.limit_key else ""
    most = f"all {step.concurrency_max} slots" if step.concurrency_max else "every slot"
    return Reason(key, CONCURRENCY, f"waiting: concurrency limit {limit}, {most}{of_key} taken by running attempts")


def is_due(step: Step, now: datetime) -> bool:
    """A timer, a signal's timeout or a retry whose time has come: the sweeper moves it at its next pass."""
    return step.status in (T.WAITING, T.RETRYING) and step.wake_at is not None and step.wake_at <= now


def _due(reason: Reason, step: Step, state: RunState) -> Reason:
    if not is_due(step, state.now) or reason.reason == CIRCUIT_OPEN:
        return reason
    if state.scheduler_alive is False:
        note = "; due, but no scheduler (celery beat) tick was seen lately: nothing sweeps it"
    else:
        note = "; due: the sweeper takes it at its next pass"
    return replace(reason, detail=reason.detail + note)


def _open(state: RunState, key: str) -> bool:
    return any(s.step_key == key and s.status not in (T.COMPLETED, T.SKIPPED) for s in state.steps)


def _waiting(step: Step, now: datetime) -> Reason:
    key, timeout = step.step_key, step.wake_at
    until = f" (times out at {_at(timeout)})" if timeout else ""
    if step.for_children:
        named = f": {_runs(step.children)}" if step.children else ""
        return Reason(key, CHILDREN, f"waiting for its child runs{named}", timeout, runs=step.children)
    if step.approval:
        return Reason(key, APPROVAL, f"waiting for approval{until}", timeout)
    if step.signal_name:
        return Reason(key, SIGNAL, f"waiting for signal {step.signal_name!r}{until}", timeout)
    return Reason(key, TIMER, f"timer until {_at(timeout)}", timeout)


def _retrying(step: Step, state: RunState) -> Reason:
    key, now, due = step.step_key, state.now, step.wake_at
    origin = step.previous_circuit
    if origin:
        open_until = state.circuits.get(origin)
        if open_until is not None and open_until > now:
            return Reason(key, CIRCUIT_OPEN, f"circuit open for {origin} until {_at(open_until)}; attempt "
                                             f"{step.attempt} at {_at(due)}", open_until, host=origin)
    error = f": {step.previous_error}" if step.previous_error else ""
    return Reason(key, BACKOFF, f"attempt {step.attempt - 1} failed{error}; attempt {step.attempt} at {_at(due)}", due)
