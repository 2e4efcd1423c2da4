"""The orchestrator: the only code that reads run state, asks the pure decisions, and writes them.

    locked_run(id)       one transaction under the execution's row lock, with its events; advances
                         the run at the end (every writer that advances a run goes through it)
    advance(execution)   under the execution's row lock: queue the ready steps, skip, fail, finish
    run_step(task)       claim queued -> running (once), run the handler with its timeout, then
                         record the result and advance, in one transaction
    run_message(task)    a worker's message: run_step, then the steps it queued that it keeps
    wake / take_back     timers that came due, attempts whose worker died (used by the sweeper)
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.dispatch import Signal
from django.utils import timezone

from flowpilot import idle, logs

from .. import approval_links, bounds, templating
from . import admission, children, claims, compensating, concurrency, heartbeat, raw_rows, search_index, step_limits
from .planner import dag
from .planner.decision import Decision
from . import definition as definitions
from ..credentials import Resolver
from ..errors import InvalidInput
from .events import Events, labels_of
from .executors import START_AT_MAX_SECONDS, get_executor
from .invoke import Outcome, invoke
from .replay import answer_in_replay
from .planner.code import TASK_TYPE as CODE_TASK_TYPE
from ..models import LogLevel, TaskExecution, Workflow, WorkflowExecution
from .planner.states import ExecutionStatus as E
from .planner.states import TaskStatus as T
from .planner.states import EXECUTION_TERMINAL, TASK_OPEN, TASK_TERMINAL, Note, is_allowed, latest_attempts
from .transitions import emit, transition, transition_ids, transition_rows
from ..steps.base import StepContext, StepError

log = logging.getLogger(__name__)


# Sent inside the transaction that moves a run to `failed` (keyword arguments execution, events), the
# one place a run fails for good: workflows/services/error_runs.py starts its error workflow in that
# same transaction, so a crash cannot lose the start nor the failure happen without it (ADR 0034).
execution_failed = Signal()


# --- reading a run's state -----------------------------------------------------------------------

ATTEMPT_FIELDS = ("id", "step_key", "visit", "attempt", "status", "round_first_attempt", "error_message", "task_type",
                  "branch")


def current_attempts(execution_id, *, fields=ATTEMPT_FIELDS, keys: Iterable[str] | None = None) -> dict[str, TaskExecution]:
    """The latest attempt of the latest visit of each step (of the steps in `keys`, if given)."""
    rows = TaskExecution.objects.filter(execution_id=execution_id).only(*fields)
    if keys is not None:
        rows = rows.filter(step_key__in=list(keys))
    return latest_attempts(rows.order_by("step_key"))  # by key: the same order every time


class _AttemptsNear(dict):
    """Latest attempts by step key, read for the steps around a change; a step further away (a skip
    propagates) is read when first asked for. None for a step with no row. The first read also
    brings the run's failed attempts, if any (`failed`): one round trip answers both."""

    def __init__(self, execution_id, keys: Iterable[str], seen: dict[str, TaskExecution]):
        keys = set(keys)
        rows = raw_rows.attempts_near(execution_id, sorted(keys), ATTEMPT_FIELDS, T.FAILED)
        self.failed = any(row.status == T.FAILED for row in rows)
        super().__init__(latest_attempts(row for row in rows if row.step_key in keys))
        self.execution_id, self.seen = execution_id, seen

    def __missing__(self, key: str) -> TaskExecution | None:
        self.update(current_attempts(self.execution_id, keys=[key]))
        row = dict.get(self, key)
        if row is not None:
            self.seen[key] = row
        return row


class RunRows:
    """A locked run's rows as its planner reads them (planner/decision.py's RunView), each read when
    first asked for. Remembers every attempt it handed out, so the decision's keys name rows."""

    def __init__(self, execution: WorkflowExecution):
        self.execution = execution
        self.seen: dict[str, TaskExecution] = {}
        self._data: dict[str, Any] = {}
        self._failed: bool | None = None

    def attempts(self, keys: Iterable[str] | None = None) -> Mapping[str, TaskExecution | None]:
        if keys is None:
            rows = current_attempts(self.execution.pk)
        else:
            rows = _AttemptsNear(self.execution.pk, keys, self.seen)
            self._failed = rows.failed
        self.seen.update({key: row for key, row in rows.items() if row is not None})
        return rows

    def latest(self) -> TaskExecution | None:
        row = (TaskExecution.objects.filter(execution_id=self.execution.pk)
               .only(*ATTEMPT_FIELDS, "output").order_by("-created_at", "-visit", "-attempt").first())
        if row is not None:
            self.seen[row.step_key] = row
        return row

    def last_visit(self, key: str) -> int:
        return TaskExecution.objects.filter(execution_id=self.execution.pk, step_key=key).aggregate(
            last=Max("visit"))["last"] or 0

    def has_failed_attempt(self) -> bool:
        """Any failed attempt in the run (index task_failed_run), known from the last read of attempts
        by key. A run whose failed attempts were all retried is decided whole (correct, only slower)."""
        if self._failed is None:
            self._failed = TaskExecution.objects.filter(execution_id=self.execution.pk, status=T.FAILED).exists()
        return self._failed

    def has_open_step(self, besides: Iterable[str] = ()) -> bool:
        rows = TaskExecution.objects.filter(execution_id=self.execution.pk, status__in=TASK_OPEN)
        besides = list(besides)
        return (rows.exclude(step_key__in=besides) if besides else rows).exists()

    def when(self, key: str, expression: str) -> bool:
        """A step's `when` over the run's data, read once, on the first condition asked."""
        if not self._data:
            self._data.update(run_data(self.execution))
        try:
            return templating.evaluate(expression, self._data)
        except templating.TemplateError as exc:
            raise dag.ConditionError(f"when: {exc.message}") from None


