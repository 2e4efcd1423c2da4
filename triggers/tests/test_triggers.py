"""Triggers: signed webhooks, cron schedules kept in step with celery-beat, events with offsets."""

import json
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone as dt_timezone

import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import connections
from django.test import Client
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from triggers import emit, services
from triggers.cron import CronError, fires_between, latest_fire, next_fires
from triggers.models import Event, SeenSignature, Trigger
from triggers.tasks import prune_seen_signatures
from triggers.tests.conftest import create
from workflows.models import WorkflowExecution
from workflows.services.recovery import sweep
from workflows.engine.planner.states import ExecutionStatus as E
from workflows.tests.factories import active_workflow, step

UTC = dt_timezone.utc


def deliver(client, hook, body: bytes, *, secret=None, timestamp=None, **headers):
    if secret:
        headers["HTTP_X_FLOWPILOT_SIGNATURE"] = services.sign(secret, body, timestamp)
    return client.post(hook["url"], body, content_type="application/json", **headers)


# --- webhooks ------------------------------------------------------------------------------------------

def test_a_signed_webhook_starts_a_run_with_the_body_as_input(api, workflow):
    hook = create(api, workflow, type="webhook", include_headers=["X-Source"])
    assert hook["url"].endswith(f"/hooks/{Trigger.objects.get().token}/") and len(hook["secret"]) == 64
    assert api.get(f"/api/v1/triggers/{hook['id']}/").data.get("secret") is None  # shown once
    response = deliver(Client(), hook, b'{"name": "Ada"}', secret=hook["secret"], HTTP_X_SOURCE="crm")
    assert response.status_code == 202, response.json()
    execution = WorkflowExecution.objects.get(pk=response.json()["execution_id"])
    assert execution.triggered_by == "webhook" and execution.input["name"] == "Ada"
    assert execution.input["_webhook"]["headers"] == {"X-Source": "crm"}


@pytest.mark.parametrize("case", ["no signature", "wrong secret", "tampered body", "too old"])
def test_a_bad_signature_is_401_and_starts_nothing(api, workflow, case):
    hook = create(api, workflow, type="webhook")
    body = b'{"name": "Ada"}'
    kwargs = {"no signature": {}, "wrong secret": {"secret": "x" * 64}, "tampered body": {},
              "too old": {"secret": hook["secret"], "timestamp": int(time.time()) - 301}}[case]
    if case == "tampered body":
        signature = services.sign(hook["secret"], body)
        response = Client().post(hook["url"], b'{"name": "Eve"}', content_type="application/json",
                                 HTTP_X_FLOWPILOT_SIGNATURE=signature)
    else:
        response = deliver(Client(), hook, body, **kwargs)
    assert response.status_code == 401 and "signature" in response.json()["message"]
    assert not WorkflowExecution.objects.exists()


def test_a_replayed_signature_is_refused(api, workflow):
    hook = create(api, workflow, type="webhook")
    body, signature = b'{"n": 1}', services.sign(hook["secret"], b'{"n": 1}')
    first = Client().post(hook["url"], body, content_type="application/json", HTTP_X_FLOWPILOT_SIGNATURE=signature)
    again = Client().post(hook["url"], body, content_type="application/json", HTTP_X_FLOWPILOT_SIGNATURE=signature)
    assert first.status_code == 202 and again.status_code == 401 and "replay" in again.json()["message"]
    assert WorkflowExecution.objects.count() == 1


def test_a_replay_is_refused_after_the_cache_is_emptied(api, workflow):
    """Issue 12, finding 8: after a restart of a Redis that keeps nothing, the same signed delivery
    started a second run. The signatures seen are in the database."""
    hook = create(api, workflow, type="webhook")
    body, signature = b'{"n": 1}', services.sign(hook["secret"], b'{"n": 1}')
    first = Client().post(hook["url"], body, content_type="application/json", HTTP_X_FLOWPILOT_SIGNATURE=signature)
    assert first.status_code == 202, first.json()
    cache.clear()  # FLUSHDB of this test's Redis database in services mode
    again = Client().post(hook["url"], body, content_type="application/json", HTTP_X_FLOWPILOT_SIGNATURE=signature)
    assert again.status_code == 401 and "replay" in again.json()["message"], again.json()
    assert WorkflowExecution.objects.count() == 1


