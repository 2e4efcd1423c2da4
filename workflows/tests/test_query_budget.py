"""The queries a step costs, counted (never timed): a change that adds a round trip to every step
fails here, with the queries listed. The budget is docs/adr/0015-a-step-s-budget.md's.

A step is two writes: the claim (one statement on PostgreSQL: claims.py) and the result with the
next move (one transaction under the run's lock: BEGIN, lock the run, record the attempt, read its
neighbours with the run's failed attempts, queue what is ready, write the events, COMMIT). Metrics
and live events add no query of their own per commit."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from workflows import services, tasks
from workflows.engine.planner.states import ExecutionStatus as E
from workflows.tests.factories import active_workflow, step

pytestmark = pytest.mark.django_db(transaction=True)

# By the steps of a -> (b, c, d) -> e: a queues three; b and c queue nothing; d queues e; e ends the run.
BUDGET = {"a": 8, "b": 7, "c": 7, "d": 8, "e": 10}


def _diamond(user):
    return active_workflow(user, [
        step("a", function="noop"), step("b", function="noop", depends_on=["a"]),
        step("c", function="noop", depends_on=["a"]), step("d", function="noop", depends_on=["a"]),
        step("e", function="noop", depends_on=["b", "c", "d"])])


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the budget is PostgreSQL's (CI's database)")
def test_the_queries_of_each_step_stay_within_the_budget(user, sync_executor):
    workflow = _diamond(user)
    services.execution_start(workflow=workflow, input_data={}, triggered_by="api")
    sync_executor.drain()  # a first run: the definition cached, as in a worker that has run one
    execution, _ = services.execution_start(workflow=workflow, input_data={}, triggered_by="api")
    spent = []  # (queries, their SQL) of each step, in the order they ran: a, b, c, d, e
    while sync_executor.queue:
        item = sync_executor.queue.popleft()
        if callable(item):
            item()
            continue
        with CaptureQueriesContext(connection) as queries:
            tasks.run_step.run(item)
        spent.append((len(queries.captured_queries), [q["sql"][:120] for q in queries.captured_queries]))
    execution.refresh_from_db()
    assert execution.status == E.COMPLETED and execution.output == {"e": {}}
    assert len(spent) == len(BUDGET)
    for (count, listed), key in zip(spent, BUDGET):
        assert count <= BUDGET[key], f"step {key}: {count} queries, budget {BUDGET[key]}:\n" + "\n".join(listed)
