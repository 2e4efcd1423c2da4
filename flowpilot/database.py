"""PostgreSQL connections in services mode: one bounded pool per process, sized by the process's role.

Every process draws its connections from psycopg 3's pool, through Django's own support for it
(`OPTIONS["pool"]`). A connection goes back to the pool when Django closes it: at the end of each
web request (Django's request_finished), before each Celery task (flowpilot/celery.py), and at each
beat of the background threads. So no connection outlives its request outside a pool, whatever
thread ran the request, and a process never holds more than its pool's `max_size` connections. A request that finds the pool empty waits up to
FLOWPILOT_DB_POOL_TIMEOUT seconds, then answers 503 (flowpilot/errors.py).

Roles, each named in pg_stat_activity.application_name:

- web (`manage.py serve` and the processes it starts): FLOWPILOT_DB_POOL_MAX connections per web process;
- worker and beat (flowpilot/celery.py): FLOWPILOT_WORKER_DB_POOL_MAX per Celery process (a prefork
  worker's main process and each of its children, the beat); a child is a step at a time, so it
  needs its own thread's connection and the lease heartbeat's;
- anything else (manage.py commands, tests): FLOWPILOT_DB_POOL_MAX, named "flowpilot".

FLOWPILOT_DB_POOL=false turns the pools off: a connection per request, closed at its end, as
PgBouncer in transaction mode expects (server-side cursors are then disabled too).
"""

from __future__ import annotations

from django.conf import settings
from django.db import connections
from django.db.backends.postgresql.base import DatabaseWrapper as PostgresWrapper

from .env import APPLICATION_NAME

# Connections a forked child inherited from its parent's pool: kept referenced, never closed, so that
# nothing is ever sent on sockets the parent still uses (see forget_inherited_pool).
_inherited: list = []


def use_role(role: str, *, max_size: int | None = None) -> None:
    """Name this process's connections after its role and size its pool, before its first query
    (connections are closed by then: `serve` closes the ones its migration used). A pool made
    before is closed, so that the next query makes one with these options."""
    options = settings.DATABASES["default"].get("OPTIONS")
    if options is None or "application_name" not in options:
        return  # SQLite: one file, no pool
    close_pools()
    options["application_name"] = f"{APPLICATION_NAME}-{role}"
    pool = options.get("pool")
    if pool:
        pool["name"] = options["application_name"]
        if max_size is not None:
            pool["max_size"] = max_size
            pool["min_size"] = min(pool["min_size"], max_size)


def close_pools() -> None:
    """Close this process's pools (their connections too); the next query makes a new one."""
    for conn in connections.all(initialized_only=True):
        if getattr(conn, "pool", None) is not None:
            conn.close_pool()


def forget_inherited_pool() -> None:
    """In a process forked from one that had a pool (a prefork worker's child): drop the parent's
    pool and its connections without a byte sent on their sockets, which the parent still uses.

    Closing them here would end the parent's sessions (psycopg sends Terminate on close); so they
    stay referenced in _inherited, never closed, and this process makes a pool of its own."""
    for conn in connections.all(initialized_only=True):
        if conn.connection is not None:
            _inherited.append(conn.connection)
            conn.connection = None
    _inherited.extend(PostgresWrapper._connection_pools.values())
    PostgresWrapper._connection_pools.clear()