def test_seen_signatures_are_pruned_once_their_timestamp_cannot_pass(api, workflow):
    hook = create(api, workflow, type="webhook")
    for n in (1, 2):
        body = json.dumps({"n": n}).encode()
        assert deliver(Client(), hook, body, secret=hook["secret"]).status_code == 202
    assert SeenSignature.objects.count() == 2
    tolerance = timedelta(seconds=services.SIGNATURE_TOLERANCE_SECONDS)
    assert services.webhook_signatures_prune(now=timezone.now() + 2 * tolerance - timedelta(seconds=5)) == 0
    assert services.webhook_signatures_prune(now=timezone.now() + 2 * tolerance + timedelta(seconds=5)) == 2
    assert not SeenSignature.objects.exists()
    assert settings.CELERY_BEAT_SCHEDULE["flowpilot-prune-seen-signatures"]["task"] == prune_seen_signatures.name


def test_unsigned_webhooks_when_the_trigger_allows_them(api, workflow):
    hook = create(api, workflow, type="webhook", require_signature=False)
    assert deliver(Client(), hook, b'{"a": 1}').status_code == 202


@pytest.mark.parametrize("body,query,field", [
    (b'{"name": "a\\u0000b"}', "", "input_data.name"), (b'"\\u0000"', "", "input_data.body"),
    (b'{"a": 1}', "?x=%00", "input_data._webhook.query.x"),
])
def test_a_delivery_holding_the_nul_character_is_a_400(api, workflow, body, query, field):
    # PostgreSQL's jsonb cannot store U+0000: this was a 500 there.
    hook = create(api, workflow, type="webhook", require_signature=False)
    response = Client().post(hook["url"] + query, body, content_type="application/json")
    assert response.status_code == 400 and field in response.json()["fields"], response.json()
    assert not WorkflowExecution.objects.exists()


def test_an_oversized_body_is_413_and_stores_nothing(api, workflow, settings):
    settings.FLOWPILOT_WEBHOOK_MAX_BYTES = 100
    hook = create(api, workflow, type="webhook", require_signature=False)
    response = deliver(Client(), hook, json.dumps({"x": "y" * 200}).encode())
    assert response.status_code == 413
    assert not WorkflowExecution.objects.exists()


def test_deliveries_are_rate_limited(api, workflow, settings):
    settings.FLOWPILOT_WEBHOOK_RATE = 2
    hook = create(api, workflow, type="webhook", require_signature=False)
    codes = [deliver(Client(), hook, b"{}").status_code for _ in range(3)]
    assert codes == [202, 202, 429]


def test_the_idempotency_key_header_dedupes(api, workflow):
    hook = create(api, workflow, type="webhook", require_signature=False)
    first = deliver(Client(), hook, b"{}", HTTP_IDEMPOTENCY_KEY="order-1").json()
    second = deliver(Client(), hook, b"{}", HTTP_IDEMPOTENCY_KEY="order-1").json()
    assert first["execution_id"] == second["execution_id"] and first["created"] and not second["created"]


def test_disabled_triggers_and_archived_workflows_never_run(api, workflow):
    hook = create(api, workflow, type="webhook", require_signature=False)
    api.patch(f"/api/v1/triggers/{hook['id']}/", {"enabled": False}, format="json")
    assert deliver(Client(), hook, b"{}").status_code == 404
    api.patch(f"/api/v1/triggers/{hook['id']}/", {"enabled": True}, format="json")
    api.patch(f"/api/v1/workflows/{workflow.pk}/", {"status": "archived"}, format="json")
    assert deliver(Client(), hook, b"{}").status_code == 409
    assert not WorkflowExecution.objects.exists()
    assert Client().post("/hooks/not-a-token/", b"{}", content_type="application/json").status_code == 404


@pytest.mark.parametrize("status", ["draft", "archived"])
def test_a_redelivery_after_the_workflow_stopped_answers_its_run_and_a_new_delivery_is_refused(api, workflow,
                                                                                                status):
    hook = create(api, workflow, type="webhook")
    body = b'{"name": "Ada"}'
    first = deliver(Client(), hook, body, secret=hook["secret"], HTTP_IDEMPOTENCY_KEY="delivery-1")
    assert first.status_code == 202 and first.json()["created"], first.json()
    assert api.patch(f"/api/v1/workflows/{workflow.pk}/", {"status": status}, format="json").status_code == 200
    # The sender retries the delivery it never saw answered: same body and delivery id, signed anew.
    again = deliver(Client(), hook, body, secret=hook["secret"], timestamp=int(time.time()) + 1,
                    HTTP_IDEMPOTENCY_KEY="delivery-1")
    assert again.status_code == 202, again.json()  # as every delivery has always been answered
    assert again.json()["execution_id"] == first.json()["execution_id"] and not again.json()["created"]
    new = deliver(Client(), hook, body, secret=hook["secret"], timestamp=int(time.time()) + 2,
                  HTTP_IDEMPOTENCY_KEY="delivery-2")
    assert new.status_code == 409 and status in new.json()["message"], new.json()
    assert WorkflowExecution.objects.filter(workflow=workflow).count() == 1


