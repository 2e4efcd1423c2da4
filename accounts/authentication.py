"""`Authorization: Token fp_...`: a personal API token (accounts.ApiToken).

Listed before rest_framework.authtoken's TokenAuthentication, which keeps answering for its own keys
(`manage.py drf_create_token`): a key without the fp_ marker is left to it.
"""

from __future__ import annotations

from django.utils import timezone
from rest_framework import authentication, exceptions

from . import services
from .models import ApiToken


class ApiTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Token"

    def authenticate(self, request):
        parts = authentication.get_authorization_header(request).split()
        if len(parts) != 2 or parts[0].lower() != self.keyword.lower().encode():
            return None  # not ours; a malformed header is reported by TokenAuthentication
        try:
            key = parts[1].decode()
        except UnicodeError:
            return None
        return self.authenticate_credentials(key)

    def authenticate_credentials(self, key: str):
        """(user, token) for a personal key; None for a key that is not one (no fp_ marker)."""
        if not key.startswith(services.KEY_MARKER):
            return None
        token = ApiToken.objects.select_related("user").filter(key_hash=services.hash_key(key)).first()
        now = timezone.now()
        if token is None:
            raise exceptions.AuthenticationFailed("Invalid token.")
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed("User inactive or deleted.")
        if token.revoked_at is not None:
            raise exceptions.AuthenticationFailed("Token revoked.")
        if not token.is_active(now):
            raise exceptions.AuthenticationFailed("Token expired.")
        services.api_token_touch(token=token, now=now)
        return token.user, token

    def authenticate_header(self, request) -> str:
        return self.keyword  # a WWW-Authenticate header makes an unauthenticated request a 401, not a 403


def user_for_key(key: str):
    """The active user a key (personal fp_ token or rest_framework.authtoken key) stands for, else None.

    The same checks as the API's authentication classes, for callers without a request (WebSockets).
    """
    for authenticator in (ApiTokenAuthentication(), authentication.TokenAuthentication()):
        try:
            found = authenticator.authenticate_credentials(key)
        except exceptions.AuthenticationFailed:
            return None
        if found is not None:
            return found[0]
    return None
