"""The pure planner: no database, no Celery."""

import pytest

from workflows.engine.planner.dag import ConditionError, Graph, decide, find_cycle, validate
from workflows.engine.planner.states import TaskStatus as T

P, Q, R, C, F, S = T.PENDING, T.QUEUED, T.RUNNING, T.COMPLETED, T.FAILED, T.SKIPPED


def graph(*steps):
    return Graph.from_steps([{"key": k, "depends_on": list(d), "when": w, "step_order": i}
                             for i, (k, d, w) in enumerate(steps)])


DIAMOND = graph(("a", [], ""), ("b", ["a"], ""), ("c", ["a"], ""), ("d", ["b", "c"], ""))


def test_diamond_runs_root_then_branches_in_parallel_then_join_once():
    assert decide(DIAMOND, dict(a=P, b=P, c=P, d=P)).queue == ["a"]
    assert decide(DIAMOND, dict(a=C, b=P, c=P, d=P)).queue == ["b", "c"]
    assert decide(DIAMOND, dict(a=C, b=C, c=R, d=P)).queue == []  # join waits for both
    assert decide(DIAMOND, dict(a=C, b=R, c=C, d=P)).queue == []
    assert decide(DIAMOND, dict(a=C, b=C, c=C, d=P)).queue == ["d"]
    assert decide(DIAMOND, dict(a=C, b=C, c=C, d=Q)).queue == []  # already queued: never twice
    done = decide(DIAMOND, dict(a=C, b=C, c=C, d=C))
    assert done.queue == [] and done.outcome == "completed"


def test_if_else_join_runs_once_the_taken_branch_is_done():
    g = graph(("check", [], ""), ("yes", ["check"], "input.ok"), ("no", ["check"], "not input.ok"),
              ("join", ["yes", "no"], ""))
    ok = {"yes": True, "no": False}
    d = decide(g, dict(check=C, yes=P, no=P, join=P), lambda key, expr: ok[key])
    assert d.queue == ["yes"] and d.skip == ["no"]
    d = decide(g, dict(check=C, yes=C, no=S, join=P))
    assert d.queue == ["join"]


def test_skipping_propagates_to_steps_whose_dependencies_are_all_skipped():
    g = graph(("a", [], ""), ("b", ["a"], "false"), ("c", ["b"], ""), ("d", ["c"], ""), ("e", ["a", "d"], ""))
    d = decide(g, dict(a=C, b=P, c=P, d=P, e=P), lambda key, expr: False)
    assert d.skip == ["b", "c", "d"] and d.queue == ["e"]


def test_all_skipped_completes_the_run():
    g = graph(("a", [], "x"), ("b", ["a"], ""))
    d = decide(g, dict(a=P, b=P), lambda key, expr: False)
    assert d.skip == ["a", "b"] and d.outcome == "completed"


def test_a_failure_halts_unstarted_work_and_waits_for_running_steps():
    g = graph(("a", [], ""), ("b", ["a"], ""), ("c", ["a"], ""), ("d", ["a"], ""), ("e", ["b", "c", "d"], ""))
    d = decide(g, dict(a=C, b=F, c=R, d=T.RETRYING, e=P))
    assert d.queue == [] and d.halt == ["d"] and d.outcome is None
    d = decide(g, dict(a=C, b=F, c=C, d=T.CANCELLED, e=P))
    assert d.outcome == "failed" and d.queue == []


def test_a_condition_that_cannot_be_evaluated_fails_the_step():
    g = graph(("a", [], ""), ("b", ["a"], "input.missing > 1"), ("c", ["a"], ""))

    def boom(key, expr):
        raise ConditionError("when: undefined variable 'input.missing'")

    d = decide(g, dict(a=C, b=P, c=P), boom)
    assert d.fail == {"b": "when: undefined variable 'input.missing'"}
    assert d.queue == [] and d.outcome == "failed"


def test_find_cycle():
    assert find_cycle({"a": ["b"], "b": ["c"], "c": []}) is None
    cycle = find_cycle({"a": ["c"], "b": ["a"], "c": ["b"]})
    assert cycle[0] == cycle[-1] and set(cycle) == {"a", "b", "c"}
    long_chain = {str(i): [str(i + 1)] for i in range(5000)} | {"5000": ["0"]}
    assert find_cycle(long_chain) is not None  # no recursion limit


def _steps(*specs):
    return [{"key": k, "task_type": t, "depends_on": list(d), "config": {}} for k, t, d in specs]


@pytest.mark.parametrize("steps,expected", [
    (_steps(("a", "log", []), ("a", "log", [])), "step 'a': key: is used by more than one step"),
    (_steps(("a", "log", ["zzz"])), "step 'a': depends_on: depends on unknown step 'zzz'"),
    (_steps(("a", "log", ["a"])), "step 'a': depends_on: a step cannot depend on itself"),
    (_steps(("a", "nope", [])), "step 'a': task_type: unknown step type 'nope'; known types: log"),
    (_steps(("a", "log", ["b"]), ("b", "log", ["a"])), "dependency cycle"),
])
def test_validation_names_the_step_and_the_problem(steps, expected):
    issues = validate(steps, known_types=["log"])
    assert any(expected in str(i) for i in issues), [str(i) for i in issues]


def test_validation_reports_config_errors_through_the_callback():
    issues = validate(_steps(("a", "log", [])), known_types=["log"],
                      check_config=lambda t, c: [("message", "this field is required")])
    assert [str(i) for i in issues] == ["step 'a': config.message: this field is required"]


def test_a_valid_definition_has_no_issues():
    assert validate(_steps(("a", "log", []), ("b", "log", ["a"])), known_types=["log"]) == []
