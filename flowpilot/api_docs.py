"""The API docs pages: Swagger UI (/api/v1/docs/) and ReDoc (/api/v1/redoc/), from our own static
files (drf-spectacular-sidecar), with a Content-Security-Policy that lets them load nothing from any
other host. The policy is what keeps them offline for good: ReDoc's bundle, for one, asks
cdn.redoc.ly for the logo of its "API docs by Redocly" footer; the browser refuses that without a
request (and ReDoc hides the image)."""

from __future__ import annotations

from drf_spectacular.views import SpectacularRedocView, SpectacularSwaggerView

# Inline scripts and styles: drf-spectacular's Swagger UI page is one inline script, and ReDoc's
# styles are injected <style> tags. blob: for ReDoc's search worker; data: for the bundles' icons.
POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self' 'unsafe-inline' blob:",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self' data:",
    "worker-src 'self' blob:",
    "connect-src 'self'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'self'",
])


class _SelfOnly:
    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        response["Content-Security-Policy"] = POLICY
        return response


class SwaggerView(_SelfOnly, SpectacularSwaggerView):
    pass


class RedocView(_SelfOnly, SpectacularRedocView):
    template_name = "api_docs/redoc.html"  # drf-spectacular's, without its Google Fonts links
