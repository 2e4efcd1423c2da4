"""Flow control at admission (workflows/engine/admission.py, docs/adr/0038): limits.concurrency (N per
key, named limits shared by an owner's workflows), limits.priority (with aging) and limits.rate (run
starts per period, a later slot waited for), on the real database with the in-process executor; and
under concurrency on PostgreSQL (threads starting and ending runs)."""

from __future__ import annotations

import random
import threading
import time
from datetime import datetime, timedelta, timezone as dt_timezone

import pytest
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.models import Count
from django.utils import timezone

from workflows import services
from workflows.engine import admission, orchestrator, rate_buckets
from workflows.engine.admission import Candidate, decide, ordered
from workflows.engine.planner import why
from workflows.errors import Conflict, InvalidInput
from workflows.flow_limits import Rate
from workflows.models import ExecutionLog, LimitLock, RateBucket, WorkflowExecution
from workflows.engine.planner.states import ExecutionStatus as E
from workflows.services.recovery import sweep
from workflows.tests.factories import active_workflow, step
from monitoring.why import execution_why

T0 = datetime(2026, 1, 1, tzinfo=dt_timezone.utc)
WAIT = [step("wait", "delay", config={"seconds": 60})]


def later(seconds):
    return timezone.now() + timedelta(seconds=seconds)


def statuses(runs):
    return [WorkflowExecution.objects.get(pk=r.pk).status for r in runs]


def start(wf, **input_data):
    return services.execution_start(workflow=wf, input_data=input_data)[0]


# --- pure: the order and the decision ------------------------------------------------------------

def test_younger_runs_go_by_priority_then_age_and_aged_ones_go_first_oldest_first():
    at = lambda s: T0 + timedelta(seconds=s)  # noqa: E731
    runs = [Candidate("old-low", at(0), 0), Candidate("older-low", at(-5), -3), Candidate("high", at(200), 10),
            Candidate("low", at(100), 0), Candidate("high-later", at(250), 10), Candidate("mid", at(150), 5)]
    now = at(310)  # aging 300 s: old-low (310 s) and older-low (315 s) have waited long enough
    assert [c.id for c in ordered(runs, now, 300)] == ["older-low", "old-low", "high", "high-later", "mid", "low"]
    assert [c.id for c in ordered(runs, at(250), 300)] == ["high", "high-later", "mid", "old-low", "low", "older-low"]


def test_aging_bounds_how_long_a_low_priority_run_is_passed_over():
    """A stream of high-priority runs, one new each second, one slot each second: the low run waits no
    longer than the aging time (plus the one slot the run before it takes)."""
    aging = 30
    waiting = [Candidate("low", T0, -1000)]
    started_at = None
    for second in range(1, 200):
        now = T0 + timedelta(seconds=second)
        waiting.append(Candidate(f"high-{second}", now, 1000))
        first = ordered(waiting, now, aging)[0]
        waiting.remove(first)
        if first.id == "low":
            started_at = second
            break
    assert started_at is not None and started_at <= aging + 1


def test_decide_fills_each_key_up_to_its_max_passing_over_full_keys():
    at = T0
    runs = [Candidate(n, at, 0, key, 2) for n, key in
            [("a1", "a"), ("a2", "a"), ("a3", "a"), ("b1", "b"), ("c1", "c"), ("b2", "b")]]
    assert decide(runs, {"a": 1, "b": 0}) == ["a1", "b1", "c1", "b2"]
    assert decide(runs, {"a": 2, "b": 2, "c": 2}) == []
    # Each run carries its own max (a named limit's workflows may differ): a max-1 run of a busy key waits.
    assert decide([Candidate("x", at, 0, "k", 1), Candidate("y", at, 0, "k", 3)], {"k": 1}) == ["y"]


# --- limits.concurrency --------------------------------------------------------------------------