class NewRunRows(RunRows):
    """A run created in this transaction, as its planner reads it: its rows are the ones its
    creator just wrote (all pending, first attempts of first visits), so nothing is read."""

    def __init__(self, execution: WorkflowExecution, rows: Iterable[TaskExecution]):
        super().__init__(execution)
        self._rows = {row.step_key: row for row in rows}

    def attempts(self, keys: Iterable[str] | None = None) -> Mapping[str, TaskExecution | None]:
        rows = dict(self._rows) if keys is None else {key: self._rows.get(key) for key in keys}
        self.seen.update({key: row for key, row in rows.items() if row is not None})
        return rows

    def latest(self) -> TaskExecution | None:
        row = next(reversed(self._rows.values()), None)
        if row is not None:
            self.seen[row.step_key] = row
        return row

    def last_visit(self, key: str) -> int:
        return self._rows[key].visit if key in self._rows else 0

    def has_failed_attempt(self) -> bool:
        return False

    def has_open_step(self, besides: Iterable[str] = ()) -> bool:
        besides = set(besides)
        return any(row.status in TASK_OPEN for key, row in self._rows.items() if key not in besides)


def run_input(execution: WorkflowExecution) -> dict:
    """The input the run's steps see: an edit-and-resume's input override, else the run's own input."""
    overrides = execution.overrides or {}
    return overrides["input"] if isinstance(overrides.get("input"), dict) else execution.input


def step_config(execution: WorkflowExecution, step) -> dict:
    """The config a step of the run runs with: an edit-and-resume's override of it (this run only,
    checked against the step type's schema when given), else the version's. Templates in either are
    rendered as usual, and secrets resolved late, in the worker."""
    override = ((execution.overrides or {}).get("steps") or {}).get(step.key)
    return override["config"] if isinstance(override, dict) and isinstance(override.get("config"), dict) \
        else step.config


def run_data(execution: WorkflowExecution) -> dict:
    """What templates see: plain JSON only (input, outputs of completed steps, the error of a step
    that failed: steps.<key>.error, what its failure path reads; the execution's ids)."""
    rows = (TaskExecution.objects.filter(execution_id=execution.pk, status__in=[T.COMPLETED, T.FAILED])
            .order_by("visit", "attempt")
            .values_list("step_key", "status", "output", "error_message", "error_details", "attempt"))
    steps: dict[str, dict] = {}
    for key, status, output, message, details, attempt in rows:  # by key, the latest row wins
        if status == T.COMPLETED:
            steps[key] = {"output": output}
        else:
            steps[key] = {**({"output": output} if output is not None else steps.get(key, {})),
                          "error": step_error(message, details, attempt)}
    return {
        "input": run_input(execution),
        "context": execution.context,
        "steps": steps,
        "execution": {"id": str(execution.pk), "workflow_id": str(execution.workflow_id),
                      "retry_count": execution.retry_count},
        "approvals": _approval_links(execution),
    }


def step_error(message: str, details: dict | None, attempt: int) -> dict:
    """A failed step's error as templates see it (steps.<key>.error) and a step that continues on
    failure answers it ({"error": ...}): its message, type, details (the traceback left out) and its
    attempt count."""
    details = dict(details or {})
    error_type = details.pop("type", "")
    for internal in ("traceback", "retryable"):
        details.pop(internal, None)
    return {"message": message, "type": error_type, "details": details, "attempts": attempt}


def _approval_links(execution: WorkflowExecution) -> dict:
    """{{ approvals.<step>.approve_url }} / reject_url: the signed links of each approval step of
    the run, for a message sent before or beside it (a waiting step's output is not in `steps`)."""
    steps = definitions.for_version(execution.workflow_version_id).steps
    return {key: approval_links.links(execution_id=execution.pk, step_key=key,
                                      recipient=_plain((step.config or {}).get("recipient")))
            for key, step in steps.items() if step.task_type == "approval"}


def _plain(value) -> str:
    """A config value usable as is: a string that is no template (rendered later, in the step)."""
    return value if isinstance(value, str) and not templating.is_template(value) else ""


# --- holding a run --------------------------------------------------------------------------------

@dataclass
class LockedRun:
    """A run held under its row lock for one transaction (locked_run): the execution, the events the
    transaction records, and whether to advance the run at the end, after which steps moved."""

    execution: WorkflowExecution
    events: Events
    advance: bool
    now: datetime | None = None
    changed: tuple[str, ...] = ()

    def advance_after(self, *changed: str, now: datetime | None = None) -> None:
        """Advance the run at the end, once `changed` moved (none named: the whole run is decided)."""
        self.advance, self.changed = True, changed
        if now is not None:
            self.now = now


@contextmanager
def locked_run(execution_id=None, *, task_id=None, advance: bool = True, now: datetime | None = None,
               changed: tuple[str, ...] = (), missing_ok: bool = False,
               status: str | None = None) -> Iterator[LockedRun | None]:
    """Open a transaction, lock the run's row and yield it with its Events; on leaving without an
    error, advance it (unless `advance` is False and the block did not ask, run.advance_after) and
    write the events. An error rolls everything back: no event is written.

    The row lock serialises every writer of one run (workers recording results, the sweeper, the
    API), so each decision reads the state the previous one left. `task_id` instead of
    `execution_id`: the run of that attempt, looked up before the lock. With `missing_ok`, or a
    `status` the run must be in, a run that is gone (or not in it) yields None and nothing is locked.
    """
    with transaction.atomic():
        if task_id is not None:
            execution_id = TaskExecution.objects.values_list("execution_id", flat=True).get(pk=task_id)
        execution = raw_rows.lock_run(execution_id, status)  # SELECT ... FOR UPDATE OF the run, its workflow
        if execution is None and not (missing_ok or status is not None):
            raise WorkflowExecution.DoesNotExist(f"no execution {execution_id}")
        if execution is None:
            yield None
            return
        run = LockedRun(execution, Events(), advance, now, changed)
        run.events.describe(execution.pk, labels_of(execution))  # the live events need not look them up
        yield run
        if run.advance:
            advance_locked(run.execution, run.events, now=run.now, changed=run.changed)
        claim_deferred(run.execution, run.events, now=run.now or timezone.now())
        run.events.flush()


# --- advancing a run -----------------------------------------------------------------------------

