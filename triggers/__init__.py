"""Triggers: webhooks, cron schedules (django-celery-beat) and events that start workflows."""


def emit(name: str, payload: dict | None = None, **kwargs):
    """Emit an event from Python: `from triggers import emit; emit("user.signed_up", {...})`."""
    from .services import emit as _emit

    return _emit(name, payload, **kwargs)
