"""The queries a step costs, counted (never timed): a change that adds a round trip to every step
fails here, with the queries listed. The budget is docs/adr/0015-a-step-s-budget.md's.

A step is two writes: the claim (one statement on PostgreSQL: claims.py) and the result with the
next move (one transaction under the run's lock: BEGIN, lock the run, record the attempt, read its
neighbours with the run's failed attempts, queue what is ready, write the events, COMMIT). Metrics
and live events add no query of their own per commit (the writer labels its events with the run's
workflow and owner, which it has in hand)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from workflows import live, services, tasks
from workflows.engine.executors import set_executor
from workflows.engine.planner.states import ExecutionStatus as E
from workflows.tests.factories import SentExecutor, active_workflow, step

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
        live.owners = live.OwnerCache()  # as in a worker process that has not seen the run: no lookup either
        with CaptureQueriesContext(connection) as queries:
            tasks.run_step.run(item)
        spent.append((len(queries.captured_queries), [q["sql"][:120] for q in queries.captured_queries]))
    execution.refresh_from_db()
    assert execution.status == E.COMPLETED and execution.output == {"e": {}}
    assert len(spent) == len(BUDGET)
    for (count, listed), key in zip(spent, BUDGET):
        assert count <= BUDGET[key], f"step {key}: {count} queries, budget {BUDGET[key]}:\n" + "\n".join(listed)


def _first_message(user, *, backlog: bool):
    """A diamond run's first message run by a worker (the broker backlogged or not), its queries counted;
    the second run's: the definition cached, as in a worker that has run one."""
    executor = SentExecutor()
    executor.backlog = backlog
    set_executor(executor)
    try:
        workflow = _diamond(user)
        for _ in range(2):
            executor.sent.clear()
            execution, _ = services.execution_start(workflow=workflow, input_data={}, triggered_by="api")
            (first,) = executor.sent
            executor.sent.clear()
            with CaptureQueriesContext(connection) as queries:
                tasks.run_step.run(first)
    finally:
        set_executor(None)
    return executor, execution, queries


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the budget is PostgreSQL's (CI's database)")
def test_a_followed_step_costs_no_claim_of_its_own(user):
    """A worker that follows on claims the step it runs next in the commit that queued it: one UPDATE in
    that transaction instead of a claim of its own. a's message runs a and b: a's budget, plus b's
    without its claim, plus the one UPDATE (docs/adr/0040)."""
    executor, _, queries = _first_message(user, backlog=False)
    assert len(executor.sent) == 2  # c and d went out as messages; b was run by this worker
    budget = BUDGET["a"] + BUDGET["b"]  # 1 claim statement fewer, 1 UPDATE more
    listed = "\n".join(q["sql"][:120] for q in queries.captured_queries)
    assert len(queries.captured_queries) <= budget, f"{len(queries.captured_queries)} queries:\n{listed}"
    claims = [q for q in queries.captured_queries if "synchronous_commit" in q["sql"]]
    assert len(claims) == 1, listed  # a's own claim only: b was claimed inside a's transaction


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the budget is PostgreSQL's (CI's database)")
def test_behind_a_backlog_one_message_runs_the_whole_run_with_one_claim_of_its_own(user):
    """The broker backlogged: a's message runs all five steps, each claimed in the commit before it
    (ADR 0041): the steps' budgets, with one claim statement in all."""
    executor, execution, queries = _first_message(user, backlog=True)
    execution.refresh_from_db()
    assert execution.status == E.COMPLETED and executor.sent == []
    listed = "\n".join(q["sql"][:120] for q in queries.captured_queries)
    assert len(queries.captured_queries) <= sum(BUDGET.values()), f"{len(queries.captured_queries)} queries:\n{listed}"
    claims = [q for q in queries.captured_queries if "synchronous_commit" in q["sql"]]
    assert len(claims) == 1, listed  # a's own claim only