def advance(execution_id) -> None:
    with logs.bound(execution_id=execution_id), locked_run(execution_id):
        pass


def advance_locked(execution: WorkflowExecution, events: Events, *, now=None, changed: tuple[str, ...] = ()) -> None:
    """Apply the next decision of a running execution whose row the caller holds locked: its
    planner (planner/decision.py) reads the run through RunRows and answers what to write.

    `changed`: the steps whose attempt the caller just moved; the planner may read and weigh only
    the steps around them, so a step costs the same in a graph of any size.
    """
    if execution.status != E.RUNNING:
        return
    now = now or timezone.now()
    definition = definitions.for_version(execution.workflow_version_id)
    if compensating.is_compensating(execution):  # its compensations run instead of its normal flow
        compensate(execution, definition, events, now=now)
        return
    rows = RunRows(execution)
    decision = definition.planner.decide(rows, changed)
    _apply(execution, definition, decision, rows.seen, events, now=now)


def _apply(execution: WorkflowExecution, definition, decision: Decision, rows: Mapping[str, TaskExecution],
           events: Events, *, now) -> None:
    """Write a decision: its skips, failures, halts, queued steps and new visit, with their events;
    then the run's outcome, if it has one. The one write path of every kind of workflow."""
    for key in decision.skip:
        transition_rows(TaskExecution.objects.filter(pk=rows[key].pk), T.PENDING, T.SKIPPED, now=now, events=events,
                        notes=[Note(execution.pk, f"Step {key!r} skipped", task=rows[key])])
    for key, reason in decision.fail.items():
        transition_rows(TaskExecution.objects.filter(pk=rows[key].pk), T.PENDING, T.FAILED, now=now,
                        error_message=reason, error_details={"retryable": False}, events=events,
                        notes=[Note(execution.pk, f"Step {key!r} failed: {reason}", task=rows[key],
                                    level=LogLevel.ERROR)])
    if decision.halt:
        halted = [rows[k].pk for k in decision.halt]
        transition_rows(TaskExecution.objects.filter(pk__in=halted), [T.QUEUED, T.WAITING, T.RETRYING],
                        T.CANCELLED, now=now, error_message="halted: another step failed", events=events,
                        notes=[Note(execution.pk, f"Step {key!r} halted because another step failed", task=rows[key],
                                    level=LogLevel.WARNING) for key in decision.halt])
    if decision.queue:
        queue_steps(execution, definition, [rows[k] for k in decision.queue], T.PENDING, now=now, events=events,
                    notes=[Note(execution.pk, f"Step {key!r} queued", task=rows[key],
                                details={"visit": rows[key].visit}) for key in decision.queue])
    if decision.visit is not None:
        visit = decision.visit
        row = TaskExecution.objects.create(execution_id=execution.pk, step_key=visit.key, visit=visit.visit,
                                           task_type=definition.steps[visit.key].task_type,
                                           workflow_version=definition.number,
                                           input=None if visit.kwargs is None else {"kwargs": visit.kwargs})
        queue_steps(execution, definition, [row], T.PENDING, now=now, events=events,
                    notes=[Note(execution.pk, f"Step {visit.key!r} queued (visit {visit.visit}, after {visit.after!r})",
                                task=row, details={"visit": visit.visit})])
    if decision.handled_failures is not None and decision.handled_failures != execution.handled_failures:
        # Written in the transaction that weighed the failure (a step's own): runs with no failure
        # never get here (their decisions do not look, handled_failures None).
        new = [key for key in decision.handled_failures if key not in (execution.handled_failures or ())]
        execution.handled_failures = decision.handled_failures
        execution.save(update_fields=["handled_failures"])
        for key in new:
            if key in rows:
                events.add(execution.pk, "step.failure_handled",
                           f"Step {key!r} failed; the run carries on: "
                           + ("continue on failure" if definition.steps[key].continue_on_failure
                              else "taking its failure path"), level=LogLevel.WARNING, task=rows[key])
    if decision.outcome == "completed":
        output = execution.context if decision.answer == "context" else _sink_outputs(execution, definition)
        _finish(execution, E.COMPLETED, events, now=now, output=output)
    elif decision.outcome == "failed":
        details = {"failed_steps": decision.failed_steps}
        # A workflow with compensations undoes its completed steps first (the run fails after them).
        if definition.compensate_with and compensating.begin(execution, definition, events, reason="failed",
                                                              error=decision.error, details=details):
            compensate(execution, definition, events, now=now)
            return
        _finish(execution, E.FAILED, events, now=now, error_message=decision.error, error_details=details)


def compensate(execution: WorkflowExecution, definition, events: Events, *, now) -> None:
    """The next move of a compensating run (locked by the caller): queue its next compensation (an
    ordinary attempt row with `compensates` set), wait for the one in progress, or end the run."""
    found = compensating.next_move(execution, definition)
    entry = found.move.start
    if entry is not None:
        row = TaskExecution.objects.create(
            execution_id=execution.pk, step_key=entry.compensation, visit=entry.visit, compensates=entry.step,
            task_type=definition.steps[entry.compensation].task_type, workflow_version=definition.number)
        queue([row.pk], T.PENDING, now=now, events=events, run=execution,
              notes=[Note(execution.pk, f"Compensation {entry.compensation!r} of step {entry.step!r} queued",
                          task=row, details={"visit": entry.visit, "compensates": entry.step})])
    elif found.move.outcome is not None:
        status, fields = compensating.end(execution, events, found)
        _finish(execution, status, events, now=now, **fields)


def queue_steps(execution: WorkflowExecution, definition, rows: list[TaskExecution], source: str, *, now,
                events: Events, notes: Iterable[Note]) -> int:
    """queue() the attempts `rows` of one run, but first through their steps' own limits
    (engine/step_limits.py): an attempt whose rate slot is later, or whose concurrency limit is
    full, is held back (its status unchanged) and queued later by the sweeper. Answers how many
    were queued."""
    go = step_limits.gate(execution, definition, rows, now=now, events=events, data=lambda: run_data(execution))
    if len(go) != len(rows):
        kept = {row.pk for row in go}
        notes = [note for note in notes if getattr(note.task, "pk", note.task) in kept]
    if go:
        queue([row.pk for row in go], source, now=now, events=events, notes=notes, run=execution)
    return len(go)


