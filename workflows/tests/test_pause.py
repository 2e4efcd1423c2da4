"""Pause and resume (issue 18, docs/adr/0033-pause-and-resume.md), over the API on the test database, the
steps run in this process when drained: a paused run starts no new step, its queued steps are not
claimed, its timers and retries keep their due time and are left by the sweeper; unpaused, it carries
on where it stopped, every step once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from workflows import services
from workflows.engine import orchestrator
from workflows.engine.planner.states import ExecutionStatus as E
from workflows.engine.planner.states import TaskStatus as T
from workflows.models import TaskExecution, Workflow, WorkflowExecution
from workflows.services.recovery import _due_retries, sweep
from workflows.tests import functions
from workflows.tests.factories import active_workflow, diamond, step

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def calls():
    functions.CALLS.clear()
    yield functions.CALLS
    functions.CALLS.clear()


def chain(user, *keys: str, **fields):
    """a -> b -> c...: each records its key (functions.record)."""
    return active_workflow(user, [step(key, function="record", kwargs={"value": key},
                                       depends_on=[keys[i - 1]] if i else [])
                                  for i, key in enumerate(keys)], **fields)


def start(api, workflow) -> str:
    answer = api.post(f"/api/v1/workflows/{workflow.pk}/run/", {"input_data": {}}, format="json")
    assert answer.status_code == 201, answer.data
    return answer.data["id"]


def rows(run_id) -> dict[str, tuple[str, int]]:
    """Each step's latest attempt: (status, attempt)."""
    found = {}
    for row in TaskExecution.objects.filter(execution_id=run_id).order_by("visit", "attempt"):
        found[row.step_key] = (row.status, row.attempt)
    return found


def status(run_id) -> str:
    return WorkflowExecution.objects.get(pk=run_id).status


def events(api, run_id) -> list[dict]:
    return api.get(f"/api/v1/executions/{run_id}/logs/?limit=500").data["logs"]


def test_a_paused_runs_queued_step_is_not_claimed_and_unpause_sends_it_again(api, user, sync_executor, calls):
    run = start(api, chain(user, "a", "b", "c"))
    assert rows(run)["a"] == (T.QUEUED, 1)

    paused = api.post(f"/api/v1/executions/{run}/pause/")
    assert paused.status_code == 200 and paused.data["status"] == "paused"
    assert paused.data["allowed_actions"] == ["cancel", "unpause"]
    sync_executor.drain()  # the message arrives: the claim refuses the held step, nothing runs
    assert calls == [] and rows(run)["a"] == (T.QUEUED, 1) and status(run) == E.PAUSED

    unpaused = api.post(f"/api/v1/executions/{run}/unpause/")
    assert unpaused.status_code == 200 and unpaused.data["status"] == "running"
    sync_executor.drain()
    assert status(run) == E.COMPLETED
    assert [c["value"] for c in calls] == ["a", "b", "c"]
    assert rows(run) == {"a": (T.COMPLETED, 1), "b": (T.COMPLETED, 1), "c": (T.COMPLETED, 1)}
    assert len({c["idempotency_key"] for c in calls}) == 3
    said = [(e["event"], e["details"].get("user")) for e in events(api, run)
            if e["event"] in ("execution.paused", "execution.unpaused")]
    assert said == [("execution.paused", "alice"), ("execution.unpaused", "alice")]


def test_a_step_running_when_paused_finishes_and_nothing_downstream_is_queued(api, user, sync_executor, calls):
    run = start(api, chain(user, "a", "b"))
    [a_id] = sync_executor.queue
    sync_executor.queue.clear()
    task = orchestrator._claim(a_id, worker_id="w1", celery_task_id="")  # a worker took it: it runs
    assert api.post(f"/api/v1/executions/{run}/pause/").status_code == 200
    orchestrator.record(task, orchestrator._execute(task))  # it finishes while the run is paused
    assert rows(run) == {"a": (T.COMPLETED, 1), "b": (T.PENDING, 1)} and status(run) == E.PAUSED
    assert list(sync_executor.queue) == []  # b was not queued

    api.post(f"/api/v1/executions/{run}/unpause/")
    assert rows(run)["b"] == (T.QUEUED, 1)  # what became ready while paused is queued on resume
    sync_executor.drain()
    assert status(run) == E.COMPLETED and [c["value"] for c in calls] == ["a", "b"]


