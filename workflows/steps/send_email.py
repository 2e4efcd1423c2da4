"""`send_email`: send a message through Django's email backend (settings.EMAIL_BACKEND).

Every attempt of a step sends the same Message-ID, derived from the step's idempotency key, and
the key itself in an X-FlowPilot-Idempotency-Key header. A retry after a send whose outcome was
lost (a timeout after the server accepted it) can then be recognised by the receiver as the same
message. Bad addresses fail at once. Connection errors and SMTP errors are retried, except
permanent (5xx) refusals.
"""

from __future__ import annotations

import re
import smtplib

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import BadHeaderError, EmailMultiAlternatives, get_connection
from django.core.validators import validate_email

from .base import StepContext, StepError
from .registry import step_type

IDEMPOTENCY_HEADER = "X-FlowPilot-Idempotency-Key"

_ADDRESSES = {
    "type": ["string", "array"], "minLength": 1, "minItems": 1,
    "items": {"type": "string", "minLength": 1},
}

CONFIG_SCHEMA = {
    "type": "object",
    "required": ["to", "subject", "body"],
    "properties": {
        "to": {**_ADDRESSES, "title": "To",
               "description": "One address, a list, or a comma-separated string. "
                              "\"Asha <asha@example.com>\" is accepted."},
        "cc": {**_ADDRESSES, "title": "Cc"},
        "bcc": {**_ADDRESSES, "title": "Bcc"},
        "reply_to": {**_ADDRESSES, "title": "Reply-To"},
        "from_email": {"type": "string", "minLength": 1, "title": "From",
                       "description": "Defaults to the DEFAULT_FROM_EMAIL setting."},
        "subject": {"type": "string", "minLength": 1, "maxLength": 998, "title": "Subject",
                    "description": "One line: line breaks become spaces."},
        "body": {"type": "string", "title": "Body (text)"},
        "html_body": {"type": "string", "title": "Body (HTML)",
                      "description": "Optional. Sent as an alternative to the text body."},
    },
    "additionalProperties": False,
}

# "Name <addr>" or a bare address; commas inside a quoted name do not split.
_ONE_ADDRESS = re.compile(r'^\s*(?:"?(?P<name>[^"<>]*?)"?\s*<(?P<angle>[^<>]*)>|(?P<bare>[^<>\s]+))\s*$')
_SPLIT = re.compile(r',(?=(?:[^"]*"[^"]*")*[^"]*$)')
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_MSGID_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")


def _parse_one(text: str) -> tuple[str, str] | None:
    """(display name, address) of "addr" or "Name <addr>", or None if it is not a valid address."""
    match = None if _CONTROL.search(text) else _ONE_ADDRESS.match(text)
    if not match:
        return None
    address = (match.group("angle") if match.group("angle") is not None else match.group("bare")).strip()
    try:
        validate_email(address)
    except ValidationError:
        return None
    return (match.group("name") or "").strip(), address


def _format(name: str, address: str) -> str:
    if not name:
        return address
    if re.fullmatch(r"[\w' -]+", name):
        return f"{name} <{address}>"
    return '"{}" <{}>'.format(name.replace("\\", "\\\\"), address)


def parse_addresses(value: str | list[str] | None, *, field: str) -> list[tuple[str, str]]:
    """(display name, address) pairs in order, duplicates dropped, from one address, a list, or a
    comma-separated string. Raises a non-retryable StepError naming the field and the bad address."""
    entries = [] if value is None else [value] if isinstance(value, str) else list(value)
    found: list[tuple[str, str]] = []
    for entry in entries:
        pieces = _SPLIT.split(entry) if isinstance(entry, str) else [entry]
        for piece in pieces:
            if isinstance(piece, str) and not piece.strip():
                continue
            parsed = _parse_one(piece) if isinstance(piece, str) else None
            if parsed is None:
                bad = piece.strip() if isinstance(piece, str) else piece
                raise StepError(f"{field}: {bad!r} is not a valid email address", retryable=False,
                                details={"field": field, "address": bad})
            if parsed[1].lower() not in {address.lower() for _, address in found}:
                found.append(parsed)
    return found


