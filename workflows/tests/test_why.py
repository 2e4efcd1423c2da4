"""The diagnosis "why isn't it running?" (engine/planner/why.py): plain values in, reasons out; no database."""

from datetime import datetime, timedelta, timezone

from workflows.engine.planner import why
from workflows.engine.planner.states import ExecutionStatus as E
from workflows.engine.planner.states import TaskStatus as T
from workflows.engine.planner.why import Admission, RunState, Step, Worker, diagnose

NOW = datetime(2026, 12, 4, 14, 0, tzinfo=timezone.utc)
LATER = NOW + timedelta(minutes=5)
QUEUE = "flowpilot.steps"


def only(state: RunState) -> why.Reason:
    reasons = diagnose(state)
    assert len(reasons) == 1, reasons
    return reasons[0]


def step_reason(state: RunState, key: str) -> why.Reason:
    return next(r for r in diagnose(state) if r.step_key == key)


def running(*steps: Step, **kwargs) -> RunState:
    return RunState(status=E.RUNNING, now=NOW, steps=steps, queue=QUEUE, **kwargs)


def test_a_pending_run_waits_for_the_runs_holding_every_slot():
    state = RunState(status=E.PENDING, now=NOW, admission=Admission(
        max_concurrency=2, running=2, slot_holders=("r1", "r2")))
    reason = only(state)
    assert (reason.step_key, reason.reason, reason.runs) == (None, why.CONCURRENCY, ("r1", "r2"))
    assert "r1, r2" in reason.detail and "all 2" in reason.detail


def test_a_pending_run_waits_for_the_run_holding_its_concurrency_key():
    state = RunState(status=E.PENDING, now=NOW, admission=Admission(
        max_concurrency=5, running=1, concurrency_key="+91123", key_held=1, key_holders=("r9",)))
    reason = only(state)
    assert (reason.reason, reason.runs) == (why.CONCURRENCY, ("r9",)) and "'+91123'" in reason.detail


def test_a_pending_run_with_a_free_slot_is_starting_and_a_scheduled_one_says_when():
    free = RunState(status=E.PENDING, now=NOW, admission=Admission(max_concurrency=2, running=1))
    assert only(free).reason == why.STARTING
    scheduled = RunState(status=E.PENDING, now=NOW, scheduled_at=LATER,
                         admission=Admission(max_concurrency=1, running=1, slot_holders=("r1",)))
    assert (only(scheduled).reason, only(scheduled).until) == (why.SCHEDULED, LATER)


def test_many_holders_are_named_up_to_a_few_and_counted():
    holders = tuple(f"r{i}" for i in range(8))
    reason = only(RunState(status=E.PENDING, now=NOW, admission=Admission(
        max_concurrency=40, running=40, slot_holders=holders)))
    assert "runs r0, r1, r2, r3, r4 and 35 more" in reason.detail and reason.runs == holders


def test_holders_the_asker_may_not_see_are_counted_not_named():
    hidden = only(RunState(status=E.PENDING, now=NOW, admission=Admission(
        concurrency_key="k", key_held=2, key_holders=())))
    assert (hidden.reason, hidden.runs) == (why.CONCURRENCY, ()) and hidden.detail.endswith("held by 2 other runs")
    some = only(RunState(status=E.PENDING, now=NOW, admission=Admission(
        max_concurrency=2, running=2, slot_holders=("mine",))))
    assert some.detail.endswith("held by runs mine and 1 more")


def test_a_queued_step_with_no_worker_on_its_queue_is_no_worker_and_says_how_long():
    queued = Step("a", T.QUEUED, queued_at=NOW - timedelta(seconds=42))
    elsewhere = Worker("w1@h:1", ("flowpilot.control",))
    reason = only(running(queued, workers=(elsewhere,)))
    assert (reason.step_key, reason.reason, reason.queue) == ("a", why.NO_WORKER, QUEUE)
    assert "42 s" in reason.detail and QUEUE in reason.detail


