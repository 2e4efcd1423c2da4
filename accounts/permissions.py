"""Who may read the API's description: the OpenAPI schema and its interactive docs (/api/v1/schema/,
/api/v1/docs/). Logged-in users (session or token) only, unless FLOWPILOT_PUBLIC_API_DOCS publishes
them; read when a request is checked, so a deployment's settings and a test's `settings` both apply."""

from __future__ import annotations

from django.conf import settings
from rest_framework.permissions import BasePermission


class ApiDocsAccess(BasePermission):
    def has_permission(self, request, view) -> bool:
        return settings.FLOWPILOT_PUBLIC_API_DOCS or bool(request.user and request.user.is_authenticated)
