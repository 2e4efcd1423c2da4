"""`file`: read, write, append, list and delete files under one root, through Django's storage API.

The root is a local directory (FLOWPILOT_FILES_ROOT) or any storage configured in STORAGES and named
by FLOWPILOT_FILES_STORAGE (S3 through django-storages, ...). Paths are confined to it (no `..`, no
absolute path, no backslash or NUL, no symlink leading out) and sizes are bounded by settings:
workflows/files.py does the confined I/O and says how each operation is safe to retry. A path
that is not a template is checked when the workflow is saved; a rendered one when the step runs,
and a refused path fails the step at once (not retried) and touches nothing.

Retries: write is atomic and a repeated write of the same content changes nothing; append uses the
attempt's idempotency key, so an append retried after a crash (whether or not its bytes got
written) appends them once; delete of a missing file answers deleted=false.
"""

from __future__ import annotations

from django.conf import settings

from .. import files, templating
from .base import StepContext, StepError
from .registry import step_type

OPERATIONS = ["read", "write", "append", "list", "delete"]
ENCODINGS = ["utf-8", "base64"]
WITH_CONTENT = ("write", "append")

CONFIG_SCHEMA = {
    "type": "object",
    "required": ["operation"],
    "properties": {
        "operation": {"type": "string", "enum": OPERATIONS, "title": "Operation",
                      "description": "read a file, write it (replacing it), append to it, list a directory, "
                                     "or delete a file."},
        "path": {"type": "string", "maxLength": files.MAX_PATH_CHARS, "title": "Path",
                 "description": "Relative to the files root, with / between directories: "
                                "reports/{{ input.date }}.csv. No .., no absolute path, no backslash; a "
                                "symlink leading out of the root is refused. list: a directory (empty: the "
                                "root). write and append create missing directories."},
        "content": {"type": ["string", "number", "integer", "boolean", "object", "array", "null"],
                    "title": "Content",
                    "description": "write, append: the text to store (in the encoding), or any other JSON value "
                                   "(an object, a list...), stored as JSON. {{ steps.<key>.output }} works."},
        "encoding": {"type": "string", "enum": ENCODINGS, "default": "utf-8", "title": "Encoding",
                     "description": "utf-8: content is text. base64: content is base64 (binary files); read "
                                    "answers base64."},
        "max_bytes": {"type": "integer", "minimum": 1, "title": "Size limit (bytes)",
                      "description": "The largest file read or content written; at most (and by default) "
                                     "FLOWPILOT_FILES_MAX_BYTES."},
        "max_entries": {"type": "integer", "minimum": 1, "title": "Most entries (list)",
                        "description": "list answers at most this many entries (truncated: true when there are "
                                       "more); at most (and by default) FLOWPILOT_FILES_MAX_LIST_ENTRIES."},
    },
    "additionalProperties": False,
    "allOf": [
        {"if": {"properties": {"operation": {"enum": ["read", "write", "append", "delete"]}},
                "required": ["operation"]},
         "then": {"required": ["path"], "properties": {"path": {"minLength": 1}}}},
        {"if": {"properties": {"operation": {"enum": list(WITH_CONTENT)}}, "required": ["operation"]},
         "then": {"required": ["content"]}},
    ],
}

OUTPUT_SCHEMA = {
    "type": "object",
    "required": ["path"],
    "properties": {
        "path": {"type": "string", "description": "The path, relative to the files root."},
        "content": {"type": "string", "description": "read: the file's text (or base64)."},
        "size": {"type": "integer", "description": "read: the file's size; write, append: its size after."},
        "entries": {"type": "array", "description": "list: {name, type (file, directory, other), size}.",
                    "items": {"type": "object", "required": ["name", "type", "size"],
                              "properties": {"name": {"type": "string"},
                                             "type": {"enum": ["file", "directory", "other"]},
                                             "size": {"type": ["integer", "null"]}}}},
        "truncated": {"type": "boolean", "description": "list: there were more entries than max_entries."},
        "deleted": {"type": "boolean", "description": "delete: false when there was no such file."},
    },
}