def test_a_paused_runs_timer_keeps_its_due_time_and_the_sweeper_leaves_it_until_unpaused(api, user, sync_executor,
                                                                                          calls):
    workflow = active_workflow(user, [step("nap", "delay", config={"seconds": 60}),
                                      step("after", function="record", kwargs={"value": "after"},
                                           depends_on=["nap"])])
    run = start(api, workflow)
    sync_executor.drain()
    nap = TaskExecution.objects.get(execution_id=run, step_key="nap")
    assert nap.status == T.WAITING
    api.post(f"/api/v1/executions/{run}/pause/")

    later = nap.wake_at + timedelta(seconds=1)
    assert sweep(now=later).timers_fired == 0  # due, but its run is paused
    nap.refresh_from_db()
    assert (nap.status, nap.held) == (T.WAITING, True)
    why = api.get(f"/api/v1/executions/{run}/why/").data
    reasons = {r["step_key"]: r for r in why["reasons"]}
    assert reasons[None]["reason"] == "paused" and reasons["nap"]["reason"] == "paused"
    assert reasons["after"]["reason"] == "paused"

    api.post(f"/api/v1/executions/{run}/unpause/")
    nap.refresh_from_db()
    assert nap.wake_at == TaskExecution.objects.get(pk=nap.pk).wake_at and not nap.held
    assert sweep(now=later).timers_fired == 1  # due: it fires at the sweeper's next pass
    sync_executor.drain()
    assert status(run) == E.COMPLETED and [c["value"] for c in calls] == ["after"]


def test_a_step_failing_while_paused_retries_after_the_unpause(api, user, sync_executor):
    workflow = active_workflow(user, [step("flaky", function="flaky", kwargs={"fail_times": 1}, max_retries=2,
                                           retry_base_delay=0.1)])
    run = start(api, workflow)
    [task_id] = sync_executor.queue
    sync_executor.queue.clear()
    task = orchestrator._claim(task_id, worker_id="w1", celery_task_id="")
    api.post(f"/api/v1/executions/{run}/pause/")
    orchestrator.record(task, orchestrator._execute(task))
    retry = TaskExecution.objects.get(execution_id=run, attempt=2)
    assert (retry.status, retry.held) == (T.RETRYING, True)
    far = timezone.now() + timedelta(minutes=5)
    assert sweep(now=far).retries_queued == 0
    api.post(f"/api/v1/executions/{run}/unpause/")
    assert sweep(now=far).retries_queued == 1
    sync_executor.drain()
    assert status(run) == E.COMPLETED and rows(run) == {"flaky": (T.COMPLETED, 2)}


def test_pause_and_unpause_are_refused_with_409_where_the_table_says_so(api, user, sync_executor):
    run = start(api, diamond(user))
    answer = api.post(f"/api/v1/executions/{run}/unpause/")
    assert answer.status_code == 409 and answer.data["allowed_actions"] == ["cancel", "pause"]
    assert api.post(f"/api/v1/executions/{run}/pause/").status_code == 200
    again = api.post(f"/api/v1/executions/{run}/pause/")
    assert again.status_code == 409 and "paused" in again.data["message"]
    cancelled = api.post(f"/api/v1/executions/{run}/cancel/")
    assert cancelled.status_code == 200 and cancelled.data["status"] == "cancelled"
    sync_executor.drain()
    assert not TaskExecution.objects.filter(execution_id=run, status=T.COMPLETED).exists()
    assert api.post(f"/api/v1/executions/{run}/pause/").status_code == 409


def test_a_run_paused_before_it_started_goes_back_to_pending_and_starts(api, user, sync_executor):
    execution, _ = services.execution_start(workflow=diamond(user), scheduled_at=timezone.now() + timedelta(hours=1))
    assert api.post(f"/api/v1/executions/{execution.pk}/pause/").data["status"] == "paused"
    assert sweep(now=timezone.now() + timedelta(hours=2)).scheduled_started == 0
    assert api.post(f"/api/v1/executions/{execution.pk}/unpause/").data["status"] == "pending"
    sweep(now=timezone.now() + timedelta(hours=2))
    sync_executor.drain()
    assert status(execution.pk) == E.COMPLETED


def test_a_paused_run_keeps_its_concurrency_slot(api, user, sync_executor):
    workflow = chain(user, "a", max_concurrency=1)
    first, second = start(api, workflow), start(api, workflow)
    assert (status(first), status(second)) == (E.RUNNING, E.PENDING)
    api.post(f"/api/v1/executions/{first}/pause/")
    sync_executor.drain()
    assert (status(first), status(second)) == (E.PAUSED, E.PENDING)
    api.post(f"/api/v1/executions/{first}/unpause/")
    sync_executor.drain()
    assert (status(first), status(second)) == (E.COMPLETED, E.COMPLETED)


