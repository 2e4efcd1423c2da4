"""The admin's trigger and credential forms, posted as a staff user's browser posts them: they save
through the same services as the API, so a schedule's celery-beat row follows its cron, timezone and
enabled flag; bad input is a form error that changes nothing; a credential's value goes in and never
comes out."""

from __future__ import annotations

import json

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.test import Client
from django.urls import reverse
from django_celery_beat.models import CrontabSchedule, PeriodicTask

from triggers import services
from triggers.models import RefusedDelivery, Trigger
from workflows.models import ApprovalLinkUse, Credential, TaskExecution, WorkflowExecution
from workflows.secrets import decrypt
from workflows.tests.factories import active_workflow, step

ADD = reverse("admin:triggers_trigger_add")
CREDENTIAL_ADD = reverse("admin:workflows_credential_add")


def change_url(obj) -> str:
    return reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk])


def form(**fields) -> dict:
    """A trigger form as the browser posts it: the defaults it shows, changed by `fields`; a check box
    that is off is left out."""
    data = {"name": "", "enabled": "on", "require_signature": "on", "include_headers": "", "cron": "",
            "timezone": "UTC", "missed_fires": "skip", "catch_up_limit": "3", "event_name": "", "offset_minutes": "0",
            "_save": "Save"}
    data.update(fields)
    return {k: v for k, v in data.items() if v is not None}


def current(trigger: Trigger, **changes) -> dict:
    """The trigger's fields as its change page shows them, posted back with `changes`."""
    shown = dict(name=trigger.name, enabled="on" if trigger.enabled else None,
                require_signature="on" if trigger.require_signature else None,
                include_headers=", ".join(trigger.include_headers), cron=trigger.cron, timezone=trigger.timezone,
                missed_fires=trigger.missed_fires, catch_up_limit=str(trigger.catch_up_limit),
                 event_name=trigger.event_name, offset_minutes=str(trigger.offset_minutes))
    return form(**(shown | changes))


def beat_row(trigger: Trigger) -> tuple:
    task = PeriodicTask.objects.select_related("crontab").get(pk=Trigger.objects.get(pk=trigger.pk).periodic_task_id)
    c = task.crontab
    return (f"{c.minute} {c.hour} {c.day_of_month} {c.month_of_year} {c.day_of_week}", str(c.timezone), task.enabled,
            json.loads(task.args), task.task)


def errors(response) -> dict:
    assert response.status_code == 200, response.status_code  # the form again, not a redirect
    return {field: list(messages) for field, messages in response.context["adminform"].form.errors.items()}


def test_the_add_page_offers_the_workflow_and_the_type(admin_client):
    response = admin_client.get(ADD)
    assert response.status_code == 200
    fields = response.context["adminform"].form.fields
    assert {"workflow", "type", "cron", "timezone", "event_name", "offset_minutes"} <= set(fields)


