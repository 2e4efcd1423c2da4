"""FlowPilot's URLs with POST /bench/bare/ first (before the single-page app's catch-all)."""

from django.urls import path

from benchmarks.bare_api.views import BareInsert
from flowpilot.urls import handler400, handler404, handler500, urlpatterns as flowpilot_urlpatterns  # noqa: F401

urlpatterns = [path("bench/bare/", BareInsert.as_view()), *flowpilot_urlpatterns]
