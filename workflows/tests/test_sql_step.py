"""The sql step against a real PostgreSQL database of its own (<test database>_sql_target) and real
SQLite files: parameters are data, never SQL; the database itself enforces read-only, the one
statement, the timeout; the row cap holds; the DSN never comes back."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sqlite3
import time
from urllib.parse import urlsplit, urlunsplit

import pytest

from workflows import credentials, services
from workflows.engine.planner.states import ExecutionStatus as E
from workflows.models import ExecutionLog, TaskExecution, WorkflowExecution
from workflows.steps import StepContext, StepError, registry
from workflows.tests.factories import active_workflow, step

PASSWORD = "Pg-Pass-7391x"  # trust auth ignores it: only here to be looked for in what comes back

services_only = pytest.mark.services


# ---- the databases -------------------------------------------------------------------------------------------


def _admin_url() -> tuple[str, str]:
    """(an admin URL on the test server's `postgres` database, the target database's name)."""
    parts = urlsplit(os.environ.get("DATABASE_URL", ""))
    worker = os.environ.get("PYTEST_XDIST_WORKER")  # one target per xdist worker, as one test database each
    name = f"{parts.path.lstrip('/') or 'flowpilot'}_sql_target" + (f"_{worker}" if worker else "")
    return urlunsplit(parts._replace(path="/postgres")), name


@pytest.fixture(scope="module")
def pg_target():
    """A database of this test module's own, made anew: (DSN with a password, DSN without)."""
    import psycopg
    from psycopg import sql

    admin, name = _admin_url()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    parts = urlsplit(admin)
    user = parts.username or "postgres"
    host = f"{parts.hostname or '127.0.0.1'}:{parts.port or 5432}"
    yield f"postgresql://{user}:{PASSWORD}@{host}/{name}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


ORDERS = [(1, "ada@example.com", "12.50", "2026-01-02T03:04:05+00:00", "first"),
          (2, "bob@example.com", "7.00", "2026-01-03T00:00:00+00:00", "second"),
          (3, "ada@example.com", "99.99", "2026-02-01T12:00:00+00:00", "third")]


@pytest.fixture
def pg(pg_target):
    """The target with a fresh `orders` table; .rows() reads it back (to see that nothing changed)."""
    import psycopg

    class Target:
        dsn = pg_target

        def rows(self):
            with psycopg.connect(pg_target) as conn:
                exists = conn.execute("SELECT to_regclass('public.orders') IS NOT NULL").fetchone()[0]
                if not exists:
                    return None
                return conn.execute("SELECT id, email, total::text, note FROM orders ORDER BY id").fetchall()

    with psycopg.connect(pg_target, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS orders, other")
        conn.execute("CREATE TABLE orders (id int PRIMARY KEY, email text NOT NULL, total numeric(10,2), "
                     "placed_at timestamptz, note text, receipt bytea)")
        conn.execute("CREATE TABLE other (id int)")
        for row in ORDERS:
            conn.execute("INSERT INTO orders (id, email, total, placed_at, note) VALUES (%s, %s, %s, %s, %s)", row)
    return Target()


@pytest.fixture
def lite(tmp_path, settings):
    """A SQLite file inside FLOWPILOT_SQL_SQLITE_DIRS with the same orders; .digest() is the file's hash."""
    root = tmp_path / "dbs"
    root.mkdir()
    settings.FLOWPILOT_SQL_SQLITE_DIRS = [str(root)]
    path = root / "shop.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE orders (id integer PRIMARY KEY, email text NOT NULL, total text, placed_at text, "
                 "note text, receipt blob)")
    conn.executemany("INSERT INTO orders (id, email, total, placed_at, note) VALUES (?, ?, ?, ?, ?)", ORDERS)
    conn.commit()
    conn.close()

    class Target:
        dsn = "sqlite:///shop.db"
        file = path
        dir = root

        def rows(self):
            with sqlite3.connect(path) as c:
                return c.execute("SELECT id, email, total, note FROM orders ORDER BY id").fetchall()

        def digest(self):
            return hashlib.sha256(path.read_bytes()).hexdigest()

    return Target()


