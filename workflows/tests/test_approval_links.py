"""Approve/reject links for messages: signed, single-use, expiring; GET shows, only POST decides."""

import time
from urllib.parse import urlsplit

import pytest
from django.db import IntegrityError, transaction
from django.test import Client

from workflows import approval_links
from workflows.models import ApprovalLinkUse, ExecutionLog, TaskExecution
from workflows.engine.planner.states import TaskStatus as T
from workflows.tests import functions
from workflows.tests.factories import active_workflow, step
from workflows.tests.test_approvals import approval_flow, snapshot, waiting
from workflows.tests.test_flow_steps import record, start


@pytest.fixture(autouse=True)
def clean_calls():
    functions.CALLS.clear()


@pytest.fixture
def browser():
    return Client(enforce_csrf_checks=True)  # nobody signed in; a mail client has no CSRF cookie


def path_of(url: str) -> str:
    return urlsplit(url).path


def test_the_waiting_output_carries_links_under_the_public_url(user, settings, sync_executor):
    settings.FLOWPILOT_PUBLIC_URL = "https://flows.example.com/"
    execution = start(approval_flow(user), sync_executor, amount=40)
    output = waiting(execution).output
    assert output["approve_url"].startswith("https://flows.example.com/approval-links/")
    assert output["reject_url"].startswith("https://flows.example.com/approval-links/")
    assert approval_links.read_token(output["approve_url"].split("/")[-2]).decision == "approve"


def test_get_shows_the_decision_and_changes_nothing(user, browser, sync_executor):
    execution = start(approval_flow(user), sync_executor, amount=40)
    before = snapshot(execution)
    url = path_of(waiting(execution).output["approve_url"])
    for _ in range(3):  # a mail scanner prefetching, then the person
        page = browser.get(url)
        assert page.status_code == 200
        assert b"Approve this step?" in page.content and b"refunds" in page.content
        assert b"Refund 40 EUR?" in page.content and b'method="post"' in page.content
    assert browser.head(url).status_code == 200
    assert snapshot(execution) == before
    assert not ApprovalLinkUse.objects.exists()


def test_post_decides_once_and_logs_by_link_with_the_recipient(user, browser, sync_executor):
    execution = start(approval_flow(user, recipient="ops@example.com"), sync_executor, amount=40)
    task = waiting(execution)
    reject = path_of(task.output["reject_url"])
    page = browser.post(reject)
    assert page.status_code == 200 and b"Rejected" in page.content
    sync_executor.drain()
    assert [c["value"] for c in functions.CALLS] == ["request", "decline"]
    task.refresh_from_db()
    decision = task.output["decision"]
    assert task.branch == "rejected" and decision["via"] == "link"
    assert decision["recipient"] == "ops@example.com" and decision["by"] == "ops@example.com"
    line = ExecutionLog.objects.get(execution=execution, task_execution=task, event="step.completed")
    assert "by link" in line.message and line.details["decision"]["via"] == "link"
    use = ApprovalLinkUse.objects.get()
    assert use.task_execution_id == task.pk and use.approved is False and use.recipient == "ops@example.com"

    before = snapshot(execution)
    again = browser.post(reject)  # the same link a second time
    assert again.status_code == 409 and b"already used" in again.content
    other = browser.post(path_of(waiting(execution).output.get("approve_url") or
                                 approval_links.links(execution_id=execution.pk, step_key="approve")["approve_url"]))
    assert other.status_code == 409 and b"no longer waiting" in other.content
    assert browser.get(reject).status_code == 409
    assert snapshot(execution) == before and ApprovalLinkUse.objects.count() == 1


def test_an_expired_link_is_refused(user, browser, settings, sync_executor, monkeypatch):
    settings.FLOWPILOT_APPROVAL_LINK_MAX_AGE_SECONDS = 3600
    execution = start(approval_flow(user), sync_executor, amount=40)
    real = time.time
    monkeypatch.setattr("django.core.signing.time.time", lambda: real() - 3601)
    old = approval_links.links(execution_id=execution.pk, step_key="approve")["approve_url"]
    monkeypatch.setattr("django.core.signing.time.time", real)
    before = snapshot(execution)
    for method in (browser.get, browser.post):
        page = method(path_of(old))
        assert page.status_code == 400 and b"expired" in page.content
    assert snapshot(execution) == before and waiting(execution).status == T.WAITING
    fresh = approval_links.links(execution_id=execution.pk, step_key="approve")["approve_url"]
    assert browser.post(path_of(fresh)).status_code == 200  # within the age it works


