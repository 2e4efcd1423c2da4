"""`manage.py executions list|retry|cancel|pause|unpause`: look at runs, and retry, cancel, pause or unpause
many of them, from a shell.

    executions list   [--workflow ID|NAME] [--status failed] [--since 2h|ISO] [--search NAME=VALUE...] [--limit 50]
    executions retry  (--workflow ID|NAME | --search NAME=VALUE...) [--step KEY] [--error TEXT] [--dry-run]
    executions cancel (--workflow ID|NAME | --id ID... | --search NAME=VALUE...) [--status pending|running] [--dry-run]
    executions pause  (--workflow ID|NAME | --id ID... | --search NAME=VALUE... | --host HOST) [--step KEY]
                      [--error TEXT] [--dry-run]
    executions unpause (the same filters, over paused runs)

--search selects runs by a search field's value (exact; repeated, AND-ed), as ?search.NAME=VALUE does.

Retry, cancel, pause and unpause go through the services one execution at a time (each in its own transaction, so a
long batch never holds locks for long), with a progress bar on stderr; --dry-run only says which.
"""

from __future__ import annotations

import uuid

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from workflows import search_fields, selectors, services
from workflows.errors import DomainError, InvalidInput
from workflows.management.console import Progress, parse_since, shorten, table
from workflows.models import TaskExecution, Workflow, WorkflowExecution
from workflows.engine.planner.states import ExecutionStatus as E
from workflows.engine.planner.states import TaskStatus as T

CANCELLABLE = [E.PENDING, E.RUNNING]


class Command(BaseCommand):
    help = ("List executions, or retry, cancel, pause or unpause many at once: "
            "executions {list,retry,cancel,pause,unpause} --help.")

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True, metavar="{list,retry,cancel,pause,unpause}")
        workflow_help = "a workflow's id or exact name"
        search_help = "only runs whose search field NAME is exactly VALUE (repeat: AND-ed)"

        listing = actions.add_parser("list", help="a table of executions, latest first")
        listing.add_argument("--workflow", help=workflow_help)
        listing.add_argument("--status", choices=E.values)
        listing.add_argument("--since", type=parse_since, help="created since: 2h, 30m, 7d, or an ISO date or time")
        listing.add_argument("--search", action="append", default=[], metavar="NAME=VALUE", help=search_help)
        listing.add_argument("--limit", type=int, default=50, help="at most this many rows (default 50)")

        retry = actions.add_parser("retry", help="resume failed executions at their failed steps")
        retry.add_argument("--workflow", help=workflow_help)
        retry.add_argument("--search", action="append", default=[], metavar="NAME=VALUE", help=search_help)
        retry.add_argument("--step", help="only those whose step KEY failed")
        retry.add_argument("--error", help="only those whose failed step's error contains TEXT (any case)")
        retry.add_argument("--dry-run", action="store_true", help="say which would be retried; change nothing")

        cancel = actions.add_parser("cancel", help="cancel pending and running executions")
        cancel.add_argument("--workflow", help=workflow_help)
        cancel.add_argument("--id", dest="ids", nargs="+", action="extend", default=[], metavar="ID",
                            help="these executions")
        cancel.add_argument("--search", action="append", default=[], metavar="NAME=VALUE", help=search_help)
        cancel.add_argument("--status", choices=CANCELLABLE, help="only pending or only running ones")
        cancel.add_argument("--dry-run", action="store_true", help="say which would be cancelled; change nothing")

        for verb, what in (("pause", "pause pending and running executions: no new step starts, timers wait"),
                           ("unpause", "carry paused executions on where they stopped")):
            sub = actions.add_parser(verb, help=what)
            sub.add_argument("--workflow", help=workflow_help)
            sub.add_argument("--id", dest="ids", nargs="+", action="extend", default=[], metavar="ID",
                             help="these executions")
            sub.add_argument("--search", action="append", default=[], metavar="NAME=VALUE", help=search_help)
            sub.add_argument("--host", help="only runs with a step still to run calling this host (an origin, "
                                            "https://ehr.example:443, or a host name)")
            sub.add_argument("--step", help="only runs with step KEY still to run")
            sub.add_argument("--error", help="only runs with an attempt whose error contains TEXT (any case)")
            sub.add_argument("--dry-run", action="store_true", help=f"say which would be {verb}d; change nothing")

    def handle(self, *args, action, **options):
        getattr(self, f"_{action}")(**options)

    # --- the three actions ---------------------------------------------------------------------------

    def _list(self, *, workflow, status, since, limit, search, **options):
        executions = _searched(WorkflowExecution.objects.select_related("workflow"), search).order_by("-created_at")
        if workflow:
            executions = executions.filter(workflow__in=_workflows(workflow))
        if status:
            executions = executions.filter(status=status)
        if since:
            executions = executions.filter(created_at__gte=since)
        rows = list(executions[:max(limit, 1)])
        if not rows:
            self.stdout.write("No executions match.")
            return
        self.stdout.write(_table(rows))
        more = " (the limit; --limit shows more)" if len(rows) == limit else ""
        self.stdout.write(f"{len(rows)} execution{'s' if len(rows) != 1 else ''}{more}")

    def _retry(self, *, workflow, step, error, dry_run, search, **options):
        if not workflow and not search:
            raise CommandError("say which executions to retry: --workflow ID|NAME and/or --search NAME=VALUE")
        executions = _searched(WorkflowExecution.objects.all(), search)
        if workflow:
            executions = executions.filter(workflow__in=_workflows(workflow))
        targets = list(selectors.failed_executions(executions, step_key=step, error_contains=error)
                       .select_related("workflow").order_by("created_at"))
        self._apply(targets, dry_run=dry_run, verb="retry", done="retried",
                    change=lambda execution: services.execution_retry(execution=execution))

    def _cancel(self, *, workflow, ids, status, dry_run, search, **options):
        if not workflow and not ids and not search:
            raise CommandError("say which executions to cancel: --workflow ID|NAME, --id ID... and/or "
                               "--search NAME=VALUE")
        executions = _searched(WorkflowExecution.objects.filter(status__in=[status] if status else CANCELLABLE),
                               search)
        if workflow:
            executions = executions.filter(workflow__in=_workflows(workflow))
        wanted = {_uuid(i) for i in ids}
        if wanted:
            executions = executions.filter(pk__in=wanted)
        targets = list(executions.select_related("workflow").order_by("created_at"))
        if wanted and (missing := len(wanted) - len(targets)) > 0:
            self.stdout.write(f"{missing} of the given ids {'is' if missing == 1 else 'are'} not "
                              f"{status or 'pending or running'}{' in that workflow' if workflow else ''}")
        self._apply(targets, dry_run=dry_run, verb="cancel", done="cancelled",
                    change=lambda execution: services.execution_cancel(execution=execution))

    def _pause(self, **options):
        self._pause_or_unpause(unpause=False, **options)

    def _unpause(self, **options):
        self._pause_or_unpause(unpause=True, **options)

    def _pause_or_unpause(self, *, unpause: bool, workflow, ids, search, host, step, error, dry_run, **options):
        verb = "unpause" if unpause else "pause"
        if not workflow and not ids and not search and not host:
            raise CommandError(f"say which executions to {verb}: --workflow ID|NAME, --id ID..., --search "
                               "NAME=VALUE and/or --host HOST")
        executions = _searched(WorkflowExecution.objects.all(), search)
        if workflow:
            executions = executions.filter(workflow__in=_workflows(workflow))
        if ids:
            executions = executions.filter(pk__in={_uuid(i) for i in ids})
        targets = list(selectors.runs_to_pause(executions, step_key=step, error_contains=error, host=host,
                                               paused=unpause).select_related("workflow").order_by("created_at"))
        service = services.execution_unpause if unpause else services.execution_pause
        self._apply(targets, dry_run=dry_run, verb=verb, done=f"{verb}d",
                    change=lambda execution: service(execution=execution))

    # --- shared ----------------------------------------------------------------------------------------

    def _apply(self, targets: list[WorkflowExecution], *, dry_run: bool, verb: str, done: str, change) -> None:
        """One service call per execution, a progress bar, and a summary; or, dry, only what would change."""
        if not targets:
            self.stdout.write(f"No executions to {verb}.")
            return
        noun = f"{len(targets)} execution{'s' if len(targets) != 1 else ''}"
        if dry_run:
            self.stdout.write(f"Dry run: would {verb} {noun}; nothing was changed.")
            self.stdout.write(_table(targets))
            return
        progress = Progress(self.stderr, len(targets))
        changed, skipped = 0, []
        for execution in targets:
            try:
                change(execution)
            except DomainError as exc:  # e.g. someone else retried or cancelled it meanwhile
                skipped.append(f"{execution.pk}: {exc.message}")
                progress.advance(f"{execution.pk} skipped")
                continue
            changed += 1
            progress.advance(f"{execution.pk} {done}")
        self.stdout.write(self.style.SUCCESS(f"{done.capitalize()} {changed} of {noun}."))
        for line in skipped:
            self.stdout.write(f"  skipped {line}")