def queue_throttled(task_id, *, now=None) -> bool:
    """A pending attempt held back by its step's limits came due (the sweeper): queue it if its
    limits let it go now, else it keeps waiting."""
    now = now or timezone.now()
    with locked_run(task_id=task_id, advance=False, now=now) as run:
        if run.execution.status != E.RUNNING:
            return False
        task = TaskExecution.objects.filter(pk=task_id, status=T.PENDING, held=False).exclude(throttled="").first()
        if task is None:
            return False
        definition = definitions.for_version(run.execution.workflow_version_id)
        queue_steps(run.execution, definition, [task], T.PENDING, now=now, events=run.events,
                    notes=[Note(run.execution.pk, f"Step {task.step_key!r} queued", task=task,
                                details={"visit": task.visit})])
        return TaskExecution.objects.filter(pk=task_id, status=T.QUEUED).exists()


def queue(ids: list, source: str, *, now, events: Events, notes: Iterable[Note],
          run: WorkflowExecution | None = None) -> None:
    """source -> queued, with the `notes` of the steps' events, and send one message per step after
    commit (the row is the outbox). Given the `run` they belong to (locked by the caller), a worker
    that follows on claims the first of them here, to run it next without a message (ADR 0040)."""
    transition_ids(TaskExecution, ids, source, T.QUEUED, now=now, dispatched_at=now, dispatch_count=1,
                   events=events, notes=notes)
    executor = get_executor()
    follower = executor.follower() if run is not None and ids else None
    if follower is not None and _claim_for(follower, ids[0], run, events, now=now):
        ids = ids[1:]
        if ids and executor.backlogged():  # sent, they would wait behind the backlog: run them here
            follower.defer(run.pk, [str(i) for i in ids])
            ids = []
    executor.dispatch(ids)


def claim_deferred(execution: WorkflowExecution, events: Events, *, now) -> None:
    """In a worker's transaction holding the lock of `execution`: claim the next step of that run the
    worker deferred (ADR 0041), as a followed step is claimed, so it needs no claim of its own."""
    follower = get_executor().follower()
    if follower is None or execution.status != E.RUNNING:
        return
    task_id = follower.deferred_of(execution.pk)
    if task_id is not None:
        follower.forget(task_id)
        _claim_for(follower, task_id, execution, events, now=now)


def _claim_for(follower, task_id, execution: WorkflowExecution, events: Events, *, now) -> bool:
    """Claim a queued step of the locked `execution` for the worker following on, in this transaction."""
    task = claims.claim_queued(task_id, execution, events, now=now, lease_expires_at=heartbeat.lease_until(now),
                               worker_id=follower.worker_id, celery_task_id=follower.celery_task_id)
    if task is not None:
        follower.claimed(task)
    return task is not None


def chosen_branch(output) -> str:
    """A step chooses a branch by answering {"branch": "<name>", ...}."""
    branch = output.get("branch") if isinstance(output, dict) else None
    return branch[:100] if isinstance(branch, str) else ""


def _sink_outputs(execution: WorkflowExecution, definition) -> dict:
    # A sink that continued on failure answers its {"error": ...}: its failed attempt's output.
    rows = (TaskExecution.objects.filter(execution_id=execution.pk, status__in=[T.COMPLETED, T.FAILED],
                                         step_key__in=definition.sinks)
            .order_by("visit", "attempt").values_list("step_key", "status", "output"))
    return {key: output for key, status, output in rows if status == T.COMPLETED or output is not None}


def _finish(execution: WorkflowExecution, status: str, events: Events, *, now, **fields) -> None:
    level = LogLevel.ERROR if status == E.FAILED else LogLevel.INFO
    message = {E.COMPLETED: "Execution completed", E.FAILED: f"Execution failed: {fields.get('error_message', '')}",
               E.CANCELLED: "Execution cancelled"}[status]
    transition(execution, status, now=now, events=events, note=Note(execution.pk, message, level=level), **fields)
    if status == E.FAILED:
        execution_failed.send(sender=WorkflowExecution, execution=execution, events=events)
    if execution.parent_task_id:  # a child run: its parent step looks again once this commits
        get_executor().after_commit(partial(children.parent_check_due.send, sender=WorkflowExecution,
                                            task_id=execution.parent_task_id))
    release(execution, events)


# --- starting runs (admission) -------------------------------------------------------------------

def start_now(execution: WorkflowExecution, events: Events) -> None:
    """pending -> running, and queue its first steps (caller holds the execution's lock: locked_run,
    or admit's lock on many runs at once)."""
    transition(execution, E.RUNNING, error_message="", error_details={}, completed_at=None, handled_failures=[],
               events=events,
               note=Note(execution.pk, "Execution started" if not execution.retry_count
                         else f"Execution resumed (retry {execution.retry_count})"))
    advance_locked(execution, events)


