"""Credentials at rest and in flight: Fernet encryption, and redaction of resolved values.

The key comes from FLOWPILOT_SECRETS_KEY (a comma-separated list: the first encrypts, all decrypt,
so a key can be rotated), or is derived from SECRET_KEY when that is not set.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Collection
from functools import lru_cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings

REDACTED = "[redacted]"
MIN_REDACTED_LENGTH = 4  # shorter values would redact ordinary text; such secrets are refused on save


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


def redact(value: Any, secrets: Collection[str]) -> Any:
    """`value` with every occurrence of each secret replaced by [redacted], at any depth."""
    if not secrets:
        return value
    if isinstance(value, str):
        for secret in sorted(secrets, key=len, reverse=True):
            if len(secret) >= MIN_REDACTED_LENGTH and secret in value:
                value = value.replace(secret, REDACTED)
        return value
    if isinstance(value, dict):
        return {redact(k, secrets): redact(v, secrets) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact(v, secrets) for v in value]
    return value


def redact_error(error, secrets: Collection[str]):
    """The same StepError (type, retryability, retry_after kept) with the secrets taken out."""
    clean = type(error).__new__(type(error))  # a copy without re-running a subclass's __init__
    clean.__dict__.update(error.__dict__)
    clean.message, clean.details = redact(error.message, secrets), redact(error.details, secrets)
    clean.args = (clean.message,)
    return clean
