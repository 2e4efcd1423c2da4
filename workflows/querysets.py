"""Querysets named for intent: what the orchestrator, the sweeper and the API ask of the tables."""

from __future__ import annotations

from django.db import models

from .engine.planner.states import ExecutionStatus as E
from .engine.planner.states import TaskStatus as T


class OwnedQuerySet(models.QuerySet):
    owner_path = "owner"

    def visible_to(self, user) -> models.QuerySet:
        """The one owner filter: a user sees their own objects, staff see all."""
        if user.is_staff:
            return self.all()
        return self.filter(**{self.owner_path: user})


class WorkflowQuerySet(OwnedQuerySet):
    pass


class ExecutionQuerySet(OwnedQuerySet):
    owner_path = "workflow__owner"

    def visible_to(self, user) -> models.QuerySet:
        """Runs of the user's workflows; and of code workflows (owned by the system user), the runs
        the user started. Staff see all."""
        if user.is_staff:
            return self.all()
        return self.filter(models.Q(workflow__owner=user) | models.Q(workflow__kind="code", triggered_by_user=user))

    def for_api(self) -> models.QuerySet:
        """Runs as the API shows them: with their workflow's name, their version's number and who
        started them, in the same query; not the version's definition (megabytes for a big workflow);
        their search values in one more query for the page."""
        return self.select_related("workflow", "workflow_version", "triggered_by_user", "overridden_by").defer(
            "workflow_version__definition", "triggered_by_user__password", "overridden_by__password",
        ).prefetch_related("search_values")

    def running(self):
        return self.filter(status=E.RUNNING)

    def holding_slots(self):
        """The runs holding a concurrency slot: running, or paused while running (unpaused, such a run
        carries on without waiting for a slot)."""
        return self.filter(models.Q(status=E.RUNNING) | models.Q(status=E.PAUSED, paused_from=E.RUNNING))

    def real(self):
        """Not replays (dry runs of other runs, docs/adr/0026): what the metrics and alerts count."""
        return self.filter(replay_mocks__isnull=True)

    def dead_letters(self):
        """Failed for good and retriable: the real runs (not replays) that failed and did not go through
        compensation (their completed steps undone, a retry is refused: check_action). What a bulk
        retry selects and the dead-letter queues hold (ADR 0034, 0035)."""
        return self.real().filter(status=E.FAILED, phase="")

    def pending_fifo(self):
        return self.filter(status=E.PENDING).order_by("created_at", "id")

    def failed(self):
        return self.filter(status=E.FAILED)

    def due(self, now):
        """Not scheduled for later."""
        return self.filter(models.Q(scheduled_at__isnull=True) | models.Q(scheduled_at__lte=now))

    def scheduled_due(self, now):
        """Pending runs whose scheduled start has come (and that never started)."""
        return self.filter(status=E.PENDING, scheduled_at__lte=now, started_at__isnull=True)


class TaskExecutionQuerySet(models.QuerySet):
    def due(self, now):
        """Retries and timers whose time has come (of runs not paused: a paused run's are held)."""
        return self.filter(status__in=[T.RETRYING, T.WAITING], held=False, wake_at__lte=now)

    def throttled_due(self, now):
        """Ready attempts held back by their step's limits (engine/step_limits.py) whose time to look
        again has come (index task_throttled), in running runs (a paused, failed or cancelled run's
        stay out: they would come back every sweep). Retrying ones are in `due`."""
        return self.filter(status=T.PENDING, held=False, wake_at__lte=now,
                           execution__status=E.RUNNING).exclude(throttled="")

    def lease_expired(self, now):
        """Running attempts whose worker stopped renewing the claim: the worker died."""
        return self.filter(status=T.RUNNING, lease_expires_at__lt=now)

    def current(self):
        """The rows that are their step's current attempt: no row of the same run and step has a later
        visit, or the same visit and a higher attempt. states.latest_attempts in SQL, for selections
        over many runs (bulk retry, the failed step of a listing); test_states checks they agree."""
        later = self.model._default_manager.filter(execution=models.OuterRef("execution"),
                                                   step_key=models.OuterRef("step_key")).filter(
            models.Q(visit__gt=models.OuterRef("visit"))
            | models.Q(visit=models.OuterRef("visit"), attempt__gt=models.OuterRef("attempt")))
        return self.exclude(models.Exists(later))

    def stale_queued(self, before):
        """Queued attempts whose last message was sent before `before` and not picked up since."""
        return self.filter(status=T.QUEUED, held=False, dispatched_at__lt=before)
