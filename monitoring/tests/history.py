"""A known history for the metrics tests: every figure of it is computed by hand in `Expected`.

"patient registration" (validate -> create_patient -> notify), 100 runs that ended in the window, one a
minute from `since` (run i ends at since + i min + 30 s and lasted (i + 1) * 100 ms):

- 30 failed at create_patient (i % 10 in {0, 3, 6}), after 2 attempts: 18 with error A ("Patient <n>
  already exists (MRN '…')", i < 60) and 12 with error B (a 503 from the EHR with a request id, i >= 60);
- 10 completed after a retry of create_patient (i % 10 == 1: attempt 1 failed with error A);
- the 60 others completed at the first attempt.

create_patient's 140 attempts last 1..140 ms (in the order they are made). Outside the figures: runs
that ended before the window, a run of another user, runs still pending, running and waiting now.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import F
from django.utils import timezone

from workflows.models import TaskExecution, WorkflowExecution
from workflows.signatures import signature
from workflows.sql import MillisecondsBetween
from workflows.engine.planner.states import ExecutionStatus as E
from workflows.engine.planner.states import TaskStatus as T
from workflows.tests.factories import active_workflow, step

ERROR_A = "Patient {n} already exists (MRN 'A-{m}')"
ERROR_B = "POST https://ehr.example.com/api/patients/{n}?token=x{m} failed: 503, request id {uuid}"
MS = timedelta(milliseconds=1)


def failing(i: int) -> bool:
    return i % 10 in (0, 3, 6)


def retried_then_completed(i: int) -> bool:
    return i % 10 == 1


@dataclass
class History:
    since: datetime
    until: datetime
    workflow: object
    other_workflow: object  # another user's
    quiet_workflow: object  # the same user's, no run in the window
    signature_a: str
    signature_b: str
    failed_a: set  # ids of the executions that failed with A (now failed)
    failed_b: set


def registration(owner, name="patient registration"):
    return active_workflow(owner, [step("validate", function="noop"),
                                   step("create_patient", function="noop", depends_on=["validate"]),
                                   step("notify", function="noop", depends_on=["create_patient"])], name=name)


def build(*, user, other_user, runs: int = 100, since: datetime | None = None) -> History:
    since = since or (timezone.now() - timedelta(days=1)).replace(minute=0, second=0, microsecond=0)
    workflow = registration(user)
    other = registration(other_user, name="someone else's")
    quiet = registration(user, name="quiet")
    version = workflow.versions.get().pk
    executions, tasks = [], []
    failed_a, failed_b = set(), set()
    cp_attempt = 0

    def task(execution, key, attempt, status, started, ended, error=""):
        tasks.append(TaskExecution(
            execution=execution, step_key=key, task_type="python", attempt=attempt, round_first_attempt=1,
            status=status, started_at=started, completed_at=ended, error_message=error,
            error_signature=signature(error) if error else ""))

    for i in range(runs):
        ended = since + timedelta(minutes=i, seconds=30)
        started = ended - (i + 1) * 100 * MS
        status = E.FAILED if failing(i) else E.COMPLETED
        execution = WorkflowExecution(id=uuid.uuid4(), workflow=workflow, workflow_version_id=version, status=status,
                                      started_at=started, completed_at=ended)
        executions.append(execution)
        task(execution, "validate", 1, T.COMPLETED, started, started + 10 * MS)
        at = started + 20 * MS
        attempts = 2 if failing(i) or retried_then_completed(i) else 1
        for attempt in range(1, attempts + 1):
            cp_attempt += 1
            final = attempt == attempts
            if failing(i):
                error = (ERROR_A if i < 60 else ERROR_B).format(n=1000 + i * 7 + attempt, m=i, uuid=uuid.uuid4())
                task(execution, "create_patient", attempt, T.FAILED, at, at + cp_attempt * MS, error)
            elif not final:
                task(execution, "create_patient", attempt, T.FAILED, at, at + cp_attempt * MS,
                     ERROR_A.format(n=50_000 + i, m=i))
            else:
                task(execution, "create_patient", attempt, T.COMPLETED, at, at + cp_attempt * MS)
        if failing(i):
            (failed_a if i < 60 else failed_b).add(execution.pk)
        else:
            task(execution, "notify", 1, T.COMPLETED, ended - 5 * MS, ended)

    def run(workflow, status, started=None, ended=None):
        execution = WorkflowExecution(id=uuid.uuid4(), workflow=workflow, workflow_version_id=workflow.versions.get().pk,
                                      status=status, started_at=started, completed_at=ended)
        executions.append(execution)
        return execution

    # Before the window: 5 runs (3 failed), with their steps.
    for i in range(5):
        ended = since - timedelta(minutes=10 + i)
        execution = run(workflow, E.FAILED if i < 3 else E.COMPLETED, ended - 5 * MS, ended)
        task(execution, "create_patient", 1, T.FAILED if i < 3 else T.COMPLETED, ended - 5 * MS, ended,
             ERROR_A.format(n=i, m=i) if i < 3 else "")
    # Another user's runs in the window.
    for i in range(4):
        ended = since + timedelta(minutes=i, seconds=10)
        execution = run(other, E.FAILED, ended - 5 * MS, ended)
        task(execution, "create_patient", 1, T.FAILED, ended - 5 * MS, ended, ERROR_A.format(n=i, m=i))
    # Now: 2 pending runs, 5 running (one step running each), 3 running with a step waiting, 1 queued step.
    now = timezone.now()
    for _ in range(2):
        run(workflow, E.PENDING)
    for i in range(5):
        task(run(workflow, E.RUNNING, now), "validate", 1, T.RUNNING, now, None)
    for i in range(3):
        execution = run(workflow, E.RUNNING, now)
        task(execution, "validate", 1, T.COMPLETED, now, now)
        task(execution, "create_patient", 1, T.WAITING, now, None)
    task(run(workflow, E.RUNNING, now), "validate", 1, T.QUEUED, None, None)

    WorkflowExecution.objects.bulk_create(executions)
    TaskExecution.objects.bulk_create(tasks)
    # Runs were created when they started (auto_now_add made it "now"), the others stay created now.
    WorkflowExecution.objects.filter(started_at__isnull=False, completed_at__isnull=False).update(
        created_at=F("started_at"))
    # The durations as the transitions keep them (workflows/engine/planner/states.py), from the timestamps above.
    for model in (WorkflowExecution, TaskExecution):
        model.objects.filter(completed_at__isnull=False, started_at__isnull=False).update(
            duration_ms=MillisecondsBetween(F("started_at"), F("completed_at")))
    return History(since=since, until=since + timedelta(hours=2), workflow=workflow, other_workflow=other,
                   quiet_workflow=quiet, signature_a=signature(ERROR_A.format(n=1, m=2)),
                   signature_b=signature(ERROR_B.format(n=1, m=2, uuid=uuid.uuid4())),
                   failed_a=failed_a, failed_b=failed_b)
