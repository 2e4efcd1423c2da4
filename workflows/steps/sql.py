"""`sql`: one parameterised statement against a database named by a stored credential.

The credential holds a DSN: `postgresql://user:password@host:5432/dbname` (or libpq's `key=value`
form) for PostgreSQL, `sqlite:///name.db` (under the first of FLOWPILOT_SQL_SQLITE_DIRS) or
`sqlite:////absolute/path.db` (inside one of them) for SQLite. The query is never templated: values
go in `params` (templates allowed there) and reach the database as bound parameters, never as SQL
text: `%(name)s` on PostgreSQL (psycopg; a literal % is written %%), `:name` on SQLite.

The database enforces the rest:
- one statement only: PostgreSQL's extended protocol and SQLite's execute() refuse a second one;
- read_only (the default): PostgreSQL runs it in a READ ONLY transaction (then rolled back), SQLite
  opens the file with mode=ro; a write is refused by the database, not by inspecting the text;
- the statement timeout: PostgreSQL's statement_timeout (SET LOCAL), SQLite's progress handler;
- the row cap: rows are read one at a time and no more than max_rows are kept (a read stops the
  statement there); `truncated` says when rows were left out (by max_rows or the output size cap).

SQLite files are opened only inside FLOWPILOT_SQL_SQLITE_DIRS, never created, and cannot ATTACH
(nor VACUUM INTO) another file. PostgreSQL DSNs must name a TCP host (no Unix socket: that would
authenticate as FlowPilot's own OS user), never read a password file, and take only the keywords
in PG_KEYWORDS. The DSN never appears in the output or an error: errors name the credential.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import sqlite3
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time as dtime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit
from uuid import UUID

from django.conf import settings

from ..secrets import redact_error
from .base import StepContext, StepError
from .registry import step_type

MAX_QUERY_CHARS = 64 * 1024
MAX_PARAMS = 100
MAX_PARAMS_BYTES = 64 * 1024
DEFAULT_MAX_ROWS = 1000
DEFAULT_TIMEOUT_SECONDS = 30
PARAM_NAME = r"^[A-Za-z_][A-Za-z0-9_]{0,62}$"
# libpq keywords a DSN may use. Not passfile/service/servicefile (files of FlowPilot's host), nor
# the ssl* file paths; connect_timeout is FlowPilot's.
PG_KEYWORDS = frozenset({"host", "hostaddr", "port", "dbname", "user", "password", "sslmode", "application_name",
                         "options", "target_session_attrs", "channel_binding", "gssencmode", "keepalives",
                         "keepalives_idle", "keepalives_interval", "keepalives_count", "client_encoding"})
# SQLSTATE classes a retry can help: connection, transaction rollback (serialization, deadlock),
# insufficient resources, operator intervention (a statement timeout, a shutdown).
RETRYABLE_SQLSTATE_CLASSES = ("08", "40", "53", "57")

CONFIG_SCHEMA = {
    "type": "object",
    "required": ["credential", "query"],
    "properties": {
        "credential": {"type": "string", "minLength": 1, "maxLength": 200, "title": "Credential", "format": "credential",
                       "description": "The name of a stored credential holding the database's DSN: "
                                      "postgresql://user:password@host:5432/dbname, or sqlite:///name.db "
                                      "(a file in FLOWPILOT_SQL_SQLITE_DIRS)."},
        "query": {"type": "string", "minLength": 1, "maxLength": MAX_QUERY_CHARS, "format": "code",
                  "title": "Query",
                  "description": "One SQL statement, never templated: put values in params and refer to "
                                 "them as %(name)s on PostgreSQL (a literal % is written %%) or :name on "
                                 "SQLite. A second statement after a ; is refused."},
        "params": {"type": "object", "title": "Parameters", "maxProperties": MAX_PARAMS,
                   "propertyNames": {"pattern": PARAM_NAME},
                   "description": "Values bound to the query's named parameters; templates allowed "
                                  "({\"email\": \"{{ input.email }}\"}). An object is bound as JSON (jsonb "
                                  "on PostgreSQL), a list of scalars as an array on PostgreSQL "
                                  "(= ANY(%(ids)s)) or JSON text on SQLite."},
        "read_only": {"type": "boolean", "default": True, "title": "Read only",
                      "description": "Run in a read-only transaction (PostgreSQL) or open the file read-only "
                                     "(SQLite): the database refuses any write. Turn off to INSERT, UPDATE, "
                                     "DELETE or change the schema; the statement is then committed."},
        "max_rows": {"type": "integer", "minimum": 1, "default": DEFAULT_MAX_ROWS, "title": "Max rows",
                     "description": "At most this many rows in the output (at most FLOWPILOT_SQL_MAX_ROWS); "
                                    "`truncated` says when there were more."},
        "timeout_seconds": {"type": "number", "exclusiveMinimum": 0, "default": DEFAULT_TIMEOUT_SECONDS,
                            "title": "Statement timeout (s)",
                            "description": "The database cancels the statement after this long (at most "
                                           "FLOWPILOT_SQL_MAX_TIMEOUT_SECONDS, and within the step's timeout)."},
    },
    "additionalProperties": False,
}

OUTPUT_SCHEMA = {
    "type": "object",
    "required": ["rows", "columns", "truncated", "rowcount"],
    "properties": {
        "rows": {"type": "array", "items": {"type": "object"},
                 "description": "One object per row, by column name. Dates and times are ISO 8601 strings, "
                                "numerics (Decimal) strings, intervals seconds; binary values are refused."},
        "columns": {"type": "array", "items": {"type": "string"}},
        "truncated": {"type": "boolean", "description": "Rows were left out (max_rows or the output size cap)"},
        "rowcount": {"type": ["integer", "null"],
                     "description": "Rows the statement affected (INSERT, UPDATE, DELETE), as the database says; "
                                    "null when it does not say"},
    },
}


def _is_template(value: Any) -> bool:
    return isinstance(value, str) and ("{{" in value or "{%" in value)


def max_rows_setting() -> int:
    return int(settings.FLOWPILOT_SQL_MAX_ROWS)


def _check_config(config: dict) -> list[tuple[str, str]]:
    problems = []
    for name in ("credential", "query", "read_only"):
        if _is_template(config.get(name)):
            why = ("never templated (that would build SQL from data): put the values in params"
                   if name == "query" else "must be written as it is, not a template")
            problems.append((name, why))
    high = max_rows_setting()
    rows = config.get("max_rows")
    if isinstance(rows, int) and not isinstance(rows, bool) and rows > high:
        problems.append(("max_rows", f"must be at most {high} (FLOWPILOT_SQL_MAX_ROWS)"))
    limit = float(settings.FLOWPILOT_SQL_MAX_TIMEOUT_SECONDS)
    seconds = config.get("timeout_seconds")
    if isinstance(seconds, (int, float)) and not isinstance(seconds, bool) and seconds > limit:
        problems.append(("timeout_seconds", f"must be at most {limit:g} (FLOWPILOT_SQL_MAX_TIMEOUT_SECONDS)"))
    params = config.get("params")
    if isinstance(params, dict):
        size = len(json.dumps(params, default=str).encode())
        if size > MAX_PARAMS_BYTES:
            problems.append(("params", f"is {size} bytes as JSON; the limit is {MAX_PARAMS_BYTES}"))
    return problems


@dataclass(frozen=True)
class Statement:
    query: str
    params: dict
    read_only: bool
    max_rows: int
    timeout: float  # seconds
    max_bytes: int


@dataclass
class Result:
    columns: list[str]
    rows: list[dict]
    truncated: bool
    rowcount: int | None


class _Refused(StepError):
    def __init__(self, message: str):
        super().__init__(message, retryable=False)


# ---- values: JSON in, JSON out --------------------------------------------------------------------


def _json_value(value: Any, column: str) -> Any:
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, Decimal):
        return str(value)  # exact: a float would round money
    if isinstance(value, (datetime, date, dtime)):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        raise _Refused(f"column {column!r} is binary (bytea/BLOB), which the output cannot hold: select it as "
                       "text, e.g. encode(col, 'base64') on PostgreSQL or hex(col) on SQLite")
    if isinstance(value, dict):
        return {str(k): _json_value(v, column) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_value(v, column) for v in value]
    return str(value)  # inet, ranges, money...: their text form


def _columns(names: list[str]) -> list[str]:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise _Refused(f"the result has two columns named {name!r}: name them apart with AS")
        seen.add(name)
    return names


def _collect(rows: Iterator[tuple], columns: Callable[[], list[str]], statement: Statement, *,
             drain: bool) -> tuple[list, bool]:
    """Up to max_rows rows as objects within the output size cap, and whether any were left out.
    `columns()` names them (asked at the first row). `drain`: read the rest too (a write must run to
    its end to be committed), keeping none of it."""
    kept: list[dict] = []
    names: list[str] | None = None
    size, truncated = 2, False
    for row in rows:
        if len(kept) >= statement.max_rows or truncated:
            truncated = True
            if drain:
                continue
            break
        names = columns() if names is None else names
        item = {column: _json_value(value, column) for column, value in zip(names, row)}
        size += len(json.dumps(item)) + 2  # as json.dumps writes a list: ", " between items
        if size > statement.max_bytes:
            truncated = True
            if drain:
                continue
            break
        kept.append(item)
    return kept, truncated


# ---- PostgreSQL ------------------------------------------------------------------------------------


def _pg_params(params: dict) -> dict:
    from psycopg.types.json import Jsonb

    def kind(value) -> str:
        return "number" if isinstance(value, (int, float)) and not isinstance(value, bool) else type(value).__name__

    def bind(value):
        if isinstance(value, dict):
            return Jsonb(value)
        if isinstance(value, list):  # one scalar type (or nulls): an array; anything else: jsonb
            kinds = {kind(v) for v in value if v is not None}
            return value if len(kinds) == 1 and kinds <= {"str", "number", "bool"} else Jsonb(value)
        return value

    return {name: bind(value) for name, value in params.items()}


def _pg_conninfo(dsn: str, *, credential: str, timeout: float) -> tuple[dict, list[str]]:
    """The keywords to connect with, and the strings to keep out of errors."""
    from psycopg import conninfo as pg_conninfo

    try:
        parts = pg_conninfo.conninfo_to_dict(dsn)
    except Exception:  # noqa: BLE001  (its message quotes the DSN)
        raise _Refused(f"credential {credential!r} does not hold a valid PostgreSQL DSN") from None
    unknown = sorted(set(parts) - PG_KEYWORDS - {"connect_timeout"})
    if unknown:
        raise _Refused(f"credential {credential!r}: the DSN may not set {', '.join(unknown)} "
                       f"(allowed: {', '.join(sorted(PG_KEYWORDS))})")
    hosts = [h for h in str(parts.get("host") or "").split(",") if h] + \
        [h for h in str(parts.get("hostaddr") or "").split(",") if h]
    if not hosts or any(h.startswith(("/", "@")) for h in hosts):
        raise _Refused(f"credential {credential!r}: the DSN must name a TCP host (host=...): Unix sockets are refused")
    hidden = [dsn] + [str(v) for k, v in parts.items() if k in ("host", "hostaddr", "port", "dbname", "user",
                                                                  "password") and v]
    own = settings.DATABASES["default"]
    if own.get("ENGINE", "").endswith("postgresql") and parts.get("dbname", parts.get("user")) == own.get("NAME") \
            and str(parts.get("port") or 5432) == str(own.get("PORT") or 5432):
        raise _Refused(f"credential {credential!r} names FlowPilot's own database: a step may not use it")
    parts["connect_timeout"] = str(max(2, min(10, math.ceil(timeout))))
    parts["passfile"] = os.devnull  # never a password from FlowPilot's own ~/.pgpass
    parts.setdefault("password", "")  # nor from its PGPASSWORD
    parts.setdefault("application_name", "flowpilot-sql-step")
    return parts, hidden


def _retryable(exc: Exception) -> bool:
    state = getattr(exc, "sqlstate", None) or ""
    return state[:2] in RETRYABLE_SQLSTATE_CLASSES


def _pg_error(exc: Exception, statement: Statement) -> StepError:
    import psycopg

    state = getattr(exc, "sqlstate", None) or ""
    text = str(exc).strip()
    if state == "25006":
        return StepError(f"the database refused a write in read-only mode ({text}); set read_only to false "
                         "to write", retryable=False, details={"sqlstate": state})
    if state == "57014":
        return StepError(f"the statement was cancelled after its timeout of {statement.timeout:g} s ({text})",
                         retryable=True, details={"sqlstate": state, "timeout_seconds": statement.timeout})
    if state == "42601" and "multiple commands" in text:
        return StepError(f"only one SQL statement may run per step ({text})", retryable=False,
                         details={"sqlstate": state})
    if isinstance(exc, psycopg.OperationalError) and not state:
        return StepError(f"the database connection failed: {text}", retryable=True)
    return StepError(f"the database refused the statement: {text}", retryable=_retryable(exc),
                     details={"sqlstate": state} if state else {})


def _run_postgres(dsn: str, statement: Statement, *, credential: str) -> Result:
    import psycopg

    conninfo, hidden = _pg_conninfo(dsn, credential=credential, timeout=statement.timeout)
    try:
        conn = psycopg.connect(**conninfo, autocommit=False)
    except psycopg.Error as exc:
        raise redact_error(StepError(f"cannot connect to the database of credential {credential!r}: "
                                     f"{str(exc).strip()}", retryable=True), hidden) from None
    try:
        with conn:
            conn.read_only = statement.read_only  # psycopg starts the transaction with BEGIN READ ONLY
            with conn.cursor() as cur:
                cur.execute("SELECT set_config('statement_timeout', %s, true)",
                            [str(max(1, int(statement.timeout * 1000)))])
                params = _pg_params(statement.params)
                if statement.read_only:
                    result = _pg_read(cur, statement, params)
                    conn.rollback()  # nothing to keep; whatever the statement was, it ends here
                else:
                    result = _pg_write(cur, conn, statement, params)
                    conn.commit()
        return result
    except psycopg.Error as exc:
        raise redact_error(_pg_error(exc, statement), hidden) from None
    finally:
        conn.close()


def _pg_read(cur, statement: Statement, params: dict) -> Result:
    """Rows streamed one at a time (single-row mode, the extended protocol): no more are fetched
    from the server than are kept; stopping early cancels the statement."""
    import psycopg

    def columns() -> list[str]:
        return _columns([c.name for c in cur.description or []])

    try:
        with contextlib.closing(cur.stream(statement.query, params)) as stream:
            kept, truncated = _collect(stream, columns, statement, drain=False)
    except psycopg.ProgrammingError as exc:
        if type(exc) is psycopg.ProgrammingError and "didn't produce a result" in str(exc):
            return Result(columns=[], rows=[], truncated=False, rowcount=None)  # a command without rows (SET)
        raise
    return Result(columns=columns(), rows=kept, truncated=truncated, rowcount=None)


def _pg_write(cur, conn, statement: Statement, params: dict) -> Result:
    """A write runs to its end (to be committed) through the extended protocol (pipeline mode: a
    second statement is refused even without parameters); RETURNING rows beyond the cap are dropped."""
    with conn.pipeline():
        cur.execute(statement.query, params)
    columns = _columns([c.name for c in cur.description]) if cur.description else []
    kept, truncated = _collect(iter(cur.fetchall() if cur.description else []), lambda: columns, statement,
                               drain=True)
    return Result(columns=columns, rows=kept, truncated=truncated,
                  rowcount=cur.rowcount if cur.rowcount is not None and cur.rowcount >= 0 else None)


# ---- SQLite ----------------------------------------------------------------------------------------


def sqlite_dirs() -> list[Path]:
    return [Path(d) for d in settings.FLOWPILOT_SQL_SQLITE_DIRS]


def _sqlite_path(dsn: str, *, credential: str) -> Path:
    parts = urlsplit(dsn)
    if parts.netloc or parts.query or parts.fragment or not parts.path.startswith("/"):
        raise _Refused(f"credential {credential!r}: a SQLite DSN is sqlite:///name.db or sqlite:////absolute/path.db")
    dirs = sqlite_dirs()
    if not dirs:
        raise _Refused("SQLite databases are not allowed here (FLOWPILOT_SQL_SQLITE_DIRS is empty)")
    raw = unquote(parts.path[1:])
    if "\x00" in raw or not raw:
        raise _Refused(f"credential {credential!r}: the SQLite DSN names no file")
    path = Path(raw) if raw.startswith("/") else dirs[0] / raw
    real = Path(os.path.realpath(path))  # symlinks followed: the file itself must be inside
    if not any(real.is_relative_to(Path(os.path.realpath(d))) for d in dirs):
        raise _Refused(f"credential {credential!r}: the SQLite file is outside FLOWPILOT_SQL_SQLITE_DIRS")
    own = settings.DATABASES["default"]
    if own.get("ENGINE", "").endswith("sqlite3") and real == Path(os.path.realpath(str(own.get("NAME")))):
        raise _Refused(f"credential {credential!r} names FlowPilot's own database: a step may not use it")
    if not real.is_file():
        raise _Refused(f"credential {credential!r}: the SQLite file does not exist (it is never created)")
    return real


def _sqlite_authorizer(action: int, *args) -> int:
    return sqlite3.SQLITE_DENY if action in (sqlite3.SQLITE_ATTACH, sqlite3.SQLITE_DETACH) else sqlite3.SQLITE_OK


def _sqlite_params(params: dict) -> dict:
    return {name: json.dumps(value) if isinstance(value, (dict, list)) else value for name, value in params.items()}


def _run_sqlite(dsn: str, statement: Statement, *, credential: str) -> Result:
    from urllib.parse import quote

    path = _sqlite_path(dsn, credential=credential)
    hidden = [dsn, str(path)]
    mode = "ro" if statement.read_only else "rw"  # rw: never rwc, a missing file is not created
    deadline = time.monotonic() + statement.timeout
    try:
        conn = sqlite3.connect(f"file:{quote(str(path))}?mode={mode}", uri=True, isolation_level=None,
                               check_same_thread=False, timeout=min(statement.timeout, 5.0))
    except sqlite3.Error as exc:
        raise redact_error(StepError(f"cannot open the SQLite database of credential {credential!r}: {exc}",
                                     retryable=True), hidden) from None
    try:
        conn.setlimit(sqlite3.SQLITE_LIMIT_ATTACHED, 0)  # this file only: no ATTACH (nor VACUUM INTO)...
        conn.set_authorizer(_sqlite_authorizer)  # ...refused when the statement is prepared
        conn.set_progress_handler(lambda: time.monotonic() > deadline, 1000)  # nonzero: interrupt
        cur = conn.cursor()
        cur.execute("BEGIN" if statement.read_only else "BEGIN IMMEDIATE")
        cur.execute(statement.query, _sqlite_params(statement.params))
        columns = _columns([c[0] for c in cur.description]) if cur.description else []
        kept, truncated = _collect(iter(cur), lambda: columns, statement, drain=not statement.read_only)
        rowcount = cur.rowcount if cur.rowcount >= 0 else None
        cur.execute("ROLLBACK" if statement.read_only else "COMMIT")
        return Result(columns=columns, rows=kept, truncated=truncated, rowcount=rowcount)
    except sqlite3.Error as exc:
        raise redact_error(_sqlite_error(exc, statement, deadline), hidden) from None
    finally:
        conn.close()  # an open transaction is rolled back


def _sqlite_error(exc: sqlite3.Error, statement: Statement, deadline: float) -> StepError:
    text = str(exc)
    if "interrupted" in text and time.monotonic() > deadline:
        return StepError(f"the statement was cancelled after its timeout of {statement.timeout:g} s",
                         retryable=True, details={"timeout_seconds": statement.timeout})
    if "readonly database" in text:
        return StepError(f"the database refused a write in read-only mode ({text}); set read_only to false "
                         "to write", retryable=False)
    if "one statement at a time" in text:
        return StepError(f"only one SQL statement may run per step ({text})", retryable=False)
    if "too many attached databases" in text or "not authorized" in text:
        return StepError(f"refused ({text}): the step uses its credential's file only (no ATTACH, no "
                         "VACUUM INTO, no extensions)", retryable=False)
    if "cannot VACUUM" in text:
        return StepError(f"VACUUM is refused: the step runs its statement in a transaction ({text})",
                         retryable=False)
    if isinstance(exc, sqlite3.OperationalError) and ("locked" in text or "busy" in text):
        return StepError(f"the SQLite database is busy: {text}", retryable=True)
    return StepError(f"the database refused the statement: {text}", retryable=False)


# ---- the step --------------------------------------------------------------------------------------


def _statement(config: dict, ctx: StepContext) -> Statement:
    timeout = min(float(config.get("timeout_seconds", DEFAULT_TIMEOUT_SECONDS)),
                  float(settings.FLOWPILOT_SQL_MAX_TIMEOUT_SECONDS),
                  ctx.timeout_seconds * 0.9)  # the database gives up first, with a clear error
    return Statement(query=config["query"], params=dict(config.get("params") or {}),
                     read_only=bool(config.get("read_only", True)),
                     max_rows=min(int(config.get("max_rows", DEFAULT_MAX_ROWS)), max_rows_setting()),
                     timeout=max(timeout, 0.001), max_bytes=int(settings.FLOWPILOT_SQL_MAX_OUTPUT_BYTES))


@step_type(
    "sql",
    side_effects=lambda config: config.get("read_only", True) is not True,
    side_effects_note="read_only false (a write)",
    category="integration",
    description="Run one parameterised SQL statement (PostgreSQL or SQLite) against the database of a stored "
                "credential: read-only by default, with a row cap and a statement timeout.",
    config_schema=CONFIG_SCHEMA,
    output_schema=OUTPUT_SCHEMA,
    example={"credential": "orders_db", "query": "SELECT id, status, total FROM orders WHERE email = %(email)s",
             "params": {"email": "{{ input.email }}"}, "read_only": True, "max_rows": 100},
    example_data={"input": {"email": "ada@example.com"}},
    check_config=_check_config,
    raw_fields=("query",),
)
def sql_step(config: dict, ctx: StepContext) -> dict:
    problems = _check_config(config)  # the rendered params' size, the settings' bounds
    if problems:
        raise _Refused("config " + "; ".join(f"{f}: {m}" for f, m in problems))
    statement = _statement(config, ctx)
    credential = config["credential"]
    dsn = str(ctx.secret(credential)).strip()
    try:
        if dsn.lower().startswith("sqlite:"):
            result = _run_sqlite(dsn, statement, credential=credential)
        elif dsn.lower().startswith(("postgres://", "postgresql://")) or "=" in dsn:
            result = _run_postgres(dsn, statement, credential=credential)
        else:
            raise _Refused(f"credential {credential!r} does not hold a database DSN (postgresql://... or sqlite:///...)")
    except StepError as exc:
        raise redact_error(exc, [dsn]) from None
    ctx.log(f"sql: {len(result.rows)} row(s)" + (" (truncated)" if result.truncated else "")
            + (f", {result.rowcount} affected" if result.rowcount is not None and not statement.read_only else ""),
            level="info")
    return {"rows": result.rows, "columns": list(result.columns), "truncated": result.truncated,
            "rowcount": result.rowcount}