def start_new(workflow: Workflow, runs: list[tuple[WorkflowExecution, list[TaskExecution]]], events: Events, *,
              now=None) -> None:
    """New pending executions of `workflow` (all of one version), each with the step rows it was created
    with, all in this transaction: start the ones due now (a workflow with limits admits them: a rate
    limit's later slot leaves a run pending until then; a concurrency limit chooses by priority, then first
    in first out). What `enter` does for one run, with a constant number of queries for any number of runs
    without limits: one UPDATE starts them all, their first decisions are taken from the rows in hand,
    and their first steps are queued by one UPDATE and sent after commit together."""
    now = now or timezone.now()
    due = [(execution, rows) for execution, rows in runs if not _scheduled_later(execution, now)]
    if not due:
        return
    limits = definitions.for_version(due[0][0].workflow_version_id).limits
    if limits.rate:
        due = [(execution, rows) for execution, rows in due if not _rate_later(execution, limits, workflow, events, now)]
        if not due:
            return
    scopes = sorted({execution.limit_scope for execution, _ in due if execution.limit_scope})
    if scopes or concurrency.has_limits(workflow):
        for limit_scope in scopes:
            admit_limit(limit_scope, events, now=now)
        if concurrency.has_limits(workflow):
            admit(workflow.pk, events, now=now)
        return
    transition_rows(WorkflowExecution.objects.filter(pk__in=[execution.pk for execution, _ in due]), E.PENDING,
                    E.RUNNING, now=now, events=events,
                    notes=[Note(execution.pk, "Execution started") for execution, _ in due])
    queued: list[tuple[WorkflowExecution, TaskExecution]] = []
    for execution, rows in due:
        execution.status, execution.started_at = E.RUNNING, now
        definition = definitions.for_version(execution.workflow_version_id)
        run = NewRunRows(execution, rows)
        decision = definition.planner.decide(run)
        if decision == Decision(queue=decision.queue):  # the usual first move: only steps to queue
            queued.extend((execution, run.seen[key]) for key in decision.queue)
        else:  # a skip, a failure or an outcome already: written as any decision is
            _apply(execution, definition, decision, run.seen, events, now=now)
    if queued:
        if any(definitions.for_version(execution.workflow_version_id).steps[row.step_key].limits
               for execution, row in queued):
            for execution, row in queued:  # a first step with its own limits: through its gate, run by run
                queue_steps(execution, definitions.for_version(execution.workflow_version_id), [row], T.PENDING,
                            now=now, events=events,
                            notes=[Note(execution.pk, f"Step {row.step_key!r} queued", task=row,
                                        details={"visit": row.visit})])
            return
        queue([row.pk for _, row in queued], T.PENDING, now=now, events=events,
              notes=[Note(execution.pk, f"Step {row.step_key!r} queued", task=row, details={"visit": row.visit})
                     for execution, row in queued])


def _scheduled_later(execution: WorkflowExecution, now) -> bool:
    """A run scheduled for later: nothing is sent until the sweeper starts it, so a resting embedded
    sweeper is told now (after commit) that work arrived."""
    if execution.scheduled_at and execution.scheduled_at > now:
        get_executor().after_commit(idle.work_arrived)
        return True
    return False


def _rate_later(execution: WorkflowExecution, limits, workflow: Workflow, events: Events, now) -> bool:
    """A run of a version with limits.rate takes its start slot (once: kept on the run); a slot later
    than now leaves it pending, scheduled for the slot (a message due then starts it, or the sweeper,
    as any scheduled run). The bucket's row and the run's are written in this transaction: both or
    neither."""
    taken = execution.rate_slot_at is None
    slot = admission.take_rate_slot(execution, limits, workflow.owner_id, now)
    later = slot is not None and slot > now
    if not taken and not later:
        return False  # its slot, taken before, has come
    fields = {"rate_slot_at": execution.rate_slot_at}
    if later:
        execution.scheduled_at = fields["scheduled_at"] = slot
        get_executor().after_commit(idle.work_arrived)
        if (slot - now).total_seconds() <= START_AT_MAX_SECONDS:
            get_executor().start_at(execution.pk, slot)  # started at its slot, not the sweeper's next tick
    WorkflowExecution.objects.filter(pk=execution.pk).update(**fields)
    if later:  # said once, when the slot is taken
        events.add(execution.pk, "execution.rate_limited",
                   f"Waiting: rate limit {limits.rate.name or 'of its workflow'}, next slot at {slot.isoformat()}",
                   rate_slot_at=slot.isoformat(), rate_key=execution.rate_key)
    return later


def admit(workflow_id, events: Events, *, now=None) -> list:
    """Start the pending executions of a workflow that its limits allow now; answers their ids."""
    chosen = concurrency.choose(workflow_id, now=now)
    for execution in WorkflowExecution.objects.select_for_update(of=("self",)).filter(
            pk__in=chosen, status=E.PENDING).order_by("created_at"):
        start_now(execution, events)
    return chosen


ADMIT_PASSES = 3  # admission passes of admit_limit when chosen runs were locked by others


def admit_limit(limit_scope: str, events: Events, *, now=None) -> list:
    """Start the pending executions under a concurrency limit (limits.concurrency: a workflow's own, or
    a named one, whose runs may belong to several workflows) that it allows now; answers their ids.
    A chosen run locked by someone else right now is skipped, not waited for (that transaction may be
    waiting for the limit's lock: a deadlock), and its slot goes to the next pending run."""
    now = now or timezone.now()
    started, skipped = [], set()
    for _ in range(ADMIT_PASSES):
        chosen = admission.choose(limit_scope, now=now, besides=skipped)
        locked = list(WorkflowExecution.objects.select_for_update(of=("self",), skip_locked=True)
                      .select_related("workflow").filter(pk__in=chosen, status=E.PENDING).order_by("created_at"))
        for execution in locked:
            start_now(execution, events)
            started.append(execution.pk)
        missed = set(chosen) - {execution.pk for execution in locked}
        if not missed:
            break
        skipped |= missed  # their slots go to the next ones (they are counted as running once started)
    return started


def enter(execution: WorkflowExecution, events: Events, *, now=None) -> None:
    """A new (or retried) pending execution: start it now, or leave it pending for a free slot (or
    for its scheduled time, or its rate limit's slot: the sweeper brings it back then)."""
    now = now or timezone.now()
    if _scheduled_later(execution, now):
        return
    limits = definitions.for_version(execution.workflow_version_id).limits
    if limits.rate and _rate_later(execution, limits, execution.workflow, events, now):
        return
    if not execution.limit_scope and not concurrency.has_limits(execution.workflow):
        start_now(execution, events)
        return
    if execution.limit_scope:
        admit_limit(execution.limit_scope, events, now=now)
    if concurrency.has_limits(execution.workflow):
        admit(execution.workflow_id, events, now=now)