def _limit(config: dict, field: str, setting: str) -> int:
    ceiling = getattr(settings, setting)
    return min(int(config.get(field) or ceiling), ceiling)


def _check(config: dict) -> list[tuple[str, str]]:
    """At save time: a literal path is checked as a run would; content only where it is used; limits
    within the settings."""
    problems: list[tuple[str, str]] = []
    operation = config.get("operation")
    path = config.get("path")
    if isinstance(path, str) and not templating.is_template(path):
        try:
            files.clean_path(path, directory=operation == "list")
        except files.PathRefused as exc:
            problems.append(("path", str(exc)))
    if operation in OPERATIONS and operation not in WITH_CONTENT and "content" in config:
        problems.append(("content", f"not used by {operation}; only write and append take content"))
    content = config.get("content")
    if config.get("encoding") == "base64" and "content" in config and not isinstance(content, str):
        problems.append(("content", "must be a base64 string when encoding is base64"))
    for field, setting in (("max_bytes", "FLOWPILOT_FILES_MAX_BYTES"),
                           ("max_entries", "FLOWPILOT_FILES_MAX_LIST_ENTRIES")):
        value, ceiling = config.get(field), getattr(settings, setting)
        if isinstance(value, int) and not isinstance(value, bool) and value > ceiling:
            problems.append((field, f"{value} is over this server's limit, {setting}={ceiling}"))
    if operation != "list" and "max_entries" in config:
        problems.append(("max_entries", "only list takes max_entries"))
    return problems


@step_type(
    "file",
    side_effects=lambda config: config.get("operation") not in ("read", "list"),
    side_effects_note="write, append or delete",
    category="data",
    description="Read, write, append, list or delete files in the workflow owner's directory of the files "
                "root (a local directory, or S3 and other storages).",
    config_schema=CONFIG_SCHEMA,
    output_schema=OUTPUT_SCHEMA,
    example={"operation": "write", "path": "reports/{{ input.date }}.csv",
             "content": "date,signups\n{{ input.date }},{{ input.signups }}\n"},
    example_data={"input": {"date": "2026-12-01", "signups": 42}},
    check_config=_check,
    per_owner=True,
)
def file_step(config: dict, ctx: StepContext) -> dict:
    operation = config["operation"]
    encoding = config.get("encoding", "utf-8")
    max_bytes = _limit(config, "max_bytes", "FLOWPILOT_FILES_MAX_BYTES")
    try:
        path = files.clean_path(config.get("path", ""), directory=operation == "list")
        root = files.configured(ctx.owner_id)
        if operation == "read":
            data = root.read(path, max_bytes=max_bytes)
            return {"path": path, "content": files.from_bytes(data, encoding, path), "size": len(data)}
        if operation in WITH_CONTENT:
            data = files.to_bytes(config["content"], encoding)
            if len(data) > max_bytes:
                raise StepError(f"content is {len(data)} bytes; the limit is {max_bytes}", retryable=False,
                                details={"size": len(data), "limit": max_bytes})
            if operation == "write":
                size = root.write(path, data)
            else:
                size = root.append(path, data, key=ctx.idempotency_key, max_bytes=max_bytes)
            ctx.log(f"file {operation}: {path} ({len(data)} bytes)")
            return {"path": path, "size": size}
        if operation == "list":
            entries, truncated = root.list(
                path, max_entries=_limit(config, "max_entries", "FLOWPILOT_FILES_MAX_LIST_ENTRIES"))
            return {"path": path, "entries": [e.as_dict() for e in entries], "truncated": truncated}
        deleted = root.delete(path)
        if deleted:
            ctx.log(f"file delete: {path}")
        return {"path": path, "deleted": deleted}
    except files.FileError as exc:
        raise StepError(exc.message, retryable=exc.retryable, details=exc.details) from None