def call(config: dict, *, dsn: str | None = None, timeout: float = 20, name: str = "shop") -> dict:
    """The handler as the engine calls it, with one stored credential `name` holding `dsn`."""
    def secret(wanted: str) -> str:
        if dsn is None or wanted != name:
            raise StepError(f"credential {wanted!r} does not exist", retryable=False)
        return dsn

    ctx = StepContext(execution_id="e1", step_key="q", attempt=1, idempotency_key="e1:q",
                      timeout_seconds=timeout, input={}, secret=secret)
    config = {"credential": name, **config}
    assert registry.config_errors("sql", config) == [], registry.config_errors("sql", config)
    return registry.get("sql").execute(config, ctx)


def failure(config: dict, **kwargs) -> StepError:
    with pytest.raises(StepError) as error:
        call(config, **kwargs)
    return error.value


def said(error: StepError) -> str:
    return json.dumps({"message": error.message, "details": error.details, "args": [str(a) for a in error.args]})


WRITES = [
    "INSERT INTO orders (id, email) VALUES (9, 'eve@example.com')",
    "UPDATE orders SET total = 0",
    "DELETE FROM orders",
    "DROP TABLE orders",
    "CREATE TABLE evil (x int)",
    "ALTER TABLE orders ADD COLUMN y int",
]
PG_ONLY_WRITES = [
    "TRUNCATE orders",
    # A SELECT that writes: refused by the transaction, not by reading the text.
    "WITH gone AS (DELETE FROM orders RETURNING id) SELECT count(*) FROM gone",
]


# ---- PostgreSQL ----------------------------------------------------------------------------------------------


@services_only
def test_pg_select_with_params_returns_the_rows_as_json(pg):
    out = call({"query": "SELECT id, email, total, placed_at FROM orders WHERE email = %(email)s ORDER BY id",
                "params": {"email": "ada@example.com"}}, dsn=pg.dsn)
    assert out == {"columns": ["id", "email", "total", "placed_at"], "truncated": False, "rowcount": None,
                   "rows": [{"id": 1, "email": "ada@example.com", "total": "12.50",
                             "placed_at": "2026-01-02T03:04:05+00:00"},
                            {"id": 3, "email": "ada@example.com", "total": "99.99",
                             "placed_at": "2026-02-01T12:00:00+00:00"}]}
    json.dumps(out, allow_nan=False)


@services_only
def test_pg_list_and_object_params_bind_as_an_array_and_jsonb(pg):
    out = call({"query": "SELECT id FROM orders WHERE id = ANY(%(ids)s) ORDER BY id", "params": {"ids": [3, 1]}},
               dsn=pg.dsn)
    assert out["rows"] == [{"id": 1}, {"id": 3}]
    out = call({"query": "SELECT %(doc)s->>'k' AS k, %(doc)s AS doc, 1.5::float8 AS f, 'NaN'::float8 AS nan, "
                         "interval '90 seconds' AS i, gen_random_uuid() IS NOT NULL AS u",
                "params": {"doc": {"k": "v", "n": [1, 2]}}}, dsn=pg.dsn)
    assert out["rows"] == [{"k": "v", "doc": {"k": "v", "n": [1, 2]}, "f": 1.5, "nan": "nan", "i": 90.0, "u": True}]


@services_only
def test_pg_the_row_cap_keeps_max_rows_and_says_truncated(pg):
    started = time.monotonic()
    out = call({"query": "SELECT g AS n FROM generate_series(1, 5000000) g", "max_rows": 3}, dsn=pg.dsn)
    assert out["rows"] == [{"n": 1}, {"n": 2}, {"n": 3}] and out["truncated"] is True
    assert time.monotonic() - started < 5  # streamed and stopped: the 5 million rows were never fetched
    exact = call({"query": "SELECT g AS n FROM generate_series(1, 3) g", "max_rows": 3}, dsn=pg.dsn)
    assert len(exact["rows"]) == 3 and exact["truncated"] is False


