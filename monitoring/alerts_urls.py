"""Routes of the alert rules API (under /api/v1/)."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from .alerts_api import AlertEventListView, AlertRuleViewSet

router = SimpleRouter()
router.register("alert-rules", AlertRuleViewSet, basename="alert-rule")

urlpatterns = [
    path("alert-rules/<int:rule_id>/events/", AlertEventListView.as_view(), name="alert-rule-events"),
    *router.urls,
]
