from django.urls import path
from rest_framework.routers import SimpleRouter

from .views import EventView, TriggerViewSet, WorkflowTriggersView

router = SimpleRouter()
router.register("triggers", TriggerViewSet, basename="trigger")

urlpatterns = [
    path("workflows/<uuid:workflow_id>/triggers/", WorkflowTriggersView.as_view(), name="workflow-triggers"),
    path("events/", EventView.as_view(), name="events"),
    *router.urls,
]
