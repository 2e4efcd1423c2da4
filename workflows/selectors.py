"""Reads that several callers share (the API, the admin, the commands, the services' own checks):
querysets and answers, never a write."""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Q

from . import circuit, search_fields
from .engine import definition as definitions
from .models import WAITING_FOR_CHILDREN, ExecutionSearchValue, TaskExecution, Workflow, WorkflowExecution
from .engine.planner.states import ExecutionStatus as E
from .engine.planner.states import TaskStatus as T
from .engine.planner.states import TASK_OPEN


def workflow_has_runs_in_flight(workflow: Workflow) -> bool:
    """A workflow with pending or running executions may not be deleted (archive it instead)."""
    return workflow.executions.filter(status__in=[E.PENDING, E.RUNNING]).exists()


def workflow_runs_in_flight(workflow: Workflow) -> int:
    """How many of the workflow's executions are pending or running (what a delete waits for)."""
    return workflow.executions.filter(status__in=[E.PENDING, E.RUNNING]).count()


def with_search(executions, filters: dict[str, str]):
    """The runs among `executions` whose search values match every one of `filters` ({name: value},
    exact; search_fields.parse_filters checks them): each is an index probe of search_name_value
    (name, value -> execution ids), AND-ed. docs/adr/0028-search-by-business-data.md has the plans."""
    for name, value in filters.items():
        executions = executions.filter(
            pk__in=ExecutionSearchValue.objects.filter(name=name, value=value).values("execution_id"))
    return executions


def search_filters_of(params, *, body: dict | None = None) -> dict[str, str]:
    """The search filters of a request: its `search.<name>` query parameters and, for a POST, a
    body's {"<name>": value} object (`body`), AND-ed; InvalidInput (400) when one is refused."""
    pairs = search_fields.query_pairs(params) + [(f"search.{k}", v) for k, v in (body or {}).items()]
    return search_fields.parse_filters(pairs)


def failed_executions(executions, *, step_key: str | None = None, error_contains: str | None = None,
                      error_signature: str | None = None, failed_since=None, failed_until=None):
    """Failed executions whose current attempt of `step_key` (any step if None) failed with an error
    containing `error_contains`, or of signature `error_signature` (workflows/signatures.py), at or
    after `failed_since` and before `failed_until`: the selection of a bulk retry. Never a replay
    (docs/adr/0026): "retry the failed runs" means the real ones; a replay is retried from its page.
    Nor a run that went through compensation: a retry refuses it (its steps were undone)."""
    failed_now = TaskExecution.objects.filter(execution=OuterRef("pk"), status=T.FAILED).current()
    if step_key:
        failed_now = failed_now.filter(step_key=step_key)
    if error_contains:
        failed_now = failed_now.filter(error_message__icontains=error_contains)
    if error_signature:
        failed_now = failed_now.filter(error_signature=error_signature)
    if failed_since is not None:
        failed_now = failed_now.filter(completed_at__gte=failed_since)
    if failed_until is not None:
        failed_now = failed_now.filter(completed_at__lt=failed_until)
    return executions.dead_letters().filter(Exists(failed_now))


def tasks_visible_to(user):
    """Attempts of the runs the user may see (the runs' owner rule, querysets.visible_to)."""
    return TaskExecution.objects.filter(execution__in=WorkflowExecution.objects.visible_to(user).values("pk"))


def approvals_waiting(user):
    """The approval and signal steps the user may answer: waiting for a signal (not for child runs),
    in running runs the user may see; newest first, with their run and workflow."""
    return (tasks_visible_to(user)
            .filter(status=T.WAITING, execution__status=E.RUNNING).exclude(signal_name="")
            .exclude(signal_name=WAITING_FOR_CHILDREN)
            .select_related("execution__workflow", "execution__workflow_version", "execution__triggered_by_user")
            .defer("execution__workflow_version__definition", "execution__triggered_by_user__password")
            .order_by("-started_at", "-created_at"))


def runs_to_pause(executions, *, step_key: str | None = None, error_contains: str | None = None,
                  host: str | None = None, paused: bool = False):
    """The selection of a bulk pause (or, `paused`, of a bulk unpause): the `executions` in flight
    (pending or running; paused ones for an unpause), with retry-failed's filters read for runs in flight:
    `step_key`, a step still to run (pending, queued, retrying or waiting); `error_contains`, an attempt
    of theirs failed with it (a step being retried); `host`, a step still to run calls that host (its
    URL's circuit key, workflows/circuit.py; host_key says how it is given). Never a replay."""
    selected = executions.real().filter(status__in=[E.PAUSED] if paused else [E.PENDING, E.RUNNING])
    if step_key:
        selected = selected.filter(Exists(TaskExecution.objects.filter(
            execution=OuterRef("pk"), step_key=step_key, status__in=TASK_OPEN).exclude(status=T.RUNNING)))
    if error_contains:
        selected = selected.filter(Exists(TaskExecution.objects.filter(
            execution=OuterRef("pk"), status=T.FAILED, error_message__icontains=error_contains)))
    if host:
        selected = _calling_host(selected, circuit.host_key(host))
    return selected


def _calling_host(executions, key: str):
    """Runs with a step still to run whose URL calls `key`: per version of the selection, the steps
    that call it (read from the definition, cached per version), then one EXISTS over their attempts."""
    calls = Q(pk__in=[])
    for version_id in executions.order_by().values_list("workflow_version_id", flat=True).distinct():
        steps = definitions.for_version(version_id).steps
        keys = [k for k, step in steps.items() if circuit.calls_host((step.config or {}).get("url"), key)]
        if keys:
            calls |= Q(workflow_version_id=version_id) & Exists(TaskExecution.objects.filter(
                execution=OuterRef("pk"), step_key__in=keys, status__in=[T.PENDING, T.QUEUED, T.RETRYING]))
    return executions.filter(calls)
