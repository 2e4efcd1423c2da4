"""Approvals: answer a waiting approval (or signal) step, from the app or by a signed link. Both go
through execution_signal, the service of POST /api/v1/executions/<id>/signal/."""

from __future__ import annotations

from django.db import IntegrityError, transaction

from .. import approval_links
from ..errors import Conflict, InvalidInput
from ..models import WAITING_FOR_CHILDREN, ApprovalLinkUse, TaskExecution
from ..engine.planner.states import TaskStatus as T
from .executions import execution_signal

VIA = ("app", "link", "api")


def is_approval(task: TaskExecution) -> bool:
    """An approval step's wait (approve/reject), as against a plain signal's."""
    return bool((task.output or {}).get("approval"))


def awaiting(task: TaskExecution) -> str | None:
    """What a person may give a waiting attempt: "approval" (approve or reject), "signal" (a plain
    signal, answered), or None (not waiting for either: a timer, child runs, or not waiting)."""
    if task.status != T.WAITING or not task.signal_name or task.signal_name == WAITING_FOR_CHILDREN:
        return None
    return "approval" if is_approval(task) else "signal"


def approval_decide(*, task: TaskExecution, approved, comment: str = "", user=None, via: str = "app",
                    recipient: str = "") -> TaskExecution:
    """Approve or reject the waiting approval `task` (a plain signal step is only answered: approved
    true). Conflict when it no longer waits; InvalidInput for a bad decision or comment."""
    if not isinstance(approved, bool):
        raise InvalidInput("approved must be true or false", fields={"approved": ["must be true or false"]})
    if not isinstance(comment, str):
        raise InvalidInput("comment must be a string", fields={"comment": ["must be a string"]})
    if via not in VIA:
        raise ValueError(f"via must be one of {VIA}")
    if awaiting(task) is None:
        raise Conflict(f"step {task.step_key!r} is not waiting for an answer (it is {task.status})")
    if not is_approval(task) and not approved:
        raise InvalidInput(f"step {task.step_key!r} waits for signal {task.signal_name!r}, which is answered, "
                           "not rejected: send approved true, or cancel the run",
                           fields={"approved": ["a plain signal can only be answered (true)"]})
    payload = {"approved": approved, **({"comment": comment} if comment else {})}
    return execution_signal(execution=task.execution, name=task.signal_name, payload=payload, user=user,
                            task_id=task.pk, via=via, comment=comment, recipient=recipient)


def approval_link_read(*, token: str) -> tuple[approval_links.Link, TaskExecution | None]:
    """What a link would decide, and the attempt it would decide now (None: none waits, or the link
    was used). approval_links.LinkRefused for a tampered, expired or malformed token. Changes nothing."""
    link = approval_links.read_token(token)
    if ApprovalLinkUse.objects.filter(token_digest=approval_links.digest(token)).exists():
        return link, None
    return link, _waiting_attempt(link)


def approval_link_use(*, token: str) -> TaskExecution:
    """Decide by link: once per link (the ApprovalLinkUse row, unique per token and per attempt).
    LinkRefused for a bad token; Conflict when used before or when nothing waits any more."""
    link = approval_links.read_token(token)
    digest = approval_links.digest(token)
    with transaction.atomic():
        if ApprovalLinkUse.objects.filter(token_digest=digest).exists():
            raise Conflict("This link was already used.")
        task = _waiting_attempt(link)
        if task is None:
            raise Conflict("This approval is no longer waiting: it was decided, timed out or cancelled.")
        approval_decide(task=task, approved=link.approved, via="link", recipient=link.recipient)
        try:
            with transaction.atomic():
                ApprovalLinkUse.objects.create(token_digest=digest, execution_id=task.execution_id,
                                               task_execution=task, step_key=task.step_key,
                                               approved=link.approved, recipient=link.recipient)
        except IntegrityError:  # the same link (or another for this attempt) won meanwhile: undo ours
            raise Conflict("This link was already used.") from None
    task.refresh_from_db()
    return task


def _waiting_attempt(link: approval_links.Link) -> TaskExecution | None:
    return (TaskExecution.objects.select_related("execution__workflow")
            .filter(execution_id=link.execution_id, step_key=link.step_key, status=T.WAITING,
                    signal_name="approval").order_by("-visit", "-attempt").first())