def release(execution: WorkflowExecution, events: Events) -> None:
    """An execution left `running`: its slot (and its key) may go to the next pending one, of its
    workflow, or (a named limit) of any workflow sharing the limit."""
    if execution.limit_scope:
        admit_limit(execution.limit_scope, events)
    if concurrency.has_limits(execution.workflow):
        admit(execution.workflow_id, events)


# --- running one step ----------------------------------------------------------------------------

def run_message(task_id, *, worker_id: str = "", celery_task_id: str = "") -> str:
    """A step's message: run its attempt, then, one after another, the steps its commits queued that
    this worker keeps instead of sending (executors: following, bounded in steps and seconds)."""
    with get_executor().following(worker_id=worker_id, celery_task_id=celery_task_id) as following:
        answer = run_step(task_id, worker_id=worker_id, celery_task_id=celery_task_id)
        while True:
            if (kept := following.take()) is not None:
                with logs.bound(task_id=str(kept.pk)):
                    run_claimed(kept)
            elif (deferred := following.next_deferred()) is not None:
                run_step(deferred, worker_id=worker_id, celery_task_id=celery_task_id)
            else:
                break
    return answer


def run_step(task_id, *, worker_id: str = "", celery_task_id: str = "") -> str:
    """Claim and run one attempt. A second delivery of the same attempt does nothing.
    Every log line written meanwhile carries the attempt's ids (flowpilot/logs.py)."""
    with logs.bound(task_id=task_id):
        task = _claim(task_id, worker_id=worker_id, celery_task_id=celery_task_id)
        if task is None:
            return "not claimed"
        return run_claimed(task)


def run_claimed(task: TaskExecution) -> str:
    """Run an attempt this worker claimed (its run loaded), then record its result and advance."""
    with logs.bound(execution_id=task.execution_id, step_key=task.step_key):
        heartbeat.track(task.pk)
        try:
            outcome = _execute(task)
        finally:
            heartbeat.untrack(task.pk)
        record(task, outcome)
    return "completed" if outcome.error is None else "failed"


def _slot_waiter(task: TaskExecution, step) -> Callable[[], None] | None:
    """For a rate-limited step: what its handler calls right before it contacts the host
    (StepContext.before_call): take the attempt's slot (step_limits.start_slot) and wait for its
    instant. Once per attempt. None for a step without a rate limit."""
    execution, taken = task.execution, []
    take = step_limits.start_slot(execution, step, task, data=lambda: run_data(execution))
    if take is None:
        return None
    deadline = time.monotonic() + step.timeout_seconds

    def wait_for_slot() -> None:
        if taken:
            return
        taken.append(True)
        slot = take()
        delay = (slot - timezone.now()).total_seconds()
        if delay <= 0:
            return
        if time.monotonic() + delay >= deadline - 0.1:
            # Never call after the attempt timed out (its thread is abandoned then): retry instead.
            raise StepError(f"rate limit {step_limits.label_of(step.limits.rate, step.key)}: its next slot, at "
                            f"{slot.isoformat()}, is past the step's timeout", retry_after=delay)
        time.sleep(delay)  # the queue's pacing keeps it short (about FLOWPILOT_RATE_SLOT_HOLD_SECONDS)

    return wait_for_slot


def _claim(task_id, *, worker_id: str, celery_task_id: str) -> TaskExecution | None:
    """queued -> running, once: the attempt, or None when another delivery claimed it first."""
    now = timezone.now()
    return claims.claim(task_id, now=now, lease_expires_at=heartbeat.lease_until(now), worker_id=worker_id,
                        celery_task_id=celery_task_id)


def _execute(task: TaskExecution) -> Outcome:
    """Run the attempt's handler (workflows/engine/invoke.py) with the run's data, the step's timeout and
    the workflow owner's credentials."""
    execution = task.execution
    step = definitions.for_version(execution.workflow_version_id).steps[task.step_key]
    secrets = Resolver(owner_id=lambda: Workflow.objects.values_list("owner_id", flat=True).get(
        pk=execution.workflow_id))
    ctx = StepContext(execution_id=str(execution.pk), step_key=task.step_key, attempt=task.attempt,
                      idempotency_key=task.idempotency_key, timeout_seconds=step.timeout_seconds,
                      input=run_input(execution), secret=secrets.get,
                      upstream=tuple(dict.fromkeys(dag.parse_ref(dep)[0] for dep in step.depends_on)),
                      **({"before_call": waiter} if (waiter := _slot_waiter(task, step)) else {}))
    config = step_config(execution, step)
    if (replayed := answer_in_replay(execution, step_key=task.step_key, task_type=step.task_type,
                                     config=config)) is not None:
        return replayed  # a replay's step answered without its handler: a mock, a recording, or refused
    if step.task_type == CODE_TASK_TYPE:  # a code step gets its run's context as persisted
        config = {**config, "context": execution.context, "input": execution.input,
                  "kwargs": (task.input or {}).get("kwargs")}
    undoing = compensating.context(execution, task)  # a compensation's templates see `compensating`
    data = (lambda: run_data(execution)) if undoing is None else (lambda: {**run_data(execution),
                                                                          "compensating": undoing})
    return invoke(task_type=step.task_type, config=config, step_key=task.step_key, ctx=ctx, secrets=secrets,
                  run_data=data, timeout=step.timeout_seconds)


