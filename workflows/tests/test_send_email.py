"""send_email through Django's real email backends: locmem's outbox, and small backends that fail."""

from __future__ import annotations

import smtplib
from datetime import timedelta

import pytest
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.backends.locmem import EmailBackend as LocmemBackend
from django.utils import timezone

from workflows import services
from workflows.models import TaskExecution
from workflows.services.recovery import sweep
from workflows.engine.planner.states import ExecutionStatus as E
from workflows.engine.planner.states import TaskStatus as T
from workflows.steps import StepContext, StepError, registry
from workflows.steps.send_email import IDEMPOTENCY_HEADER
from workflows.tests.factories import active_workflow, step


class FlakyBackend(LocmemBackend):
    """Drops the connection on the first `failures` sends, then delivers to the locmem outbox."""

    failures = 1
    attempts: list[str] = []  # the Message-ID of every send tried

    def send_messages(self, messages):
        FlakyBackend.attempts.extend(m.extra_headers["Message-ID"] for m in messages)
        if len(FlakyBackend.attempts) <= FlakyBackend.failures:
            raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
        return super().send_messages(messages)


class RefusingBackend(BaseEmailBackend):
    """The server answers 550 for every recipient: a permanent refusal."""

    def send_messages(self, messages):
        raise smtplib.SMTPRecipientsRefused({addr: (550, b"5.1.1 no such user") for m in messages
                                             for addr in m.recipients()})


class TimeoutRecordingBackend(LocmemBackend):
    """Like the SMTP backend, it has a `timeout`; records the one it sends with."""

    timeout = 30
    used: list = []

    def send_messages(self, messages):
        TimeoutRecordingBackend.used.append(self.timeout)
        return super().send_messages(messages)


