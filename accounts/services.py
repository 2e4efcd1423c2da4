"""Writes for API tokens: create (the key is answered once), revoke, and the throttled last-use stamp."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from django.db.models import Q
from django.utils import timezone

from .models import ApiToken

# Keys look like fp_<43 url-safe characters>; the marker tells them apart from rest_framework.authtoken's
# 40 hex digits, so each authentication class only looks up the keys that are its own.
KEY_MARKER = "fp_"
PREFIX_LENGTH = len(KEY_MARKER) + 8
# last_used_at is written at most this often per token: not a write per request.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def api_token_create(*, user, name: str, expires_at: datetime | None = None) -> tuple[ApiToken, str]:
    """A new token for `user`. Answers (token, key): the key exists only in this answer."""
    key = KEY_MARKER + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(user=user, name=name, prefix=key[:PREFIX_LENGTH], key_hash=hash_key(key),
                                    expires_at=expires_at)
    return token, key


def api_token_revoke(*, token: ApiToken, now: datetime | None = None) -> ApiToken:
    """Refuse the key from now on. Revoking twice keeps the first time."""
    now = now or timezone.now()
    ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=now)
    token.refresh_from_db(fields=["revoked_at"])
    return token


def api_token_touch(*, token: ApiToken, now: datetime | None = None) -> bool:
    """Record a use, unless one was recorded less than LAST_USED_RESOLUTION ago (a conditional
    update, so concurrent requests write once). Answers whether it wrote."""
    now = now or timezone.now()
    if token.last_used_at is not None and now - token.last_used_at < LAST_USED_RESOLUTION:
        return False
    stale = Q(last_used_at__isnull=True) | Q(last_used_at__lte=now - LAST_USED_RESOLUTION)
    written = ApiToken.objects.filter(stale, pk=token.pk).update(last_used_at=now)
    token.last_used_at = now
    return bool(written)
