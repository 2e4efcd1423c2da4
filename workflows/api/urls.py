from rest_framework.routers import DefaultRouter

from .views import CredentialViewSet, ExecutionViewSet, StepTypeViewSet, WorkflowViewSet

router = DefaultRouter()
router.register("workflows", WorkflowViewSet, basename="workflow")
router.register("executions", ExecutionViewSet, basename="execution")
router.register("step-types", StepTypeViewSet, basename="step-type")
router.register("credentials", CredentialViewSet, basename="credential")

urlpatterns = router.urls