def message_id(idempotency_key: str, sender_address: str) -> str:
    """The same Message-ID for every attempt of one step: `<execution-id.step_key@sender-domain>`."""
    local = _MSGID_UNSAFE.sub(".", idempotency_key).strip(".") or "flowpilot"
    return f"<{local}@{sender_address.rsplit('@', 1)[-1]}>"


def _is_permanent(exc: smtplib.SMTPException) -> bool:
    """A 5xx answer will be the same next time; anything else (4xx, a dropped connection) may not."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        return bool(codes) and all(500 <= code < 600 for code in codes)
    return isinstance(exc, smtplib.SMTPResponseException) and 500 <= exc.smtp_code < 600


@step_type(
    "send_email",
    side_effects=True,
    calls_hosts=True,
    category="integration",
    description="Send an email (text and optional HTML) through the configured email backend.",
    config_schema=CONFIG_SCHEMA,
    output_schema={"type": "object", "properties": {
        "message_id": {"type": "string"},
        "to": {"type": "array", "items": {"type": "string"}},
        "recipients": {"type": "integer", "description": "To, Cc and Bcc together."},
    }},
    example={"to": "{{ input.email }}", "subject": "Welcome, {{ input.name }}",
             "body": "Hello {{ input.name }}, your patient id is {{ steps.create_patient.output.body.id }}."},
    example_data={"input": {"email": "ada@example.com", "name": "Ada"},
                  "steps": {"create_patient": {"output": {"body": {"id": 42}}}}},
)
def send_email_step(config: dict, ctx: StepContext) -> dict:
    to, cc, bcc, reply_to = ([_format(*pair) for pair in parse_addresses(config.get(field), field=field)]
                             for field in ("to", "cc", "bcc", "reply_to"))
    if not to:
        raise StepError("to: no recipient address", retryable=False)
    senders = parse_addresses(config.get("from_email") or settings.DEFAULT_FROM_EMAIL, field="from_email")
    if len(senders) != 1:
        raise StepError(f"from_email: expected one address, got {len(senders)}", retryable=False)
    msgid = message_id(ctx.idempotency_key, senders[0][1])
    headers = {"Message-ID": msgid, IDEMPOTENCY_HEADER: ctx.idempotency_key}
    subject = " ".join(str(config["subject"]).split())

    ctx.before_call()  # a rate limit's slot: just before the server is contacted
    connection = get_connection(fail_silently=False)
    if hasattr(connection, "timeout"):
        # SMTP: give up within the step's timeout, so an attempt the engine abandoned cannot send later.
        connection.timeout = min(filter(None, (connection.timeout, ctx.timeout_seconds)), default=None)
    message = EmailMultiAlternatives(subject=subject, body=str(config["body"]), from_email=_format(*senders[0]),
                                     to=to, cc=cc, bcc=bcc, reply_to=reply_to, headers=headers,
                                     connection=connection)
    if config.get("html_body"):
        message.attach_alternative(str(config["html_body"]), "text/html")
    try:
        message.send()
    except BadHeaderError as exc:
        raise StepError(f"refused header: {exc}", retryable=False) from None
    except smtplib.SMTPException as exc:
        raise StepError(f"sending failed: {type(exc).__name__}: {exc}", retryable=not _is_permanent(exc),
                        details={"message_id": msgid}) from None
    except OSError as exc:
        raise StepError(f"sending failed: {type(exc).__name__}: {exc}", details={"message_id": msgid}) from None
    recipients = len(to) + len(cc) + len(bcc)
    ctx.log(f"sent email {msgid} to {recipients} recipient(s)")
    return {"message_id": msgid, "to": to, "recipients": recipients}