def test_concurrency_allows_max_running_runs_per_key_value(user, sync_executor):
    wf = active_workflow(user, WAIT, limits={"concurrency": {"key": "{{ input.tenant }}", "max": 2}})
    runs = [start(wf, tenant=t) for t in ("a", "a", "a", "b", "a", "b")]
    sync_executor.drain()
    assert statuses(runs) == [E.RUNNING, E.RUNNING, E.PENDING, E.RUNNING, E.PENDING, E.RUNNING]
    assert runs[0].limit_scope == f"workflow:{wf.pk}" and runs[0].limit_key == "a" and runs[0].limit_max == 2
    services.execution_cancel(execution=runs[0])
    sync_executor.drain()
    assert statuses(runs) == [E.CANCELLED, E.RUNNING, E.RUNNING, E.RUNNING, E.PENDING, E.RUNNING]
    sweep(now=later(61))
    sync_executor.drain()
    # Every timer fired: the running runs completed, and the last pending one of key a took a slot.
    assert statuses(runs)[1:] == [E.COMPLETED, E.COMPLETED, E.COMPLETED, E.RUNNING, E.COMPLETED]


def test_a_named_limit_is_shared_by_the_owners_workflows(user, other_user, sync_executor):
    shared = {"concurrency": {"max": 1, "name": "ehr"}}
    a = active_workflow(user, WAIT, name="a", limits=shared)
    b = active_workflow(user, WAIT, name="b", limits=shared)
    theirs = active_workflow(other_user, WAIT, name="c", limits=shared)  # another owner's "ehr" is another limit
    first, second, third = start(a), start(b), start(theirs)
    sync_executor.drain()
    assert statuses([first, second, third]) == [E.RUNNING, E.PENDING, E.RUNNING]
    assert first.limit_scope == second.limit_scope == f"named:{user.pk}:ehr"
    services.execution_cancel(execution=first)  # a run of A ends: B's pending run takes the slot
    sync_executor.drain()
    assert statuses([first, second]) == [E.CANCELLED, E.RUNNING]
    assert LimitLock.objects.filter(scope=f"named:{user.pk}:ehr").count() == 1


def test_limits_concurrency_and_max_concurrency_together_are_refused(user):
    with pytest.raises(InvalidInput) as caught:
        active_workflow(user, WAIT, max_concurrency=2, limits={"concurrency": {"max": 1}})
    assert "limits.concurrency" in caught.value.fields


def test_a_concurrency_key_the_input_lacks_refuses_the_start(user):
    wf = active_workflow(user, WAIT, limits={"concurrency": {"key": "{{ input.tenant }}", "max": 1}})
    with pytest.raises(InvalidInput, match="input.tenant"):
        start(wf)
    assert not WorkflowExecution.objects.exists()


# --- limits.priority ------------------------------------------------------------------------------

def test_pending_runs_take_free_slots_highest_priority_first(user, sync_executor):
    wf = active_workflow(user, WAIT, limits={"concurrency": {"max": 1}, "priority": "{{ input.p }}"})
    holder = start(wf, p=0)
    runs = {name: start(wf, p=p) for name, p in [("low1", 0), ("low2", 0), ("high", 7), ("mid", 3), ("x", "x")]}
    assert runs["high"].priority == 7 and runs["x"].priority == 0  # not a number: the default
    order = []
    current = holder
    for _ in range(len(runs)):
        services.execution_cancel(execution=current)
        sync_executor.drain()
        [current] = WorkflowExecution.objects.filter(workflow=wf, status=E.RUNNING)
        order.append(next(name for name, run in runs.items() if run.pk == current.pk))
    assert order == ["high", "mid", "low1", "low2", "x"]


def test_a_run_waiting_longer_than_the_aging_time_goes_before_higher_priorities(user, sync_executor, settings):
    settings.FLOWPILOT_PRIORITY_AGING_SECONDS = 1
    wf = active_workflow(user, WAIT, limits={"concurrency": {"max": 1}, "priority": "{{ input.p }}"})
    holder, low = start(wf, p=0), start(wf, p=-5)
    time.sleep(1.1)
    high = start(wf, p=9)
    services.execution_cancel(execution=holder)
    sync_executor.drain()
    assert statuses([low, high]) == [E.RUNNING, E.PENDING]


def test_priority_orders_a_max_concurrency_workflow_too(user, sync_executor):
    wf = active_workflow(user, WAIT, max_concurrency=1, limits={"priority": "{{ input.p }}"})
    holder, low, high = start(wf, p=0), start(wf, p=1), start(wf, p=2)
    services.execution_cancel(execution=holder)
    sync_executor.drain()
    assert statuses([low, high]) == [E.PENDING, E.RUNNING]


