"""Code workflows' runs as a model: `WorkflowRun` (a proxy of WorkflowExecution restricted to code
workflows) and `WorkflowStatus`, so runs are queried the way the code-workflow guide's monitoring
section does:

    WorkflowRun.objects.get(id=run_id).current_step
    WorkflowRun.objects.filter(status=WorkflowStatus.FAILED)    # run.error
    WorkflowRun.objects.filter(status=WorkflowStatus.WAITING)   # run.waiting_signal, run.wake_at

What each field reads (one rule, which `Run`, what `engine.start` answers, reads too):

- `status`: the run's own status, stored: pending, running, completed, failed, cancelled.
- `current_step`, `step_status`, `current_visit`: the run's latest step attempt (latest created).
- `waiting_signal`: the signal that attempt waits for, when it waits ("" otherwise). An event wait
  reads "event:<name>", an @action step "action:<name>", as the engine stores them.
- `wake_at`: when that attempt is due, when it waits (a sleep, a wait's timeout) or is retrying.
- `data`: the context; a completed run's output (the final context) once it has one.
- `error`: the run's error message; `name`: its workflow's name.

WAITING is not a stored status: a run waits while its status is running and its latest attempt is
waiting (a signal, an event, an action, or a sleep's timer; a retry's backoff is not a wait; a
code run runs one step at a time, so its waiting attempt, when it has one, is its latest). So
`filter(status=WorkflowStatus.WAITING)` finds running runs with a waiting attempt, and such a run
still reads `status == "running"` (as the guide's test expects of a run at a waiting step) and is
among `filter(status=WorkflowStatus.RUNNING)`: WAITING is a part of RUNNING. Every other value
filters the stored status as it is; FAILED is a run that failed (its retries spent), not a step
that failed and is being retried. The rewrite applies to `status`, `status__exact`, `status__in` in
filter(), exclude() and get(), keyword or Q.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.db.models import Case, Exists, F, OuterRef, Q, Subquery, Value, When
from django.db.models.functions import Coalesce

from ..engine.planner.states import ExecutionStatus as E
from ..engine.planner.states import TaskStatus as T
from ..models import TaskExecution, WorkflowExecution, WorkflowKind
from ..querysets import ExecutionQuerySet


class WorkflowStatus(models.TextChoices):
    """A code workflow run's status as the guide names them: the stored ones, and WAITING (a
    running run whose current step waits)."""

    PENDING = E.PENDING.value, "Pending"
    RUNNING = E.RUNNING.value, "Running"
    WAITING = "waiting", "Waiting"
    COMPLETED = E.COMPLETED.value, "Completed"
    FAILED = E.FAILED.value, "Failed"
    CANCELLED = E.CANCELLED.value, "Cancelled"


_STATUS_LOOKUPS = ("status", "status__exact", "status__in")


def _waiting() -> Q:
    return Q(status=E.RUNNING) & Q(Exists(TaskExecution.objects.filter(execution=OuterRef("pk"), status=T.WAITING)))


def _rewrite_status(lookup: str, value: Any) -> Q | None:
    """The condition a status lookup stands for, when it names WAITING (None: leave it as it is)."""
    if lookup == "status__in":
        if not isinstance(value, (list, tuple, set, frozenset)):
            return None  # a subquery or an iterator: left as it is
        values = [str(v) for v in value]
        if WorkflowStatus.WAITING not in values:
            return None
        stored = [v for v in values if v != WorkflowStatus.WAITING]
        return _waiting() | Q(status__in=stored) if stored else _waiting()
    if str(value) == WorkflowStatus.WAITING:
        return _waiting()
    return None


def _rewrite(node: Q) -> Q:
    rewritten = Q(_connector=node.connector, _negated=node.negated)
    for child in node.children:
        if isinstance(child, Q):
            rewritten.children.append(_rewrite(child))
        elif isinstance(child, tuple) and child[0] in _STATUS_LOOKUPS:
            condition = _rewrite_status(*child)
            rewritten.children.append(condition if condition is not None else child)
        else:
            rewritten.children.append(child)
    return rewritten


class WorkflowRunQuerySet(ExecutionQuerySet):
    """Code runs: `status=WorkflowStatus.WAITING` (or in a `status__in`) means a waiting run."""

    def filter(self, *args, **kwargs):
        return super().filter(*self._conditions(args, kwargs))

    def exclude(self, *args, **kwargs):
        return super().exclude(*self._conditions(args, kwargs))

    @staticmethod
    def _conditions(args: tuple, kwargs: dict) -> list:
        conditions = [_rewrite(a) if isinstance(a, Q) else a for a in args]
        if kwargs:
            conditions.append(_rewrite(Q(**kwargs)))
        return conditions

    def waiting(self):
        return self.filter(status=WorkflowStatus.WAITING)

    def with_progress(self):
        """Each run with its latest attempt's step, visit, status, signal and due time, and its
        workflow's name, in the same query (what a monitoring loop reads of every run)."""
        latest = TaskExecution.objects.filter(execution=OuterRef("pk")).order_by("-created_at", "-visit", "-attempt")

        text, number = models.CharField(), models.IntegerField()

        def of_latest(column: str, output_field):
            return Subquery(latest.values(column)[:1], output_field=output_field)

        return self.annotate(
            name=F("workflow__name"),
            current_step=Coalesce(of_latest("step_key", text), Value(""), output_field=text),
            current_visit=Coalesce(of_latest("visit", number), Value(0), output_field=number),
            step_status=Coalesce(of_latest("status", text), Value(""), output_field=text),
            latest_signal=of_latest("signal_name", text),
            latest_wake_at=of_latest("wake_at", models.DateTimeField()),
        ).annotate(
            waiting_signal=Case(When(step_status=T.WAITING, then=F("latest_signal")), default=Value(""),
                                output_field=text),
            wake_at=Case(When(step_status__in=[T.WAITING, T.RETRYING], then=F("latest_wake_at")), default=None,
                         output_field=models.DateTimeField()),
        )