def test_a_webhook_added_in_the_admin_gets_a_token_and_a_secret_that_signs_deliveries(admin_client, workflow):
    response = admin_client.post(ADD, form(workflow=str(workflow.pk), type="webhook", name="from the shop",
                                           include_headers="X-Source, X-Shop"), follow=True)
    assert response.status_code == 200
    trigger = Trigger.objects.get()
    assert (trigger.workflow, trigger.type, trigger.name) == (workflow, "webhook", "from the shop")
    assert trigger.token and trigger.include_headers == ["X-Source", "X-Shop"] and trigger.periodic_task is None
    shown = [str(m) for m in response.context["messages"] if "signing secret" in str(m)]
    assert len(shown) == 1
    secret = shown[0].rsplit(" ", 1)[1]
    assert decrypt(trigger.secret_encrypted) == secret

    body = b'{"name": "Ada"}'
    delivered = Client().post(f"/hooks/{trigger.token}/", body, content_type="application/json",
                              HTTP_X_FLOWPILOT_SIGNATURE=services.sign(secret, body), HTTP_X_SOURCE="shop")
    assert delivered.status_code == 202, delivered.content
    run = WorkflowExecution.objects.get(pk=delivered.json()["execution_id"])
    assert run.triggered_by == "webhook" and run.input["_webhook"]["headers"] == {"X-Source": "shop"}

    # Changed: the name and the headers; the token and the secret stay; the secret is never on the page.
    page = admin_client.get(change_url(trigger))
    assert page.status_code == 200 and secret not in page.content.decode()
    assert trigger.token in page.content.decode()  # the webhook URL
    changed = admin_client.post(change_url(trigger), current(trigger, name="shop v2", include_headers="",
                                                                  require_signature=None))
    assert changed.status_code == 302
    trigger.refresh_from_db()
    assert (trigger.name, trigger.include_headers, trigger.require_signature) == ("shop v2", [], False)
    assert decrypt(trigger.secret_encrypted) == secret and Trigger.objects.count() == 1

    # Rotated with the list's action: the new secret is shown once and signs; the old one no longer does.
    assert admin_client.post(change_url(trigger), current(trigger, require_signature="on")).status_code == 302
    admin_client.post(ADD, form(workflow=str(workflow.pk), type="event", event_name="signup"))
    rotated = admin_client.post(reverse("admin:triggers_trigger_changelist"), {
        "action": "rotate_secret", "index": 0, ACTION_CHECKBOX_NAME: [str(t.pk) for t in Trigger.objects.all()]},
        follow=True)
    shown = [str(m) for m in rotated.context["messages"]][-2:]  # after the saves' own messages
    assert "new signing secret" in shown[0] and shown[1] == "Skipped 1 trigger(s): only a webhook has a secret."
    new_secret = shown[0].rsplit(" ", 1)[1]
    trigger.refresh_from_db()
    assert new_secret != secret and decrypt(trigger.secret_encrypted) == new_secret
    body = b'{"name": "Bo"}'
    for key, status in ((secret, 401), (new_secret, 202)):
        answer = Client().post(f"/hooks/{trigger.token}/", body, content_type="application/json",
                               HTTP_X_FLOWPILOT_SIGNATURE=services.sign(key, body))
        assert answer.status_code == status, answer.content


def test_a_schedule_changed_in_the_admin_moves_its_beat_schedule(admin_client, workflow):
    added = admin_client.post(ADD, form(workflow=str(workflow.pk), type="schedule", cron="15 7 * * *",
                                        timezone="Europe/Paris"))
    assert added.status_code == 302
    trigger = Trigger.objects.get()
    assert beat_row(trigger) == ("15 7 * * *", "Europe/Paris", True, [str(trigger.pk)], services.FIRE_TASK)

    # The case: set 45 6 * * * and the beat must fire at 6:45, no longer at 7:15.
    changed = admin_client.post(change_url(trigger), current(trigger, cron="45 6 * * *"))
    assert changed.status_code == 302
    trigger.refresh_from_db()
    assert trigger.cron == "45 6 * * *"
    assert beat_row(trigger) == ("45 6 * * *", "Europe/Paris", True, [str(trigger.pk)], services.FIRE_TASK)

    # Paused, in another timezone: the beat row is disabled and moves with it.
    admin_client.post(change_url(trigger), current(trigger, timezone="America/New_York", enabled=None))
    trigger.refresh_from_db()
    assert beat_row(trigger)[:3] == ("45 6 * * *", "America/New_York", False)
    admin_client.post(change_url(trigger), current(trigger, enabled="on"))
    trigger.refresh_from_db()
    assert beat_row(trigger)[:3] == ("45 6 * * *", "America/New_York", True)
    assert PeriodicTask.objects.filter(name__startswith="flowpilot-trigger-").count() == 1

    # The page shows the next fires and links the beat row.
    page = admin_client.get(change_url(trigger)).content.decode()
    assert "45 6 * * *" in page and f"flowpilot-trigger-{trigger.pk}" in page

    # Bad input is a form error and changes nothing, in the trigger and in the beat.
    before = beat_row(trigger)
    assert "cron" in errors(admin_client.post(change_url(trigger), current(trigger, cron="61 * * * *")))
    assert "timezone" in errors(admin_client.post(change_url(trigger), current(trigger, timezone="Mars/Base")))
    assert "catch_up_limit" in errors(admin_client.post(change_url(trigger), current(
        trigger, catch_up_limit="5000")))
    trigger.refresh_from_db()
    assert beat_row(trigger) == before and trigger.cron == "45 6 * * *"

    # Deleted in the admin: the beat row goes with it.
    task_id = trigger.periodic_task_id
    deleted = admin_client.post(reverse("admin:triggers_trigger_delete", args=[trigger.pk]), {"post": "yes"})
    assert deleted.status_code == 302
    assert not Trigger.objects.exists() and not PeriodicTask.objects.filter(pk=task_id).exists()