def test_bulk_pause_takes_the_filters_and_a_dry_run_and_is_bounded(api, user, sync_executor, settings):
    one, other = chain(user, "a", "b"), chain(user, "x")
    runs = [start(api, one) for _ in range(3)]
    elsewhere = start(api, other)
    dry = api.post("/api/v1/executions/pause/", {"workflow_id": str(one.pk), "dry_run": True}, format="json")
    assert dry.status_code == 200 and dry.data["dry_run"] is True and dry.data["count"] == 3
    assert {status(r) for r in runs} == {E.RUNNING}

    settings.FLOWPILOT_MAX_BULK_PAUSE = 2
    too_many = api.post("/api/v1/executions/pause/", {"workflow_id": str(one.pk)}, format="json")
    assert too_many.status_code == 400 and {status(r) for r in runs} == {E.RUNNING}
    settings.FLOWPILOT_MAX_BULK_PAUSE = 1000

    done = api.post("/api/v1/executions/pause/", {"workflow_id": str(one.pk)}, format="json")
    assert done.status_code == 200 and done.data["paused"] == 3 and set(done.data["execution_ids"]) == set(runs)
    assert {status(r) for r in runs} == {E.PAUSED} and status(elsewhere) == E.RUNNING
    step_filtered = api.post("/api/v1/executions/pause/", {"step_key": "x"}, format="json").data
    assert step_filtered["execution_ids"] == [elsewhere]

    back = api.post("/api/v1/executions/unpause/", {"execution_ids": runs[:2]}, format="json")
    assert back.data["unpaused"] == 2 and [status(r) for r in runs] == [E.RUNNING, E.RUNNING, E.PAUSED]
    assert api.post("/api/v1/executions/pause/", {"execution_ids": ["nope"]}, format="json").status_code == 400
    long = api.post("/api/v1/executions/pause/", {"host": "h" * 301}, format="json")
    assert long.status_code == 400


def test_bulk_pause_by_host_pauses_the_runs_whose_steps_still_to_run_call_it(api, user, sync_executor):
    def calling(url: str):
        return active_workflow(user, [step("first", function="noop"),
                                      step("call", "http_request", config={"method": "POST", "url": url},
                                           depends_on=["first"])], name=url[:50])

    ehr = start(api, calling("https://ehr.example/api/patients/{{ input.id }}"))
    crm = start(api, calling("https://crm.example/contacts"))
    templated = start(api, calling("https://{{ input.host }}/x"))
    assert api.post("/api/v1/executions/pause/", {"host": "http://ehr.example", "dry_run": True},
                    format="json").data["count"] == 0  # another scheme: another circuit
    by_origin = api.post("/api/v1/executions/pause/", {"host": "https://EHR.example:443/", "dry_run": True},
                         format="json").data
    assert by_origin["execution_ids"] == [ehr]
    done = api.post("/api/v1/executions/pause/", {"host": "ehr.example"}, format="json").data
    assert done["execution_ids"] == [ehr]
    assert (status(ehr), status(crm), status(templated)) == (E.PAUSED, E.RUNNING, E.RUNNING)


def test_a_paused_workflow_pauses_its_runs_in_flight_and_starts_new_ones_paused(api, user, sync_executor, calls):
    workflow = chain(user, "a", "b")
    before = start(api, workflow)
    paused = api.post(f"/api/v1/workflows/{workflow.pk}/pause/")
    assert paused.status_code == 200 and paused.data["execution_ids"] == [before]
    assert api.get(f"/api/v1/workflows/{workflow.pk}/").data["paused"] is True
    during = start(api, workflow)
    assert status(during) == E.PAUSED and rows(during)["a"] == (T.PENDING, 1)
    sync_executor.drain()
    assert calls == []

    unpaused = api.post(f"/api/v1/workflows/{workflow.pk}/unpause/")
    assert unpaused.status_code == 200 and set(unpaused.data["execution_ids"]) == {before, during}
    assert Workflow.objects.get(pk=workflow.pk).paused is False
    sync_executor.drain()
    assert (status(before), status(during)) == (E.COMPLETED, E.COMPLETED) and len(calls) == 4
    after = start(api, workflow)
    assert status(after) == E.RUNNING


def test_another_users_run_or_workflow_is_not_paused(api, other_user, sync_executor):
    theirs, _ = services.execution_start(workflow=diamond(other_user))
    assert api.post(f"/api/v1/executions/{theirs.pk}/pause/").status_code == 404
    assert api.post(f"/api/v1/workflows/{theirs.workflow_id}/pause/").status_code == 404
    assert api.post("/api/v1/executions/pause/", {}, format="json").data["count"] == 0
    assert status(theirs.pk) == E.RUNNING


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the partial indexes' plans are PostgreSQL's")
def test_the_sweeper_reads_due_timers_through_the_index_that_leaves_paused_ones_out():
    now = timezone.now()
    for queryset in (TaskExecution.objects.due(now).filter(status=T.WAITING).order_by("wake_at")[:500],
                     _due_retries(now)[:500], TaskExecution.objects.stale_queued(now)[:500]):
        with connection.cursor() as cursor:
            sql, params = queryset.query.sql_with_params()
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute(f"EXPLAIN {sql}", params)
            plan = "\n".join(row[0] for row in cursor.fetchall())
        assert "task_due" in plan or "task_queued" in plan, plan
