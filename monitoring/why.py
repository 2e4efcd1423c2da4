"""Why isn't it running? The selector: reads what the engine, the workers and the circuit breaker
record about one run into plain values, and asks the pure diagnosis (workflows/engine/planner/why.py).

It lives in monitoring because it reads every layer's record: the run's rows (workflows), the
workers' heartbeats (monitoring/presence.py, what /health reports) and the circuits' states (the
cache, workflows/circuit.py). It writes nothing and decides nothing (docs/adr/0027).
"""

from __future__ import annotations

from datetime import datetime, timezone as dt_timezone

from celery import current_app
from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from workflows.circuit import Breaker
from workflows.engine import definition as definitions
from workflows.engine.planner import why
from workflows.engine.planner.states import EXECUTION_TERMINAL
from workflows.engine.planner.states import ExecutionStatus as E
from workflows.engine.planner.states import TaskStatus as T
from workflows.models import WAITING_FOR_CHILDREN, TaskExecution, WorkflowExecution
from workflows.services.approvals import is_approval

from . import presence

RUN_STEP = "workflows.tasks.run_step"
# Ids a reason names at most (holders of a concurrency slot, open child runs): the sentence names fewer.
MOST_IDS = 20
STEP_FIELDS = ("id", "execution_id", "step_key", "status", "visit", "attempt", "queued_at", "started_at",
               "wake_at", "signal_name", "worker_id", "lease_expires_at", "error_message", "created_at",
               "throttled", "rate_slot_at", "limit_key")


def step_queue() -> str:
    """The queue a step's message goes to, as Celery routes it (CELERY_TASK_ROUTES)."""
    route = current_app.amqp.router.route({}, RUN_STEP)
    queue = route.get("queue")
    return getattr(queue, "name", queue) or settings.CELERY_TASK_DEFAULT_QUEUE


def live_workers(now: datetime) -> tuple[why.Worker, ...]:
    """The workers seen within FLOWPILOT_HEALTH_WORKER_SECONDS (the same rule as /health's)."""
    rows = presence.seen("worker", within=settings.FLOWPILOT_HEALTH_WORKER_SECONDS, now=now)
    return tuple(why.Worker(name=row.name, queues=tuple(row.info.get("queues") or ())) for row in rows)


def scheduler_alive(now: datetime) -> bool:
    """The beat ticked within FLOWPILOT_HEALTH_BEAT_SECONDS (the same rule as /health's)."""
    last = presence.last_tick()
    return last is not None and (now - last).total_seconds() <= settings.FLOWPILOT_HEALTH_BEAT_SECONDS


def _admission(execution: WorkflowExecution, visible) -> why.Admission:
    """What holds a pending run back; the holders named are those in `visible` (the asker's runs: a code
    workflow's runs belong to whoever started them)."""
    workflow = execution.workflow
    running = WorkflowExecution.objects.filter(workflow_id=workflow.pk, status=E.RUNNING).order_by("started_at", "id")
    count = running.count() if workflow.max_concurrency else 0

    def named(runs) -> tuple[str, ...]:
        return tuple(str(pk) for pk in runs.filter(pk__in=visible.values("pk")).values_list("pk", flat=True)[:MOST_IDS])

    slot_holders = named(running) if workflow.max_concurrency and count >= workflow.max_concurrency else ()
    key_held, key_holders = 0, ()
    if workflow.concurrency_key and execution.concurrency_key:
        same_key = running.filter(concurrency_key=execution.concurrency_key)
        key_held = same_key.count()
        key_holders = named(same_key) if key_held else ()
    limit = {}
    if execution.limit_scope:
        # The runs holding its key's slots, as admission counts them (engine/admission.py's holding).
        holding = WorkflowExecution.objects.filter(
            Q(status=E.RUNNING) | Q(status=E.PAUSED, paused_from=E.RUNNING), limit_scope=execution.limit_scope,
            limit_key=execution.limit_key).order_by("started_at", "id")
        held = holding.count()
        limit = {"limit": True, "limit_name": _limit_name(execution.limit_scope), "limit_key": execution.limit_key,
                 "limit_max": execution.limit_max, "limit_held": held,
                 "limit_holders": named(holding) if held >= execution.limit_max else ()}
    rate = {}
    if execution.rate_slot_at is not None:
        rate_limit = definitions.for_version(execution.workflow_version_id).limits.rate
        rate = {"rate_slot_at": execution.rate_slot_at, "rate_name": rate_limit.name if rate_limit else "",
                "rate_key": execution.rate_key}
    return why.Admission(max_concurrency=workflow.max_concurrency, running=count, slot_holders=slot_holders,
                         concurrency_key=execution.concurrency_key, key_held=key_held, key_holders=key_holders,
                         **limit, **rate)


def _limit_name(limit_scope: str) -> str:
    """A named limit's name ("named:<owner id>:<name>"); "" for a workflow's own."""
    return limit_scope.split(":", 2)[2] if limit_scope.startswith("named:") else ""


