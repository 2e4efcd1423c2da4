"""Portable SQL expressions the ORM lacks (PostgreSQL and SQLite, the two databases FlowPilot runs on)."""

from __future__ import annotations

from django.db import NotSupportedError
from django.db.models import BigIntegerField, Func


class MillisecondsBetween(Func):
    """Whole milliseconds from `start` to `end` (two datetimes), rounded down; NULL if either is NULL."""

    output_field = BigIntegerField()
    arity = 2

    def _sides(self, compiler, connection):
        start, start_params = compiler.compile(self.source_expressions[0])
        end, end_params = compiler.compile(self.source_expressions[1])
        return start, end, (*end_params, *start_params)

    def as_postgresql(self, compiler, connection, **extra):
        start, end, params = self._sides(compiler, connection)
        return f"FLOOR(EXTRACT(EPOCH FROM ({end} - {start})) * 1000)::bigint", params

    def as_sqlite(self, compiler, connection, **extra):
        # django_timestamp_diff: Django's SQLite function, exact microseconds between two datetimes.
        start, end, params = self._sides(compiler, connection)
        return f"(django_timestamp_diff({end}, {start}) / 1000)", params

    def as_sql(self, compiler, connection, **extra):
        raise NotSupportedError(f"MillisecondsBetween is written for PostgreSQL and SQLite, not {connection.vendor}")


class EpochSeconds(Func):
    """Whole seconds since 1970-01-01 UTC of a datetime (rounded down)."""

    output_field = BigIntegerField()
    arity = 1

    def as_postgresql(self, compiler, connection, **extra):
        value, params = compiler.compile(self.source_expressions[0])
        return f"FLOOR(EXTRACT(EPOCH FROM {value}))::bigint", params

    def as_sqlite(self, compiler, connection, **extra):
        value, params = compiler.compile(self.source_expressions[0])  # stored as UTC text
        return f"CAST(strftime('%%s', {value}) AS INTEGER)", params

    def as_sql(self, compiler, connection, **extra):
        raise NotSupportedError(f"EpochSeconds is written for PostgreSQL and SQLite, not {connection.vendor}")
