"""The flush after a transactional test (flowpilot/testing.py) survives a deadlock with another
process's transaction, as the e2e modules' worker, beat and web processes may cause: PostgreSQL
fails one side, and when that is the flush, it is taken again."""

from __future__ import annotations

import re
import threading

import psycopg
import pytest
from django.core.management.color import no_style
from django.core.management.sql import sql_flush
from django.db import connection
from django.test import TransactionTestCase

from flowpilot.testing import lost_a_lock_race
from workflows.tests.cluster import database_url, wait_for

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def truncated_tables() -> list[str]:
    """The tables the flush truncates, in the order its TRUNCATE locks them."""
    statement = " ".join(sql_flush(no_style(), connection, allow_cascade=False))
    return re.findall(r'"([^"]+)"', statement.split("TRUNCATE", 1)[1].split(";", 1)[0])


def waiting_for_a_lock(pid: int) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_locks WHERE pid = %s AND NOT granted", [pid])
        return cursor.fetchone()[0] > 0


def test_a_flush_that_loses_a_deadlock_is_taken_again(django_user_model):
    django_user_model.objects.create_user("alice")
    tables = truncated_tables()
    first, last = tables[0], tables[-1]
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        flusher = cursor.fetchone()[0]
    other = psycopg.connect(database_url(), autocommit=False)
    deadlocked = threading.Event()
    crossed: list[str] = []

    def cross_the_flush():
        # Holds the flush's last table, waits until the flush holds the first and waits for the last,
        # then asks for the first: a deadlock, which the flush (waiting longest) detects and loses.
        wait_for(lambda: waiting_for_a_lock(flusher), timeout=30, interval=0.05, message="the flush to wait")
        deadlocked.set()
        try:
            other.execute(f'LOCK TABLE "{first}" IN ROW EXCLUSIVE MODE')
            crossed.append("granted")  # so the flush was the deadlock's victim
        except psycopg.errors.DeadlockDetected:
            crossed.append("victim")
        other.rollback()

    try:
        other.execute(f'LOCK TABLE "{last}" IN ROW EXCLUSIVE MODE')
        crossing = threading.Thread(target=cross_the_flush)
        crossing.start()
        case = TransactionTestCase()
        case._fixture_teardown()  # the flush the test's own teardown does again after it
        crossing.join(timeout=30)
    finally:
        other.close()
    assert deadlocked.is_set() and crossed == ["granted"]
    with connection.cursor() as cursor:
        cursor.execute('SELECT count(*) FROM auth_user')
        assert cursor.fetchone()[0] == 0  # the flush was taken again, and emptied the tables


def test_only_lock_races_are_taken_again():
    class Deadlock(Exception):
        sqlstate = "40P01"

    class Missing(Exception):
        sqlstate = "42P01"

    wrapped = RuntimeError("flush failed")
    wrapped.__cause__ = Deadlock()
    assert lost_a_lock_race(wrapped)
    other = RuntimeError("flush failed")
    other.__cause__ = Missing()
    assert not lost_a_lock_race(other) and not lost_a_lock_race(None)
