"""Personal API tokens: several per user, each named; only a hash of the key is stored."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q


class ApiTokenQuerySet(models.QuerySet):
    def of_user(self, user) -> models.QuerySet:
        """A user's own tokens. Not OwnedQuerySet.visible_to: staff do not see others' tokens in the
        API either (the admin is the place for that)."""
        return self.filter(user=user)

    def active(self, now: datetime) -> models.QuerySet:
        return self.filter(revoked_at__isnull=True).filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))


class ApiToken(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens",
                             help_text="Requests made with the key act as this user.")
    name = models.CharField(max_length=100, help_text="What the token is for, e.g. 'CI' or 'zapier'.")
    prefix = models.CharField(max_length=16, editable=False,
                              help_text="The key's first characters, to recognise it; the key itself is not kept.")
    key_hash = models.CharField(max_length=64, unique=True, editable=False,
                                help_text="sha256 of the key, hex: what a request's key is looked up by.")
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False,
                                        help_text="Last request with this key, to the minute.")
    expires_at = models.DateTimeField(null=True, blank=True, help_text="After this the key is refused; empty: never.")
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False,
                                      help_text="When the token was revoked; from then on the key is refused.")

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "API token"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    def is_active(self, now: datetime) -> bool:
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)
