"""Credentials: saving them (encrypted) and handing them to a running step, remembering what was
handed out so that the engine can redact it from everything the step leaves behind."""

from __future__ import annotations

from collections.abc import Callable

from django.db import transaction

from .errors import Conflict, InvalidInput
from .models import Credential
from .secrets import MIN_REDACTED_LENGTH, decrypt, encrypt
from .steps.base import StepError
from .templating import secret_names


@transaction.atomic
def credential_save(*, owner, name: str, value: str | None, description: str | None = None) -> Credential:
    """Create the owner's credential `name`, or replace its value (and description)."""
    credential = Credential.objects.select_for_update().filter(owner=owner, name=name).first()
    if credential is None and value is None:
        raise InvalidInput("value: is required", fields={"value": ["this field is required"]})
    if value is not None and len(value) < MIN_REDACTED_LENGTH:
        raise InvalidInput(f"value: must be at least {MIN_REDACTED_LENGTH} characters",
                           fields={"value": [f"must be at least {MIN_REDACTED_LENGTH} characters"]})
    credential = credential or Credential(owner=owner, name=name)
    if value is not None:
        credential.encrypted_value = encrypt(value)
    if description is not None:
        credential.description = description
    credential.save()
    return credential


@transaction.atomic
def credential_create(*, owner, name: str, value: str, description: str = "") -> Credential:
    """A new credential; one of that name already there is a conflict (change it with credential_save)."""
    if Credential.objects.filter(owner=owner, name=name).exists():
        raise Conflict(f"a credential named {name!r} exists; PATCH it to change its value")
    return credential_save(owner=owner, name=name, value=value, description=description)


class Resolver:
    """The credentials of one workflow owner, decrypted on first use by a running step."""

    def __init__(self, owner_id: int | Callable[[], int]) -> None:
        self._owner_id = owner_id
        self._tokens: dict[str, str] = {}
        self.used: set[str] = set()

    def owner(self) -> int:
        """The owner's id (looked up once, when first asked)."""
        return self._owner()

    def _owner(self) -> int:
        if callable(self._owner_id):
            self._owner_id = self._owner_id()  # looked up only when a step needs a credential
        return self._owner_id

    def preload(self, names: set[str]) -> None:
        """Fetch the named credentials in one query, before the handler's thread starts."""
        if names:
            self._tokens.update(Credential.objects.filter(owner_id=self._owner(), name__in=names)
                                .values_list("name", "encrypted_value"))

    def get(self, name: str) -> str:
        token = self._tokens.get(name)
        if token is None:
            token = Credential.objects.filter(owner_id=self._owner(), name=name).values_list(
                "encrypted_value", flat=True).first()
        if token is None:
            raise StepError(f"credential {name!r} does not exist", retryable=False)
        try:
            value = decrypt(token)
        except ValueError as exc:
            raise StepError(f"credential {name!r}: {exc}", retryable=False) from None
        self.used.add(value)
        return value


def named_in(config) -> set[str]:
    """Credential names a config mentions: {{ secrets.NAME }} and any "credential": "NAME" field."""
    names = secret_names(config)
    if isinstance(config, dict):
        for key, value in config.items():
            if key == "credential" and isinstance(value, str):
                names.add(value)
            else:
                names |= named_in(value)
    elif isinstance(config, list):
        for value in config:
            names |= named_in(value)
    return names
