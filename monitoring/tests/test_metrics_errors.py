"""Top errors by signature, and the bulk retry of one group (monitoring/errors.py)."""

from datetime import timedelta

import pytest
from django.db.models import Max, Min

from monitoring import errors
from monitoring.tests import history
from workflows.models import TaskExecution, WorkflowExecution
from workflows.tests.conftest import fresh_definition_cache, other_user, sync_executor, user  # noqa: F401 (fixtures)

pytestmark = pytest.mark.django_db


@pytest.fixture
def known(user, other_user):
    return history.build(user=user, other_user=other_user)


def visible(user):
    return WorkflowExecution.objects.visible_to(user)


def seen(known, signature):
    return TaskExecution.objects.filter(error_signature=signature, status="failed", completed_at__gte=known.since,
                                        completed_at__lt=known.until, execution__workflow=known.workflow) \
        .aggregate(first=Min("completed_at"), last=Max("completed_at"))


def test_the_two_error_groups(known, user):
    a, b = errors.error_groups(executions=visible(user), since=known.since, until=known.until)
    assert (a.signature, a.count, a.executions) == (known.signature_a, 46, 28)
    assert (b.signature, b.count, b.executions) == (known.signature_b, 24, 12)
    assert a.pattern == "Patient <n> already exists (MRN '…')"
    assert a.sample_message == "Patient 50091 already exists (MRN 'A-91')"  # run 91's first attempt: the latest
    assert b.pattern == "POST https://ehr.example.com/api/patients/<n>?<query> failed: <n>, request id <uuid>"
    assert b.sample_message.startswith("POST https://ehr.example.com/api/patients/1674?token=x96 failed: 503")
    for group in (a, b):
        assert (group.first_seen, group.last_seen) == tuple(seen(known, group.signature).values())
        assert [(s.workflow_id, s.workflow_name, s.step_key, s.count) for s in group.steps] == \
            [(known.workflow.pk, "patient registration", "create_patient", group.count)]


def test_filters_limit_and_window(known, user):
    assert [g.signature for g in errors.error_groups(executions=visible(user), since=known.since,
                                                     until=known.until, limit=1)] == [known.signature_a]
    assert errors.error_groups(executions=visible(user), since=known.since, until=known.until,
                               step_key="validate") == []
    # The first hour holds A's failures only (runs 0..59): 18 runs x 2 + 6 retried runs.
    [a] = errors.error_groups(executions=visible(user), since=known.since, until=known.since + timedelta(hours=1),
                              workflow_id=known.workflow.pk, step_key="create_patient")
    assert (a.signature, a.count, a.executions) == (known.signature_a, 42, 24)


def test_others_errors_are_not_counted(known, user, other_user):
    [a] = errors.error_groups(executions=visible(other_user), since=known.since, until=known.until)
    assert (a.signature, a.count, a.executions, a.steps[0].workflow_name) == \
        (known.signature_a, 4, 4, "someone else's")


def test_retrying_one_group_retries_exactly_that_group(known, user):
    dry = errors.error_group_retry(executions=visible(user), signature=known.signature_b, since=known.since,
                                   until=known.until, dry_run=True)
    assert set(dry) == known.failed_b and len(dry) == 12
    assert WorkflowExecution.objects.filter(status="failed", workflow=known.workflow).count() == 33  # nothing moved

    retried = errors.error_group_retry(executions=visible(user), signature=known.signature_b, since=known.since,
                                       until=known.until, user=user)
    assert set(retried) == known.failed_b and len(retried) == 12
    assert not WorkflowExecution.objects.filter(pk__in=known.failed_b, status="failed").exists()
    assert WorkflowExecution.objects.filter(pk__in=known.failed_a, status="failed").count() == 18
    assert errors.error_group_retry(executions=visible(user), signature=known.signature_b, dry_run=True) == []


def test_a_group_retry_stays_in_its_window_and_the_users_runs(known, user):
    # A in the window: the 18 runs; without a window also the 3 before it; never the other user's 4.
    assert set(errors.error_group_retry(executions=visible(user), signature=known.signature_a, since=known.since,
                                        until=known.until, dry_run=True)) == known.failed_a
    assert len(errors.error_group_retry(executions=visible(user), signature=known.signature_a, dry_run=True)) == 21
    assert errors.error_group_retry(executions=visible(user), signature=known.signature_a, step_key="validate",
                                    dry_run=True) == []
    assert errors.error_group_retry(executions=visible(user), signature=known.signature_a,
                                    workflow_id=known.other_workflow.pk, dry_run=True) == []