def test_an_invalid_new_trigger_is_a_form_error_and_nothing_is_saved(admin_client, workflow):
    assert "cron" in errors(admin_client.post(ADD, form(workflow=str(workflow.pk), type="schedule", cron="")))
    assert "cron" in errors(admin_client.post(ADD, form(workflow=str(workflow.pk), type="schedule",
                                                        cron="every day")))
    assert "event_name" in errors(admin_client.post(ADD, form(workflow=str(workflow.pk), type="event")))
    assert "offset_minutes" in errors(admin_client.post(ADD, form(workflow=str(workflow.pk), type="event",
                                                                  event_name="x", offset_minutes="99999999")))
    assert "include_headers" in errors(admin_client.post(ADD, form(
        workflow=str(workflow.pk), type="webhook", include_headers=",".join(f"X-{i}" for i in range(51)))))
    assert "workflow" in errors(admin_client.post(ADD, form(type="webhook")))
    assert not Trigger.objects.exists() and not PeriodicTask.objects.filter(name__startswith="flowpilot-").exists()
    assert not CrontabSchedule.objects.filter(minute="every").exists()


def test_an_event_trigger_added_and_changed_in_the_admin_starts_its_workflow(admin_client, workflow):
    added = admin_client.post(ADD, form(workflow=str(workflow.pk), type="event", event_name="signup"))
    assert added.status_code == 302
    trigger = Trigger.objects.get()
    assert (trigger.type, trigger.event_name, trigger.offset_minutes, trigger.periodic_task) == (
        "event", "signup", 0, None)
    changed = admin_client.post(change_url(trigger), current(trigger, event_name="user_signed_up",
                                                                  offset_minutes="-30"))
    assert changed.status_code == 302
    trigger.refresh_from_db()
    assert (trigger.event_name, trigger.offset_minutes) == ("user_signed_up", -30)
    services.emit("signup", {"name": "Old"})
    assert not WorkflowExecution.objects.exists()
    services.emit("user_signed_up", {"name": "Ada"})
    run = WorkflowExecution.objects.get()
    assert run.triggered_by == "event" and run.input["name"] == "Ada"


def test_the_type_and_workflow_of_a_trigger_are_not_changed_afterwards(admin_client, workflow, user):
    admin_client.post(ADD, form(workflow=str(workflow.pk), type="event", event_name="signup"))
    trigger = Trigger.objects.get()
    other = active_workflow(user, [step("x", "log", config={"message": "x"})], name="other")
    response = admin_client.post(change_url(trigger), current(trigger, type="schedule", cron="* * * * *",
                                                                   workflow=str(other.pk)))
    assert response.status_code == 302
    trigger.refresh_from_db()
    assert (trigger.type, trigger.workflow_id, trigger.periodic_task) == ("event", workflow.pk, None)


# --- credentials -----------------------------------------------------------------------------------

def credential_form(**fields) -> dict:
    return {"description": "", "value": "", "_save": "Save", **fields}