def _previous_failures(execution_id, rows: list[TaskExecution]) -> dict[str, tuple[str, str]]:
    """For each retrying attempt (by step key): its predecessor's error, and the circuit (origin) that
    refused it, if one did (CircuitOpen records it in error_details). One query for all of them."""
    wanted = [(r.step_key, r.visit, r.attempt - 1) for r in rows if r.status == T.RETRYING]
    if not wanted:
        return {}
    which = Q()
    for key, visit, attempt in wanted:
        which |= Q(step_key=key, visit=visit, attempt=attempt)
    return {key: (message, str((details or {}).get("circuit") or ""))
            for key, message, details in TaskExecution.objects.filter(which, execution_id=execution_id)
            .values_list("step_key", "error_message", "error_details")}


def _with_outputs(rows: list[TaskExecution]) -> None:
    """Load the output of the waiting attempts (it says whether a wait is an approval's) in one query;
    the other attempts' outputs, as large as a step made them, are not read."""
    waiting = {r.pk: r for r in rows if r.status == T.WAITING and r.signal_name != WAITING_FOR_CHILDREN}
    for pk, output in TaskExecution.objects.filter(pk__in=list(waiting)).values_list("pk", "output") if waiting else ():
        waiting[pk].output = output


def _open_children(row: TaskExecution) -> tuple[str, ...]:
    return tuple(str(pk) for pk in WorkflowExecution.objects.filter(parent_task_id=row.pk)
                 .exclude(status__in=EXECUTION_TERMINAL).order_by("child_index", "created_at")
                 .values_list("pk", flat=True)[:MOST_IDS])


def _limit(row: TaskExecution, definition) -> dict:
    """A held-back step's limit as the diagnosis names it (engine/step_limits.py)."""
    step = definition.steps.get(row.step_key)
    if not row.throttled or step is None:
        return {}
    limit = step.limits.rate if row.throttled == "rate" else step.limits.concurrency
    if limit is None:
        return {"throttled": row.throttled, "rate_slot_at": row.rate_slot_at}
    return {"throttled": row.throttled, "rate_slot_at": row.rate_slot_at, "limit": limit.name or f"step {row.step_key}",
            "concurrency_max": getattr(limit, "max", None), "limit_key": row.limit_key}


def _step(row: TaskExecution, depends_on: tuple[str, ...], previous: tuple[str, str], definition=None) -> why.Step:
    for_children = row.status == T.WAITING and row.signal_name == WAITING_FOR_CHILDREN
    approval = row.status == T.WAITING and not for_children and is_approval(row)
    return why.Step(**(_limit(row, definition) if definition is not None else {}),step_key=row.step_key, status=row.status, attempt=row.attempt, depends_on=depends_on,
                    queued_at=row.queued_at, started_at=row.started_at, wake_at=row.wake_at,
                    signal_name=row.signal_name, approval=approval, for_children=for_children,
                    children=_open_children(row) if for_children else (),
                    worker_id=row.worker_id, lease_expires_at=row.lease_expires_at,
                    error_message=row.error_message[:2000], previous_error=previous[0][:2000],
                    previous_circuit=previous[1])


def run_state(execution: WorkflowExecution, *, now: datetime, visible=None) -> why.RunState:
    """The plain values the diagnosis reads, for one run, now; the other runs it names are among
    `visible` (default: all)."""
    definition = definitions.for_version(execution.workflow_version_id)
    graph = definition.graph
    rows = []
    if execution.status != E.PENDING:  # a pending run's steps wait for the run: only the run is diagnosed
        rows = list(TaskExecution.objects.filter(execution_id=execution.pk).current().only(*STEP_FIELDS))
    position = graph.position
    rows.sort(key=lambda r: (position.get(r.step_key, len(position)), r.created_at, r.step_key))
    previous = _previous_failures(execution.pk, rows)
    _with_outputs(rows)
    steps = tuple(_step(row, tuple(graph.deps.get(row.step_key, ())) if definition.kind != "code" else (),
                        previous.get(row.step_key, ("", "")), definition) for row in rows)
    breaker = Breaker()
    circuits = {}
    for origin in {s.previous_circuit for s in steps if s.previous_circuit}:
        until = breaker.open_until(origin)
        circuits[origin] = datetime.fromtimestamp(until, tz=dt_timezone.utc) if until else None
    queued = any(s.status == T.QUEUED for s in steps)
    due = any(why.is_due(s, now) for s in steps)
    return why.RunState(
        status=execution.status, now=now, steps=steps,
        queue=step_queue() if queued else "", workers=live_workers(now) if queued else (),
        admission=_admission(execution, WorkflowExecution.objects.all() if visible is None else visible)
        if execution.status == E.PENDING else why.Admission(),
        scheduled_at=execution.scheduled_at, error_message=execution.error_message[:2000],
        completed_at=execution.completed_at, circuits=circuits,
        scheduler_alive=scheduler_alive(now) if due else None)


def execution_why(execution: WorkflowExecution, *, user, now: datetime | None = None) -> list[why.Reason]:
    """Why the run, and each of its steps that is not running, is where it is now, as `user` may see it
    (other runs are named only if they are the user's: querysets.visible_to)."""
    now = now or timezone.now()
    return why.diagnose(run_state(execution, now=now, visible=WorkflowExecution.objects.visible_to(user)))