@services_only
def test_pg_the_row_cap_is_bounded_by_the_setting(pg, settings):
    settings.FLOWPILOT_SQL_MAX_ROWS = 5
    assert registry.config_errors("sql", {"credential": "c", "query": "SELECT 1", "max_rows": 6}) == [
        ("max_rows", "must be at most 5 (FLOWPILOT_SQL_MAX_ROWS)")]


@services_only
def test_pg_output_size_cap_truncates(pg, settings):
    settings.FLOWPILOT_SQL_MAX_OUTPUT_BYTES = 2000
    out = call({"query": "SELECT g AS n, repeat('x', 100) AS pad FROM generate_series(1, 100) g"}, dsn=pg.dsn)
    assert 0 < len(out["rows"]) < 20 and out["truncated"] is True
    assert len(json.dumps(out["rows"])) <= 2000


@services_only
def test_pg_statement_timeout_cancels_the_statement_with_a_clear_error(pg):
    started = time.monotonic()
    error = failure({"query": "SELECT pg_sleep(10)", "timeout_seconds": 0.5}, dsn=pg.dsn)
    assert time.monotonic() - started < 5
    assert "cancelled after its timeout of 0.5 s" in error.message and error.retryable
    assert error.details["sqlstate"] == "57014"
    # In write mode too; and the step's own timeout bounds it when it is the shorter.
    error = failure({"query": "UPDATE orders SET note = 'slow' WHERE pg_sleep(10) IS NOT NULL",
                     "read_only": False, "timeout_seconds": 60}, dsn=pg.dsn, timeout=1)
    assert "cancelled after its timeout of 0.9 s" in error.message
    assert pg.rows() == [(i, e, t, n) for i, e, t, _, n in ORDERS]


@services_only
@pytest.mark.parametrize("query", WRITES + PG_ONLY_WRITES)
def test_pg_read_only_mode_is_enforced_by_the_database(pg, query):
    before = pg.rows()
    error = failure({"query": query}, dsn=pg.dsn)  # read_only: true by default
    assert "read-only" in error.message and not error.retryable, error.message
    assert error.details["sqlstate"] == "25006"
    assert pg.rows() == before


@services_only
@pytest.mark.parametrize("query", [
    "DO $$ BEGIN SET TRANSACTION READ WRITE; DELETE FROM orders; END $$",
    "DO $$ BEGIN PERFORM set_config('transaction_read_only', 'off', true); DELETE FROM orders; END $$",
    "DO $$ BEGIN COMMIT; DELETE FROM orders; END $$",
    "CREATE TEMP TABLE t AS SELECT 1",
])
def test_pg_read_only_cannot_be_lifted_from_inside_the_statement(pg, query):
    before = pg.rows()
    error = failure({"query": query}, dsn=pg.dsn)
    assert not error.retryable and error.message.startswith(("the database refused", "the database refused a write")), \
        error.message
    assert pg.rows() == before


@services_only
def test_pg_write_mode_commits_and_says_the_rowcount(pg):
    out = call({"query": "UPDATE orders SET note = %(note)s WHERE email = %(email)s", "read_only": False,
                "params": {"note": "vip", "email": "ada@example.com"}}, dsn=pg.dsn)
    assert out == {"rows": [], "columns": [], "truncated": False, "rowcount": 2}
    assert [r[3] for r in pg.rows()] == ["vip", "second", "vip"]
    # RETURNING rows beyond the cap are left out of the output, not out of the write.
    out = call({"query": "INSERT INTO orders (id, email) SELECT g, 'x' || g FROM generate_series(10, 14) g "
                         "RETURNING id", "read_only": False, "max_rows": 2}, dsn=pg.dsn)
    assert out == {"rows": [{"id": 10}, {"id": 11}], "columns": ["id"], "truncated": True, "rowcount": 5}
    assert len(pg.rows()) == 8


