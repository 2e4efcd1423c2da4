"""A code workflow's worker killed mid-step, on real Celery worker and beat processes (PostgreSQL,
Redis): the run resumes at that step with the context as after the last completed step.

A module of its own: its held worker must be the only one consuming the queues (a module-scoped
cluster of another test module would still be running and could take the held step)."""

from __future__ import annotations

from pathlib import Path

import pytest

from workflows.code import engine
from workflows.models import TaskExecution
from workflows.engine.planner.states import ExecutionStatus as E
from workflows.engine.planner.states import TaskStatus as T
from workflows.tests.cluster import Cluster, flush_broker, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.services, pytest.mark.django_db(transaction=True)]


def settled(run, *, timeout: float = 60):
    wait_for(lambda: run.refresh().status in (E.COMPLETED, E.FAILED, E.CANCELLED), timeout=timeout,
             message=f"run {run.id} to finish")
    return run


def test_a_worker_killed_mid_step_resumes_at_that_step_with_the_last_completed_context(tmp_path):
    hold = tmp_path / "hold"
    hold.write_text("")
    started = Path(str(hold) + ".started")
    flush_broker()
    cluster = Cluster(FLOWPILOT_TEST_HOLD_FILE=str(hold))
    try:
        cluster.start_beat()
        cluster.start_worker("w1")
        run = engine.start("order_fulfillment", order_id=77)
        wait_for(started.exists, timeout=60, message="reserve_inventory to start on w1")
        run.refresh()
        assert (run.current_step, run.step_status) == ("reserve_inventory", T.RUNNING)
        after_first_step = {"order_id": 77, "payment_confirmed": True, "items_reserved": False, "shipped": False,
                            "tracking": ""}
        assert run.execution.context == after_first_step

        cluster.kill("w1")  # SIGKILL mid-step: the worker and its pool die at once
        hold.unlink()
        cluster.start_worker("w2")
        assert settled(run, timeout=90).status == E.COMPLETED, cluster.log("w2")
        rows = list(TaskExecution.objects.filter(execution_id=run.id).order_by("created_at"))
        assert [(r.step_key, r.visit, r.attempt, r.status) for r in rows] == [
            ("confirm_payment", 1, 1, T.COMPLETED), ("reserve_inventory", 1, 1, T.FAILED),
            ("reserve_inventory", 1, 2, T.COMPLETED), ("ship_order", 1, 1, T.COMPLETED)]
        assert "worker lost" in rows[1].error_message
        assert rows[2].input["context"] == after_first_step  # resumed with the context of the last completed step
        assert rows[2].worker_id != rows[1].worker_id
        assert run.data == {**after_first_step, "items_reserved": True, "shipped": True, "tracking": "TRACK-77"}
    finally:
        cluster.stop()