# --- limits.rate ------------------------------------------------------------------------------------

@pytest.mark.django_db
def test_rate_bucket_take_reserves_slots_one_row_per_key():
    rate = Rate(limit=2, per_seconds=1, burst=2)
    slots = [rate_buckets.take("workflow:x", "k", rate, T0).at for _ in range(5)]
    assert slots == [T0, T0, T0 + timedelta(seconds=0.5), T0 + timedelta(seconds=1), T0 + timedelta(seconds=1.5)]
    assert rate_buckets.take("workflow:x", "other", rate, T0).at == T0
    assert RateBucket.objects.filter(scope="workflow:x").count() == 2


def test_runs_past_the_rate_wait_pending_for_their_slot_and_the_sweeper_starts_them(user, sync_executor):
    wf = active_workflow(user, [step("a", function="noop")],
                         limits={"rate": {"key": "{{ input.tenant }}", "limit": 2, "per_seconds": 10}})
    before = timezone.now()
    runs = [start(wf, tenant="t") for _ in range(3)] + [start(wf, tenant="u")]
    sync_executor.drain()
    for run in runs:
        run.refresh_from_db()
    assert [r.status for r in runs] == [E.COMPLETED, E.PENDING, E.PENDING, E.COMPLETED]
    gaps = [(r.rate_slot_at - before).total_seconds() for r in runs[:3]]
    assert gaps[0] < 1 and 5 <= gaps[1] < 6 and 10 <= gaps[2] < 11
    assert runs[1].scheduled_at == runs[1].rate_slot_at
    assert ExecutionLog.objects.filter(execution=runs[1], event="execution.rate_limited").count() == 1
    # Entering it again (a sweep before its slot, a retried transaction) keeps its slot: taken once.
    tat = RateBucket.objects.get(key="t").tat
    with orchestrator.locked_run(runs[1].pk, advance=False) as run:
        orchestrator.enter(run.execution, run.events)
    assert RateBucket.objects.get(key="t").tat == tat
    sweep(now=runs[1].rate_slot_at + timedelta(seconds=0.01))
    sync_executor.drain()
    assert statuses(runs) == [E.COMPLETED, E.COMPLETED, E.PENDING, E.COMPLETED]


# --- why ----------------------------------------------------------------------------------------------

def test_why_says_rate_limit_with_the_slot_and_concurrency_with_the_limit_and_holders(user, sync_executor):
    rated = active_workflow(user, WAIT, name="r",
                            limits={"rate": {"limit": 1, "per_seconds": 60, "name": "sms-provider"}})
    start(rated)
    waiting = start(rated)
    [reason] = execution_why(waiting, user=user)
    assert reason.reason == why.RATE_LIMIT and reason.until == waiting.rate_slot_at
    assert reason.detail.startswith("waiting: rate limit sms-provider, next slot at ")
    limited = active_workflow(user, WAIT, name="c",
                              limits={"concurrency": {"key": "{{ input.k }}", "max": 1, "name": "ehr"}})
    holder, pending = start(limited, k="x"), start(limited, k="x")
    [reason] = execution_why(pending, user=user)
    assert reason.reason == why.CONCURRENCY and reason.runs == (str(holder.pk),)
    assert reason.detail == f"waiting for a concurrency slot: limit ehr key 'x' has all 1 held by run {holder.pk}"


def test_the_api_shows_a_runs_priority_and_why(api, user, sync_executor):
    wf = active_workflow(user, WAIT, limits={"concurrency": {"max": 1}, "priority": "{{ input.p }}"})
    start(wf, p=1)
    pending = start(wf, p=4)
    body = api.get(f"/api/v1/executions/{pending.pk}/").json()
    assert body["priority"] == 4 and body["rate_slot_at"] is None and body["limit_key"] == ""
    reasons = api.get(f"/api/v1/executions/{pending.pk}/why/").json()
    assert any(r["reason"] == "concurrency" and "this workflow's limit" in r["detail"]
               for r in (reasons["reasons"] if isinstance(reasons, dict) else reasons))