@services_only
@pytest.mark.parametrize("read_only", [True, False])
@pytest.mark.parametrize("value", ["' OR 1=1 --", "x'; DROP TABLE orders; --", "1; DROP TABLE orders"])
def test_pg_an_injection_in_a_param_is_data(pg, read_only, value):
    before = pg.rows()
    out = call({"query": "SELECT id FROM orders WHERE email = %(email)s", "params": {"email": value},
                "read_only": read_only}, dsn=pg.dsn)
    assert out["rows"] == []
    error = failure({"query": "SELECT id FROM orders WHERE id = %(id)s", "params": {"id": value},
                     "read_only": read_only}, dsn=pg.dsn)
    assert "invalid input syntax for type integer" in error.message and not error.retryable
    assert pg.rows() == before
    if not read_only:  # stored as it was written
        out = call({"query": "UPDATE orders SET note = %(note)s WHERE id = 2", "params": {"note": value},
                    "read_only": False}, dsn=pg.dsn)
        assert out["rowcount"] == 1 and pg.rows()[1][3] == value and len(pg.rows()) == 3


@services_only
@pytest.mark.parametrize("read_only", [True, False])
@pytest.mark.parametrize("params", [{}, {"id": 1}])
def test_pg_a_second_statement_is_refused(pg, read_only, params):
    query = "SELECT 1; DROP TABLE orders" if not params else "SELECT %(id)s; DROP TABLE orders"
    error = failure({"query": query, "params": params, "read_only": read_only}, dsn=pg.dsn)
    assert "only one SQL statement" in error.message and not error.retryable, error.message
    assert pg.rows() is not None and len(pg.rows()) == 3


@services_only
def test_pg_a_missing_param_and_a_bad_query_are_clear(pg):
    error = failure({"query": "SELECT %(nope)s", "params": {}}, dsn=pg.dsn)
    assert "nope" in error.message and not error.retryable
    error = failure({"query": "SELEC 1"}, dsn=pg.dsn)
    assert "syntax error" in error.message and not error.retryable and error.details["sqlstate"] == "42601"


@services_only
def test_pg_binary_values_and_ambiguous_columns_are_refused(pg):
    error = failure({"query": "SELECT '\\xdeadbeef'::bytea AS receipt"}, dsn=pg.dsn)
    assert "column 'receipt' is binary" in error.message and not error.retryable
    error = failure({"query": "SELECT 1 AS id, 2 AS id"}, dsn=pg.dsn)
    assert "two columns named 'id'" in error.message
    # In write mode the statement's effect is not committed when its output is refused.
    error = failure({"query": "UPDATE orders SET note = 'x' RETURNING id, id", "read_only": False}, dsn=pg.dsn)
    assert "two columns named 'id'" in error.message and [r[3] for r in pg.rows()] == ["first", "second", "third"]


@services_only
def test_pg_a_connection_error_does_not_echo_the_dsn(pg_target):
    dsn = pg_target.rsplit("/", 1)[0] + "/flowpilot_no_such_database_q7"
    error = failure({"query": "SELECT 1"}, dsn=dsn)
    assert error.retryable and "cannot connect to the database of credential 'shop'" in error.message
    text = said(error)
    assert "does not exist" in text  # what went wrong is said...
    for piece in (dsn, PASSWORD, "flowpilot_no_such_database_q7"):  # ...never which database
        assert piece.lower() not in text.lower(), text