def test_the_secret_can_be_rotated(api, workflow):
    hook = create(api, workflow, type="webhook")
    rotated = api.post(f"/api/v1/triggers/{hook['id']}/rotate-secret/").data
    assert rotated["secret"] != hook["secret"]
    assert deliver(Client(), hook, b'{"a": 1}', secret=hook["secret"]).status_code == 401
    assert deliver(Client(), hook, b'{"a": 2}', secret=rotated["secret"]).status_code == 202


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_a_hundred_concurrent_deliveries_with_one_idempotency_key_start_one_run(user):
    from rest_framework.test import APIClient

    workflow = active_workflow(user, [step("hello", "log", config={"message": "hi"})], name="burst")
    api = APIClient()
    api.force_authenticate(user)
    hook = create(api, workflow, type="webhook", require_signature=False)

    def one(_):
        try:
            return deliver(Client(), hook, b'{"order": 7}', HTTP_IDEMPOTENCY_KEY="order-7").json()
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(one, range(100)))
    assert len({a["execution_id"] for a in answers}) == 1 and sum(a["created"] for a in answers) == 1
    assert WorkflowExecution.objects.filter(workflow=workflow).count() == 1


# --- schedules ---------------------------------------------------------------------------------------

def test_cron_arithmetic_in_a_timezone():
    after = datetime(2026, 3, 28, 23, 0, tzinfo=UTC)  # a Saturday
    fires = next_fires("30 9 * * mon-fri", "Europe/Paris", after, 3)
    assert [f.isoformat() for f in fires] == ["2026-03-30T09:30:00+02:00", "2026-03-31T09:30:00+02:00",
                                              "2026-04-01T09:30:00+02:00"]
    assert latest_fire("*/15 * * * *", "UTC", datetime(2026, 1, 1, 10, 7, tzinfo=UTC)) == \
        datetime(2026, 1, 1, 10, 0, tzinfo=UTC)
    missed = fires_between("0 * * * *", "UTC", datetime(2026, 1, 1, 0, 0, tzinfo=UTC),
                           datetime(2026, 1, 1, 9, 30, tzinfo=UTC), 3)
    assert [m.hour for m in missed] == [7, 8, 9]
    with pytest.raises(CronError):
        next_fires("61 * * * *", "UTC", after)


@pytest.mark.parametrize("body,field", [({"cron": "not a cron"}, "cron"), ({"cron": "99 * * * *"}, "cron"),
                                        ({"cron": "0 9 * * *", "timezone": "Mars/Olympus"}, "timezone"),
                                        ({}, "cron")])
def test_an_invalid_schedule_is_a_400_and_creates_nothing(api, workflow, body, field):
    response = api.post(f"/api/v1/workflows/{workflow.pk}/triggers/", {"type": "schedule", **body}, format="json")
    assert response.status_code == 400 and field in response.data["fields"]
    assert not Trigger.objects.exists() and not PeriodicTask.objects.filter(task=services.FIRE_TASK).exists()


def test_the_periodic_task_follows_the_schedule(api, workflow):
    trigger = create(api, workflow, type="schedule", cron="30 9 * * mon-fri", timezone="Europe/Paris")
    assert len(trigger["next_fire_times"]) == 5 and all("T09:30:00+0" in t for t in trigger["next_fire_times"])
    task = PeriodicTask.objects.get(task=services.FIRE_TASK)
    assert (task.crontab.minute, task.crontab.hour, task.crontab.day_of_week, str(task.crontab.timezone)) == \
        ("30", "9", "mon-fri", "Europe/Paris")
    assert json.loads(task.args) == [trigger["id"]] and task.enabled
    api.patch(f"/api/v1/triggers/{trigger['id']}/", {"cron": "0 8 * * *", "enabled": False}, format="json")
    task.refresh_from_db()
    assert task.crontab.hour == "8" and task.crontab.minute == "0" and not task.enabled
    bad = api.patch(f"/api/v1/triggers/{trigger['id']}/", {"cron": "0 25 * * *"}, format="json")
    assert bad.status_code == 400
    task.refresh_from_db()
    assert task.crontab.hour == "8"  # nothing changed
    assert api.delete(f"/api/v1/triggers/{trigger['id']}/").status_code == 204
    assert not PeriodicTask.objects.filter(pk=task.pk).exists()


