"""Which steps a rerun from a step re-opens (engine/planner/rerun.py): pure, no database."""

from __future__ import annotations

from workflows.engine.planner.dag import Graph
from workflows.engine.planner.rerun import descendants, reopen
from workflows.engine.planner.states import TaskStatus as T


def graph(*steps: tuple[str, list[str]]) -> Graph:
    return Graph.from_steps([{"key": key, "depends_on": deps, "step_order": i} for i, (key, deps) in enumerate(steps)])


# a -> b -> (c | d) -> join -> e; and f, beside them, after a
DIAMOND = graph(("a", []), ("b", ["a"]), ("c", ["b:true"]), ("d", ["b:false"]), ("join", ["c", "d"]),
                ("e", ["join"]), ("f", ["a"]))
ALL_DONE = {"a": T.COMPLETED, "b": T.COMPLETED, "c": T.COMPLETED, "d": T.SKIPPED, "join": T.COMPLETED,
            "e": T.COMPLETED, "f": T.COMPLETED}


def test_descendants_are_every_step_downstream_through_branches_and_joins():
    assert descendants(DIAMOND, "b") == {"c", "d", "join", "e"}
    assert descendants(DIAMOND, "a") == {"b", "c", "d", "join", "e", "f"}
    assert descendants(DIAMOND, "e") == set()


def test_a_completed_run_reopens_the_step_and_its_descendants_and_keeps_the_rest():
    plan = reopen(DIAMOND, ALL_DONE, "b")
    assert plan.again == ("b", "c", "d", "join", "e")  # the skipped branch too: the choice is made again
    assert plan.kept == ("a", "f") and plan.resumed == () and plan.waiting == () and plan.problems == ()


def test_a_sink_reopens_alone():
    plan = reopen(DIAMOND, ALL_DONE, "e")
    assert plan.again == ("e",) and plan.kept == ("a", "b", "c", "d", "join", "f")


def test_a_failed_run_reopens_downstream_and_resumes_a_failure_beside_it():
    states = {**ALL_DONE, "join": T.FAILED, "e": T.PENDING, "f": T.FAILED}
    plan = reopen(DIAMOND, states, "c")
    assert plan.again == ("c", "join") and plan.waiting == ("e",)  # e never ran: it runs when ready
    assert plan.resumed == ("f",)  # the run cannot complete without it: a new attempt, as a retry
    assert plan.kept == ("a", "b", "d")


def test_a_cancelled_run_reopens_with_its_cancelled_steps_resumed():
    states = {"a": T.COMPLETED, "b": T.CANCELLED, "f": T.CANCELLED}  # c, d, join, e: no rows yet
    plan = reopen(DIAMOND, states, "a")
    assert plan.again == ("a", "b", "f") and plan.waiting == ("c", "d", "join", "e") and plan.resumed == ()


def test_an_open_step_refuses_and_an_unknown_step_is_named():
    assert "still running" in reopen(DIAMOND, {**ALL_DONE, "f": T.RUNNING}, "b").problems[0]
    assert reopen(DIAMOND, ALL_DONE, "nope").problems == ("'nope' is not a step of this run's version",)