@services_only
@pytest.mark.parametrize("dsn,words", [
    ("host=/var/run/postgresql dbname=x", "must name a TCP host"),
    ("dbname=x user=postgres", "must name a TCP host"),
    ("postgresql://postgres@127.0.0.1/x?passfile=/root/.pgpass", "may not set passfile"),
    ("postgresql://postgres@127.0.0.1/x?service=prod", "may not set service"),
    ("postgresql://u:Pg-Pass-7391x@127.0.0.1:5432/x?sslkey=/etc/ssl/private/k.pem", "may not set sslkey"),
    ("postgresql://u:Pg-Pass-7391x@127.0.0.1:5432/x?nosuchkeyword=1", "not hold a valid PostgreSQL DSN"),
    ("just some text", "does not hold a database DSN"),
    ("host='unterminated Pg-Pass-7391x", "not hold a valid PostgreSQL DSN"),
])
def test_pg_dsns_that_would_reach_the_hosts_own_files_or_sockets_are_refused(dsn, words):
    error = failure({"query": "SELECT 1"}, dsn=dsn)
    assert words in error.message and not error.retryable, error.message
    assert PASSWORD.lower() not in said(error).lower() and dsn not in said(error)


@services_only
def test_pg_flowpilots_own_database_is_refused(pg_target):
    from django.db import connection

    own = pg_target.rsplit("/", 1)[0] + "/" + connection.settings_dict["NAME"]
    error = failure({"query": "SELECT count(*) FROM auth_user"}, dsn=own)
    assert "names FlowPilot's own database" in error.message and not error.retryable


@pytest.mark.filterwarnings("ignore:Overriding setting DATABASES")  # no database access in this test
def test_sqlite_flowpilots_own_database_is_refused(lite, settings):
    own = lite.dir / "flowpilot.sqlite3"
    sqlite3.connect(own).close()
    settings.DATABASES = {**settings.DATABASES, "default": {**settings.DATABASES["default"],
                                                            "ENGINE": "django.db.backends.sqlite3", "NAME": str(own)}}
    error = failure({"query": "SELECT 1"}, dsn="sqlite:///flowpilot.sqlite3")
    assert "names FlowPilot's own database" in error.message


# ---- SQLite --------------------------------------------------------------------------------------------------


def test_sqlite_select_with_params_returns_the_rows(lite):
    out = call({"query": "SELECT id, email, total FROM orders WHERE email = :email ORDER BY id",
                "params": {"email": "ada@example.com"}}, dsn=lite.dsn)
    assert out == {"columns": ["id", "email", "total"], "truncated": False, "rowcount": None,
                   "rows": [{"id": 1, "email": "ada@example.com", "total": "12.50"},
                            {"id": 3, "email": "ada@example.com", "total": "99.99"}]}
    absolute = call({"query": "SELECT count(*) AS n FROM orders"}, dsn=f"sqlite:///{lite.file}")
    assert absolute["rows"] == [{"n": 3}]


def test_sqlite_the_row_cap_says_truncated(lite):
    out = call({"query": "WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r) SELECT i FROM r",
                "max_rows": 4}, dsn=lite.dsn)
    assert out["rows"] == [{"i": 1}, {"i": 2}, {"i": 3}, {"i": 4}] and out["truncated"] is True


def test_sqlite_the_statement_timeout_interrupts_it(lite):
    started = time.monotonic()
    error = failure({"query": "WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r) SELECT count(*) FROM r",
                     "timeout_seconds": 0.3}, dsn=lite.dsn)
    assert time.monotonic() - started < 3
    assert "cancelled after its timeout of 0.3 s" in error.message and error.retryable


@pytest.mark.parametrize("query", WRITES)
def test_sqlite_read_only_mode_is_enforced_by_the_database(lite, query):
    digest = lite.digest()
    error = failure({"query": query}, dsn=lite.dsn)
    assert "read-only" in error.message and not error.retryable, error.message
    assert lite.digest() == digest


def test_sqlite_write_mode_commits_and_says_the_rowcount(lite):
    out = call({"query": "UPDATE orders SET note = :note WHERE email = :email", "read_only": False,
                "params": {"note": "vip", "email": "ada@example.com"}}, dsn=lite.dsn)
    assert out == {"rows": [], "columns": [], "truncated": False, "rowcount": 2}
    assert [r[3] for r in lite.rows()] == ["vip", "second", "vip"]