def record(task: TaskExecution, outcome: Outcome) -> None:
    """Record an attempt's result and advance the run, in one transaction."""
    now = timezone.now()
    with locked_run(task.execution_id, now=now, changed=(task.step_key,)) as run:
        execution, events = run.execution, run.events
        for level, message, details in outcome.logs:
            events.add(execution.pk, "step.log", message, level=level, task=task, **details)
        row = TaskExecution.objects.filter(pk=task.pk)
        if outcome.children is not None:
            refused = children.park(execution, task, outcome.children, events, now=now)
            if refused:
                moved = fail_attempt(execution, task, refused, events, now=now, rendered=outcome.rendered)
            else:
                moved = True
                events.flush()
                children.parent_check_due.send(sender=TaskExecution, task_id=task.pk)  # the first children start
        elif outcome.error is None and outcome.wait is None:
            moved = transition_ids(TaskExecution, [task.pk], T.RUNNING, T.COMPLETED, now=now, output=outcome.output,
                                   input=outcome.rendered, lease_expires_at=None, branch=chosen_branch(outcome.output),
                                   mocked=outcome.mocked,
                                   events=events, notes=[Note(execution.pk, f"Step {task.step_key!r} completed",
                                                              task=task, details={"attempt": task.attempt})])
            if moved:
                search_index.step_completed(execution, task.step_key, outcome.output, events)
        elif outcome.wait is not None:
            wait = outcome.wait
            what = f"signal {wait.signal!r}" if wait.signal else "its timer"
            until = f" until {wait.until.isoformat()}" if wait.until else ""
            moved = transition_rows(row, T.RUNNING, T.WAITING, wake_at=wait.until, signal_name=wait.signal or "",
                                    held=execution.status == E.PAUSED,  # a paused run's timer waits for unpause
                                    output=wait.output, input=outcome.rendered, lease_expires_at=None, events=events,
                                    notes=[Note(execution.pk, f"Step {task.step_key!r} waiting for {what}{until}",
                                                task=task)])
        else:
            moved = fail_attempt(execution, task, outcome.error, events, now=now, traceback_text=outcome.traceback,
                                 rendered=outcome.rendered)
        if moved and task.task_type == CODE_TASK_TYPE:
            _keep_context(execution, outcome)
        if not moved:
            # The attempt was taken back meanwhile (lease expired, run cancelled): its result is void.
            events.add(execution.pk, "step.result_discarded",
                       f"Result of step {task.step_key!r} attempt {task.attempt} discarded: the attempt "
                       "was no longer running", level=LogLevel.WARNING, task=task)
        if moved and task.limit_scope:  # its concurrency slot is free: the next attempt waiting for it goes
            get_executor().after_commit(partial(queue_next_throttled, task.limit_scope, task.limit_key))


def queue_next_throttled(scope: str, key: str) -> None:
    """The oldest pending attempt waiting for a concurrency slot of (scope, key), queued if a slot
    is free (the fast path; the sweeper looks at every waiting attempt each pass anyway)."""
    try:
        waiting = (TaskExecution.objects.filter(status=T.PENDING, held=False, throttled=step_limits.CONCURRENCY,
                                                limit_scope=scope, limit_key=key)
                   .order_by("wake_at").values_list("pk", flat=True).first())
        if waiting is not None:
            queue_throttled(waiting)
    except Exception:  # a lost wake-up is the sweeper's: never the finished step's worker's error
        log.warning("could not queue the next attempt waiting for %s %r; the sweeper will", scope, key,
                    exc_info=True)


def _keep_context(execution: WorkflowExecution, outcome: Outcome) -> None:
    """A code step that completed (or parked) leaves its validated context on the run: a crash
    later resumes with the context as after the last completed step."""
    output = outcome.output if outcome.output is not None else (outcome.wait.output if outcome.wait else None)
    context = (output or {}).get("context")
    if isinstance(context, dict):
        execution.context = context
        execution.save(update_fields=["context"])


def fail_attempt(execution: WorkflowExecution, task: TaskExecution, error: StepError, events: Events, *,
                 now, traceback_text: str = "", rendered: Any = None, source: str = T.RUNNING) -> bool:
    """Mark a running attempt failed and, if its policy allows, schedule the next attempt: the
    failure's event then is the next attempt's (step.retry_scheduled) instead of step.failed."""
    details = {"type": type(error).__name__, "retryable": error.retryable, **error.details}
    if traceback_text:
        details["traceback"] = traceback_text
    definition = definitions.for_version(execution.workflow_version_id)
    policy = definition.retry_policy(task.step_key, run_max_retries=execution.max_retries)
    # An attempt that never reached its target (an open circuit) does not count against the budget.
    uncounted = 0 if getattr(error, "consumes_attempt", True) else 1
    attempts_in_round = task.attempt - task.round_first_attempt + 1 - uncounted
    # A paused run retries too (its next attempt held until unpaused); a cancelled or failed one does not.
    # Once a run compensates, only its compensations retry (a step still running when it was
    # cancelled with compensate ends with its attempt).
    retrying = execution.status in (E.RUNNING, E.PAUSED) and policy.should_retry(attempts_in_round, retryable=error.retryable) \
        and (bool(task.compensates) or not compensating.is_compensating(execution))
    failed = [] if retrying else [Note(execution.pk, f"Step {task.step_key!r} failed: {error.message}", task=task,
                                       level=LogLevel.ERROR, details={"attempt": task.attempt})]
    # A step that continues on failure answers its error as its output once it failed for good.
    kept = {"output": {"error": step_error(error.message[:10_000], details, task.attempt)}} \
        if not retrying and definition.steps[task.step_key].continue_on_failure else {}
    moved = transition_rows(TaskExecution.objects.filter(pk=task.pk), source, T.FAILED, now=now,
                            error_message=error.message[:10_000], error_details=details,
                            input=rendered, lease_expires_at=None, events=events, notes=failed, **kept)
    if not moved:
        return False
    if retrying:
        # The policy's backoff, but never sooner than the error says a retry can help (an open circuit).
        delay = bounds.clamp(max(policy.delay(max(attempts_in_round, 1)), getattr(error, "retry_after", None) or 0),
                             0.0, bounds.max_retry_delay())
        retry = TaskExecution.objects.create(
            execution_id=execution.pk, step_key=task.step_key, task_type=task.task_type, visit=task.visit,
            attempt=task.attempt + 1, round_first_attempt=task.round_first_attempt + uncounted, status=T.RETRYING,
            workflow_version=definition.number, held=execution.status == E.PAUSED, compensates=task.compensates,
            wake_at=bounds.after(now, delay, high=bounds.max_retry_delay()))
        emit(events, "task", T.RETRYING, Note(
            execution.pk, f"Step {task.step_key!r} attempt {task.attempt} failed: {error.message}; "
            f"attempt {retry.attempt} in {delay:.2f} s", task=task, level=LogLevel.WARNING,
            details={"next_attempt_at": retry.wake_at.isoformat(), "delay_seconds": delay}), created=True)
    return True


