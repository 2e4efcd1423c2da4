"""The pure planner of code workflows and the declarations' checks: no database."""

from datetime import timedelta

import pytest
from pydantic import BaseModel

from workflows.code import Retry, complete, goto, sleep, step, wait, wait_for_event
from workflows.engine.planner.code import Move, next_move
from workflows.code.registry import CodeWorkflowError, _build
from workflows.code.runtime import outcome
from workflows.engine.planner.states import TaskStatus as T


@pytest.mark.parametrize("status,expected", [
    (T.PENDING, Move("queue")), (T.QUEUED, Move("none")), (T.RUNNING, Move("none")), (T.WAITING, Move("none")),
    (T.RETRYING, Move("none")), (T.CANCELLED, Move("none")), (T.FAILED, Move("fail")),
])
def test_what_follows_an_attempt_that_is_not_completed(status, expected):
    assert next_move(status=status) == expected


def test_a_completed_attempt_names_the_next_step_or_completes():
    assert next_move(status=T.COMPLETED, output={"next": {"step": "b"}}) == Move("goto", step="b")
    assert next_move(status=T.COMPLETED, output={"next": {"complete": True}}) == Move("complete")
    assert next_move(status=T.COMPLETED, output={}).kind == "fail"


def test_a_timed_out_wait_takes_its_timeout_step():
    parked = {"next": {"step": "after"}, "timeout_next": {"step": "escalate"}}
    assert next_move(status=T.COMPLETED, branch="timeout", output=parked) == Move("goto", step="escalate")
    assert next_move(status=T.COMPLETED, branch="received", output=parked) == Move("goto", step="after")


def test_an_action_hands_its_fields_to_the_next_visit():
    output = {"action": "review", "next": {"step": "review"}, "kwargs": {"approved": True}}
    assert next_move(status=T.COMPLETED, branch="received", output=output) == Move(
        "goto", step="review", kwargs={"approved": True})


class Flow:
    class Context(BaseModel):
        n: int = 0

    @step(start=True)
    def first(self):
        return goto(self.second)

    @step()
    def second(self):
        return wait.for_signal("go", timeout=timedelta(hours=1), on_timeout=self.third)

    @step()
    def third(self):
        return sleep(timedelta(minutes=1)) if 1 else complete()


def test_the_graph_is_read_from_the_code():
    spec = _build("flow", Flow, default_retry=None)
    assert spec.start == "first" and list(spec.steps) == ["first", "second", "third"]
    assert spec.edges == [{"from": "first", "to": "second", "kind": "goto"},
                          {"from": "second", "to": "third", "kind": "timeout"},
                          {"from": "second", "to": "third", "kind": "then"},
                          {"from": "third", "to": "third", "kind": "sleep"}]


def test_results_become_outputs_and_waits():
    spec = _build("flow", Flow, default_retry=None)
    context = Flow.Context(n=2)
    assert outcome(spec, "first", context, goto("second")) == {"context": {"n": 2}, "next": {"step": "second"}}
    assert outcome(spec, "third", context, complete(extra="x")) == {"context": {"n": 2, "extra": "x"},
                                                                     "next": {"complete": True}}
    parked = outcome(spec, "second", context, wait.for_signal("go", timeout=timedelta(hours=1), on_timeout="third"))
    assert parked.signal == "go" and parked.until is not None
    assert parked.output["next"] == {"step": "third"} and parked.output["timeout_next"] == {"step": "third"}
    event = outcome(spec, "second", context, wait_for_event("paid"))
    assert event.signal == "event:paid" and event.until is None and event.output["on_timeout"] == "fail"
    timer = outcome(spec, "third", context, sleep(timedelta(minutes=1)))
    assert timer.signal is None and timer.output["next"] == {"step": "third"}


@pytest.mark.filterwarnings("ignore::UserWarning")  # pydantic's, as it dumps the wrong value
def test_a_step_that_leaves_a_wrong_type_in_the_context_fails_without_retry():
    from workflows.steps.base import StepError

    spec = _build("flow", Flow, default_retry=None)
    context = Flow.Context()
    context.n = "many"  # pydantic does not check assignments by default: the engine does
    with pytest.raises(StepError) as caught:
        outcome(spec, "first", context, goto("second"))
    assert not caught.value.retryable and "invalid context" in caught.value.message


def test_goto_an_unknown_step_fails_without_retry():
    from workflows.steps.base import StepError

    spec = _build("flow", Flow, default_retry=None)
    with pytest.raises(StepError, match="no such step"):
        outcome(spec, "first", Flow.Context(), goto("nowhere"))


def test_retry_maps_onto_the_engines_policy():
    policy = Retry(max_attempts=5, base_delay=timedelta(seconds=2), max_delay=timedelta(minutes=5)).policy()
    assert (policy.max_retries, policy.base_delay, policy.max_delay, policy.backoff_factor) == (4, 2.0, 300.0, 2.0)
    with pytest.raises(ValueError):
        Retry(max_attempts=0)
    with pytest.raises(CodeWorkflowError):
        step(retry=3)
