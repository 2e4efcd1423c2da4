"""Dead letters (ADR 0034): the runs that failed for good, as queues per workflow and error group.

A queue is (workflow, failed step key, error signature): a failed run's current failed attempt puts
it in the queue of its step and of its error's signature (workflows/signatures.py, the same rule the
top-errors view groups by, so "timeout after 30s" and "timeout after 31s" are one queue). A run with
two failed steps is in two queues. Retrying a queue is the bulk retry of workflows.services (runs
resume at their failed steps); dismissing it is the cancel of its runs (given up: cancelled runs are
out of every retry selection and of these queues). Both are bounded (FLOWPILOT_MAX_BULK_RERUN a call).
Which runs are dead letters is the runs' queryset's rule (`dead_letters()`): a run that went through
compensation is not one (its steps were undone; a retry refuses it).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Count, F, Max, Min, QuerySet, Window
from django.db.models.functions import RowNumber

from workflows import bounds, selectors, services
from workflows.engine.planner.states import ExecutionStatus as E
from workflows.engine.planner.states import TaskStatus as T
from workflows.errors import Conflict, NotFound
from workflows.models import TaskExecution, Workflow, WorkflowExecution
from workflows.signatures import pattern

SAMPLES = 5  # run ids shown per queue
_GROUP = re.compile(r"^(?P<workflow>[0-9a-f-]{32,36})\.(?P<step>[A-Za-z_][A-Za-z0-9_]{0,99})\.(?P<sig>[0-9a-f]{0,16})$")


@dataclass(frozen=True)
class GroupKey:
    workflow_id: uuid.UUID
    step_key: str
    signature: str

    @property
    def id(self) -> str:
        """The queue's id in URLs: <workflow id>.<step key>.<error signature>."""
        return f"{self.workflow_id}.{self.step_key}.{self.signature}"


def group_key(group: str) -> GroupKey:
    """The queue a URL names; NotFound (404) for anything that is not a queue id."""
    match = _GROUP.match(group or "")
    if match is None:
        raise NotFound(f"no dead-letter queue {group[:200]!r}")
    try:
        workflow_id = uuid.UUID(match["workflow"])
    except ValueError:
        raise NotFound(f"no dead-letter queue {group[:200]!r}") from None
    return GroupKey(workflow_id, match["step"], match["sig"])


@dataclass(frozen=True)
class DeadLetterGroup:
    key: GroupKey
    workflow_name: str
    step_key: str
    signature: str
    pattern: str  # the latest message with its variable parts replaced
    sample_message: str
    count: int  # runs in the queue
    first_seen: datetime
    last_seen: datetime
    sample_execution_ids: list = field(default_factory=list)  # the latest first

    @property
    def id(self) -> str:
        return self.key.id

    @property
    def workflow_id(self) -> uuid.UUID:
        return self.key.workflow_id


def _dead_attempts(executions: QuerySet) -> QuerySet:
    """The current failed attempts of the dead letters among `executions`."""
    failed = executions.dead_letters().order_by().values("pk")
    return TaskExecution.objects.filter(execution__in=failed, status=T.FAILED).current().order_by()


