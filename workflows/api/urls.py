from django.urls import path
from rest_framework.routers import DefaultRouter

from .actions import action_urls
from .approvals import ApprovalViewSet
from .error_workflows import ErrorWorkflowDefaultView
from .limits import LimitsView
from .portability import WorkflowExportView, WorkflowImportView
from .views import CredentialViewSet, ExecutionViewSet, StepTypeViewSet, WorkflowViewSet

router = DefaultRouter()
router.register("workflows", WorkflowViewSet, basename="workflow")
router.register("executions", ExecutionViewSet, basename="execution")
router.register("step-types", StepTypeViewSet, basename="step-type")
router.register("credentials", CredentialViewSet, basename="credential")

# Before the router's: its workflows/<pk>/ route would take "import" for an id.
urlpatterns = [
    path("workflows/import/", WorkflowImportView.as_view(), name="workflow-import"),
    path("limits/", LimitsView.as_view(), name="limits"),
    path("error-workflow-default/", ErrorWorkflowDefaultView.as_view(), name="error-workflow-default"),
    path("approvals/", ApprovalViewSet.as_view({"get": "list"}), name="approval-list"),
    path("approvals/<uuid:pk>/", ApprovalViewSet.as_view({"post": "decide"}), name="approval-decide"),
    path("workflows/<str:pk>/export/", WorkflowExportView.as_view(), name="workflow-export"),
    *router.urls,
    *action_urls(),  # POST actions/<name>/ for each @action of the code workflows
]