def test_a_queued_step_with_a_worker_listening_is_only_queued():
    queued = Step("a", T.QUEUED, queued_at=NOW - timedelta(seconds=3))
    reason = only(running(queued, workers=(Worker("w1@h:1", (QUEUE, "flowpilot.control")),)))
    assert reason.reason == why.QUEUED and "1 worker listens" in reason.detail


def test_waiting_steps_say_what_they_wait_for():
    state = running(
        Step("sleep", T.WAITING, wake_at=LATER),
        Step("hook", T.WAITING, signal_name="payment", wake_at=LATER),
        Step("forever", T.WAITING, signal_name="payment"),
        Step("ok", T.WAITING, signal_name="approval", approval=True, wake_at=LATER),
        Step("fan", T.WAITING, signal_name="__children__", for_children=True, children=("c1", "c2")),
    )
    assert step_reason(state, "sleep") == why.Reason("sleep", why.TIMER, "timer until 2026-12-04T14:05:00Z", LATER)
    hook = step_reason(state, "hook")
    assert (hook.reason, hook.until) == (why.SIGNAL, LATER) and "'payment'" in hook.detail and "times out" in hook.detail
    forever = step_reason(state, "forever")
    assert (forever.reason, forever.until) == (why.SIGNAL, None) and "times out" not in forever.detail
    assert (step_reason(state, "ok").reason, step_reason(state, "ok").until) == (why.APPROVAL, LATER)
    fan = step_reason(state, "fan")
    assert (fan.reason, fan.runs) == (why.CHILDREN, ("c1", "c2"))


def test_a_retrying_step_backs_off_until_its_next_attempt():
    reason = only(running(Step("call", T.RETRYING, attempt=3, wake_at=LATER, previous_error="HTTP 500")))
    assert (reason.reason, reason.until) == (why.BACKOFF, LATER)
    assert "attempt 2 failed: HTTP 500; attempt 3 at 2026-12-04T14:05:00Z" == reason.detail


def test_a_step_refused_by_an_open_circuit_names_the_host_and_when_it_closes():
    origin = "http://crm.example:80"
    step = Step("call", T.RETRYING, attempt=2, wake_at=LATER, previous_circuit=origin)
    open_state = running(step, circuits={origin: NOW + timedelta(seconds=30)})
    reason = only(open_state)
    assert (reason.reason, reason.host, reason.until) == (why.CIRCUIT_OPEN, origin, NOW + timedelta(seconds=30))
    # Once the circuit has closed (or its cool-down ended) it is a plain backoff again.
    assert only(running(step, circuits={origin: None})).reason == why.BACKOFF
    assert only(running(step, circuits={origin: NOW - timedelta(seconds=1)})).reason == why.BACKOFF


def test_steps_after_a_failure_are_halted_naming_the_failed_step_while_siblings_finish():
    state = running(Step("a", T.COMPLETED), Step("b", T.FAILED, error_message="boom", attempt=4),
                    Step("c", T.RUNNING, worker_id="w1", started_at=NOW - timedelta(seconds=5)),
                    Step("d", T.CANCELLED), Step("e", T.PENDING, depends_on=("b", "c")))
    reasons = {r.step_key: r for r in diagnose(state)}
    assert set(reasons) == {"b", "c", "d", "e"}  # a completed step has nothing to explain
    assert (reasons["b"].reason, reasons["b"].detail) == (why.FAILED, "failed (attempt 4): boom")
    assert reasons["c"].reason == why.RUNNING and "w1" in reasons["c"].detail
    assert [reasons[k].reason for k in "de"] == [why.HALTED, why.HALTED]
    assert "step b failed" in reasons["e"].detail


def test_a_failed_run_says_where_it_failed_first_then_each_step():
    state = RunState(status=E.FAILED, now=NOW, error_message="step 'b' failed: boom",
                     steps=(Step("a", T.COMPLETED), Step("b", T.FAILED, error_message="boom"), Step("c", T.PENDING)))
    reasons = diagnose(state)
    assert [(r.step_key, r.reason) for r in reasons] == [(None, why.FAILED), ("b", why.FAILED), ("c", why.HALTED)]
    assert reasons[0].detail.startswith("failed at step b:")


