"""The selectors (monitoring/metrics.py) over the known history (history.py): every figure exactly."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db.models import Max

from monitoring import metrics
from monitoring.tests import history
from workflows.models import TaskExecution, WorkflowExecution
from workflows.tests.conftest import fresh_definition_cache, other_user, sync_executor, user  # noqa: F401 (fixtures)

pytestmark = pytest.mark.django_db


@pytest.fixture
def known(user, other_user):
    return history.build(user=user, other_user=other_user)


def visible(user):
    return WorkflowExecution.objects.visible_to(user)


def test_workflow_figures(known, user):
    [stats] = metrics.workflow_stats(executions=visible(user), since=known.since, until=known.until)
    last = WorkflowExecution.objects.filter(workflow=known.workflow, status="completed").aggregate(m=Max("completed_at"))["m"]
    assert last == known.since + timedelta(minutes=99, seconds=30)
    assert stats == metrics.WorkflowStats(
        workflow_id=known.workflow.pk, workflow_name="patient registration", runs=100, failures=30,
        failure_rate=0.3, retries=40, p50_ms=5000, p95_ms=9500, max_ms=10_000, last_success_at=last)


def test_step_figures(known, user):
    stats = metrics.step_stats(executions=visible(user), since=known.since, until=known.until)
    assert [(s.step_key, s.runs, s.failures, s.failure_rate, s.retries, s.p50_ms, s.p95_ms, s.max_ms) for s in stats] == [
        ("create_patient", 140, 70, 0.5, 40, 70, 133, 140),
        ("notify", 70, 0, 0.0, 0, 5, 5, 5),
        ("validate", 100, 0, 0.0, 0, 10, 10, 10),
    ]
    assert {s.workflow_id for s in stats} == {known.workflow.pk}
    assert {s.workflow_name for s in stats} == {"patient registration"}
    in_window = TaskExecution.objects.filter(status="completed", completed_at__lt=known.until,
                                             completed_at__gte=known.since)
    for s in stats:
        assert s.last_success_at == in_window.filter(step_key=s.step_key).aggregate(m=Max("completed_at"))["m"]


def test_workflow_retries_are_the_sum_of_its_steps(known, user):
    steps = metrics.step_stats(executions=visible(user), since=known.since, until=known.until)
    [wf] = metrics.workflow_stats(executions=visible(user), since=known.since, until=known.until)
    assert wf.retries == sum(s.retries for s in steps)


def test_filters_and_window(known, user):
    one = metrics.step_stats(executions=visible(user), since=known.since, until=known.until,
                             workflow_id=known.workflow.pk, step_key="create_patient")
    assert [(s.step_key, s.runs, s.failures) for s in one] == [("create_patient", 140, 70)]
    assert metrics.step_stats(executions=visible(user), since=known.since, until=known.until,
                              workflow_id=known.other_workflow.pk) == []
    # The first hour: runs 0..59 (18 failed); their durations 100..6000 ms.
    [first] = metrics.workflow_stats(executions=visible(user), since=known.since,
                                     until=known.since + timedelta(hours=1))
    assert (first.runs, first.failures, first.failure_rate, first.p50_ms, first.p95_ms, first.max_ms) == \
        (60, 18, 0.3, 3000, 5700, 6000)
    # Before the window: 5 runs, 3 failed (durations 5 ms).
    [before] = metrics.workflow_stats(executions=visible(user), since=known.since - timedelta(hours=1),
                                      until=known.since)
    assert (before.runs, before.failures, before.failure_rate, before.retries, before.p50_ms) == (5, 3, 0.6, 0, 5)
    # An empty window: the workflow is listed, with no runs.
    [empty] = metrics.workflow_stats(executions=visible(user), since=known.until, until=known.until + timedelta(hours=1))
    assert (empty.runs, empty.failures, empty.failure_rate, empty.retries, empty.p50_ms, empty.p95_ms, empty.max_ms) \
        == (0, 0, None, 0, None, None, None)
    assert empty.last_success_at is not None  # the latest success, whenever it was


def test_a_user_sees_only_their_runs_and_staff_all(known, user, other_user):
    theirs = metrics.workflow_stats(executions=visible(other_user), since=known.since, until=known.until)
    assert [(s.workflow_name, s.runs, s.failures, s.failure_rate, s.last_success_at) for s in theirs] == \
        [("someone else's", 4, 4, 1.0, None)]
    staff = get_user_model().objects.create_user("root", is_staff=True)
    everything = metrics.workflow_stats(executions=visible(staff), since=known.since, until=known.until)
    assert [(s.workflow_name, s.runs) for s in everything] == [("patient registration", 100), ("someone else's", 4)]
    only = metrics.workflow_stats(executions=visible(staff), since=known.since, until=known.until,
                                  workflow_id=known.other_workflow.pk)
    assert [s.workflow_name for s in only] == ["someone else's"]
    assert metrics.workflow_stats(executions=visible(user), since=known.since, until=known.until,
                                  workflow_id=known.other_workflow.pk) == []


def test_nearest_rank_percentiles_of_small_groups(user, other_user):
    """n = 1, 2, 3: p50 is rank ceil(n / 2), p95 rank ceil(0.95 n)."""
    known = history.build(user=user, other_user=other_user, runs=3)
    [wf] = metrics.workflow_stats(executions=visible(user), since=known.since, until=known.until)
    assert (wf.runs, wf.p50_ms, wf.p95_ms, wf.max_ms) == (3, 200, 300, 300)
    [first] = metrics.workflow_stats(executions=visible(user), since=known.since,
                                     until=known.since + timedelta(minutes=1))
    assert (first.runs, first.p50_ms, first.p95_ms, first.max_ms) == (1, 100, 100, 100)
    [two] = metrics.workflow_stats(executions=visible(user), since=known.since,
                                   until=known.since + timedelta(minutes=2))
    assert (two.p50_ms, two.p95_ms) == (100, 200)


def test_throughput_buckets(known, user):
    hourly = metrics.throughput(executions=visible(user), since=known.since, until=known.until, bucket_seconds=3600)
    assert [(b.start, b.started, b.completed, b.failed) for b in hourly] == [
        (known.since, 60, 42, 18), (known.since + timedelta(hours=1), 40, 28, 12)]
    quarters = metrics.throughput(executions=visible(user), since=known.since, until=known.until, bucket_seconds=900)
    assert [b.start for b in quarters] == [known.since + timedelta(minutes=15 * k) for k in range(8)]
    assert [b.failed for b in quarters] == [5, 4, 5, 4, 5, 4, 3, 0]
    assert [b.completed for b in quarters] == [10, 11, 10, 11, 10, 11, 7, 0]
    assert [b.started for b in quarters] == [15, 15, 15, 15, 15, 15, 10, 0]
    # A window that does not start on a bucket's edge begins with the bucket that holds it.
    off = metrics.throughput(executions=visible(user), since=known.since + timedelta(minutes=20),
                             until=known.since + timedelta(minutes=50), bucket_seconds=1800,
                             workflow_id=known.workflow.pk)
    assert [(b.start, b.completed + b.failed) for b in off] == [
        (known.since, 10), (known.since + timedelta(minutes=30), 20)]
    assert metrics.throughput(executions=visible(user), since=known.since, until=known.until, bucket_seconds=3600,
                              workflow_id=known.other_workflow.pk)[0].failed == 0


def test_running_now(known, user, other_user):
    assert metrics.running_now(executions=visible(user)) == [metrics.RunningNow(
        workflow_id=known.workflow.pk, workflow_name="patient registration", pending=2, running=9, waiting=3,
        steps_queued=1, steps_running=5, steps_waiting=3, steps_retrying=0)]
    assert metrics.running_now(executions=visible(other_user)) == []