# --- what the sweeper hands over ---------------------------------------------------------------

def wake(task_id, *, now=None) -> bool:
    """A waiting step came due. A timer completes with the output it parked with; a signal wait
    that timed out takes its timeout path (the "timeout" branch), or fails if it was told to."""
    now = now or timezone.now()
    with locked_run(task_id=task_id, advance=False, now=now) as run:
        task = TaskExecution.objects.filter(pk=task_id, status=T.WAITING, held=False, wake_at__lte=now).first()
        if task is None:
            return False
        execution, events = run.execution, run.events
        parked = task.output or {}
        if not task.signal_name:
            transition_rows(TaskExecution.objects.filter(pk=task.pk), T.WAITING, T.COMPLETED, now=now, events=events,
                            notes=[Note(execution.pk, "Timer elapsed; step completed", task=task)])
            search_index.step_completed(execution, task.step_key, task.output, events)
        elif parked.get("on_timeout") == "fail":
            fail_attempt(execution, task, StepError(f"timed out waiting for signal {task.signal_name!r}",
                                                    retryable=False), events, now=now, source=T.WAITING)
        else:
            output = {**{k: v for k, v in parked.items() if k not in PARKED_ONLY}, "branch": "timeout", "timed_out": True}
            transition_rows(TaskExecution.objects.filter(pk=task.pk), T.WAITING, T.COMPLETED, now=now,
                            output=output, branch="timeout", events=events,
                            notes=[Note(execution.pk, f"Step {task.step_key!r} timed out waiting for signal "
                                        f"{task.signal_name!r}; taking its timeout path", task=task,
                                        level=LogLevel.WARNING)])
            search_index.step_completed(execution, task.step_key, output, events)
        run.advance_after(task.step_key)
        return True


def deliver_signal(execution: WorkflowExecution, name: str, payload: dict, events: Events, *, now,
                   task_id=None, answered_by: dict | None = None) -> TaskExecution | None:
    """Complete the step of a locked execution that waits for signal `name` (the oldest, or the
    attempt `task_id`); None if none waits. `answered_by` (who, how, why: by, via, comment,
    recipient) is kept, with the time and an approval's decision, as the step's output `decision`
    and in its event's details."""
    waiting = TaskExecution.objects.filter(execution_id=execution.pk, status=T.WAITING, signal_name=name)
    if task_id is not None:
        waiting = waiting.filter(pk=task_id)
    task = waiting.order_by("created_at").first()
    if task is None:
        return None
    parked = task.output or {}
    branch = "received"
    if parked.get("approval"):
        if not isinstance(payload.get("approved"), bool):
            raise InvalidInput("payload.approved: an approval needs true or false",
                               fields={"payload.approved": ["must be true or false"]})
        branch = "approved" if payload["approved"] else "rejected"
    decision = {"by": "", "via": "api", "comment": "", "recipient": "", **(answered_by or {}), "at": now.isoformat()}
    if parked.get("approval"):
        decision["approved"] = payload["approved"]
    # The links of a waiting approval die with the wait: they are not kept in the completed output.
    output = {**{k: v for k, v in parked.items() if k not in PARKED_ONLY}, "branch": branch,
              "signal": name, "payload": payload, "decision": decision}
    by = f" by {decision['by']}" if decision["by"] else ""
    transition_rows(TaskExecution.objects.filter(pk=task.pk), T.WAITING, T.COMPLETED, now=now, output=output,
                    branch=branch, events=events,
                    notes=[Note(execution.pk, f"Step {task.step_key!r} received signal {name!r} ({branch}{by}"
                                f"{' by link' if decision['via'] == 'link' else ''})",
                                task=task, details={"decision": decision})])
    search_index.step_completed(execution, task.step_key, output, events)
    return task


# Keys of a waiting step's output that describe the wait only (wait_for_signal.py).
PARKED_ONLY = ("approval", "on_timeout", "approve_url", "reject_url")


def take_back(task_id, *, reason: str, now=None) -> bool:
    """A running attempt lost its worker (lease expired): fail the attempt (it counts) and retry by
    its policy. Checked again under the locks, so a lease renewed meanwhile wins."""
    with locked_run(task_id=task_id, advance=False) as run:
        now = now or timezone.now()  # after the lock: a lease renewed while we waited for it wins
        task = (TaskExecution.objects.select_for_update()
                .filter(pk=task_id, status=T.RUNNING, lease_expires_at__lt=now).first())
        if task is None:
            return False
        fail_attempt(run.execution, task, StepError(reason, details={"worker_id": task.worker_id}), run.events, now=now)
        run.advance_after(task.step_key, now=now)
        return True


def set_aside(execution_id, *, task_id=None, message: str, details: dict, now=None) -> bool:
    """A row the sweeper could not handle (a definition stored corrupt, a value out of range): its
    attempt (if any) and its run end with `message`, so that it does not come back every sweep.
    False if there was nothing left to end."""
    now = now or timezone.now()
    with locked_run(execution_id, advance=False, missing_ok=True) as run:
        if run is None:
            return False
        execution, events = run.execution, run.events
        task = TaskExecution.objects.select_for_update().filter(pk=task_id).first() if task_id else None
        ended = False
        if task is not None and task.status not in TASK_TERMINAL:
            target = T.FAILED if is_allowed("task", task.status, T.FAILED) else T.CANCELLED
            transition_rows(TaskExecution.objects.filter(pk=task.pk), task.status, target, now=now,
                            error_message=message, error_details=details, lease_expires_at=None, events=events,
                            notes=[Note(execution.pk, f"Step {task.step_key!r}: {message}", task=task,
                                        level=LogLevel.ERROR)])
            ended = True
        if execution.status not in EXECUTION_TERMINAL:
            target = E.FAILED if is_allowed("execution", execution.status, E.FAILED) else E.CANCELLED
            _finish(execution, target, events, now=now, error_message=message, error_details=details)
            ended = True
        return ended
