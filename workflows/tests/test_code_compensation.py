"""Compensation in code workflows: @step(compensate=...) (docs/adr/0035-compensation.md)."""

from __future__ import annotations

import pytest

from workflows.code import CodeWorkflowError, SynchronousExecutor, engine, goto, step
from workflows.code.registry import _build
from workflows.engine.planner.states import ExecutionStatus as E
from workflows.models import TaskExecution
from workflows.tests import code_examples

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def synchronous(sync_executor):
    engine.set_executor(SynchronousExecutor())
    code_examples.SIDE_EFFECTS.clear()


def test_a_failed_code_run_runs_its_compensations_latest_first():
    run = engine.start("trip_saga", trip_id=-7)
    assert run.status == E.FAILED and run.execution.phase == "compensated"
    assert code_examples.SIDE_EFFECTS == [("book_flight", "FL--7"), ("book_hotel", "HT--7"),
                                          ("cancel_hotel", "HT--7"), ("cancel_flight", "FL--7")]
    rows = TaskExecution.objects.filter(execution_id=run.id).exclude(compensates="").order_by("created_at")
    assert [(r.step_key, r.compensates, r.status) for r in rows] == [
        ("cancel_hotel", "book_hotel", "completed"), ("cancel_flight", "book_flight", "completed")]
    assert run.execution.context["cancelled"] == ["hotel", "flight"]
    assert "card declined" in run.execution.error_message


def test_a_completed_code_run_compensates_nothing():
    run = engine.start("trip_saga", trip_id=3)
    assert run.status == E.COMPLETED and run.execution.phase == ""
    assert [name for name, _ in code_examples.SIDE_EFFECTS] == ["book_flight", "book_hotel"]


def test_the_definition_names_compensations_only_when_set():
    steps = {s["key"]: s for s in _build("trip", code_examples.TripSaga, default_retry=None).definition()["steps"]}
    assert steps["book_hotel"]["compensate_with"] == "cancel_hotel" and "compensate_with" not in steps["pay"]


def test_compensate_takes_the_method_too_and_bad_ones_fail_at_registration():
    class ByMethod:
        @step()
        def undo(self):
            pass

        @step(start=True, compensate=undo)
        def do(self):
            return goto("undo")  # the normal flow moves to the compensation: refused

    with pytest.raises(CodeWorkflowError, match="part of the normal flow"):
        _build("m", ByMethod, default_retry=None)

    class Itself:
        @step(start=True, compensate="do")
        def do(self):
            pass

    with pytest.raises(CodeWorkflowError, match="cannot compensate itself"):
        _build("i", Itself, default_retry=None)

    class Unknown:
        @step(start=True, compensate="nope")
        def do(self):
            pass

    with pytest.raises(CodeWorkflowError, match="no such step"):
        _build("u", Unknown, default_retry=None)
    with pytest.raises(CodeWorkflowError, match="takes a step's name"):
        step(compensate=3)
