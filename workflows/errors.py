"""Domain errors: raised by services, turned into HTTP answers in one place (api/errors.py)."""

from __future__ import annotations


class DomainError(Exception):
    status_code = 400

    def __init__(self, message: str, *, extra: dict | None = None):
        super().__init__(message)
        self.message = message
        self.extra = extra or {}


class InvalidInput(DomainError):
    """Bad input: nothing was changed. `fields` maps a field path to its messages."""

    def __init__(self, message: str, *, fields: dict[str, list[str]] | None = None):
        super().__init__(message, extra={"fields": fields or {}})
        self.fields = fields or {}


class Conflict(DomainError):
    """The request is valid but the object's state does not allow it (e.g. retry a completed run)."""

    status_code = 409


class WorkflowNotActive(Conflict):
    """A run of a workflow that is not active (draft, paused, archived) cannot start. Raised by
    services.execution_start only, after it has returned the run an idempotency key already started:
    the one statement of the rule, which every trigger relies on."""


class NotFound(DomainError):
    """No such object (or not the caller's)."""

    status_code = 404
