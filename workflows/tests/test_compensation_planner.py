"""The pure compensation planner (planner/compensation.py) and compensate_with's validation
(planner/dag.py): no database."""

from __future__ import annotations

from workflows.engine.planner import dag
from workflows.engine.planner.compensation import (
    COMPENSATED,
    COMPENSATION_FAILED,
    Completed,
    Entry,
    Move,
    next_move,
    plan,
)

UNDO = {"reserve": "release", "charge": "refund", "label": "void_label"}


def test_plan_is_the_reverse_of_the_completion_order():
    completed = [Completed("charge", 2), Completed("reserve", 1), Completed("label", 3)]
    assert [(e.step, e.compensation) for e in plan(completed, UNDO)] == [
        ("label", "void_label"), ("charge", "refund"), ("reserve", "release")]


def test_plan_skips_steps_without_a_compensation_and_steps_that_never_completed():
    # "ship" completed but names none; "label" failed (never completed: the caller gives completed steps only)
    completed = [Completed("reserve", 1), Completed("ship", 2), Completed("charge", 3)]
    assert [e.step for e in plan(completed, UNDO)] == ["charge", "reserve"]
    assert plan([], UNDO) == [] and plan(completed, {}) == []


def test_plan_breaks_ties_by_creation_then_key_and_numbers_a_shared_compensation_by_visit():
    completed = [Completed("a", 5, order=1), Completed("b", 5, order=2), Completed("c", 1)]
    entries = plan(completed, {"a": "undo", "b": "undo", "c": "undo"})
    assert [(e.step, e.visit) for e in entries] == [("b", 1), ("a", 2), ("c", 3)]


def test_next_move_runs_one_at_a_time_in_order():
    entries = plan([Completed("reserve", 1), Completed("charge", 2)], UNDO)
    assert next_move(entries, {}) == Move(start=Entry("charge", "refund", 1))
    assert next_move(entries, {("refund", 1): "running"}) == Move()  # waits for it
    assert next_move(entries, {("refund", 1): "retrying"}) == Move()  # its retry too
    assert next_move(entries, {("refund", 1): "completed"}) == Move(start=Entry("reserve", "release", 1))
    assert next_move(entries, {("refund", 1): "completed", ("release", 1): "completed"}) == Move(outcome=COMPENSATED)


def test_a_failed_compensation_stops_the_chain():
    entries = plan([Completed("reserve", 1), Completed("charge", 2)], UNDO)
    move = next_move(entries, {("refund", 1): "failed"})
    assert move == Move(outcome=COMPENSATION_FAILED, failed=Entry("charge", "refund", 1))  # release never starts
    assert next_move([], {}) == Move(outcome=COMPENSATED)


def test_entries_round_trip_as_json():
    entry = Entry("charge", "refund", 2)
    assert Entry.from_json(entry.as_json()) == entry


def step(key, depends_on=(), **extra):
    return {"key": key, "task_type": "log", "config": {}, "depends_on": list(depends_on), **extra}


def issues(steps):
    return [(i.step, i.field, i.message) for i in dag.validate(steps, known_types={"log"})]


def test_validation_of_compensate_with():
    assert issues([step("a", compensate_with="b"), step("b")]) == []
    assert issues([step("a", compensate_with="a")])[0][:2] == ("a", "compensate_with")
    assert "unknown step 'x'" in issues([step("a", compensate_with="x")])[0][2]
    assert "depends on other steps" in issues([step("a", compensate_with="b"), step("b", ["a"])])[0][2]
    assert "other steps depend on 'b'" in issues([step("a", compensate_with="b"), step("b"), step("c", ["b"])])[0][2]
    found = issues([step("a", compensate_with="b"), step("b", compensate_with="c"), step("c")])
    assert ("a", "compensate_with") in [f[:2] for f in found] and ("b", "compensate_with") in [f[:2] for f in found]
    assert issues([step("a", compensate_with=3), step("b")])[0][2] == "must be a step key or empty"


def test_a_compensation_step_is_no_node_of_the_graph():
    graph = dag.Graph.from_steps([step("a", compensate_with="undo_a"), step("b", ["a"]), step("undo_a")])
    assert graph.order == ("a", "b") and graph.roots() == ("a",)