@pytest.mark.parametrize("value", ["' OR 1=1 --", "x'; DROP TABLE orders; --", "1; DROP TABLE orders"])
def test_sqlite_an_injection_in_a_param_is_data(lite, value):
    before = lite.rows()
    assert call({"query": "SELECT id FROM orders WHERE email = :email", "params": {"email": value}},
                dsn=lite.dsn)["rows"] == []
    assert call({"query": "SELECT id FROM orders WHERE id = :id", "params": {"id": value}},
                dsn=lite.dsn)["rows"] == []
    assert lite.rows() == before
    out = call({"query": "UPDATE orders SET note = :note WHERE id = 2", "params": {"note": value},
                "read_only": False}, dsn=lite.dsn)
    assert out["rowcount"] == 1 and lite.rows()[1][3] == value and len(lite.rows()) == 3


@pytest.mark.parametrize("read_only", [True, False])
def test_sqlite_a_second_statement_is_refused(lite, read_only):
    error = failure({"query": "SELECT 1; DROP TABLE orders", "read_only": read_only}, dsn=lite.dsn)
    assert "only one SQL statement" in error.message and not error.retryable
    assert len(lite.rows()) == 3


@pytest.mark.parametrize("read_only", [True, False])
def test_sqlite_attach_and_vacuum_into_cannot_reach_another_file(lite, tmp_path, read_only):
    for query in (f"ATTACH '{tmp_path}/new.db' AS x", f"VACUUM INTO '{tmp_path}/copy.db'"):
        error = failure({"query": query, "read_only": read_only}, dsn=lite.dsn)
        assert "refused" in error.message and not error.retryable
    assert not (tmp_path / "new.db").exists() and not (tmp_path / "copy.db").exists()


def test_sqlite_files_outside_the_allowed_directories_are_refused(lite, tmp_path):
    outside = tmp_path / "outside.db"
    sqlite3.connect(outside).close()
    (lite.dir / "link.db").symlink_to(outside)
    for dsn in (f"sqlite:///{outside}", "sqlite:///../outside.db", "sqlite:///link.db"):
        error = failure({"query": "SELECT 1"}, dsn=dsn)
        assert "outside FLOWPILOT_SQL_SQLITE_DIRS" in error.message and not error.retryable, (dsn, error.message)
    error = failure({"query": "SELECT 1", "read_only": False}, dsn="sqlite:///missing.db")
    assert "does not exist (it is never created)" in error.message
    assert not (lite.dir / "missing.db").exists()
    error = failure({"query": "SELECT 1"}, dsn="sqlite://host/shop.db")
    assert "a SQLite DSN is" in error.message


def test_sqlite_a_blob_is_refused_clearly(lite):
    error = failure({"query": "SELECT x'deadbeef' AS receipt"}, dsn=lite.dsn)
    assert "column 'receipt' is binary" in error.message and "hex(col)" in error.message


def test_an_unknown_credential_is_a_clear_error_that_is_not_retried(lite):
    assert call({"query": "SELECT 1 AS one"}, dsn=lite.dsn, name="shop")["rows"] == [{"one": 1}]
    error = failure({"query": "SELECT 1", "credential": "nope"}, dsn=lite.dsn)
    assert error.message == "credential 'nope' does not exist" and not error.retryable


