"""The circuit breaker: its pure decisions, its shared state (Django's cache) with an injected clock,
and the HTTP step types against real servers on 127.0.0.1 (counting the requests that reach them)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time

import pytest

from workflows import circuit
from workflows.circuit import Breaker, CircuitOpen, Policy, State, opens_after, origin, state_at
from workflows.steps import StepContext, StepError, registry
from workflows.tests.http_server import allow_loopback, fresh_circuits, other_server, server  # noqa: F401

POLICY = Policy(failures=3, cooldown_seconds=30)


class Clock:
    def __init__(self, now: float = 1_800_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


# --- pure decisions ----------------------------------------------------------------------------

def test_state_follows_the_end_of_the_cooldown():
    assert state_at(None, 100.0) is State.CLOSED
    assert state_at(130.0, 100.0) is State.OPEN
    assert state_at(130.0, 130.0) is State.HALF_OPEN
    assert state_at(130.0, 500.0) is State.HALF_OPEN


def test_the_threshold_opens_and_a_failed_trial_reopens():
    assert [opens_after(n, policy=POLICY, trial=False) for n in (1, 2, 3, 4)] == [False, False, True, True]
    assert opens_after(1, policy=POLICY, trial=True)


@pytest.mark.parametrize("url, expected", [
    ("https://API.example.com/v1/x?y=1", "https://api.example.com:443"),
    ("http://api.example.com/", "http://api.example.com:80"),
    ("http://api.example.com:8080/a", "http://api.example.com:8080"),
    ("https://user:pw@api.example.com/", "https://api.example.com:443"),
    ("http://[::1]:9000/", "http://[::1]:9000"),
])
def test_a_circuit_is_kept_per_scheme_host_and_port(url, expected):
    assert origin(url) == expected


# --- shared state, injected clock -------------------------------------------------------------

def breaker(clock: Clock, policy: Policy = POLICY) -> Breaker:
    return Breaker(policy=policy, clock=clock)


def fail(b: Breaker, host: str = "https://api.example.com:443", times: int = 1) -> None:
    for _ in range(times):
        b.failed(b.admit(host, call_timeout=10))


def test_consecutive_failures_open_the_circuit_for_the_cooldown():
    clock = Clock()
    b = breaker(clock)
    fail(b, times=2)
    b.admit("https://api.example.com:443", call_timeout=10)  # still closed
    fail(b)
    clock.now += 10
    with pytest.raises(CircuitOpen) as error:
        b.admit("https://api.example.com:443", call_timeout=10)
    assert error.value.retryable and error.value.retry_after == pytest.approx(20)
    assert error.value.message == "circuit open for https://api.example.com:443 until 2027-01-15T08:00:30Z; not calling"


def test_a_success_resets_the_count():
    b = breaker(Clock())
    fail(b, times=2)
    b.succeeded(b.admit("https://api.example.com:443", call_timeout=10))
    fail(b, times=2)
    b.admit("https://api.example.com:443", call_timeout=10)  # 2 consecutive, not 4


def test_after_the_cooldown_one_trial_goes_through_and_its_success_closes_the_circuit():
    clock = Clock()
    b = breaker(clock)
    fail(b, times=3)
    clock.now += 30
    trial = b.admit("https://api.example.com:443", call_timeout=10)
    assert trial.trial
    with pytest.raises(CircuitOpen) as other:  # one trial at a time
        b.admit("https://api.example.com:443", call_timeout=10)
    assert "a trial request is in flight" in other.value.message and other.value.retry_after == pytest.approx(15)
    b.succeeded(trial)
    for _ in range(5):
        assert not b.admit("https://api.example.com:443", call_timeout=10).trial
    fail(b, times=2)  # counting starts again from zero
    b.admit("https://api.example.com:443", call_timeout=10)


def test_a_failed_trial_reopens_for_a_whole_cooldown():
    clock = Clock()
    b = breaker(clock)
    fail(b, times=3)
    clock.now += 31
    b.failed(b.admit("https://api.example.com:443", call_timeout=10))
    with pytest.raises(CircuitOpen) as error:
        b.admit("https://api.example.com:443", call_timeout=10)
    assert error.value.retry_after == pytest.approx(30)
    clock.now += 30
    assert b.admit("https://api.example.com:443", call_timeout=10).trial


def test_a_trial_that_never_called_gives_its_slot_back():
    clock = Clock()
    b = breaker(clock)
    fail(b, times=3)
    clock.now += 30
    b.abandoned(b.admit("https://api.example.com:443", call_timeout=10))
    assert b.admit("https://api.example.com:443", call_timeout=10).trial


def test_the_state_is_shared_by_every_breaker_on_the_cache():
    clock = Clock()
    fail(breaker(clock), times=3)
    with pytest.raises(CircuitOpen):
        breaker(clock).admit("https://api.example.com:443", call_timeout=10)


@pytest.mark.services
def test_another_process_sees_the_open_circuit(settings):
    """Services mode: the state is in Redis, so a worker process's failures open the circuit here."""
    assert "redis" in settings.CACHES["default"]["BACKEND"].lower()
    code = ("import django; django.setup()\n"
            "from workflows.circuit import Breaker, Policy\n"
            "b = Breaker(policy=Policy(failures=3, cooldown_seconds=30))\n"
            "for _ in range(3): b.failed(b.admit('https://api.example.com:443', call_timeout=10))\n")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
    with pytest.raises(CircuitOpen):
        Breaker(policy=POLICY).admit("https://api.example.com:443", call_timeout=10)


