"""The top errors: failed attempts grouped by their error signature (workflows/signatures.py), and the
bulk retry of one group (through workflows.services: the one rule for what a bulk retry selects)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Count, Max, Min, QuerySet

from workflows import services
from workflows.models import TaskExecution, Workflow
from workflows.signatures import pattern
from workflows.engine.planner.states import TaskStatus as T


@dataclass(frozen=True)
class ErrorStep:
    workflow_id: uuid.UUID
    workflow_name: str
    step_key: str
    count: int


@dataclass(frozen=True)
class ErrorGroup:
    signature: str
    pattern: str  # the sample message with its variable parts replaced
    count: int  # failed attempts in the window
    executions: int  # distinct runs they belong to
    first_seen: datetime
    last_seen: datetime
    sample_message: str  # the message of the group's latest failure
    steps: list[ErrorStep] = field(default_factory=list)  # where it struck, most often first


def failed_attempts(*, executions: QuerySet, since: datetime, until: datetime, workflow_id=None,
                    step_key: str | None = None) -> QuerySet:
    rows = TaskExecution.objects.filter(execution__in=executions.order_by().values("pk"), status=T.FAILED,
                                        completed_at__gte=since, completed_at__lt=until)
    if workflow_id is not None:
        rows = rows.filter(execution__workflow_id=workflow_id)
    if step_key:
        rows = rows.filter(step_key=step_key)
    return rows.order_by()


def error_groups(*, executions: QuerySet, since: datetime, until: datetime, workflow_id=None,
                 step_key: str | None = None, limit: int = 20) -> list[ErrorGroup]:
    """The `limit` signatures with the most failed attempts in [since, until), most first. 4 queries."""
    rows = failed_attempts(executions=executions, since=since, until=until, workflow_id=workflow_id, step_key=step_key)
    top = list(rows.values("error_signature").annotate(
        n_=Count("pk"), runs_=Count("execution_id", distinct=True), first_=Min("completed_at"),
        last_=Max("completed_at")).order_by("-n_", "error_signature")[:limit])
    if not top:
        return []
    signatures = [g["error_signature"] for g in top]
    per_step = list(rows.filter(error_signature__in=signatures)
                    .values("error_signature", "execution__workflow_id", "step_key")
                    .annotate(n_=Count("pk")).order_by("-n_", "step_key"))
    # The latest failure of each group: its message is the sample.
    latest = {g["error_signature"]: g["last_"] for g in top}
    samples = dict(rows.filter(error_signature__in=signatures, completed_at__in=set(latest.values()))
                   .order_by("completed_at").values_list("error_signature", "error_message"))
    names = dict(Workflow.objects.filter(pk__in={r["execution__workflow_id"] for r in per_step})
                 .values_list("pk", "name"))
    out = []
    for g in top:
        sig = g["error_signature"]
        sample = samples.get(sig, "")
        out.append(ErrorGroup(
            signature=sig, pattern=pattern(sample), count=g["n_"], executions=g["runs_"], first_seen=g["first_"],
            last_seen=g["last_"], sample_message=sample,
            steps=[ErrorStep(workflow_id=r["execution__workflow_id"], workflow_name=names.get(r["execution__workflow_id"], ""),
                             step_key=r["step_key"], count=r["n_"]) for r in per_step if r["error_signature"] == sig]))
    return out


def error_group_retry(*, executions: QuerySet, signature: str, workflow_id=None, step_key: str | None = None,
                      since: datetime | None = None, until: datetime | None = None, dry_run: bool = False,
                      user=None) -> list:
    """Retry every failed run whose current failed attempt has this signature (and failed in the
    window, at that workflow and step if given); a dry run only answers which. Answers the ids."""
    if workflow_id is not None:
        executions = executions.filter(workflow_id=workflow_id)
    return services.executions_retry_failed(executions=executions, step_key=step_key, error_signature=signature,
                                            failed_since=since, failed_until=until, dry_run=dry_run, user=user)