# ---- at save time --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("config,field,words", [
    ({"query": "SELECT 1"}, "steps.q.config.credential", "required"),
    ({"credential": "shop"}, "steps.q.config.query", "required"),
    ({"credential": "shop", "query": "SELECT * FROM t WHERE id = {{ input.id }}"}, "steps.q.config.query",
     "never templated"),
    ({"credential": "{{ input.db }}", "query": "SELECT 1"}, "steps.q.config.credential", "not a template"),
    ({"credential": "shop", "query": "SELECT 1", "read_only": "{{ input.rw }}"}, "steps.q.config.read_only",
     "not a template"),
    ({"credential": "shop", "query": "SELECT 1", "max_rows": 0}, "steps.q.config.max_rows", "minimum"),
    ({"credential": "shop", "query": "SELECT 1", "max_rows": 10_001}, "steps.q.config.max_rows",
     "at most 10000"),
    ({"credential": "shop", "query": "SELECT 1", "timeout_seconds": 301}, "steps.q.config.timeout_seconds",
     "at most 300"),
    ({"credential": "shop", "query": "SELECT 1", "timeout_seconds": 0}, "steps.q.config.timeout_seconds",
     "less than or equal to the minimum"),
    ({"credential": "shop", "query": "x" * 70_000}, "steps.q.config.query", "is too long"),
    ({"credential": "shop", "query": "SELECT 1", "params": {f"p{i}": i for i in range(101)}},
     "steps.q.config.params", "too many properties"),
    ({"credential": "shop", "query": "SELECT 1", "params": {"bad name": 1}}, "steps.q.config.params",
     "does not match"),
    ({"credential": "shop", "query": "SELECT 1", "params": {"p": "x" * 70_000}}, "steps.q.config.params",
     "the limit is 65536"),
    ({"credential": "shop", "query": "SELECT 1", "dsn": "sqlite:///x"}, "steps.q.config", "Additional properties"),
])
def test_a_bad_config_is_a_400_at_save_and_changes_nothing(api, config, field, words):
    from workflows.models import Workflow

    response = api.post("/api/v1/workflows/", {"name": "bad sql", "steps": [
        {"key": "q", "task_type": "sql", "config": config}]}, format="json")
    assert response.status_code == 400, response.data
    assert field in response.data["fields"], response.data
    assert words in " ".join(response.data["fields"][field]), response.data
    assert not Workflow.objects.exists()


def test_the_schema_describes_every_field_for_the_designer(api):
    described = api.get("/api/v1/step-types/").data
    sql = next(t for t in (described["results"] if isinstance(described, dict) else described) if t["name"] == "sql")
    properties = sql["config_schema"]["properties"]
    assert set(properties) == {"credential", "query", "params", "read_only", "max_rows", "timeout_seconds"}
    assert all(p.get("description") for p in properties.values())
    assert properties["query"]["format"] == "code"  # the designer's textarea
    assert properties["read_only"]["default"] is True


# ---- through the engine --------------------------------------------------------------------------------------


def _run(workflow, executor, input_data):
    execution, _ = services.execution_start(workflow=workflow, input_data=input_data)
    executor.drain()
    execution.refresh_from_db()
    return execution


def test_a_designed_workflow_runs_a_sqlite_query_over_the_api(api, user, sync_executor, lite):
    created = api.post("/api/v1/credentials/", {"name": "shop_db", "value": lite.dsn}, format="json")
    assert created.status_code == 201, created.data
    wf = api.post("/api/v1/workflows/", {"name": "orders of a customer", "steps": [
        {"key": "orders", "task_type": "sql", "max_retries": 0, "config": {
            "credential": "shop_db", "query": "SELECT id, total FROM orders WHERE email = :email ORDER BY id",
            "params": {"email": "{{ input.email }}"}}},
        {"key": "say", "task_type": "log", "depends_on": ["orders"],
         "config": {"message": "{{ steps.orders.output.rows | length }} orders"}}]}, format="json")
    assert wf.status_code == 201, wf.data
    assert api.post(f"/api/v1/workflows/{wf.data['id']}/activate/").status_code == 200
    run = api.post(f"/api/v1/workflows/{wf.data['id']}/run/", {"input_data": {"email": "ada@example.com"}},
                   format="json")
    assert run.status_code == 201, run.data
    sync_executor.drain()
    detail = api.get(f"/api/v1/executions/{run.data['id']}/").data
    assert detail["status"] == "completed", detail
    tasks = {t["step_key"]: t for t in detail["task_executions"]}
    assert tasks["orders"]["output_data"] == {"rows": [{"id": 1, "total": "12.50"}, {"id": 3, "total": "99.99"}],
                                              "columns": ["id", "total"], "truncated": False, "rowcount": None}
    assert tasks["say"]["output_data"] == {"message": "2 orders"}


