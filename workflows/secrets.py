"""Credentials at rest and in flight: Fernet encryption, and redaction of resolved values (from what
a step leaves, and from the Python log lines written while a step holds them: RedactingFilter).

The key comes from FLOWPILOT_SECRETS_KEY (a comma-separated list: the first encrypts, all decrypt,
so a key can be rotated), or is derived from SECRET_KEY when that is not set.
"""

from __future__ import annotations

import base64
import contextvars
import hashlib
import logging
import re
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any
from urllib.parse import quote, quote_plus

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings

REDACTED = "[redacted]"
MIN_REDACTED_LENGTH = 4  # shorter values would redact ordinary text; such secrets are refused on save
MIN_PART_LENGTH = 8  # a piece of a secret cut out by a URL parser (its host, say) is redacted from this long
_URL_DELIMITERS = re.compile(r"[/?#@:\[\]\\\s]+")  # where a URL parser cuts a host or a path out of a string
# A URL's scheme ("postgresql://"): not a secret's piece, or every "PostgreSQL" in a message would go.
_URL_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:(?=//)")


def _fernet_key(material: str) -> bytes:
    try:
        Fernet(material.encode())
        return material.encode()
    except (ValueError, TypeError):
        return base64.urlsafe_b64encode(hashlib.sha256(material.encode()).digest())


@lru_cache(maxsize=4)
def _cipher(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(_fernet_key(k)) for k in keys])


def cipher() -> MultiFernet:
    keys = tuple(k.strip() for k in (settings.FLOWPILOT_SECRETS_KEY or "").split(",") if k.strip())
    return _cipher(keys or (settings.SECRET_KEY,))


def encrypt(value: str) -> str:
    return cipher().encrypt(value.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return cipher().decrypt(token.encode()).decode()
    except InvalidToken:
        raise ValueError("cannot decrypt the credential: FLOWPILOT_SECRETS_KEY (or SECRET_KEY) changed") from None


def forms(secret: str) -> set[str]:
    """The forms in which a secret may reach text, beside itself (any case: see `redact`): the pieces
    of it a URL parser cuts out (a host), and each of these percent-encoded, IDNA-encoded, reversed."""
    scheme = _URL_SCHEME.match(secret)
    rest = secret[scheme.end():] if scheme else secret
    pieces = {secret} | {p for p in _URL_DELIMITERS.split(rest) if len(p) >= MIN_PART_LENGTH}
    out = set()
    for piece in pieces:
        out |= {piece, piece[::-1], piece.lower(), piece.upper(), piece.casefold(),
                quote(piece, safe=""), quote(piece), quote_plus(piece), _idna(piece)}
    return {f for f in out if len(f) >= MIN_REDACTED_LENGTH}


def _idna(text: str) -> str:
    labels = []
    for label in text.lower().split("."):
        try:
            labels.append(label if label.isascii() else "xn--" + label.encode("punycode").decode("ascii"))
        except UnicodeError:
            labels.append(label)
    return ".".join(labels)


@lru_cache(maxsize=256)
def _pattern(secrets: frozenset[str]) -> re.Pattern | None:
    found = {f for secret in secrets if len(secret) >= MIN_REDACTED_LENGTH for f in forms(secret)}
    if not found:
        return None
    return re.compile("|".join(re.escape(f) for f in sorted(found, key=len, reverse=True)), re.IGNORECASE)


def redact(value: Any, secrets: Collection[str]) -> Any:
    """`value` with every occurrence of each secret, in any case and in each of its `forms`, replaced
    by [redacted], at any depth."""
    if not secrets:
        return value
    pattern = _pattern(frozenset(secrets))
    return value if pattern is None else _redact(value, pattern)


def _redact(value: Any, pattern: re.Pattern) -> Any:
    if isinstance(value, str):
        return pattern.sub(REDACTED, value)
    if isinstance(value, dict):
        return {_redact(k, pattern): _redact(v, pattern) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_redact(v, pattern) for v in value]
    return value


def redact_error(error, secrets: Collection[str]):
    """The same StepError (type, retryability, retry_after kept) with the secrets taken out."""
    clean = type(error).__new__(type(error))  # a copy without re-running a subclass's __init__
    clean.__dict__.update(error.__dict__)
    clean.message, clean.details = redact(error.message, secrets), redact(error.details, secrets)
    clean.args = (clean.message,)
    return clean


_handed_out: contextvars.ContextVar[Collection[str]] = contextvars.ContextVar("flowpilot_secrets_handed_out",
                                                                               default=())


@contextmanager
def redacted_from_logs(secrets: Collection[str]) -> Iterator[None]:
    """Log lines written inside the block (and in the threads it hands its context to, as the step
    runner does) have `secrets` taken out. `secrets` may grow meanwhile: it is read at each line."""
    token = _handed_out.set(secrets)
    try:
        yield
    finally:
        _handed_out.reset(token)


class RedactingFilter(logging.Filter):
    """A log handler's filter: the credentials a running step was handed become [redacted] in the
    message and in the exception text of every line the step's code writes (an HTTP host, say)."""

    def filter(self, record: logging.LogRecord) -> bool:
        secrets = _handed_out.get()
        if secrets:
            record.msg, record.args = redact(record.getMessage(), secrets), ()
            if record.exc_info:
                record.exc_text = redact(logging.Formatter().formatException(record.exc_info), secrets)
                record.exc_info = None
        return True
