"""API throttling: rates from settings, counted in the default cache, a 429 in the API's error shape."""

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from accounts.throttling import AnonRateThrottle, UserRateThrottle


def throttle_keys(*users) -> list[str]:
    keys = [AnonRateThrottle.cache_format % {"scope": "anon", "ident": "127.0.0.1"}]
    return keys + [UserRateThrottle.cache_format % {"scope": "user", "ident": u.pk} for u in users]


@pytest.fixture
def clean_counters(user, other_user):
    """The counters outlive a test (Redis in services mode, and a rolled-back SQLite test reuses user
    ids): delete this test's keys before and after. Not cache.clear(): on Redis that flushes a
    database that other processes (a test run's Celery broker) may be using."""
    cache.delete_many(throttle_keys(user, other_user))
    yield
    cache.delete_many(throttle_keys(user, other_user))


def test_a_user_over_the_rate_gets_429_in_the_api_error_shape(settings, clean_counters, user, other_user):
    settings.FLOWPILOT_API_RATE_USER = "3/minute"
    alice, mallory = APIClient(), APIClient()
    alice.force_authenticate(user)
    mallory.force_authenticate(other_user)
    assert [alice.get("/api/v1/workflows/").status_code for _ in range(3)] == [200, 200, 200]

    throttled = alice.get("/api/v1/workflows/")
    assert throttled.status_code == 429
    assert set(throttled.json()) == {"message"} and "throttled" in throttled.json()["message"]
    assert 0 < int(throttled["Retry-After"]) <= 60
    assert mallory.get("/api/v1/workflows/").status_code == 200  # counted per user

    settings.FLOWPILOT_API_RATE_USER = ""  # empty: no limit
    assert alice.get("/api/v1/workflows/").status_code == 200


def test_anonymous_requests_have_their_own_rate(settings, clean_counters):
    settings.FLOWPILOT_API_RATE_ANON = "1/minute"
    anonymous = APIClient()
    assert anonymous.post("/api/v1/auth/logout/").status_code == 204  # a view that needs no login
    assert anonymous.post("/api/v1/auth/logout/").status_code == 429


def test_a_malformed_rate_is_refused_at_start_up(monkeypatch):
    from django.core.exceptions import ImproperlyConfigured

    from flowpilot.env import env_rate

    monkeypatch.setenv("FLOWPILOT_API_RATE_USER", "fast")
    with pytest.raises(ImproperlyConfigured, match="FLOWPILOT_API_RATE_USER"):
        env_rate("FLOWPILOT_API_RATE_USER", "2000/minute")
    monkeypatch.setenv("FLOWPILOT_API_RATE_USER", "10/s")
    assert env_rate("FLOWPILOT_API_RATE_USER", "2000/minute") == "10/s"
    monkeypatch.delenv("FLOWPILOT_API_RATE_USER")
    assert env_rate("FLOWPILOT_API_RATE_USER", "2000/minute") == "2000/minute"
