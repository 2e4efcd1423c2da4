"""Approve and reject links for messages (email, Slack): signed, expiring tokens naming a run's
approval step and the decision, and the public URL of each. Pure signing, no ORM: the approval step
makes them while it parks; the single use is enforced where a link is used (services/approvals.py,
the ApprovalLinkUse table).

A token names (execution, step key), not the attempt, so a message sent before the approval step
parked (or alongside it) can carry one: it decides whichever attempt of that step is waiting when
it is used. TimestampSigner puts the issue time in it: FLOWPILOT_APPROVAL_LINK_MAX_AGE_SECONDS
bounds its age.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.core import signing

from flowpilot import public_url

SALT = "flowpilot.approval-link"
DECISIONS = ("approve", "reject")
RECIPIENT_MAX_LENGTH = 254  # an email address at most
PATH = "/approval-links/{token}/"


class LinkRefused(Exception):
    """The token is tampered with, expired or not a link at all; `reason` says which."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Link:
    execution_id: str
    step_key: str
    decision: str  # "approve" | "reject"
    recipient: str = ""

    @property
    def approved(self) -> bool:
        return self.decision == "approve"


def max_age() -> int:
    """Seconds a link stays valid after it was made (at least a minute, at most a year)."""
    return int(min(max(int(settings.FLOWPILOT_APPROVAL_LINK_MAX_AGE_SECONDS), 60), 366 * 86400))


def make_token(*, execution_id, step_key: str, decision: str, recipient: str = "") -> str:
    if decision not in DECISIONS:
        raise ValueError(f"decision must be one of {DECISIONS}")
    payload = {"e": str(execution_id), "k": step_key, "d": decision}
    if recipient:
        payload["r"] = recipient[:RECIPIENT_MAX_LENGTH]
    return signing.TimestampSigner(salt=SALT).sign_object(payload, compress=True)


def read_token(token: str) -> Link:
    """The link a token names; LinkRefused if it was tampered with, has expired or is malformed."""
    if not isinstance(token, str) or len(token) > 1000:
        raise LinkRefused("This link is not valid.")
    try:
        payload = signing.TimestampSigner(salt=SALT).unsign_object(token, max_age=max_age())
    except signing.SignatureExpired:
        raise LinkRefused("This link has expired.") from None
    except (signing.BadSignature, ValueError):
        raise LinkRefused("This link is not valid.") from None
    if not (isinstance(payload, dict) and isinstance(payload.get("e"), str) and isinstance(payload.get("k"), str)
            and payload.get("d") in DECISIONS and isinstance(payload.get("r", ""), str)):
        raise LinkRefused("This link is not valid.")
    try:
        execution_id = str(uuid.UUID(payload["e"]))
    except ValueError:
        raise LinkRefused("This link is not valid.") from None
    return Link(execution_id, payload["k"][:100], payload["d"], payload.get("r", "")[:RECIPIENT_MAX_LENGTH])


def digest(token: str) -> str:
    """What the table of used links keeps of a token (not the token: it is a credential)."""
    return hashlib.sha256(token.encode()).hexdigest()


def links(*, execution_id, step_key: str, recipient: str = "") -> dict[str, str]:
    """The approve and reject URLs of one approval step of one run."""
    base = public_url.base()  # FLOWPILOT_PUBLIC_URL, else the address served
    return {f"{decision}_url": base + PATH.format(token=make_token(
        execution_id=execution_id, step_key=step_key, decision=decision, recipient=recipient))
        for decision in DECISIONS}