def _workflows(value: str):
    """Workflows by id or by exact name (a name may be used by several owners)."""
    try:
        found = Workflow.objects.filter(pk=uuid.UUID(value))
    except ValueError:
        found = Workflow.objects.filter(name=value)
    if not found.exists():
        raise CommandError(f"no workflow with the id or name {value!r}")
    return found


def _searched(executions, search: list[str]):
    """`executions` with the --search NAME=VALUE filters (the API's search.NAME rules), AND-ed."""
    pairs = []
    for item in search:
        name, sep, value = item.partition("=")
        if not sep:
            raise CommandError(f"--search {item!r}: write NAME=VALUE")
        pairs.append((f"search.{name}", value))
    try:
        return selectors.with_search(executions, search_fields.parse_filters(pairs))
    except InvalidInput as exc:
        raise CommandError(exc.message) from None


def _uuid(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise CommandError(f"{value!r} is not an execution id") from None


def _current_failures(execution_ids: list) -> dict:
    """Per execution, its first step whose current attempt failed (an earlier, retried failure is not one)."""
    failed = TaskExecution.objects.filter(execution_id__in=execution_ids, status=T.FAILED).current() \
        .order_by("completed_at", "created_at").only("execution_id", "step_key", "error_message")
    first: dict = {}
    for task in failed:
        first.setdefault(task.execution_id, task)
    return first


def _table(executions: list[WorkflowExecution]) -> str:
    failures = _current_failures([e.pk for e in executions if e.status == E.FAILED])
    rows = []
    for e in executions:
        failure = failures.get(e.pk)
        rows.append([str(e.pk), shorten(e.workflow.name, 30), e.status,
                     timezone.localtime(e.created_at).strftime("%Y-%m-%d %H:%M:%S"),
                     failure.step_key if failure else "-",
                     shorten(failure.error_message if failure else e.error_message, 60) or "-"])
    return table(["ID", "WORKFLOW", "STATUS", "CREATED", "FAILED STEP", "ERROR"], rows)