@pytest.fixture(autouse=True)
def locmem(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.DEFAULT_FROM_EMAIL = "FlowPilot <noreply@flowpilot.example>"
    FlakyBackend.attempts = []
    mail.outbox = []


def send(config: dict, *, timeout: float = 10) -> dict:
    ctx = StepContext(execution_id="e1", step_key="welcome", attempt=1, idempotency_key="e1:welcome",
                      timeout_seconds=timeout, input={})
    return registry.get("send_email").execute(config, ctx)


def run(workflow, executor, **input_data):
    execution, _ = services.execution_start(workflow=workflow, input_data=input_data)
    executor.drain()
    execution.refresh_from_db()
    return execution


def attempts(execution, key):
    return list(TaskExecution.objects.filter(execution=execution, step_key=key).order_by("attempt"))


def test_a_run_sends_an_email_built_from_input_and_an_earlier_steps_output(user, sync_executor):
    wf = active_workflow(user, [
        step("patient", function="add", kwargs={"a": "{{ input.n }}", "b": 1000}),
        step("welcome", "send_email", depends_on=["patient"], config={
            "to": "{{ input.name }} <{{ input.email }}>",
            "subject": "Welcome, {{ input.name }}",
            "body": "Your patient id is {{ steps.patient.output.sum }}.",
        }),
    ])
    execution = run(wf, sync_executor, n=7, name="Asha", email="asha@example.com")
    assert execution.status == E.COMPLETED, execution.error_message
    (message,) = mail.outbox
    assert message.to == ["Asha <asha@example.com>"]
    assert message.subject == "Welcome, Asha" and message.body == "Your patient id is 1007."
    assert message.from_email == "FlowPilot <noreply@flowpilot.example>"
    key = f"{execution.pk}:welcome"
    assert message.extra_headers[IDEMPOTENCY_HEADER] == key
    assert message.extra_headers["Message-ID"] == f"<{execution.pk}.welcome@flowpilot.example>"
    assert message.message()["Message-ID"] == f"<{execution.pk}.welcome@flowpilot.example>"
    (row,) = attempts(execution, "welcome")
    assert row.output == {"message_id": f"<{execution.pk}.welcome@flowpilot.example>",
                          "to": ["Asha <asha@example.com>"], "recipients": 1}


def test_cc_bcc_reply_to_and_an_html_alternative():
    out = send({"to": "a@example.com, \"Doe, Jo\" <jo@example.com>", "cc": ["c@example.com", "C@example.com"],
                "bcc": "hidden@example.com", "reply_to": "support@example.com", "from_email": "team@example.org",
                "subject": "Hello\nBcc: victim@example.com", "body": "plain", "html_body": "<p>rich</p>"})
    (message,) = mail.outbox
    assert message.to == ["a@example.com", '"Doe, Jo" <jo@example.com>']
    assert message.cc == ["c@example.com"]  # the same address twice is sent once
    assert message.bcc == ["hidden@example.com"] and message.reply_to == ["support@example.com"]
    assert message.from_email == "team@example.org"
    assert message.subject == "Hello Bcc: victim@example.com"  # a line break cannot add a header
    assert message.alternatives[0][:2] == ("<p>rich</p>", "text/html")
    assert "Bcc" not in message.message()
    assert out == {"message_id": "<e1.welcome@example.org>", "to": ["a@example.com", '"Doe, Jo" <jo@example.com>'],
                   "recipients": 4}


@pytest.mark.parametrize("config, message", [
    ({"to": "not-an-email"}, "to: 'not-an-email' is not a valid email address"),
    ({"to": ["ok@example.com", "Bad <bad@>"]}, "to: 'Bad <bad@>' is not a valid email address"),
    ({"to": "a@example.com b@example.com"}, "to: 'a@example.com b@example.com' is not a valid email address"),
    ({"to": "ok@example.com", "cc": "x@example.com\nBcc: y@example.com"},
     "cc: 'x@example.com\\nBcc: y@example.com' is not a valid email address"),
    ({"to": "ok@example.com", "from_email": "a@example.com, b@example.com"},
     "from_email: expected one address, got 2"),
    ({"to": " , "}, "to: no recipient address"),
])
def test_a_bad_address_fails_without_retry_naming_it(config, message):
    with pytest.raises(StepError) as error:
        send({"subject": "s", "body": "b", **config})
    assert not error.value.retryable and error.value.message == message
    assert mail.outbox == []


def test_a_bad_address_fails_the_run_at_once(user, sync_executor):
    wf = active_workflow(user, [step("welcome", "send_email", max_retries=3, config={
        "to": "{{ input.email }}", "subject": "Hi", "body": "Hello"})])
    execution = run(wf, sync_executor, email="asha.example.com")
    assert [r.status for r in attempts(execution, "welcome")] == [T.FAILED]
    assert execution.status == E.FAILED
    assert execution.error_message == "step 'welcome' failed: to: 'asha.example.com' is not a valid email address"


def test_an_smtp_error_is_retried_with_the_same_message_id(user, sync_executor, settings):
    settings.EMAIL_BACKEND = f"{__name__}.FlakyBackend"
    wf = active_workflow(user, [step("welcome", "send_email", max_retries=2, retry_base_delay=0, config={
        "to": "asha@example.com", "subject": "Hi", "body": "Hello"})])
    execution = run(wf, sync_executor)
    rows = attempts(execution, "welcome")
    assert [r.status for r in rows] == [T.FAILED, T.RETRYING]
    assert rows[0].error_message == "sending failed: SMTPServerDisconnected: Connection unexpectedly closed"
    assert rows[0].error_details["retryable"] is True

    sweep(now=timezone.now() + timedelta(seconds=1))
    sync_executor.drain()
    execution.refresh_from_db()
    assert execution.status == E.COMPLETED
    assert [r.status for r in attempts(execution, "welcome")] == [T.FAILED, T.COMPLETED]
    assert len(mail.outbox) == 1
    assert FlakyBackend.attempts == [f"<{execution.pk}.welcome@flowpilot.example>"] * 2


def test_a_permanent_refusal_is_not_retried(settings):
    settings.EMAIL_BACKEND = f"{__name__}.RefusingBackend"
    with pytest.raises(StepError) as error:
        send({"to": "gone@example.com", "subject": "s", "body": "b"})
    assert not error.value.retryable and "SMTPRecipientsRefused" in error.value.message


def test_a_connection_error_is_retryable(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", 9  # discard port: nothing listens
    with pytest.raises(StepError) as error:
        send({"to": "a@example.com", "subject": "s", "body": "b"}, timeout=2)
    assert error.value.retryable and error.value.message.startswith("sending failed: ConnectionRefusedError")


def test_the_connection_gives_up_within_the_steps_timeout(settings):
    settings.EMAIL_BACKEND = f"{__name__}.TimeoutRecordingBackend"
    TimeoutRecordingBackend.used = []
    send({"to": "a@example.com", "subject": "s", "body": "b"}, timeout=5)
    send({"to": "a@example.com", "subject": "s", "body": "b"}, timeout=300)
    assert TimeoutRecordingBackend.used == [5, 30]


def test_the_config_schema_is_checked_when_saved():
    errors = dict(registry.config_errors("send_email", {"to": [], "subject": "", "cc": 3}, rendered=False))
    assert errors == {"body": "this field is required", "cc": "3 is not of type 'string', 'array'",
                      "subject": "'' should be non-empty", "to": "[] should be non-empty"}
    assert registry.config_errors("send_email", {"to": "{{ input.emails }}", "subject": "s", "body": "b"},
                                  rendered=False) == []
    described = registry.get("send_email").describe()
    assert registry.config_errors("send_email", described["example"], rendered=False) == []
    assert all(p.get("title") for p in described["config_schema"]["properties"].values())