class WorkflowRunManager(models.Manager.from_queryset(WorkflowRunQuerySet)):
    def get_queryset(self):
        return super().get_queryset().filter(workflow__kind=WorkflowKind.CODE).with_progress()


class WorkflowRun(WorkflowExecution):
    """A run of a code workflow, with what a monitor reads of it (see the module's docstring)."""

    objects = WorkflowRunManager()

    class Meta:
        proxy = True
        verbose_name = "code workflow run"

    @property
    def data(self) -> dict:
        return self.output if self.status == E.COMPLETED and self.output else self.context

    @property
    def error(self) -> str:
        return self.error_message

    def refresh_from_db(self, using=None, fields=None, from_queryset=None) -> None:
        """Every field read again (`fields` is not honoured: the run and its latest attempt are read
        together, in one statement), the latest attempt's step, signal and due time with them."""
        queryset = from_queryset if from_queryset is not None else type(self).objects.all()
        copy_run(queryset.using(using or self._state.db).get(pk=self.pk), self)


# The annotations of with_progress() a run is read with.
PROGRESS = ("name", "current_step", "current_visit", "step_status", "waiting_signal", "wake_at")


def copy_run(source: WorkflowRun, target: WorkflowExecution) -> None:
    """`target` as `source` was read: its columns (and, when it is a WorkflowRun, its progress).
    Cached related objects are dropped (read again when used), as refresh_from_db does."""
    for field in WorkflowExecution._meta.concrete_fields:
        setattr(target, field.attname, getattr(source, field.attname))
        if field.is_relation and field.is_cached(target):
            field.delete_cached_value(target)
    if isinstance(target, WorkflowRun):
        for name in PROGRESS:
            if hasattr(source, name):  # read through WorkflowRun.objects (from_queryset may be another)
                setattr(target, name, getattr(source, name))
    target._state.db = source._state.db