def test_a_completed_run_says_so_and_a_cancelled_run_lists_its_cancelled_steps():
    done = RunState(status=E.COMPLETED, now=NOW, completed_at=NOW, steps=(Step("a", T.COMPLETED),))
    assert [(r.step_key, r.reason) for r in diagnose(done)] == [(None, why.COMPLETED)]
    cancelled = RunState(status=E.CANCELLED, now=NOW, steps=(Step("a", T.COMPLETED), Step("b", T.CANCELLED),
                                                             Step("c", T.PENDING)))
    assert [(r.step_key, r.reason) for r in diagnose(cancelled)] == [
        (None, why.CANCELLED), ("b", why.CANCELLED), ("c", why.CANCELLED)]


def test_a_pending_step_waits_for_its_open_upstream_steps():
    state = running(Step("a", T.RUNNING), Step("b", T.COMPLETED), Step("c", T.PENDING, depends_on=("a", "b")))
    reason = step_reason(state, "c")
    assert reason.reason == why.UPSTREAM and reason.detail == "waiting for step a to finish"


def test_a_running_step_whose_lease_expired_says_its_worker_was_lost():
    step = Step("a", T.RUNNING, worker_id="w1", lease_expires_at=NOW - timedelta(seconds=1))
    reason = only(running(step))
    assert reason.reason == why.RUNNING and "lease" in reason.detail


def test_every_code_is_declared_and_the_reserved_ones_are_never_produced():
    assert {why.PAUSED, why.RATE_LIMIT} <= set(why.REASONS)
    for run_status in E:
        for status in T:
            state = RunState(status=run_status, now=NOW, steps=(Step("a", status),), queue=QUEUE)
            assert why.RATE_LIMIT not in {r.reason for r in diagnose(state)}


def test_a_paused_run_and_its_steps_still_to_run_say_paused_and_a_timer_keeps_its_due_time():
    state = RunState(status=E.PAUSED, now=NOW, queue=QUEUE, steps=(
        Step("done", T.COMPLETED), Step("busy", T.RUNNING, worker_id="w1", started_at=NOW),
        Step("nap", T.WAITING, wake_at=LATER), Step("sent", T.QUEUED, queued_at=NOW),
        Step("call", T.RETRYING, attempt=2, wake_at=LATER, previous_error="503"),
        Step("next", T.PENDING, depends_on=("nap",))))
    reasons = {r.step_key: r for r in diagnose(state)}
    assert reasons[None].reason == why.PAUSED and "done" not in reasons
    assert reasons["busy"].reason == why.RUNNING  # a step already running finishes
    assert {k: r.reason for k, r in reasons.items() if k not in (None, "busy")} == {
        "nap": why.PAUSED, "sent": why.PAUSED, "call": why.PAUSED, "next": why.PAUSED}
    assert reasons["nap"].until == LATER and "timer until" in reasons["nap"].detail
    assert "sent again when unpaused" in reasons["sent"].detail and "503" in reasons["call"].detail
    assert len(set(why.REASONS)) == len(why.REASONS)


def test_a_due_timer_or_retry_waits_for_the_sweeper_and_says_when_no_scheduler_ticks():
    past = NOW - timedelta(seconds=10)
    timer, retry = Step("nap", T.WAITING, wake_at=past), Step("call", T.RETRYING, attempt=2, wake_at=past)
    swept = running(timer, retry, scheduler_alive=True)
    assert all(r.detail.endswith("due: the sweeper takes it at its next pass") for r in diagnose(swept))
    stuck = running(timer, retry, scheduler_alive=False)
    assert [r.reason for r in diagnose(stuck)] == [why.TIMER, why.BACKOFF]
    assert all("no scheduler (celery beat) tick" in r.detail for r in diagnose(stuck))
    assert "due" not in only(running(Step("nap", T.WAITING, wake_at=LATER), scheduler_alive=False)).detail


def test_every_step_status_in_every_run_status_has_a_declared_reason_or_none():
    for run_status in E:
        for status in T:
            state = RunState(status=run_status, now=NOW, steps=(Step("a", status),), queue=QUEUE)
            for reason in diagnose(state):
                assert reason.reason in why.REASONS, (run_status, status, reason)
