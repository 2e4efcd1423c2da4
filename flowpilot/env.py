"""Reading settings from the environment (and a .env file), with safe development defaults.

Two modes share one code path:

- embedded (default): SQLite file under var/, in-memory broker and channel layer, the worker and
  the scheduler run inside the web process;
- services: REDIS_URL (and usually DATABASE_URL) set; PostgreSQL, Redis, separate processes.
"""

from __future__ import annotations

import ipaddress
import os
import re
import secrets
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from dotenv import load_dotenv

BASE_DIR = Path(__file__).resolve().parent.parent
load_dotenv(BASE_DIR / ".env", override=False)

INSECURE_SECRET_KEYS = {"", "change-me", "changeme", "secret", "django-insecure"}


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be an integer, got {value!r}") from exc


def env_float(name: str, default: float) -> float:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return float(value)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be a number, got {value!r}") from exc


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def env_networks(name: str) -> list[str]:
    """A comma-separated CIDR list; refuses a malformed entry at start-up, not at the first request."""
    networks = env_list(name)
    for cidr in networks:
        try:
            ipaddress.ip_network(cidr, strict=False)
        except ValueError as exc:
            raise ImproperlyConfigured(f"{name}: {cidr!r} is not a CIDR network") from exc
    return networks


def env_public_url(name: str, *fallbacks: str) -> str:
    """An http(s) base URL without query or fragment (its trailing slash dropped); empty when unset.
    `fallbacks` are older names of the same setting, read when `name` is not set."""
    used, value = name, os.environ.get(name, "").strip()
    for old in fallbacks:
        if not value:
            used, value = old, os.environ.get(old, "").strip()
    if not value:
        return ""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment or \
            any(c.isspace() for c in value) or len(value) > 500:
        raise ImproperlyConfigured(f"{used} must be an http(s) URL such as https://flowpilot.example.com "
                                   f"(no query, at most 500 characters), got {value!r}")
    return value.rstrip("/")


RATE_PATTERN = re.compile(r"^\d+/(s|sec|second|m|min|minute|h|hour|d|day)$")


def env_rate(name: str, default: str) -> str:
    """A request rate as DRF writes it ("2000/minute", "10/s"); empty means no limit. Checked at start-up."""
    value = os.environ.get(name, default).strip()
    if value and not RATE_PATTERN.match(value):
        raise ImproperlyConfigured(f"{name} must look like 100/minute (per s, m, h or d), got {value!r}")
    return value


def secret_key(*, services_mode: bool, var_dir: Path) -> str:
    """The SECRET_KEY: required and non-default in services mode; made once and kept when embedded."""
    key = os.environ.get("SECRET_KEY", "")
    if services_mode:
        if key.strip() in INSECURE_SECRET_KEYS or key.startswith("django-insecure") or len(key) < 20:
            raise ImproperlyConfigured(
                "Services mode (REDIS_URL set) needs a SECRET_KEY of at least 20 characters that is not "
                "a default value; set it in the environment or .env."
            )
        return key
    if key:
        return key
    path = var_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    var_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(50)
    path.write_text(key)
    path.chmod(0o600)
    return key


APPLICATION_NAME = "flowpilot"  # pg_stat_activity.application_name; flowpilot/database.py adds the role


def database_config(url: str, *, pool: bool, min_size: int, max_size: int, timeout: float,
                    connect_timeout: int, role: str = "") -> dict:
    """DATABASES["default"] for DATABASE_URL. PostgreSQL: a bounded pool per process (psycopg 3's,
    through Django: connections live in the pool, not past a request), or, with pool=False, a
    connection per request (PgBouncer in transaction mode)."""
    if min_size < 0 or max_size < 1 or min_size > max_size:
        raise ImproperlyConfigured(f"the database pool needs 0 <= min ({min_size}) <= max ({max_size}), max >= 1")
    if timeout <= 0:
        raise ImproperlyConfigured(f"the database pool's timeout must be positive, got {timeout}")
    config = dj_database_url.parse(url, conn_max_age=0, conn_health_checks=True)
    if not config["ENGINE"].endswith("postgresql"):
        return dj_database_url.parse(url, conn_max_age=60, conn_health_checks=True)
    options = config.setdefault("OPTIONS", {})
    name = f"{APPLICATION_NAME}-{role}" if role else APPLICATION_NAME
    options.setdefault("application_name", name)
    options.setdefault("connect_timeout", connect_timeout)
    if pool:
        # Django hands the pool its health check: a connection is checked (an empty query) as it is
        # handed out, so after a PostgreSQL restart requests get fresh connections, not dead ones.
        options["pool"] = {"min_size": min_size, "max_size": max_size, "timeout": timeout, "max_idle": 300,
                           "name": name}
    else:
        config["DISABLE_SERVER_SIDE_CURSORS"] = True  # PgBouncer in transaction mode cannot keep them
    return config
