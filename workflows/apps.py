from django.apps import AppConfig
from django.conf import settings


class WorkflowsConfig(AppConfig):
    name = "workflows"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import steps  # noqa: F401  (registers the built-in step types)
        from .steps.registry import load_modules

        load_modules(settings.FLOWPILOT_STEP_MODULES)
