"""Outbound network guard: which addresses a step may reach.

An address is allowed when FLOWPILOT_HTTP_ALLOWED_NETWORKS (a CIDR list) holds it, or when it is
global (`is_global`) and in none of the special ranges of DENIED below: loopback, private, shared,
link-local (cloud metadata at 169.254.169.254 included), site-local, unique-local, multicast,
documentation, benchmarking, discard-only, reserved, and the IPv6 forms that reach an IPv4 address
(IPv4-compatible, NAT64 local-use, Teredo). The forms that embed an IPv4 address a packet is sent
to are judged by that address too: an IPv4-mapped one as that IPv4 address, a NAT64 (64:ff9b::/96)
or 6to4 one only if it embeds a public address (the allowed networks are not reached through a
NAT64 or 6to4 gateway). The caller connects to the address that was checked, so a DNS answer that
changes between the check and the connection (rebinding) cannot slip through.
"""

from __future__ import annotations

import ipaddress
import socket
from functools import lru_cache

from django.conf import settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class BlockedAddress(Exception):
    pass


def _table(*rows: tuple[str, str]) -> tuple:
    return tuple((ipaddress.ip_network(cidr), what) for cidr, what in rows)


# Refused whatever `is_global` says (Python's answer changes between versions, and misses some).
DENIED = _table(
    ("0.0.0.0/8", "this-network"), ("10.0.0.0/8", "private"), ("100.64.0.0/10", "shared address space"),
    ("127.0.0.0/8", "loopback"), ("169.254.0.0/16", "link-local"), ("172.16.0.0/12", "private"),
    ("192.0.0.0/24", "IETF protocol assignments"), ("192.0.2.0/24", "documentation"),
    ("192.88.99.0/24", "6to4 relay anycast"), ("192.168.0.0/16", "private"), ("198.18.0.0/15", "benchmarking"),
    ("198.51.100.0/24", "documentation"), ("203.0.113.0/24", "documentation"), ("224.0.0.0/4", "multicast"),
    ("240.0.0.0/4", "reserved"),
    ("::/128", "unspecified"), ("::1/128", "loopback"), ("::/96", "IPv4-compatible"),
    ("64:ff9b:1::/48", "NAT64 local-use"), ("100::/64", "discard-only"), ("2001::/32", "Teredo"),
    ("2001:2::/48", "benchmarking"), ("2001:10::/28", "ORCHID"), ("2001:20::/28", "ORCHIDv2"),
    ("2001:db8::/32", "documentation"), ("3fff::/20", "documentation"), ("5f00::/16", "segment routing"),
    ("fc00::/7", "unique-local"), ("fe80::/10", "link-local"), ("fec0::/10", "site-local"),
    ("ff00::/8", "multicast"),
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


@lru_cache(maxsize=32)
def _networks(cidrs: tuple[str, ...]) -> tuple:
    return tuple(ipaddress.ip_network(c, strict=False) for c in cidrs)


def embedded_ipv4(ip: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address sends to: IPv4-mapped, NAT64 (64:ff9b::/96) or 6to4."""
    if not isinstance(ip, ipaddress.IPv6Address):
        return None
    if ip.ipv4_mapped:
        return ip.ipv4_mapped
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return ip.sixtofour


def refusal(ip: IPAddress, allowed: tuple[str, ...]) -> str | None:
    """None if a step may connect to `ip`, else why not (e.g. "site-local (fec0::/10)")."""
    nets = _networks(allowed)
    if any(ip.version == net.version and ip in net for net in nets):
        return None
    inner = embedded_ipv4(ip)
    if inner is not None and isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        return refusal(inner, allowed)  # a mapped address is its IPv4 address
    for net, what in DENIED:
        if ip.version == net.version and ip in net:
            return f"{what} ({net})"
    if not ip.is_global:
        return "not a global address"
    if inner is not None and (why := refusal(inner, ())):  # reached through a gateway: public only
        return f"embeds {inner}: {why}"
    return None


def is_allowed(ip: IPAddress, allowed: tuple[str, ...] | None = None) -> bool:
    cidrs = tuple(settings.FLOWPILOT_HTTP_ALLOWED_NETWORKS if allowed is None else allowed)
    return refusal(ip, cidrs) is None


def resolve(host: str, port: int) -> IPAddress:
    """The first address of `host` after checking that every address it resolves to is allowed."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise OSError(f"cannot resolve {host!r}: {exc.strerror}") from None
    addresses = [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]
    allowed = tuple(settings.FLOWPILOT_HTTP_ALLOWED_NETWORKS)
    for ip in addresses:
        if why := refusal(ip, allowed):
            raise BlockedAddress(
                f"{host} resolves to {ip}, a non-public address: {why}; "
                "FLOWPILOT_HTTP_ALLOWED_NETWORKS can allow it")
    return addresses[0]
