"""API request rates (DRF throttling), from settings.FLOWPILOT_API_RATE_USER / _ANON.

Read when a request is checked, not when the module is imported (DRF's own classes keep the rates
they saw at import), so that a deployment's settings and a test's `settings` fixture both apply.
The counters live in the default cache: Redis in services mode (shared by every web process),
local memory when embedded. An empty rate means no limit. When the cache cannot be reached (Redis
restarting, or slower than FLOWPILOT_CACHE_TIMEOUT_SECONDS), requests are let through, logged and
counted (flowpilot_requests_unlimited_total): a rate limit must not take the API down with it.
"""

from __future__ import annotations

from django.conf import settings
from rest_framework import throttling

from flowpilot import fail_open
from flowpilot.errors import CACHE_UNAVAILABLE


class FailOpen:
    """Mixed into every throttle class of the API (REST_FRAMEWORK's DEFAULT_THROTTLE_CLASSES)."""

    def allow_request(self, request, view) -> bool:
        try:
            return super().allow_request(request, view)
        except CACHE_UNAVAILABLE as exc:
            fail_open.request_unlimited(f"api_{self.scope}", exc)
            return True


class UserRateThrottle(FailOpen, throttling.UserRateThrottle):
    """Per authenticated user (per client address for anonymous requests)."""

    def get_rate(self) -> str | None:
        return settings.FLOWPILOT_API_RATE_USER or None


class AnonRateThrottle(FailOpen, throttling.AnonRateThrottle):
    """Per client address, for requests without a user (the views that allow them)."""

    def get_rate(self) -> str | None:
        return settings.FLOWPILOT_API_RATE_ANON or None