def dead_letter_groups(*, executions: QuerySet, workflow_id=None, only: GroupKey | None = None,
                       limit: int = 100) -> list[DeadLetterGroup]:
    """The dead-letter queues of `executions` (the user's runs), the most recently struck first, at
    most `limit` (`only`: that one queue, if it has runs). Three queries whatever the number of runs."""
    rows = _dead_attempts(executions)
    if only is not None:
        rows = rows.filter(execution__workflow_id=only.workflow_id, step_key=only.step_key,
                           error_signature=only.signature)
    if workflow_id is not None:
        rows = rows.filter(execution__workflow_id=workflow_id)
    by = ("execution__workflow_id", "step_key", "error_signature")
    top = list(rows.values(*by).annotate(runs_=Count("execution_id", distinct=True), first_=Min("completed_at"),
                                         last_=Max("completed_at"))
               .order_by("-last_", *by)[:limit])
    if not top:
        return []
    keys = {(g["execution__workflow_id"], g["step_key"], g["error_signature"]) for g in top}
    latest = (rows.filter(execution__workflow_id__in={k[0] for k in keys}, step_key__in={k[1] for k in keys},
                          error_signature__in={k[2] for k in keys})
              .annotate(row_rank=Window(RowNumber(), partition_by=[F(name) for name in by],
                                     order_by=[F("completed_at").desc(), F("pk").desc()]))
              .filter(row_rank__lte=SAMPLES).values(*by, "execution_id", "error_message", "row_rank"))
    samples: dict[tuple, list] = {}
    messages: dict[tuple, str] = {}
    for row in sorted(latest, key=lambda r: r["row_rank"]):
        key = (row["execution__workflow_id"], row["step_key"], row["error_signature"])
        if key in keys:
            samples.setdefault(key, []).append(row["execution_id"])
            messages.setdefault(key, row["error_message"])
    names = dict(Workflow.objects.filter(pk__in={k[0] for k in keys}).values_list("pk", "name"))
    out = []
    for g in top:
        key = (g["execution__workflow_id"], g["step_key"], g["error_signature"])
        message = messages.get(key, "")
        out.append(DeadLetterGroup(
            key=GroupKey(*key), workflow_name=names.get(key[0], ""), step_key=key[1], signature=key[2],
            pattern=pattern(message), sample_message=message, count=g["runs_"], first_seen=g["first_"],
            last_seen=g["last_"], sample_execution_ids=samples.get(key, [])))
    return out


def dead_letter_group(*, executions: QuerySet, group: str) -> DeadLetterGroup:
    """One queue of the user's; NotFound when they have no run in it (another user's queue included)."""
    found = dead_letter_groups(executions=executions, only=group_key(group), limit=1)
    if found:
        return found[0]
    raise NotFound(f"no dead-letter queue {group[:200]!r}")


def dead_letter_runs(*, executions: QuerySet, group: str) -> QuerySet:
    """The failed runs in a queue (the bulk retry's own selection), oldest failure first."""
    key = group_key(group)
    return (selectors.failed_executions(executions.filter(workflow_id=key.workflow_id), step_key=key.step_key,
                                        error_signature=key.signature)
            .order_by("completed_at", "pk"))


@dataclass(frozen=True)
class QueueAction:
    execution_ids: list
    refused: dict
    remaining: int  # runs still in the queue after this call (more than one call's bound)


def _bounded(limit: int | None) -> int:
    high = bounds.max_bulk_rerun()
    return high if limit is None else max(1, min(limit, high))


def dead_letter_retry(*, executions: QuerySet, group: str, user=None, limit: int | None = None) -> QueueAction:
    """Retry the queue's runs (at most `limit`, the oldest first) through the bulk retry: each
    resumes at its failed steps, keeping what completed."""
    key = group_key(group)
    ids = list(dead_letter_runs(executions=executions, group=group).values_list("pk", flat=True)[:_bounded(limit)])
    result = services.executions_retry(executions=WorkflowExecution.objects.filter(pk__in=ids), step_key=key.step_key,
                                       error_signature=key.signature, user=user)
    return QueueAction(result.execution_ids, result.refused, dead_letter_runs(executions=executions, group=group).count())


def dead_letter_dismiss(*, executions: QuerySet, group: str, user=None, limit: int | None = None) -> QueueAction:
    """Give the queue's runs up (at most `limit`): each is cancelled, the one way a failed run leaves
    the retry selections."""
    ids = list(dead_letter_runs(executions=executions, group=group).values_list("pk", flat=True)[:_bounded(limit)])
    dismissed, refused = [], {}
    for execution in WorkflowExecution.objects.filter(pk__in=ids, status=E.FAILED).order_by("completed_at"):
        try:
            services.execution_cancel(execution=execution, user=user)
        except Conflict as exc:  # retried or dismissed meanwhile
            refused[execution.pk] = exc.message
            continue
        dismissed.append(execution.pk)
    return QueueAction(dismissed, refused, dead_letter_runs(executions=executions, group=group).count())