def test_a_workflow_without_limits_gives_its_runs_no_limit_columns(user, sync_executor):
    run = start(active_workflow(user, WAIT))
    assert (run.limit_scope, run.limit_key, run.priority, run.rate_slot_at) == ("", "", 0, None)


# --- under concurrency, on PostgreSQL -------------------------------------------------------------

@pytest.mark.skipif("connection.vendor != 'postgresql'", reason="row locks: PostgreSQL")
def test_many_threads_starting_and_ending_runs_never_exceed_a_shared_limit(transactional_db, sync_executor):
    owner = get_user_model().objects.create_user("load")
    shared = {"concurrency": {"key": "{{ input.k }}", "max": 2, "name": "shared"}}
    workflows = [active_workflow(owner, WAIT, name=f"w{n}", limits=shared) for n in range(2)]
    scope = f"named:{owner.pk}:shared"
    keys = ("k0", "k1")
    stop, seen, errors = threading.Event(), [], []

    def sample():
        try:
            while not stop.is_set():
                counts = dict(admission.holding(limit_scope=scope).values_list("limit_key")
                              .annotate(n=Count("id"))
                              .values_list("limit_key", "n"))
                seen.append(max(counts.values(), default=0))
        finally:
            connection.close()

    def load(n):
        rng = random.Random(n)
        try:
            for _ in range(25):
                if rng.random() < 0.6:
                    start(rng.choice(workflows), k=rng.choice(keys))
                else:
                    running = list(WorkflowExecution.objects.filter(limit_scope=scope, status=E.RUNNING)
                                   .values_list("pk", flat=True)[:5])
                    if running:
                        try:
                            services.execution_cancel(execution=WorkflowExecution.objects.get(pk=rng.choice(running)))
                        except Conflict:
                            pass  # another thread ended it first
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    sampler = threading.Thread(target=sample)
    sampler.start()
    threads = [threading.Thread(target=load, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stop.set()
    sampler.join()
    assert not errors, errors
    assert seen and max(seen) <= 2
    for key in keys:
        running = WorkflowExecution.objects.filter(limit_scope=scope, limit_key=key, status=E.RUNNING).count()
        pending = WorkflowExecution.objects.filter(limit_scope=scope, limit_key=key, status=E.PENDING).count()
        assert running <= 2
        assert pending == 0 or running == 2, (key, running, pending)  # none pending while a slot is free
    assert WorkflowExecution.objects.filter(limit_scope=scope).count() > 50


@pytest.mark.skipif("connection.vendor != 'postgresql'", reason="row locks: PostgreSQL")
def test_a_chosen_run_someone_else_holds_locked_passes_its_slot_to_the_next(transactional_db, sync_executor):
    """Admission locks the runs it chose SKIP LOCKED (waiting could deadlock with a transaction entering
    that run, which waits for the limit's lock): the slot goes to the next run instead of staying free."""
    owner = get_user_model().objects.create_user("locker")
    wf = active_workflow(owner, WAIT, limits={"concurrency": {"max": 1}})
    holder, first, second = start(wf), start(wf), start(wf)
    locked, release = threading.Event(), threading.Event()

    def hold():
        try:
            with transaction.atomic():
                WorkflowExecution.objects.select_for_update().get(pk=first.pk)
                locked.set()
                release.wait(10)
        finally:
            connection.close()

    thread = threading.Thread(target=hold)
    thread.start()
    assert locked.wait(10)
    services.execution_cancel(execution=holder)
    release.set()
    thread.join()
    assert statuses([first, second]) == [E.PENDING, E.RUNNING]


def test_a_patch_adding_limits_concurrency_to_a_max_concurrency_workflow_is_a_400(api, user):
    wf = active_workflow(user, WAIT, max_concurrency=2)
    answer = api.patch(f"/api/v1/workflows/{wf.pk}/", {"limits": {"concurrency": {"max": 1}}}, format="json")
    assert answer.status_code == 400, answer.data
    assert "limits.concurrency" in str(answer.data)
    answer = api.patch(f"/api/v1/workflows/{wf.pk}/", {"max_concurrency": None, "limits": {"concurrency": {"max": 1}}},
                       format="json")
    assert answer.status_code == 200, answer.data
