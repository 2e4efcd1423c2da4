"""The network guard's special ranges (issue 12, finding 9): addresses that `is_global` calls public
but that reach loopback, a site or a gateway are refused, as a URL's host and as a DNS answer."""

from __future__ import annotations

import ipaddress
import socket

import pytest

from workflows import netguard
from workflows.steps import StepContext, StepError, registry
from workflows.tests.http_server import fresh_circuits, server  # noqa: F401

QUOTED = {"::7f00:1": "IPv4-compatible", "fec0::1": "site-local", "64:ff9b::7f00:1": "embeds 127.0.0.1",
          "2002:7f00:1::": "embeds 127.0.0.1"}
SPECIAL = ["::ffff:127.0.0.1", "::ffff:10.0.0.1", "::", "::1", "64:ff9b:1::a00:1", "64:ff9b::a9fe:a9fe",
           "2002:c0a8:101::1", "2001::1", "2001:0:4136:e378:8000:63bf:3fff:fdd2", "fd12:3456::1", "fe80::1",
           "ff02::1", "100::1", "2001:db8::1", "2001:2::1", "3fff::1", "100.64.0.1", "0.1.2.3", "240.0.0.1",
           "255.255.255.255", "198.18.0.1", "198.19.255.254", "192.0.0.8", "192.0.2.1", "198.51.100.1",
           "203.0.113.1", "192.88.99.1", "224.0.0.1", "169.254.169.254", "10.1.2.3", "172.16.0.1", "192.168.1.1"]
PUBLIC = ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "2a00:1450:4001:81c::200e", "::ffff:8.8.8.8",
          "64:ff9b::808:808", "2002:808:808::1"]


def call(url: str) -> dict:
    ctx = StepContext(execution_id="e1", step_key="call", attempt=1, idempotency_key="e1:call",
                      timeout_seconds=5, input={}, secret=lambda name: "")
    return registry.get("http_request").execute({"url": url}, ctx)


@pytest.mark.parametrize("address", [*QUOTED, *SPECIAL])
def test_special_addresses_are_refused(address):
    assert not netguard.is_allowed(ipaddress.ip_address(address), allowed=())


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_are_still_allowed(address):
    assert netguard.is_allowed(ipaddress.ip_address(address), allowed=())


def test_embedded_ipv4_forms_are_judged_by_their_ipv4_address():
    allowed = ("127.0.0.0/8",)
    assert netguard.is_allowed(ipaddress.ip_address("::ffff:127.0.0.1"), allowed)  # the same socket
    for gateway_form in ("64:ff9b::7f00:1", "2002:7f00:1::", "::7f00:1"):  # not reached directly
        assert not netguard.is_allowed(ipaddress.ip_address(gateway_form), allowed)


@pytest.mark.parametrize("address", QUOTED)
def test_the_issues_addresses_are_refused_as_a_url_host(address, settings):
    settings.FLOWPILOT_HTTP_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    with pytest.raises(StepError) as error:
        call(f"http://[{address}]:8080/")
    assert not error.value.retryable
    assert error.value.message.startswith("refused: ") and QUOTED[address] in error.value.message


@pytest.mark.parametrize("address", QUOTED)
def test_the_issues_addresses_are_refused_as_a_dns_answer(address, server, settings, monkeypatch):
    # No resolver of this machine can be made to answer these without root, so getaddrinfo answers
    # what a hostile DNS server would; everything after it (guard, client, server) is real.
    settings.FLOWPILOT_HTTP_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    port = int(server.url.rsplit(":", 1)[1])
    real = socket.getaddrinfo

    def answer(host, *args, **kwargs):
        if host == "rebound.example":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port)),
                    (socket.AF_INET6, socket.SOCK_STREAM, 6, "", (address, port, 0, 0))]
        return real(host, *args, **kwargs)

    monkeypatch.setattr(netguard.socket, "getaddrinfo", answer)
    with pytest.raises(StepError) as error:
        call(f"http://rebound.example:{port}/json")
    assert error.value.message.startswith(f"refused: rebound.example resolves to {address}")
    assert QUOTED[address] in error.value.message and server.requests == []
    assert call(f"http://localhost:{port}/json")["status_code"] == 200  # the real resolver still works
