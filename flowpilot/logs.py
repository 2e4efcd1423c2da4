"""Log context and the JSON log format (FLOWPILOT_LOG_FORMAT=json).

The engine binds `execution_id`, `step_key` and `task_id` (the task execution's id, which is also
its Celery task id) in context variables where it claims, runs and records an attempt and where it
advances an execution; every log line written meanwhile carries them, in the JSON format as fields
and in the plain format after the message. Context variables follow the code into the thread that
runs a step's handler (workflows/runner.py copies the context).
"""

from __future__ import annotations

import contextvars
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from types import MappingProxyType

FIELDS = ("execution_id", "step_key", "task_id")
_context: contextvars.ContextVar = contextvars.ContextVar("flowpilot_log_context", default=MappingProxyType({}))


@contextmanager
def bound(**fields) -> Iterator[None]:
    """Add fields (None values are left out) to every log line written inside the block."""
    token = _context.set({**_context.get(), **{k: str(v) for k, v in fields.items() if v is not None}})
    try:
        yield
    finally:
        _context.reset(token)


def current() -> dict[str, str]:
    return dict(_context.get())


class ContextFilter(logging.Filter):
    """Copies the bound fields onto each record (record.execution_id, ...; "" when unbound)."""

    def filter(self, record: logging.LogRecord) -> bool:
        context = _context.get()
        for name in FIELDS:
            if not hasattr(record, name):
                setattr(record, name, context.get(name, ""))
        record.log_context = "".join(f" {k}={v}" for k, v in context.items())
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, the bound fields, and the exception."""

    def format(self, record: logging.LogRecord) -> str:
        data = {
            "time": datetime.fromtimestamp(record.created, tz=timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        context = _context.get()
        for name in FIELDS:
            value = context.get(name) or getattr(record, name, "")
            if value:
                data[name] = value
        for name, value in context.items():
            data.setdefault(name, value)
        if record.exc_info or record.exc_text:  # exc_text alone: a filter redacted the exception
            data["exception"] = record.exc_text or self.formatException(record.exc_info)
        if record.stack_info:
            data["stack"] = self.formatStack(record.stack_info)
        return json.dumps(data, default=str, ensure_ascii=False)
