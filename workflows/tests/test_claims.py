"""The claim (workflows/engine/claims.py): queued -> running once, with its lease and its event, in
one statement on PostgreSQL and in one transaction elsewhere; both give the same attempt, the same
row and the same log line. Transactional tests: the one-statement form runs outside a transaction."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from workflows import services
from workflows.engine import claims, events
from workflows.engine.planner.states import TaskStatus as T
from workflows.models import ExecutionLog, TaskExecution
from workflows.tests.factories import active_workflow, step

pytestmark = pytest.mark.django_db(transaction=True)


def _queued(user, **input_data):
    workflow = active_workflow(user, [step("a", function="noop"), step("b", function="noop", depends_on=["a"])])
    execution, _ = services.execution_start(workflow=workflow, input_data=input_data, triggered_by="api")
    return TaskExecution.objects.get(execution=execution, step_key="a", status=T.QUEUED)


def _claim(task_id, now, worker_id="host:1"):
    return claims.claim(task_id, now=now, lease_expires_at=now + timedelta(seconds=30), worker_id=worker_id,
                        celery_task_id="celery-1")


def _same_attempt(claimed: TaskExecution, read: TaskExecution) -> None:
    for field in TaskExecution._meta.concrete_fields:
        assert getattr(claimed, field.attname) == getattr(read, field.attname), field.name
    for field in type(read.execution)._meta.concrete_fields:
        assert getattr(claimed.execution, field.attname) == getattr(read.execution, field.attname), field.name


@pytest.mark.parametrize("in_transaction", [False, True], ids=["one statement", "one transaction"])
def test_a_claim_moves_the_attempt_once_and_writes_its_event(user, sync_executor, in_transaction):
    task = _queued(user, customer={"name": "Zoë", "tags": ["a", "b"]})
    now = timezone.now()
    seen = []
    events.subscribers.append(seen.extend)
    try:
        if in_transaction:
            with transaction.atomic():
                claimed = _claim(task.pk, now)
        else:
            with CaptureQueriesContext(connection) as queries:
                claimed = _claim(task.pk, now)
            if connection.vendor == "postgresql":
                assert len([q for q in queries.captured_queries if q["sql"] not in ("BEGIN", "COMMIT")]) == 1
    finally:
        events.subscribers.remove(seen.extend)
    assert claimed is not None
    _same_attempt(claimed, TaskExecution.objects.select_related("execution").get(pk=task.pk))
    assert claimed.status == T.RUNNING and claimed.started_at == now and claimed.worker_id == "host:1"
    assert claimed.lease_expires_at == now + timedelta(seconds=30) and claimed.celery_task_id == "celery-1"
    assert claimed.execution.input == {"customer": {"name": "Zoë", "tags": ["a", "b"]}}  # JSON read as JSON
    line = ExecutionLog.objects.get(task_execution_id=task.pk, event="step.started")
    assert (line.message, line.details, line.level, line.step_key) == (
        "Step 'a' attempt 1 started", {"worker_id": "host:1"}, "info", "a")
    assert [(row.pk, row.event, row.attempt) for row in seen] == [(line.pk, "step.started", 1)]
    if connection.vendor == "postgresql":  # the claim's commit alone skips the wait for the disk
        with connection.cursor() as cursor:
            cursor.execute("SHOW synchronous_commit")
            assert cursor.fetchone()[0] == "on"
    assert _claim(task.pk, timezone.now(), worker_id="host:2") is None  # a second delivery claims nothing
    assert TaskExecution.objects.get(pk=task.pk).worker_id == "host:1"
    assert ExecutionLog.objects.filter(task_execution_id=task.pk, event="step.started").count() == 1


def test_an_attempt_that_is_not_queued_is_not_claimed(user, sync_executor):
    task = _queued(user)
    TaskExecution.objects.filter(pk=task.pk).update(status=T.CANCELLED)
    assert _claim(task.pk, timezone.now()) is None
    assert TaskExecution.objects.get(pk=task.pk).status == T.CANCELLED
    assert not ExecutionLog.objects.filter(task_execution_id=task.pk, event="step.started").exists()


def test_of_many_concurrent_deliveries_one_claims(user, sync_executor):
    task = _queued(user)
    now = timezone.now()
    won, barrier = [], threading.Barrier(8)

    def deliver(n):
        try:
            barrier.wait()
            if _claim(task.pk, now, worker_id=f"host:{n}") is not None:
                won.append(n)
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(won) == 1
    assert TaskExecution.objects.get(pk=task.pk).worker_id == f"host:{won[0]}"
    assert ExecutionLog.objects.filter(task_execution_id=task.pk, event="step.started").count() == 1
