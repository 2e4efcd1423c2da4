"""Credentials: saving them (encrypted), handing them to a running step (remembering what was handed
out so that the engine can redact it from everything the step leaves behind), and which steps name
them: a step type's config schema marks a credential's name with `"format": "credential"` (the
designer's picker reads the same mark), and a template may name one as {{ secrets.NAME }}."""

from __future__ import annotations

from collections.abc import Callable

from django.db import transaction

from .errors import Conflict, InvalidInput
from .models import Credential, WorkflowStatus, WorkflowStep
from .secrets import MIN_REDACTED_LENGTH, decrypt, encrypt
from .steps import registry
from .steps.base import StepError
from .templating import is_template, secret_names

# A config schema's mark on a string field that holds the name of one of the owner's credentials.
CREDENTIAL_FORMAT = "credential"
# The workflows whose steps count as using a credential: those that can run, or be activated.
USING_STATUSES = (WorkflowStatus.DRAFT, WorkflowStatus.ACTIVE)


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


def _schema_refs(schema, value, path: str) -> list[tuple[str, str]]:
    if not isinstance(schema, dict):
        return []
    if schema.get("format") == CREDENTIAL_FORMAT:
        # A template here is refused by the type's own check; it names no credential.
        return [(path, value)] if isinstance(value, str) and value and not is_template(value) else []
    found: list[tuple[str, str]] = []
    if isinstance(value, dict):
        for name, sub in (schema.get("properties") or {}).items():
            if name in value:
                found += _schema_refs(sub, value[name], f"{path}.{name}")
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for index, item in enumerate(value):
            found += _schema_refs(schema["items"], item, f"{path}.{index}")
    return found


def _template_refs(value, path: str) -> list[tuple[str, str]]:
    if isinstance(value, str):
        return [(path, name) for name in sorted(secret_names(value))]
    found: list[tuple[str, str]] = []
    if isinstance(value, dict):
        for key, item in value.items():
            found += _template_refs(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _template_refs(item, f"{path}.{index}")
    return found


def step_references(task_type: str, config) -> list[tuple[str, str]]:
    """(field path, credential name) for each credential a step's config names: the fields its type's
    schema marks `"format": "credential"`, and {{ secrets.NAME }} in its templates. Paths as a save's
    400 names fields: "config.auth.credential", "config.headers.Authorization"."""
    try:
        schema = registry.get(task_type).config_schema
    except registry.UnknownStepType:
        schema = {}
    return _schema_refs(schema, config, "config") + _template_refs(config, "config")


def missing_in_steps(*, owner, steps: list[dict]) -> dict[str, list[str]]:
    """The steps naming a credential `owner` does not have, by field path ("steps.<key>.config.auth.
    credential"): what a run would fail on there. Saving such a workflow is allowed (docs/adr/0022)."""
    refs = [(step.get("key", ""), path, name) for step in steps
            for path, name in step_references(step.get("task_type", ""), step.get("config") or {})]
    if not refs:
        return {}
    names = {name for _, _, name in refs}
    have = set(Credential.objects.filter(owner=owner, name__in=names).values_list("name", flat=True))
    found: dict[str, list[str]] = {}
    for key, path, name in refs:
        if name not in have:
            found.setdefault(f"steps.{key}.{path}", []).append(
                f"no credential named {name!r}: create it (Credentials), or choose another")
    return found


def usage(*, owner_ids) -> dict[tuple[int, str], list[dict]]:
    """Which workflows (draft or active) use each credential, by (owner id, credential name): [{"id",
    "name", "steps": [step keys]}], workflows by name. A name counts wherever a step names it: a
    marked field, a {{ secrets.NAME }} template, or any "credential" field (as the engine preloads)."""
    rows = (WorkflowStep.objects.filter(workflow__owner_id__in=owner_ids, workflow__status__in=USING_STATUSES)
            .order_by("workflow__name", "workflow_id", "step_order", "key")
            .values_list("workflow__owner_id", "workflow_id", "workflow__name", "key", "task_type", "config"))
    found: dict[tuple[int, str], dict] = {}
    for owner_id, workflow_id, workflow_name, key, task_type, config in rows.iterator(chunk_size=500):
        names = {name for _, name in step_references(task_type, config)} | named_in(config)
        for name in names:
            workflows = found.setdefault((owner_id, name), {})
            entry = workflows.setdefault(workflow_id, {"id": str(workflow_id), "name": workflow_name, "steps": []})
            entry["steps"].append(key)
    return {k: list(v.values()) for k, v in found.items()}


@transaction.atomic
def credential_delete(*, credential: Credential) -> None:
    """Delete a credential; refused (Conflict, 409, naming them) while a draft or active workflow uses it."""
    credential = Credential.objects.select_for_update().get(pk=credential.pk)
    users = usage(owner_ids=[credential.owner_id]).get((credential.owner_id, credential.name), [])
    if users:
        names = ", ".join(repr(w["name"]) for w in users)
        raise Conflict(f"credential {credential.name!r} is used by {len(users)} workflow{'s' if len(users) > 1 else ''}: "
                       f"{names}; change {'them' if len(users) > 1 else 'it'} first",
                       extra={"used_by": users})
    credential.delete()
