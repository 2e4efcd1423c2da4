"""Issue 12, finding 1 with real processes: a Celery worker and celery-beat (the sweeper's clock) on
PostgreSQL and Redis. A run whose stored retry policy is hostile (1e12 s delays, a 1e308 backoff factor,
written straight into its version as legacy data would be) fails its attempt at the first failure and
retries at the clamped maximum, and another user's scheduled run still starts on time."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from workflows import bounds, services
from workflows.models import TaskExecution, WorkflowVersion
from workflows.engine.planner.states import ExecutionStatus as E
from workflows.engine.planner.states import TaskStatus as T
from workflows.tests.cluster import Cluster, flush_broker, wait_for
from workflows.tests.factories import active_workflow, step

pytestmark = [pytest.mark.e2e, pytest.mark.services, pytest.mark.django_db(transaction=True)]

HOSTILE_RETRY = {"max_retries": 3, "base_delay": 1e12, "backoff_factor": 1e308, "max_delay": 1e12}


@pytest.fixture
def cluster():
    flush_broker()
    c = Cluster()
    c.start_worker(concurrency=2)
    c.start_beat()
    yield c
    c.stop()


def test_a_hostile_stored_retry_policy_is_clamped_and_another_users_run_starts(user, other_user, cluster):
    poisoned = active_workflow(other_user, [step("boom", function="fail", max_retries=3)], name="poisoned")
    version = WorkflowVersion.objects.get(workflow=poisoned, number=poisoned.version)
    definition = version.definition
    definition["retry"] = HOSTILE_RETRY
    for s in definition["steps"]:
        s["retry"] = HOSTILE_RETRY
    version.definition = definition
    version.save(update_fields=["definition"])

    bad, _ = services.execution_start(workflow=poisoned)
    # Alice's run, scheduled a little later (an event's offset): the sweeper must start it.
    mine = active_workflow(user, [step("s", function="noop")], name="mine")
    good, _ = services.execution_start(workflow=mine, triggered_by="event",
                                       scheduled_at=timezone.now() + timedelta(seconds=4))

    def retry_scheduled() -> bool:
        return TaskExecution.objects.filter(execution=bad, attempt=2, status=T.RETRYING).exists()

    wait_for(retry_scheduled, timeout=30, message="the poisoned run's retry to be scheduled")
    first = TaskExecution.objects.get(execution=bad, attempt=1)
    retry = TaskExecution.objects.get(execution=bad, attempt=2)
    assert first.status == T.FAILED and first.error_message == "boom"
    wait = (retry.wake_at - first.completed_at).total_seconds()
    assert bounds.max_retry_delay() / 2 - 1 <= wait <= bounds.max_retry_delay() + 1

    def finished() -> bool:
        good.refresh_from_db()
        return good.status == E.COMPLETED

    wait_for(finished, timeout=30, message="the other user's scheduled run to complete")
    # The worker never lost the poisoned attempt (no "worker lost" take-back).
    assert not TaskExecution.objects.filter(execution=bad, error_message__startswith="worker lost").exists()