def test_a_schedule_fires_at_its_time_and_never_twice_for_one_time(api, workflow):
    trigger = create(api, workflow, type="schedule", cron="*/15 * * * *")
    schedule = PeriodicTask.objects.get(task=services.FIRE_TASK).schedule  # celery-beat's own clock
    last_run = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)
    for fake_now, due in [(datetime(2026, 6, 1, 10, 14, 59, tzinfo=UTC), False),
                          (datetime(2026, 6, 1, 10, 15, 1, tzinfo=UTC), True)]:
        schedule.nowfun = lambda fake_now=fake_now: fake_now
        assert schedule.is_due(last_run).is_due is due
    fire_at = datetime(2026, 6, 1, 10, 15, 1, tzinfo=UTC)
    first = services.schedule_fire(trigger["id"], now=fire_at)
    again = services.schedule_fire(trigger["id"], now=fire_at + timedelta(seconds=20))  # a second beat
    assert [e.pk for e in first] == [e.pk for e in again]
    (execution,) = WorkflowExecution.objects.all()
    assert execution.triggered_by == "schedule" and execution.input["scheduled_time"] == "2026-06-01T10:15:00+00:00"
    services.schedule_fire(trigger["id"], now=datetime(2026, 6, 1, 10, 30, 2, tzinfo=UTC))
    assert WorkflowExecution.objects.count() == 2


def test_missed_fires_are_skipped_or_caught_up_to_a_bound(api, workflow):
    skip = create(api, workflow, type="schedule", cron="0 * * * *")
    catch_up = create(api, workflow, type="schedule", cron="0 * * * *", missed_fires="catch_up", catch_up_limit=2)
    for trigger in (skip, catch_up):
        Trigger.objects.filter(pk=trigger["id"]).update(last_fired_at=datetime(2026, 6, 1, 3, 0, tzinfo=UTC))
    back_at = datetime(2026, 6, 1, 9, 0, 5, tzinfo=UTC)  # the scheduler was down from 3:00 to 9:00
    assert len(services.schedule_fire(skip["id"], now=back_at)) == 1
    times = [e.input["scheduled_time"][11:16] for e in services.schedule_fire(catch_up["id"], now=back_at)]
    assert times == ["07:00", "08:00", "09:00"]


def test_a_stopped_workflows_schedule_answers_the_runs_it_started_and_starts_no_more(api, workflow):
    trigger = create(api, workflow, type="schedule", cron="*/15 * * * *")
    fire_at = datetime(2026, 6, 1, 10, 15, 1, tzinfo=UTC)
    (started,) = services.schedule_fire(trigger["id"], now=fire_at)
    api.patch(f"/api/v1/workflows/{workflow.pk}/", {"status": "archived"}, format="json")
    assert [e.pk for e in services.schedule_fire(trigger["id"], now=fire_at + timedelta(seconds=20))] == [started.pk]
    assert services.schedule_fire(trigger["id"], now=datetime(2026, 6, 1, 10, 30, 2, tzinfo=UTC)) == []
    assert list(WorkflowExecution.objects.all()) == [started]
    assert Trigger.objects.get(pk=trigger["id"]).last_fired_at == datetime(2026, 6, 1, 10, 15, tzinfo=UTC)


# --- events ------------------------------------------------------------------------------------------

