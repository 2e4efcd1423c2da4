from django.apps import AppConfig
from django.conf import settings


class WorkflowsConfig(AppConfig):
    name = "workflows"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Importing workflows.steps registers the built-in step types; child_runs receives the
        # orchestrator's children.parent_check_due.
        from .services import child_runs
        from .engine import events
        from . import live  # noqa: F401
        from .steps import registry

        registry.load_modules(settings.FLOWPILOT_STEP_MODULES)
        from .code import registry as code_registry

        code_registry.autodiscover()  # each app's workflows.py: a duplicate workflow name fails here
        if settings.FLOWPILOT_LIVE_EVENTS and live.publish not in events.subscribers:
            events.subscribers.append(live.publish)  # every commit's events to the WebSocket groups