def test_zero_failures_turns_the_breaker_off():
    b = breaker(Clock(), Policy(failures=0, cooldown_seconds=30))
    fail(b, times=20)
    assert not b.admit("https://api.example.com:443", call_timeout=10).tracked


def test_a_broken_cache_lets_calls_through():
    class Broken:
        def __getattr__(self, name):
            def fail(*args, **kwargs):
                raise ConnectionError("cache down")
            return fail

    b = Breaker(policy=POLICY, cache=Broken(), clock=Clock())
    for _ in range(5):
        ticket = b.admit("https://api.example.com:443", call_timeout=10)
        b.failed(ticket)
    assert not ticket.tracked


# --- the HTTP step types -----------------------------------------------------------------------

# Long enough that the calls of a test fit in it on a loaded machine (0.3 s did not: a call to the
# other server took longer, the circuit half-opened and let the next call through).
COOLDOWN = 2.0


@pytest.fixture
def short_circuit(settings, allow_loopback):
    settings.FLOWPILOT_CIRCUIT_FAILURES = 3
    settings.FLOWPILOT_CIRCUIT_COOLDOWN_SECONDS = COOLDOWN


def run(task_type: str, config: dict, *, timeout: float = 10) -> dict:
    ctx = StepContext(execution_id="e1", step_key="crm", attempt=1, idempotency_key="e1:crm",
                      timeout_seconds=timeout, input={}, secret=lambda name: "unused")
    return registry.get(task_type).execute(config, ctx)


def failing(url: str, times: int = 1, **extra) -> list[StepError]:
    errors = []
    for _ in range(times):
        with pytest.raises(StepError) as error:
            run("http_request", {"url": url, **extra})
        errors.append(error.value)
    return errors


def test_failures_open_the_circuit_and_the_next_call_fails_fast_without_a_request(server, short_circuit):
    failing(f"{server.url}/status/503", times=3)
    assert len(server.requests) == 3
    [error] = failing(f"{server.url}/json")
    assert len(server.requests) == 3  # nothing sent
    assert isinstance(error, CircuitOpen) and error.retryable
    assert error.message.startswith(f"circuit open for {server.url} until ") and error.message.endswith("; not calling")
    assert 0 < error.retry_after <= COOLDOWN


def test_after_the_cooldown_a_trial_request_closes_the_circuit(server, short_circuit):
    failing(f"{server.url}/status/503", times=3)
    time.sleep(COOLDOWN + 0.1)
    assert run("http_request", {"url": f"{server.url}/json"})["status_code"] == 200
    assert len(server.requests) == 4
    for _ in range(3):
        run("http_request", {"url": f"{server.url}/json"})
    assert len(server.requests) == 7


