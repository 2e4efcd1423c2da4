"""/api/v1/metrics/... (included by flowpilot/urls.py)."""

from django.urls import path

from . import api

urlpatterns = [
    path("workflows/", api.WorkflowMetricsView.as_view(), name="metrics-workflows"),
    path("steps/", api.StepMetricsView.as_view(), name="metrics-steps"),
    path("throughput/", api.ThroughputView.as_view(), name="metrics-throughput"),
    path("running/", api.RunningView.as_view(), name="metrics-running"),
    path("errors/", api.ErrorsView.as_view(), name="metrics-errors"),
    path("errors/retry/", api.ErrorRetryView.as_view(), name="metrics-errors-retry"),
]
