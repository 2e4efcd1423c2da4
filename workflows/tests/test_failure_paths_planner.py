"""Failure paths and continue on failure in the pure planner: no database, no Celery."""

import pytest

from workflows.engine.planner.dag import ConditionError, Graph, decide, decide_after, validate
from workflows.engine.planner.states import TaskStatus as T

P, Q, R, C, F, S = T.PENDING, T.QUEUED, T.RUNNING, T.COMPLETED, T.FAILED, T.SKIPPED


def graph(*steps, keep_going=()):
    return Graph.from_steps([{"key": k, "depends_on": list(d), "step_order": i, "continue_on_failure": k in keep_going}
                             for i, (k, d) in enumerate(steps)])


# crm's failure goes to review -> notify; its success to welcome -> done.
CRM = graph(("crm", []), ("welcome", ["crm"]), ("done", ["welcome"]), ("review", ["crm:failed"]),
            ("notify", ["review"]))


def test_a_failure_path_runs_when_its_step_fails_for_good_and_the_normal_edges_are_skipped():
    d = decide(CRM, dict(crm=F, welcome=P, done=P, review=P, notify=P))
    assert d.queue == ["review"] and d.skip == ["welcome", "done"]
    assert d.outcome is None and d.halt == [] and d.handled_failures == ["crm"]
    d = decide(CRM, dict(crm=F, welcome=S, done=S, review=C, notify=P))
    assert d.queue == ["notify"]
    d = decide(CRM, dict(crm=F, welcome=S, done=S, review=C, notify=C))
    assert d.outcome == "completed" and d.handled_failures == ["crm"]


def test_a_step_that_is_retrying_does_not_take_its_failure_path():
    d = decide(CRM, dict(crm=T.RETRYING, welcome=P, done=P, review=P, notify=P))
    assert d.queue == [] and d.skip == [] and d.outcome is None


def test_a_failure_path_is_skipped_as_an_untaken_branch_when_its_step_completes():
    states = dict(crm=C, welcome=P, done=P, review=P, notify=P)
    d = decide(CRM, states)
    assert d.queue == ["welcome"] and d.skip == ["review", "notify"] and d.handled_failures is None
    after = decide_after(CRM, ["crm"], states)  # the incremental path weighs it the same
    assert after.queue == ["welcome"] and after.skip == ["review", "notify"]
    d = decide(CRM, dict(crm=C, welcome=C, done=C, review=S, notify=S))
    assert d.outcome == "completed"


def test_a_failing_failure_path_fails_the_run():
    d = decide(CRM, dict(crm=F, welcome=S, done=S, review=F, notify=P))
    assert d.outcome == "failed" and d.queue == [] and d.handled_failures == ["crm"]


def test_a_failure_elsewhere_still_halts_the_run():
    g = graph(("crm", []), ("review", ["crm:failed"]), ("other", []), ("later", ["other"]))
    d = decide(g, dict(crm=R, review=P, other=F, later=Q))
    assert d.halt == ["later"] and d.outcome is None  # crm still runs: awaited
    d = decide(g, dict(crm=F, review=P, other=F, later=P))
    assert d.outcome == "failed" and d.queue == []


def test_a_step_without_a_failure_path_fails_the_run_as_before():
    g = graph(("a", []), ("b", ["a"]))
    d = decide(g, dict(a=F, b=P))
    assert d.outcome == "failed" and d.handled_failures == []


def test_continue_on_failure_carries_on_as_if_the_step_completed():
    g = graph(("a", []), ("b", ["a"]), ("c", ["b"]), keep_going=("a",))
    d = decide(g, dict(a=F, b=P, c=P))
    assert d.queue == ["b"] and d.skip == [] and d.handled_failures == ["a"] and d.outcome is None
    d = decide(g, dict(a=F, b=C, c=C))
    assert d.outcome == "completed" and d.handled_failures == ["a"]
    d = decide(graph(("a", []), keep_going=("a",)), dict(a=F))  # a sink that failed and continues
    assert d.outcome == "completed" and d.handled_failures == ["a"]


def test_a_join_after_the_failure_path_and_the_normal_path_runs_once_either_is_done():
    g = graph(("crm", []), ("welcome", ["crm"]), ("review", ["crm:failed"]), ("join", ["welcome", "review"]))
    d = decide(g, dict(crm=F, welcome=P, review=P, join=P))
    assert d.queue == ["review"] and d.skip == ["welcome"]
    assert decide(g, dict(crm=F, welcome=S, review=C, join=P)).queue == ["join"]
    assert decide(g, dict(crm=C, welcome=C, review=S, join=P)).queue == ["join"]


def test_a_condition_that_cannot_be_evaluated_takes_the_steps_failure_path():
    g = graph(("a", []), ("b", ["a"]), ("b_failed", ["b:failed"]))

    def broken(key, expr):
        raise ConditionError("when: 'x' is undefined")
    g = Graph(order=g.order, deps=g.deps, when={"a": "", "b": "x", "b_failed": ""}, edge_branch=g.edge_branch,
              on_failure=g.on_failure)
    d = decide(g, dict(a=C, b=P, b_failed=P), broken)
    assert "b" in d.fail and d.queue == ["b_failed"] and d.outcome is None and d.handled_failures == ["b"]


@pytest.mark.parametrize("steps, expected", [
    ([{"key": "a", "task_type": "noop"}, {"key": "b", "task_type": "noop", "depends_on": ["zz:failed"]}],
     "step 'b': depends_on: depends on unknown step 'zz'"),
    ([{"key": "a", "task_type": "noop"}, {"key": "b", "task_type": "noop", "depends_on": ["a", "a:failed"]}],
     "step 'b': depends_on: depends on both 'a' and 'a:failed': a step after both a step and its failure never runs"),
    ([{"key": "a", "task_type": "noop"}, {"key": "b", "task_type": "noop", "depends_on": ["a:failed", "a"]}],
     "step 'b': depends_on: depends on both 'a' and 'a:failed': a step after both a step and its failure never runs"),
    ([{"key": "a", "task_type": "noop", "depends_on": ["b:failed"]}, {"key": "b", "task_type": "noop",
                                                                       "depends_on": ["a"]}],
     "step 'a': depends_on: dependency cycle: a -> b -> a"),
    ([{"key": "a", "task_type": "noop", "continue_on_failure": "yes"}],
     "step 'a': continue_on_failure: must be true or false"),
    ([{"key": "a", "task_type": "cond"}, {"key": "b", "task_type": "noop", "depends_on": ["a:failed"]}],
     "step 'b': depends_on: 'a' has a branch named 'failed', which 'a:failed' would confuse with its failure "
     "path: rename that branch"),
])
def test_validation_of_failure_paths(steps, expected):
    issues = validate(steps, known_types=["noop", "cond"],
                      branches_of=lambda t, c: ["ok", "failed"] if t == "cond" else None)
    assert expected in [str(i) for i in issues]


def test_any_step_may_have_a_failure_path_even_one_without_branches():
    steps = [{"key": "a", "task_type": "noop"}, {"key": "b", "task_type": "noop", "depends_on": ["a:failed"]},
             {"key": "c", "task_type": "cond"}, {"key": "d", "task_type": "noop", "depends_on": ["c:ok"]},
             {"key": "e", "task_type": "noop", "depends_on": ["a:failed", "c"], "continue_on_failure": True}]
    assert validate(steps, known_types=["noop", "cond"], branches_of=lambda t, c: ["ok"] if t == "cond" else None) == []