def test_a_tampered_link_is_refused(user, browser, sync_executor):
    execution = start(approval_flow(user), sync_executor, amount=40)
    token = waiting(execution).output["reject_url"].split("/")[-2]
    payload, stamp, signature = token.rsplit(":", 2)
    flipped = signature[:-1] + ("A" if signature[-1] != "A" else "B")
    forged_approve = approval_links.make_token(execution_id=execution.pk, step_key="approve", decision="approve")
    swapped = forged_approve.rsplit(":", 2)[0] + f":{stamp}:{signature}"  # another body under this signature
    before = snapshot(execution)
    for bad in (f"{payload}:{stamp}:{flipped}", swapped, "not-a-token", "x" * 2000):
        for method in (browser.get, browser.post):
            page = method(f"/approval-links/{bad}/")
            assert page.status_code == 400 and b"not valid" in page.content, bad
    assert snapshot(execution) == before and not ApprovalLinkUse.objects.exists()


def test_a_link_s_single_use_is_held_by_the_database(user, sync_executor):
    execution = start(approval_flow(user), sync_executor, amount=40)
    task = waiting(execution)
    ApprovalLinkUse.objects.create(token_digest="a" * 64, execution=execution, task_execution=task,
                                   step_key="approve", approved=True)
    for digest in ("a" * 64, "b" * 64):  # the same token again; another link for the same attempt
        with pytest.raises(IntegrityError), transaction.atomic():
            ApprovalLinkUse.objects.create(token_digest=digest, execution=execution, task_execution=task,
                                           step_key="approve", approved=False)


def test_a_step_beside_the_approval_can_send_its_links(user, browser, sync_executor):
    """{{ approvals.<step>.approve_url }}: a message sent beside the approval carries working links."""
    wf = active_workflow(user, [
        step("approve", "approval", config={"message": "ok?", "recipient": "boss@example.com"}),
        record("notify", "{{ approvals.approve.approve_url }}"),
        record("after", "approved", "approve:approved"),
    ])
    execution = start(wf, sync_executor)
    [sent] = [c["value"] for c in functions.CALLS]
    assert sent.startswith("http") and "/approval-links/" in sent
    assert approval_links.read_token(sent.split("/")[-2]).recipient == "boss@example.com"
    assert browser.post(path_of(sent)).status_code == 200
    sync_executor.drain()
    assert [c["value"] for c in functions.CALLS] == [sent, "approved"]
    assert TaskExecution.objects.get(execution=execution, step_key="approve").output["decision"]["via"] == "link"


def test_an_email_sent_beside_the_approval_carries_links_that_decide_it(user, browser, settings, sync_executor):
    """The README's recipe: a send_email step beside the approval, its body with both links."""
    from django.core import mail

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.FLOWPILOT_PUBLIC_URL = "https://flows.example.com"
    wf = active_workflow(user, [
        record("request", "request"),
        step("review", "approval", config={"message": "Refund?", "recipient": "finance@example.com"},
             depends_on=["request"]),
        step("ask", "send_email", depends_on=["request"], config={
            "to": "finance@example.com", "subject": "Refund {{ input.amount }} EUR?",
            "body": "Approve: {{ approvals.review.approve_url }}\nReject: {{ approvals.review.reject_url }}"}),
        record("refund", "refund", "review:approved"),
        record("decline", "decline", "review:rejected"),
    ])
    execution = start(wf, sync_executor, amount=12)
    [message] = mail.outbox
    lines = dict(line.split(": ", 1) for line in message.body.splitlines())
    assert lines["Approve"].startswith("https://flows.example.com/approval-links/")
    assert browser.get(path_of(lines["Reject"])).status_code == 200  # a scanner's prefetch: nothing decided
    assert waiting(execution, "review").status == T.WAITING
    assert browser.post(path_of(lines["Reject"])).status_code == 200
    assert browser.post(path_of(lines["Approve"])).status_code == 409  # decided already
    sync_executor.drain()
    assert [c["value"] for c in functions.CALLS] == ["request", "decline"]
    decision = waiting(execution, "review").output["decision"]
    assert decision["approved"] is False and decision["via"] == "link" and decision["by"] == "finance@example.com"