def test_a_failed_trial_opens_the_circuit_again(server, short_circuit):
    failing(f"{server.url}/status/503", times=3)
    time.sleep(COOLDOWN + 0.1)
    failing(f"{server.url}/status/503")
    assert len(server.requests) == 4
    [error] = failing(f"{server.url}/json")
    assert isinstance(error, CircuitOpen) and len(server.requests) == 4


def test_4xx_do_not_count_and_break_a_run_of_failures(server, short_circuit):
    failing(f"{server.url}/status/404", times=5)
    failing(f"{server.url}/status/503", times=2)
    failing(f"{server.url}/status/400")
    failing(f"{server.url}/status/503", times=2)
    assert run("http_request", {"url": f"{server.url}/json"})["status_code"] == 200
    assert len(server.requests) == 11


def test_429_and_gateway_errors_count(server, short_circuit):
    failing(f"{server.url}/status/429")
    failing(f"{server.url}/status/502")
    failing(f"{server.url}/status/504")
    [error] = failing(f"{server.url}/json")
    assert isinstance(error, CircuitOpen)


def test_500_and_408_do_not_count(server, short_circuit):
    """A 500 is usually about one request (the 11:30 story: some patients fail, the host is up)."""
    failing(f"{server.url}/status/500", times=5)
    failing(f"{server.url}/status/408", times=5)
    assert run("http_request", {"url": f"{server.url}/json"})["status_code"] == 200
    assert len(server.requests) == 11


def test_timeouts_count(server, short_circuit):
    failing(f"{server.url}/slow?seconds=1", times=3, timeout=0.1)
    [error] = failing(f"{server.url}/json")
    assert isinstance(error, CircuitOpen) and len(server.requests) == 3


def test_connection_errors_count(short_circuit):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    errors = failing(f"http://127.0.0.1:{port}/", times=4)
    assert [type(e) for e in errors] == [StepError] * 3 + [CircuitOpen]
    assert all(e.retryable for e in errors)


def test_each_host_has_its_own_circuit(server, other_server, short_circuit):
    failing(f"{server.url}/status/503", times=3)
    assert run("http_request", {"url": f"{other_server.url}/json"})["status_code"] == 200
    [error] = failing(f"{server.url}/json")
    assert isinstance(error, CircuitOpen) and server.url in error.message


def test_a_redirect_hop_is_judged_by_its_own_host(server, other_server, short_circuit):
    failing(f"{server.url}/redirect?to={other_server.url}/status/503", times=3)
    assert len(server.requests) == 3 and len(other_server.requests) == 3
    [error] = failing(f"{server.url}/redirect?to={other_server.url}/json")
    assert isinstance(error, CircuitOpen) and other_server.url in error.message
    assert len(server.requests) == 4 and len(other_server.requests) == 3
    assert run("http_request", {"url": f"{server.url}/json"})["status_code"] == 200


def test_refused_addresses_do_not_touch_the_circuit(server, short_circuit, settings):
    settings.FLOWPILOT_HTTP_ALLOWED_NETWORKS = []
    for _ in range(5):
        with pytest.raises(StepError, match="refused"):
            run("http_request", {"url": f"{server.url}/json"})
    settings.FLOWPILOT_HTTP_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    assert run("http_request", {"url": f"{server.url}/json"})["status_code"] == 200


def test_the_slack_step_shares_the_hosts_circuit(server, short_circuit):
    webhook = f"{server.url}/slack/T1/B2/s3cr3t"
    failing(f"{server.url}/status/502", times=3)
    with pytest.raises(CircuitOpen) as error:
        run("slack", {"webhook_url": webhook, "text": "hi"})
    assert len(server.requests) == 3 and "s3cr3t" not in error.value.message
    assert error.value.retry_after > 0


def test_the_settings_choose_the_policy(settings):
    settings.FLOWPILOT_CIRCUIT_FAILURES = 7
    settings.FLOWPILOT_CIRCUIT_COOLDOWN_SECONDS = 12.5
    assert circuit.Policy.from_settings() == Policy(failures=7, cooldown_seconds=12.5)
