"""URL map: the REST API under /api/v1/, the admin, /health, the OpenAPI schema, and the single-page
app for every other path (flowpilot/spa.py)."""

from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView

from flowpilot import api_docs, spa
from monitoring.prometheus import metrics_view
from monitoring.views import health, live, ready
from triggers.views import webhook
from workflows.approval_pages import approval_link

urlpatterns = [
    path("admin/", admin.site.urls),
    path("health", health, name="health"),
    path("health/live", live, name="health-live"),
    path("health/ready", ready, name="health-ready"),
    path("metrics", metrics_view, name="metrics"),
    path("api/v1/", include("monitoring.why_urls")),  # executions/{id}/why/ (monitoring/why.py)
    path("api/v1/", include("workflows.api.urls")),
    path("api/v1/", include("accounts.urls")),
    path("api/v1/", include("triggers.api.urls")),
    path("api/v1/metrics/", include("monitoring.urls")),
    path("api/v1/", include("monitoring.alerts_urls")),
    path("api/v1/", include("monitoring.dead_letters_urls")),
    path("hooks/<str:token>/", webhook, name="webhook"),
    path("approval-links/<str:token>/", approval_link, name="approval-link"),
    path("api/v1/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/v1/docs/", api_docs.SwaggerView.as_view(url_name="schema"), name="docs"),
    path("api/v1/redoc/", api_docs.RedocView.as_view(url_name="schema"), name="redoc"),
    path("api-auth/", include("rest_framework.urls")),
    re_path(spa.ROUTE, spa.index, name="app"),  # last: client-side routes (/workflows/<id>...) load the app
]

handler400 = "flowpilot.errors.bad_request"
handler404 = "flowpilot.errors.not_found"
handler500 = "flowpilot.errors.server_error"