def test_an_event_starts_its_workflows_and_an_offset_waits_durably(api, user, workflow, sync_executor):
    create(api, workflow, type="event", event_name="user.signed_up")
    reminder = active_workflow(user, [step("remind", "log", config={"message": "see you at {{ input.time }}"})],
                               name="reminder")
    create(api, reminder, type="event", event_name="appointment.booked", offset_minutes=-60)
    emit("user.signed_up", {"name": "Ada"})
    (now_run,) = WorkflowExecution.objects.filter(workflow=workflow)
    assert now_run.status == E.RUNNING and now_run.triggered_by == "event" and now_run.input["name"] == "Ada"

    appointment = timezone.now() + timedelta(hours=3)
    response = api.post("/api/v1/events/", {"name": "appointment.booked", "payload": {"time": appointment.isoformat()},
                                            "at": appointment.isoformat()}, format="json")
    assert response.status_code == 202
    (later_run,) = WorkflowExecution.objects.filter(workflow=reminder)
    assert later_run.status == E.PENDING and later_run.scheduled_at == appointment - timedelta(minutes=60)
    assert sweep(now=appointment - timedelta(minutes=61)).scheduled_started == 0
    assert sweep(now=appointment - timedelta(minutes=59)).scheduled_started == 1
    sync_executor.drain()
    later_run.refresh_from_db()
    assert later_run.status == E.COMPLETED
    assert Event.objects.count() == 2


def test_an_event_starts_no_run_of_a_workflow_that_is_not_active(api, user, workflow):
    create(api, workflow, type="event", event_name="user.signed_up")
    other = active_workflow(user, [step("x", "log", config={"message": "x"})], name="other")
    create(api, other, type="event", event_name="user.signed_up")
    api.patch(f"/api/v1/workflows/{workflow.pk}/", {"status": "archived"}, format="json")
    emit("user.signed_up", {"name": "Ada"})
    assert [e.workflow_id for e in WorkflowExecution.objects.all()] == [other.pk]


def test_events_from_the_api_start_only_the_senders_workflows(api, other_user):
    theirs = active_workflow(other_user, [step("x", "log", config={"message": "x"})], name="theirs")
    Trigger.objects.create(workflow=theirs, type="event", event_name="ping")
    assert api.post("/api/v1/events/", {"name": "ping"}, format="json").status_code == 202
    assert not WorkflowExecution.objects.filter(workflow=theirs).exists()
    assert api.post("/api/v1/events/", {"name": "ping", "payload": [1]}, format="json").status_code == 400
    nul = api.post("/api/v1/events/", {"name": "ping", "payload": {"x": "a\u0000b"}}, format="json")
    assert nul.status_code == 400 and "payload.x" in nul.data["fields"]  # was a 500 on PostgreSQL
    assert Event.objects.count() == 1


# --- owners ------------------------------------------------------------------------------------------

def test_another_users_triggers_are_invisible(api, other_user):
    theirs = active_workflow(other_user, [step("x", "log", config={"message": "x"})], name="theirs")
    trigger, _ = services.trigger_create(workflow=theirs, type="webhook", data={})
    for method, url in [("get", f"/api/v1/workflows/{theirs.pk}/triggers/"),
                        ("post", f"/api/v1/workflows/{theirs.pk}/triggers/"),
                        ("get", f"/api/v1/triggers/{trigger.pk}/"), ("patch", f"/api/v1/triggers/{trigger.pk}/"),
                        ("delete", f"/api/v1/triggers/{trigger.pk}/"),
                        ("post", f"/api/v1/triggers/{trigger.pk}/rotate-secret/")]:
        assert getattr(api, method)(url, {"type": "webhook"}, format="json").status_code == 404, url
    assert Trigger.objects.filter(pk=trigger.pk, enabled=True).exists()


def test_export_carries_triggers_without_secrets_and_import_recreates_them(api, user, workflow):
    from workflows.portability import export_workflow, import_workflow

    hook = create(api, workflow, type="webhook", include_headers=["X-Source"])
    create(api, workflow, type="schedule", cron="0 9 * * *", timezone="Europe/Paris")
    create(api, workflow, type="event", event_name="user.signed_up", offset_minutes=30)
    document = export_workflow(workflow)
    text = json.dumps(document)
    assert hook["secret"] not in text and Trigger.objects.get(type="webhook").token not in text
    assert [t["type"] for t in document["triggers"]] == ["webhook", "schedule", "event"]
    copy = import_workflow(owner=user, document=document)
    types = {t.type: t for t in Trigger.objects.filter(workflow=copy)}
    assert set(types) == {"webhook", "schedule", "event"}
    assert types["webhook"].token != Trigger.objects.get(workflow=workflow, type="webhook").token
    assert types["schedule"].periodic_task.crontab.hour == "9" and types["event"].offset_minutes == 30
    bad = {**document, "triggers": [{"type": "schedule", "cron": "nope"}]}
    from workflows.errors import InvalidInput

    with pytest.raises(InvalidInput, match="cron") as error:
        import_workflow(owner=user, document=bad)
    assert "triggers[0].cron" in error.value.fields