def test_a_credential_is_added_and_its_value_replaced_in_the_admin_but_never_shown(admin_client, user):
    page = admin_client.get(CREDENTIAL_ADD)
    assert page.status_code == 200 and "value" in page.context["adminform"].form.fields

    added = admin_client.post(CREDENTIAL_ADD, credential_form(owner=str(user.pk), name="CRM_TOKEN",
                                                              description="the CRM", value="first-secret-1"))
    assert added.status_code == 302
    credential = Credential.objects.get()
    assert (credential.owner, credential.name, credential.description) == (user, "CRM_TOKEN", "the CRM")
    assert decrypt(credential.encrypted_value) == "first-secret-1"
    assert "first-secret-1" not in credential.encrypted_value

    page = admin_client.get(change_url(credential)).content.decode()
    assert "first-secret-1" not in page and credential.encrypted_value not in page

    # Changed without a value: the value stays; with one: it is replaced.
    kept = admin_client.post(change_url(credential), credential_form(description="the CRM, prod"))
    assert kept.status_code == 302
    credential.refresh_from_db()
    assert credential.description == "the CRM, prod" and decrypt(credential.encrypted_value) == "first-secret-1"
    replaced = admin_client.post(change_url(credential), credential_form(description="the CRM, prod",
                                                                         value="second-secret-2"))
    assert replaced.status_code == 302
    credential.refresh_from_db()
    assert decrypt(credential.encrypted_value) == "second-secret-2"
    assert "second-secret-2" not in admin_client.get(change_url(credential)).content.decode()
    # The name and the owner are set once.
    admin_client.post(change_url(credential), credential_form(name="OTHER", owner="999999"))
    credential.refresh_from_db()
    assert (credential.name, credential.owner) == ("CRM_TOKEN", user)


def test_a_bad_credential_is_a_form_error_and_nothing_is_saved(admin_client, user):
    Credential.objects.create(owner=user, name="TAKEN", encrypted_value="x")

    def refused(**fields) -> dict:
        return errors(admin_client.post(CREDENTIAL_ADD, credential_form(owner=str(user.pk), **fields)))

    assert "value" in refused(name="NEW", value="")  # a new credential needs its value
    assert "value" in refused(name="NEW", value="ab")  # too short to redact
    assert "value" in refused(name="NEW", value="x" * 65537)
    assert "name" in refused(name="not a name!", value="long-enough")
    assert refused(name="TAKEN", value="long-enough")  # the owner has one of that name
    assert list(Credential.objects.values_list("name", flat=True)) == ["TAKEN"]


def test_refused_deliveries_and_used_approval_links_are_listed_for_ops_and_never_edited(admin_client, workflow, user):
    """What ops look for when a sender says "my webhook was refused" or "who approved this": both are
    listed, searchable and open read-only; neither can be added or changed by hand."""
    trigger, _ = services.trigger_create(workflow=workflow, type="webhook", data={"name": "shop"})
    response = Client().post(reverse("webhook", args=[trigger.token]), b'{"name": "Ada"}',
                             content_type="application/json", HTTP_X_FLOWPILOT_SIGNATURE="sha256=forged")
    assert response.status_code == 401
    refused = RefusedDelivery.objects.get(trigger=trigger)
    run = WorkflowExecution.objects.create(workflow=workflow, workflow_version_id=workflow.versions.get().pk, input={})
    attempt = TaskExecution.objects.create(execution=run, step_key="hello", task_type="log")
    used = ApprovalLinkUse.objects.create(token_digest="0" * 64, execution=run, task_execution=attempt,
                                          step_key="hello", approved=False, recipient="finance@example.com")
    for obj, search, shown in [(refused, "shop", "signature"), (used, "finance@", "finance@example.com")]:
        listing = admin_client.get(reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_changelist"),
                                   {"q": search})
        assert listing.status_code == 200 and shown in listing.content.decode()
        page = admin_client.get(change_url(obj))
        assert page.status_code == 200 and shown in page.content.decode()
        assert admin_client.get(reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_add")).status_code == 403
        assert admin_client.post(change_url(obj), {"message": "edited", "recipient": "x"}).status_code == 403
    assert RefusedDelivery.objects.get(pk=refused.pk).message == refused.message
    assert ApprovalLinkUse.objects.get(pk=used.pk).recipient == "finance@example.com"
