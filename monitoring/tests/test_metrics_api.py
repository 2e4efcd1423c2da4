"""/api/v1/metrics/...: the figures of the known history through HTTP, the 400s, who sees what, and a
query count that does not grow with the number of runs."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from monitoring.tests import history
from workflows.models import WorkflowExecution
from workflows.tests.conftest import api, fresh_definition_cache, other_user, sync_executor, user  # noqa: F401

pytestmark = pytest.mark.django_db
URL = "/api/v1/metrics/"


@pytest.fixture
def known(user, other_user):
    return history.build(user=user, other_user=other_user)


def window(known, **more):
    return {"since": known.since.isoformat(), "until": known.until.isoformat(), **more}


def iso(dt):
    return dt.isoformat().replace("+00:00", "Z")


def test_workflows(api, known):
    body = api.get(URL + "workflows/", window(known)).json()
    last = WorkflowExecution.objects.filter(workflow=known.workflow, status="completed").latest("completed_at")
    assert body == {"since": iso(known.since), "until": iso(known.until), "workflows": [{
        "workflow_id": str(known.workflow.pk), "workflow_name": "patient registration", "runs": 100, "failures": 30,
        "failure_rate": 0.3, "retries": 40, "p50_ms": 5000, "p95_ms": 9500, "max_ms": 10000,
        "last_success_at": iso(last.completed_at)}]}


def test_steps(api, known):
    body = api.get(URL + "steps/", window(known, workflow=str(known.workflow.pk))).json()
    assert [(s["step_key"], s["runs"], s["failures"], s["failure_rate"], s["retries"], s["p50_ms"], s["p95_ms"],
             s["max_ms"]) for s in body["steps"]] == [
        ("create_patient", 140, 70, 0.5, 40, 70, 133, 140), ("notify", 70, 0, 0.0, 0, 5, 5, 5),
        ("validate", 100, 0, 0.0, 0, 10, 10, 10)]
    assert set(body["steps"][0]) == {"workflow_id", "workflow_name", "step_key", "runs", "failures", "failure_rate",
                                     "retries", "p50_ms", "p95_ms", "max_ms", "last_success_at"}
    one = api.get(URL + "steps/", window(known, step_key="notify")).json()["steps"]
    assert [s["step_key"] for s in one] == ["notify"]


def test_throughput(api, known):
    body = api.get(URL + "throughput/", window(known, bucket="1h")).json()
    assert body == {"since": iso(known.since), "until": iso(known.until), "bucket_seconds": 3600, "buckets": [
        {"start": iso(known.since), "started": 60, "completed": 42, "failed": 18},
        {"start": iso(known.since + timedelta(hours=1)), "started": 40, "completed": 28, "failed": 12}]}
    assert api.get(URL + "throughput/", window(known)).json()["bucket_seconds"] == 60  # 2 h: 120 buckets of 1 min


def test_running(api, known):
    body = api.get(URL + "running/").json()
    counts = {"pending": 2, "running": 9, "waiting": 3, "steps_queued": 1, "steps_running": 5, "steps_waiting": 3,
              "steps_retrying": 0}
    assert body["totals"] == counts
    assert body["workflows"] == [{"workflow_id": str(known.workflow.pk), "workflow_name": "patient registration",
                                  **counts}]


def test_errors_and_the_retry_of_one_group(api, known):
    body = api.get(URL + "errors/", window(known, step_key="create_patient")).json()
    a, b = body["groups"]
    assert (a["signature"], a["count"], a["executions"], a["pattern"]) == \
        (known.signature_a, 46, 28, "Patient <n> already exists (MRN '…')")
    assert (b["signature"], b["count"], b["executions"]) == (known.signature_b, 24, 12)
    assert b["steps"] == [{"workflow_id": str(known.workflow.pk), "workflow_name": "patient registration",
                           "step_key": "create_patient", "count": 24}]
    assert set(a) == {"signature", "pattern", "count", "executions", "first_seen", "last_seen", "sample_message",
                      "steps"}

    dry = api.post(URL + "errors/retry/", {"signature": b["signature"], **window(known), "dry_run": True},
                   format="json").json()
    assert dry["retried"] is False and dry["count"] == 12 and set(dry["execution_ids"]) == {str(i) for i in known.failed_b}
    done = api.post(URL + "errors/retry/", {"signature": b["signature"], "workflow": str(known.workflow.pk),
                                           **window(known)}, format="json")
    assert done.status_code == 200
    assert done.json()["retried"] is True and set(done.json()["execution_ids"]) == {str(i) for i in known.failed_b}
    assert WorkflowExecution.objects.filter(pk__in=known.failed_a, status="failed").count() == 18
    assert not WorkflowExecution.objects.filter(pk__in=known.failed_b, status="failed").exists()
    again = api.post(URL + "errors/retry/", {"signature": b["signature"]}, format="json").json()
    assert again == {"retried": True, "count": 0, "execution_ids": []}


@pytest.mark.parametrize("path, params, field", [
    ("workflows/", {"window": "2h"}, "window"),
    ("workflows/", {"window": "1h", "since": "2030-01-01T00:00:00Z"}, "window"),
    ("steps/", {"since": "2030-01-02T00:00:00Z", "until": "2030-01-01T00:00:00Z"}, "since"),
    ("steps/", {"since": "yesterday"}, "since"),
    ("throughput/", {"bucket": "1s"}, "bucket"),
    ("throughput/", {"window": "30d", "bucket": "1m"}, "bucket"),
    ("errors/", {"workflow": "not-a-uuid"}, "workflow"),
    ("errors/", {"limit": "0"}, "limit"),
    ("workflows/", {"since": "2000-01-01T00:00:00Z"}, "since"),
])
def test_bad_parameters_are_400_in_the_house_shape(api, path, params, field):
    response = api.get(URL + path, params)
    assert response.status_code == 400
    assert set(response.json()) == {"message", "fields"} and field in response.json()["fields"]


def test_bad_retry_bodies_are_400(api):
    for body, field in (({}, "signature"), ({"signature": "xyz"}, "signature"),
                        ({"signature": "0" * 16, "dry_run": "maybe"}, "dry_run")):
        response = api.post(URL + "errors/retry/", body, format="json")
        assert response.status_code == 400 and field in response.json()["fields"], body


def test_others_see_their_own_staff_all_anonymous_nothing(known, other_user):
    client = APIClient()
    assert client.get(URL + "workflows/").status_code in (401, 403)
    assert client.post(URL + "errors/retry/", {"signature": "0" * 16}, format="json").status_code in (401, 403)
    client.force_authenticate(other_user)
    assert [w["workflow_name"] for w in client.get(URL + "workflows/", window(known)).json()["workflows"]] == \
        ["someone else's"]
    retry = client.post(URL + "errors/retry/", {"signature": known.signature_b, "dry_run": True}, format="json").json()
    assert retry["count"] == 0  # alice's failures are not theirs to retry
    staff = get_user_model().objects.create_user("root", is_staff=True)
    client.force_authenticate(staff)
    assert len(client.get(URL + "workflows/", window(known)).json()["workflows"]) == 2
    assert client.get(URL + "running/").json()["totals"]["running"] == 9


def test_query_counts_do_not_grow_with_the_runs(user, other_user, settings):
    settings.FLOWPILOT_API_RATE_USER = "1000000/minute"
    client = APIClient()
    client.force_authenticate(user)
    small = history.build(user=user, other_user=other_user, runs=10)
    counts = {}
    for runs, known in ((10, small), (200, None)):
        if known is None:
            WorkflowExecution.objects.all().delete()
            known = history.build(user=user, other_user=other_user, runs=200, since=small.since)
        for path, params in (("workflows/", window(known)), ("steps/", window(known)),
                             ("throughput/", window(known, bucket="15m")), ("running/", {}),
                             ("errors/", window(known))):
            with CaptureQueriesContext(connection) as queries:
                assert client.get(URL + path, params).status_code == 200
            counts.setdefault(path, []).append(len(queries))
    assert all(small == large for small, large in counts.values()), counts
    assert max(large for _, large in counts.values()) <= 6, counts
