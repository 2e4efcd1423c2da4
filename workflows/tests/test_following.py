"""A worker follows on (executors.CeleryExecutor.following, orchestrator.run_message): of the steps a
step's commit queues, the worker claims one in that commit to run next itself instead of sending it,
within its bounds in steps and seconds; the others are sent, and a step it claimed but did not run is
taken back by the sweeper when its lease runs out. Behind a backlog in the broker (every worker busy),
the others are not sent either: the worker claims and runs them itself, one after another, within the
same bounds, and sends what is left (docs/adr/0041). The sending is the real CeleryExecutor's, its
broker call replaced by a list here (factories.SentExecutor; the worker-process side is tested end to
end in test_following_e2e.py)."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from celery import current_app
from django.db import transaction

from workflows import services
from workflows.engine import executors, orchestrator
from workflows.engine.executors import Following
from workflows.engine.planner.states import ExecutionStatus as E
from workflows.engine.planner.states import TaskStatus as T
from workflows.engine.transitions import transition_rows
from workflows.models import ExecutionLog, TaskExecution
from workflows.services.recovery import sweep
from workflows.tests.factories import SentExecutor, active_workflow, step

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def sent():
    executor = SentExecutor()
    executors.set_executor(executor)
    yield executor
    executors.set_executor(None)


def _diamond(user):
    return active_workflow(user, [
        step("a", function="noop"), step("b", function="noop", depends_on=["a"]),
        step("c", function="noop", depends_on=["a"]), step("d", function="noop", depends_on=["a"]),
        step("e", function="noop", depends_on=["b", "c", "d"])])


def _status(execution) -> dict[str, str]:
    return dict(TaskExecution.objects.filter(execution=execution).values_list("step_key", "status"))


def _keys(ids) -> list[str]:
    return [TaskExecution.objects.get(pk=i).step_key for i in ids]


def test_a_worker_runs_one_of_the_steps_it_queued_and_sends_the_others(user, sent):
    execution, _ = services.execution_start(workflow=_diamond(user), input_data={}, triggered_by="api")
    (first,) = sent.sent
    sent.sent.clear()
    assert orchestrator.run_message(first, worker_id="w:1", celery_task_id=first) == "completed"
    # a's commit queued b, c, d: the worker ran b itself; c and d went out as messages.
    assert _status(execution) == {"a": T.COMPLETED, "b": T.COMPLETED, "c": T.QUEUED, "d": T.QUEUED, "e": T.PENDING}
    assert _keys(sent.sent) == ["c", "d"]
    b = TaskExecution.objects.get(execution=execution, step_key="b")
    assert (b.worker_id, b.celery_task_id) == ("w:1", first)  # the message that carried it

    c, d = sent.sent
    sent.sent.clear()
    orchestrator.run_message(c, worker_id="w:2", celery_task_id=c)
    assert sent.sent == [] and _status(execution)["e"] == T.PENDING  # e still waits for d
    orchestrator.run_message(d, worker_id="w:2", celery_task_id=d)
    assert sent.sent == []  # d's commit queued e, and the worker that ran d ran e too
    execution.refresh_from_db()
    assert execution.status == E.COMPLETED
    assert TaskExecution.objects.get(execution=execution, step_key="e").celery_task_id == d


def test_a_chain_is_followed_within_its_step_bound_then_goes_back_to_the_queue(user, sent, settings):
    settings.FLOWPILOT_FOLLOW_STEPS = 2
    workflow = active_workflow(user, [step("s0", function="noop")] + [
        step(f"s{i}", function="noop", depends_on=[f"s{i - 1}"]) for i in range(1, 6)])
    execution, _ = services.execution_start(workflow=workflow, input_data={}, triggered_by="api")
    (first,) = sent.sent
    sent.sent.clear()
    orchestrator.run_message(first, worker_id="w", celery_task_id=first)
    # s0 and the two steps it was allowed to follow ran; s3 was sent as a message of its own.
    assert [k for k, s in sorted(_status(execution).items()) if s == T.COMPLETED] == ["s0", "s1", "s2"]
    assert _keys(sent.sent) == ["s3"]


def test_with_no_steps_to_follow_every_step_is_a_message(user, sent, settings):
    settings.FLOWPILOT_FOLLOW_STEPS = 0
    execution, _ = services.execution_start(workflow=_diamond(user), input_data={}, triggered_by="api")
    (first,) = sent.sent
    sent.sent.clear()
    orchestrator.run_message(first, worker_id="w", celery_task_id=first)
    assert _keys(sent.sent) == ["b", "c", "d"]
    assert _status(execution)["b"] == T.QUEUED


def test_no_step_is_followed_once_the_message_has_run_its_seconds(user, sent, settings):
    settings.FLOWPILOT_FOLLOW_SECONDS = 0
    execution, _ = services.execution_start(workflow=_diamond(user), input_data={}, triggered_by="api")
    (first,) = sent.sent
    sent.sent.clear()
    orchestrator.run_message(first, worker_id="w", celery_task_id=first)
    assert _keys(sent.sent) == ["b", "c", "d"]


def test_steps_queued_outside_a_worker_are_all_sent(user, sent):
    """A start from the API (or the sweeper) has no worker to follow on: every step is a message."""
    workflow = active_workflow(user, [step("a", function="noop"), step("b", function="noop")])
    services.execution_start(workflow=workflow, input_data={}, triggered_by="api")
    assert sorted(_keys(sent.sent)) == ["a", "b"]


def test_the_followed_step_is_claimed_in_the_commit_that_queued_it(user, sent):
    """No claim of its own: b moves queued -> running in a's transaction, its step.started after its
    step.queued, and its started_at is the instant it was queued."""
    execution, _ = services.execution_start(workflow=_diamond(user), input_data={}, triggered_by="api")
    (first,) = sent.sent
    with sent.following(worker_id="w:1", celery_task_id=first) as following:
        orchestrator.run_step(first, worker_id="w:1", celery_task_id=first)
        kept = following.take()
        assert kept.step_key == "b" and kept.execution.pk == execution.pk
        b = TaskExecution.objects.get(pk=kept.pk)
        assert (b.status, b.worker_id, b.celery_task_id) == (T.RUNNING, "w:1", first)
        assert b.started_at == b.queued_at and b.lease_expires_at > b.started_at
        events = list(ExecutionLog.objects.filter(task_execution=b).order_by("id").values_list("event", flat=True))
        assert events == ["step.queued", "step.started"]
        orchestrator.run_claimed(kept)
    assert _status(execution)["b"] == T.COMPLETED


def test_a_claimed_step_the_worker_does_not_run_is_taken_back_when_its_lease_runs_out(user, sent, caplog):
    """As for a worker killed before it ran the step it claimed: the lease runs out, the sweeper takes
    the attempt back and queues the next one."""
    execution, _ = services.execution_start(workflow=_diamond(user), input_data={}, triggered_by="api")
    (first,) = sent.sent
    with pytest.raises(RuntimeError), sent.following(worker_id="w:1", celery_task_id=first):
        orchestrator.run_step(first, worker_id="w:1", celery_task_id=first)
        raise RuntimeError("the worker stops before the step it claimed")
    assert "claimed step(s) not run" in caplog.text
    b = TaskExecution.objects.get(execution=execution, step_key="b")
    assert b.status == T.RUNNING
    sweep(now=b.lease_expires_at + timedelta(seconds=1))
    rows = sorted(TaskExecution.objects.filter(execution=execution, step_key="b").values_list("attempt", "status"))
    assert rows[0] == (1, T.FAILED) and rows[1][0] == 2


@pytest.mark.parametrize("backlog", [False, True], ids=["no backlog", "backlog"])
def test_a_rolled_back_commit_claims_keeps_defers_and_sends_nothing(user, sent, backlog):
    sent.backlog = backlog  # with a backlog, c and d would be deferred: a rollback defers nothing either
    execution, _ = services.execution_start(workflow=_diamond(user), input_data={}, triggered_by="api")
    (first,) = sent.sent
    sent.sent.clear()
    with sent.following(worker_id="w", celery_task_id=first) as following:
        with pytest.raises(RuntimeError), transaction.atomic():
            with orchestrator.locked_run(execution.pk) as run:
                transition_rows(TaskExecution.objects.filter(pk=first), T.QUEUED, T.RUNNING)
                transition_rows(TaskExecution.objects.filter(pk=first), T.RUNNING, T.COMPLETED)
                run.advance_after("a")
            assert _status(execution)["b"] == T.RUNNING  # claimed for this worker, in this transaction
            raise RuntimeError("rolled back")
        assert following.take() is None and not following.may_claim()  # no more follows in this message
        assert following.next_deferred() is None
    assert sent.sent == []
    assert _status(execution) == {"a": T.QUEUED, "b": T.PENDING, "c": T.PENDING, "d": T.PENDING, "e": T.PENDING}


def test_following_claims_one_step_at_a_time_within_its_bounds(user):
    following = Following(steps=2, seconds=60)
    with transaction.atomic():
        assert following.may_claim()
        following.claimed("a")
        assert not following.may_claim()  # one claimed in this transaction already
    assert not following.may_claim()  # one kept, not yet taken
    assert following.take() == "a" and following.take() is None
    with transaction.atomic():
        following.claimed("c")
    assert following.take() == "c"
    assert not following.may_claim()  # its two steps are used
    assert not Following(steps=5, seconds=0).may_claim()


def test_behind_a_backlog_a_worker_runs_every_step_it_queued_without_a_message(user, sent):
    """a's commit queues b, c, d while the broker's queue is backlogged: b is claimed in that commit, c
    and d stay unsent and this worker claims and runs them next; d's commit queues e, claimed there."""
    sent.backlog = True
    execution, _ = services.execution_start(workflow=_diamond(user), input_data={}, triggered_by="api")
    (first,) = sent.sent
    sent.sent.clear()
    assert orchestrator.run_message(first, worker_id="w:1", celery_task_id=first) == "completed"
    execution.refresh_from_db()
    assert execution.status == E.COMPLETED and sent.sent == []
    rows = TaskExecution.objects.filter(execution=execution)
    assert {(r.step_key, r.attempt, r.worker_id, r.celery_task_id) for r in rows} == {
        (key, 1, "w:1", first) for key in "abcde"}  # each once, all by the message that carried a
    order = list(rows.order_by("started_at", "step_key").values_list("step_key", flat=True))
    assert order == ["a", "b", "c", "d", "e"]
    # Each was claimed in the commit of the step before it (no claim of its own): c in b's, d in c's.
    at = {r.step_key: r for r in rows}
    assert at["c"].started_at == at["b"].completed_at and at["d"].started_at == at["c"].completed_at


