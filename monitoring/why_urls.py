"""Routes of the run diagnosis (under /api/v1/): GET executions/{id}/why/."""

from django.urls import path

from .why_api import ExecutionWhyView

urlpatterns = [
    path("executions/<uuid:id>/why/", ExecutionWhyView.as_view(), name="execution-why"),
]
