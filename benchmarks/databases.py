"""A benchmark's own PostgreSQL database, made anew for each run (never the dev or test data)."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

SUFFIXES = ("_bench", "_loadtest")


def recreate_database(database_url: str) -> None:
    """Drop (closing its sessions) and create the database DATABASE_URL names; only a benchmark's."""
    parts = urlsplit(database_url)
    name = parts.path.lstrip("/")
    assert name.endswith(SUFFIXES), f"{name}: a benchmark only drops its own database (*{'/*'.join(SUFFIXES)})"
    with psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