@services_only
def test_a_designed_workflow_runs_a_postgres_query_and_the_dsn_never_comes_back(
        api, user, sync_executor, pg, caplog):
    caplog.set_level(logging.DEBUG)
    api.post("/api/v1/credentials/", {"name": "orders_db", "value": pg.dsn}, format="json")
    wf = api.post("/api/v1/workflows/", {"name": "pg orders", "steps": [
        {"key": "orders", "task_type": "sql", "max_retries": 0, "config": {
            "credential": "orders_db", "query": "SELECT id, total FROM orders WHERE email = %(email)s ORDER BY id",
            "params": {"email": "{{ input.email }}"}, "max_rows": 1}},
        {"key": "mark", "task_type": "sql", "max_retries": 0, "depends_on": ["orders"], "config": {
            "credential": "orders_db", "read_only": False,
            "query": "UPDATE orders SET note = %(note)s WHERE id = %(id)s",
            "params": {"note": "seen", "id": "{{ steps.orders.output.rows[0].id }}"}}},
        {"key": "leak", "task_type": "sql", "max_retries": 0, "depends_on": ["mark"], "config": {
            "credential": "orders_db", "query": "SELECT 1 FROM no_such_table"}}]}, format="json")
    assert wf.status_code == 201, wf.data
    api.post(f"/api/v1/workflows/{wf.data['id']}/activate/")
    run = api.post(f"/api/v1/workflows/{wf.data['id']}/run/", {"input_data": {"email": "ada@example.com"}},
                   format="json")
    sync_executor.drain()
    detail = api.get(f"/api/v1/executions/{run.data['id']}/").data
    tasks = {t["step_key"]: t for t in detail["task_executions"]}
    assert tasks["orders"]["status"] == "completed"
    assert tasks["orders"]["output_data"] == {"rows": [{"id": 1, "total": "12.50"}], "columns": ["id", "total"],
                                              "truncated": True, "rowcount": None}
    assert tasks["mark"]["status"] == "completed" and tasks["mark"]["output_data"]["rowcount"] == 1
    assert pg.rows()[0][3] == "seen"
    assert detail["status"] == "failed" and tasks["leak"]["status"] == "failed"
    assert 'relation "no_such_table" does not exist' in tasks["leak"]["error_message"]
    execution = WorkflowExecution.objects.get(pk=run.data["id"])
    everything = json.dumps({
        "api": detail,
        "tasks": list(TaskExecution.objects.filter(execution=execution).values()),
        "logs": list(ExecutionLog.objects.filter(execution=execution).values("message", "details")),
        "python logging": [r.getMessage() for r in caplog.records],
    }, default=str)
    for piece in (pg.dsn, PASSWORD, pg.dsn.split("@", 1)[1]):
        assert piece.lower() not in everything.lower(), piece


def test_an_unknown_credential_fails_the_run_at_once(user, sync_executor, lite):
    workflow = active_workflow(user, [step("q", "sql", max_retries=3, config={
        "credential": "nope", "query": "SELECT 1"})])
    execution = _run(workflow, sync_executor, {})
    assert execution.status == E.FAILED
    [task] = TaskExecution.objects.filter(execution=execution)
    assert task.error_message == "credential 'nope' does not exist" and task.attempt == 1


def test_a_credential_saved_for_sqlite_runs_in_the_engine(user, sync_executor, lite):
    credentials.credential_save(owner=user, name="shop", value=lite.dsn)
    workflow = active_workflow(user, [step("q", "sql", config={
        "credential": "shop", "query": "SELECT count(*) AS n FROM orders WHERE CAST(total AS REAL) > :min",
        "params": {"min": "{{ input.min }}"}})])
    execution = _run(workflow, sync_executor, {"min": 10})
    assert execution.status == E.COMPLETED, execution.error_message
    assert TaskExecution.objects.get(execution=execution).output["rows"] == [{"n": 2}]
