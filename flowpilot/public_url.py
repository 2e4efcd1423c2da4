"""The address users open FlowPilot at, for links sent out of the app (alert notifications): the
UI's pages under it, e.g. /executions/<id>.

In order: FLOWPILOT_PUBLIC_URL when set (behind a proxy or a load balancer, set it); else the host
the current request came to (when there is one: Django's get_host(), checked against ALLOWED_HOSTS);
else the address `manage.py serve` listens on (it leaves FLOWPILOT_SERVED_URL in the environment of
its process, where the embedded worker and scheduler run); else the address it would listen on, from
the same HOST and PORT it reads.
"""

from __future__ import annotations

import os
import socket
from urllib.parse import quote

from django.conf import settings

DEFAULT_HOST = "127.0.0.1"  # manage.py serve's defaults (workflows/management/commands/serve.py)
DEFAULT_PORT = 8000
SERVED_URL_ENV = "FLOWPILOT_SERVED_URL"
ALL_INTERFACES = {"", "0.0.0.0", "::", "[::]"}


def served_url(host: str, port: int) -> str:
    """http://host:port for a listening address; on every interface, the machine's name stands for it."""
    if host in ALL_INTERFACES:
        host = socket.getfqdn() or "localhost"
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"  # an IPv6 address
    return f"http://{host}:{port}"


def base(request=None) -> str:
    """The public base URL, without a trailing slash."""
    if settings.FLOWPILOT_PUBLIC_URL:
        return settings.FLOWPILOT_PUBLIC_URL.rstrip("/")
    if request is not None:
        return f"{request.scheme}://{request.get_host()}"
    served = os.environ.get(SERVED_URL_ENV, "")
    if served:
        return served.rstrip("/")
    return served_url(os.environ.get("HOST", DEFAULT_HOST), int(os.environ.get("PORT", "") or DEFAULT_PORT))


def ui_url(path: str, *, base_url: str | None = None, query: dict | None = None) -> str:
    """A page of the app (a path such as /executions/<id>) under `base_url` (default: base())."""
    url = (base_url or base()).rstrip("/") + path
    if query:
        url += "?" + "&".join(f"{quote(str(k))}={quote(str(v))}" for k, v in query.items())
    return url