def test_a_deferred_step_the_worker_does_not_reach_is_sent_not_claimed(user, sent, settings):
    """One follow per message: b, claimed in a's commit, uses it; c and d, deferred, are sent when the
    message ends, none claimed in b's commit."""
    settings.FLOWPILOT_FOLLOW_STEPS = 1
    sent.backlog = True
    execution, _ = services.execution_start(workflow=_diamond(user), input_data={}, triggered_by="api")
    (first,) = sent.sent
    sent.sent.clear()
    orchestrator.run_message(first, worker_id="w:1", celery_task_id=first)
    assert _status(execution) == {"a": T.COMPLETED, "b": T.COMPLETED, "c": T.QUEUED, "d": T.QUEUED, "e": T.PENDING}
    assert _keys(sent.sent) == ["c", "d"]


def test_deferred_steps_left_when_the_bounds_run_out_are_sent(user, sent, settings):
    """Two follows per message: b (claimed) and c (deferred) run here; d, still deferred, goes out as a
    message when the message ends, and nothing else is sent."""
    settings.FLOWPILOT_FOLLOW_STEPS = 2
    sent.backlog = True
    execution, _ = services.execution_start(workflow=_diamond(user), input_data={}, triggered_by="api")
    (first,) = sent.sent
    sent.sent.clear()
    orchestrator.run_message(first, worker_id="w:1", celery_task_id=first)
    assert _status(execution) == {"a": T.COMPLETED, "b": T.COMPLETED, "c": T.COMPLETED, "d": T.QUEUED, "e": T.PENDING}
    assert _keys(sent.sent) == ["d"]
    sent.sent.clear()
    d = str(TaskExecution.objects.get(execution=execution, step_key="d").pk)
    orchestrator.run_message(d, worker_id="w:2", celery_task_id=d)
    execution.refresh_from_db()
    assert execution.status == E.COMPLETED and sent.sent == []


