"""The database configuration of services mode (flowpilot/env.py, flowpilot/database.py): a bounded
pool per process, named by role; a forked child (a prefork worker's) makes its own pool and leaves
its parent's sessions alone."""

from __future__ import annotations

import os

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection

from flowpilot import database
from flowpilot.env import database_config

URL = "postgres://flowpilot:secret@db.example:5432/flowpilot"


def test_postgresql_gets_a_bounded_pool_and_no_persistent_connections():
    config = database_config(URL, pool=True, min_size=1, max_size=8, timeout=10.0, connect_timeout=5)
    assert config["CONN_MAX_AGE"] == 0 and config["CONN_HEALTH_CHECKS"] is True
    assert config["OPTIONS"]["pool"] == {"min_size": 1, "max_size": 8, "timeout": 10.0, "max_idle": 300,
                                         "name": "flowpilot"}
    assert config["OPTIONS"]["application_name"] == "flowpilot" and config["OPTIONS"]["connect_timeout"] == 5


def test_behind_pgbouncer_a_connection_per_request_and_no_server_side_cursors():
    config = database_config(URL, pool=False, min_size=1, max_size=8, timeout=10.0, connect_timeout=5)
    assert "pool" not in config["OPTIONS"] and config["CONN_MAX_AGE"] == 0
    assert config["DISABLE_SERVER_SIDE_CURSORS"] is True


@pytest.mark.parametrize("min_size, max_size, timeout", [(2, 1, 10.0), (0, 0, 10.0), (-1, 4, 10.0), (1, 4, 0.0)])
def test_a_pool_that_cannot_work_stops_the_start(min_size, max_size, timeout):
    with pytest.raises(ImproperlyConfigured):
        database_config(URL, pool=True, min_size=min_size, max_size=max_size, timeout=timeout, connect_timeout=5)


def test_sqlite_urls_are_left_as_they_were():
    config = database_config("sqlite:////tmp/x.sqlite3", pool=True, min_size=1, max_size=8, timeout=10.0,
                             connect_timeout=5)
    assert config["ENGINE"].endswith("sqlite3") and "pool" not in config.get("OPTIONS", {})


def _application_name() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT application_name FROM pg_stat_activity WHERE pid = pg_backend_pid()")
        return cursor.fetchone()[0]


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_a_role_names_its_sessions_and_sizes_its_pool(settings):
    options = settings.DATABASES["default"]["OPTIONS"]
    saved = {"application_name": options["application_name"], "pool": dict(options["pool"])}
    try:
        connection.close()
        database.use_role("worker", max_size=3)
        assert _application_name() == "flowpilot-worker"
        assert connection.pool.max_size == 3 and connection.pool.name == "flowpilot-worker"
    finally:
        connection.close()
        options.update(saved)
        database.close_pools()


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_a_forked_child_makes_its_own_pool_and_leaves_the_parents_sessions_alone():
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        parent_session = cursor.fetchone()[0]
    reader, writer = os.pipe()
    child = os.fork()
    if child == 0:  # the child: what a prefork worker's process does at its start, then a query
        status = 1
        try:
            os.close(reader)
            database.forget_inherited_pool()
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                os.write(writer, str(cursor.fetchone()[0]).encode())
            connection.close()
            database.close_pools()
            status = 0
        finally:
            os._exit(status)
    os.close(writer)
    child_session = int(os.read(reader, 64) or 0)
    os.close(reader)
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert child_session and child_session != parent_session  # a session of its own
    with connection.cursor() as cursor:  # the parent's session survived the child's start and end
        cursor.execute("SELECT pg_backend_pid()")
        assert cursor.fetchone()[0] == parent_session
