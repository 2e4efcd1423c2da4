"""Outbound network guard: which addresses a step may reach.

Loopback, private, link-local (cloud metadata at 169.254.169.254 included), shared, reserved and
multicast addresses are refused, after DNS resolution, unless FLOWPILOT_HTTP_ALLOWED_NETWORKS
(a CIDR list) permits them. The caller connects to the address that was checked, so a DNS answer
that changes between the check and the connection (rebinding) cannot slip through.
"""

from __future__ import annotations

import ipaddress
import socket
from functools import lru_cache

from django.conf import settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class BlockedAddress(Exception):
    pass


@lru_cache(maxsize=32)
def _networks(cidrs: tuple[str, ...]) -> tuple:
    return tuple(ipaddress.ip_network(c, strict=False) for c in cidrs)


def is_allowed(ip: IPAddress, allowed: tuple[str, ...] | None = None) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    cidrs = tuple(settings.FLOWPILOT_HTTP_ALLOWED_NETWORKS if allowed is None else allowed)
    if any(ip in net for net in _networks(cidrs)):
        return True
    return ip.is_global and not ip.is_multicast


def resolve(host: str, port: int) -> IPAddress:
    """The first address of `host` after checking that every address it resolves to is allowed."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise OSError(f"cannot resolve {host!r}: {exc.strerror}") from None
    addresses = [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]
    for ip in addresses:
        if not is_allowed(ip):
            raise BlockedAddress(
                f"{host} resolves to {ip}, a loopback, private, link-local or reserved address; "
                "FLOWPILOT_HTTP_ALLOWED_NETWORKS can allow it")
    return addresses[0]