def test_an_error_sends_the_deferred_steps_at_once(user, sent, caplog):
    """The worker stops after a's commit (an error in the message): c and d were never sent, so they are
    sent now, not left to the sweeper's re-send; b, claimed, is the lease's to take back."""
    sent.backlog = True
    execution, _ = services.execution_start(workflow=_diamond(user), input_data={}, triggered_by="api")
    (first,) = sent.sent
    sent.sent.clear()
    with pytest.raises(RuntimeError), sent.following(worker_id="w:1", celery_task_id=first) as following:
        orchestrator.run_step(first, worker_id="w:1", celery_task_id=first)
        assert _keys(following.unsent()) == ["c", "d"]
        raise RuntimeError("the worker stops")
    assert _keys(sent.sent) == ["c", "d"]
    assert _status(execution) == {"a": T.COMPLETED, "b": T.RUNNING, "c": T.QUEUED, "d": T.QUEUED, "e": T.PENDING}


def test_the_backlog_is_read_from_the_broker(settings, monkeypatch):
    """The real executor asks the broker how many step messages wait (a queue of this test's own)."""
    queue = f"test.backlog.{uuid.uuid4().hex}"
    monkeypatch.setitem(current_app.conf, "task_routes", {executors.RUN_STEP: {"queue": queue}})
    settings.FLOWPILOT_FOLLOW_BACKLOG = 3
    executor = executors.CeleryExecutor()
    try:
        assert not executor.backlogged()  # no such list in Redis: nothing waits
        for _ in range(2):
            current_app.send_task(executors.RUN_STEP, args=["x"], queue=queue)
        assert not executor.backlogged()
        current_app.send_task(executors.RUN_STEP, args=["x"], queue=queue)
        assert executor.backlogged()
        settings.FLOWPILOT_FOLLOW_BACKLOG = 0
        assert not executor.backlogged()  # 0: never
    finally:
        with current_app.connection_for_write() as connection:
            connection.default_channel.queue_purge(queue)


def test_a_broker_that_cannot_say_is_not_asked_again_for_a_while(settings, monkeypatch):
    """The question is asked under a run's lock: a broker down answers "no backlog" once, after its
    timeout, and is left alone for BACKLOG_UNKNOWN_SECONDS instead of stalling every commit."""
    settings.FLOWPILOT_FOLLOW_BACKLOG = 1
    executor = executors.CeleryExecutor()
    asked = []

    def down(*args, **kwargs):
        asked.append(1)
        raise ConnectionError("the broker is down")

    monkeypatch.setattr(current_app, "producer_or_acquire", down)
    assert not executor.backlogged() and not executor.backlogged()
    assert len(asked) == 1
    monkeypatch.setattr(executor, "_backlog_unknown_until", 0.0)  # the while has passed
    assert not executor.backlogged()
    assert len(asked) == 2
