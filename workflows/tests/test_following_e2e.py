"""Following on, with real Celery worker and beat processes (services mode): a worker runs one of the
steps its commit queued itself, without a message, and a worker killed while running such a step
loses nothing: the lease runs out, the sweeper takes the attempt back and a new message retries it.
Behind a backlog in Redis, the worker sends none of the steps it queued (docs/adr/0041)."""

from __future__ import annotations

import pytest

from workflows import services
from workflows.engine.planner.states import ExecutionStatus as E
from workflows.engine.planner.states import TaskStatus as T
from workflows.models import TaskExecution, WorkflowExecution
from workflows.tests.cluster import fresh_cluster, wait_for
from workflows.tests.factories import active_workflow, step

pytestmark = [pytest.mark.e2e, pytest.mark.services, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def cluster():
    with fresh_cluster() as c:
        yield c


def _diamond(user, name: str):
    return active_workflow(user, [
        step("a", function="noop"), step("b", function="noop", depends_on=["a"]),
        step("c", function="noop", depends_on=["a"]), step("d", function="noop", depends_on=["a"]),
        step("e", function="noop", depends_on=["b", "c", "d"])], name=name)


def _messages(workflow) -> tuple[int, set[str]]:
    """The steps the runs of `workflow` ran, and the messages that carried them."""
    rows = list(TaskExecution.objects.filter(execution__workflow=workflow).values_list("id", "celery_task_id"))
    messages = {message for _, message in rows}
    # Each message is named for the step it was sent for; a step run without one names the message that carried it.
    assert messages <= {str(pk) for pk, _ in rows}
    return len(rows), messages


def _finished(workflow, count: int) -> bool:
    return WorkflowExecution.objects.filter(workflow=workflow, status__in=[E.COMPLETED, E.FAILED]).count() == count


def test_diamond_runs_take_three_messages_for_five_steps(user):
    workflow = _diamond(user, "following")
    with fresh_cluster(FLOWPILOT_FOLLOW_BACKLOG="0") as cluster:  # every other step sent, backlog or not
        cluster.start_worker("w1")
        runs = [services.execution_start(workflow=workflow, input_data={"i": i})[0] for i in range(20)]
        wait_for(lambda: _finished(workflow, len(runs)), timeout=120, message="the runs to finish")
    assert set(WorkflowExecution.objects.filter(workflow=workflow).values_list("status", flat=True)) == {E.COMPLETED}
    steps, messages = _messages(workflow)
    assert steps == 100  # each step ran once
    # a, c and d came by message; b followed a, and e followed the last of b, c, d.
    assert len(messages) == 60, f"{len(messages)} messages for 100 steps"


def test_behind_a_backlog_a_worker_sends_none_of_the_steps_it_queued(user, cluster):
    """40 runs wait in Redis before the worker starts: while at least 8 messages wait, a's commit sends
    neither c nor d, the worker runs them itself; once the queue is short, they are sent again."""
    workflow = _diamond(user, "backlog")
    runs = [services.execution_start(workflow=workflow, input_data={"i": i})[0] for i in range(40)]
    cluster.start_worker("w1")
    wait_for(lambda: _finished(workflow, len(runs)), timeout=120, message="the runs to finish")
    assert set(WorkflowExecution.objects.filter(workflow=workflow).values_list("status", flat=True)) == {E.COMPLETED}
    steps, messages = _messages(workflow)
    assert steps == 200  # each step ran once
    # Every a came by message (40); at least the first dozen runs, started behind 25+ waiting messages,
    # sent nothing more (without the backlog rule: 120 messages).
    assert 40 <= len(messages) <= 120 - 2 * 12, f"{len(messages)} messages for 200 steps"
    print(f"\nbacklog: {len(messages)} messages for {steps} steps (120 without deferral)")


def test_a_worker_killed_in_a_followed_step_loses_nothing(user, cluster):
    workflow = active_workflow(user, [
        step("first", function="noop"),
        step("slow", function="sleep", kwargs={"seconds": 6}, depends_on=["first"]),
        step("last", function="noop", depends_on=["slow"])], name="killed while following")
    cluster.start_beat()
    cluster.start_worker("w1", concurrency=1)
    execution, _ = services.execution_start(workflow=workflow, input_data={})
    wait_for(lambda: TaskExecution.objects.filter(execution=execution, step_key="slow", status=T.RUNNING).exists(),
             timeout=60, message="the followed step to run")
    first = TaskExecution.objects.get(execution=execution, step_key="first")
    slow = TaskExecution.objects.get(execution=execution, step_key="slow")
    assert slow.celery_task_id == str(first.pk)  # it came with first's message, not one of its own
    cluster.kill("w1")
    cluster.start_worker("w2", concurrency=1)
    wait_for(lambda: _finished(workflow, 1), timeout=90, message="the run to finish on the new worker")
    execution.refresh_from_db()
    assert execution.status == E.COMPLETED, cluster.log("w2")
    rows = sorted(TaskExecution.objects.filter(execution=execution).values_list("step_key", "attempt", "status"))
    assert rows == [("first", 1, T.COMPLETED), ("last", 1, T.COMPLETED), ("slow", 1, T.FAILED),
                    ("slow", 2, T.COMPLETED)]
    assert "worker" in TaskExecution.objects.get(execution=execution, step_key="slow", attempt=1).error_message
