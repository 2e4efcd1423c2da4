from django.apps import AppConfig
from django.conf import settings


class WorkflowsConfig(AppConfig):
    name = "workflows"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Importing workflows.steps registers the built-in step types; the receivers connect:
        # child_runs to the orchestrator's children.parent_check_due, error_runs to its execution_failed, code.sync to the triggers'
        # event_emitting (what sits above a layer listens to it; the layer never imports it).
        from . import live
        from .code import registry as code_registry
        from .code import sync  # noqa: F401
        from .engine import events
        from .services import child_runs, error_runs  # noqa: F401
        from .steps import registry

        registry.load_modules(settings.FLOWPILOT_STEP_MODULES)

        code_registry.autodiscover()  # each app's workflows.py: a duplicate workflow name fails here
        if settings.FLOWPILOT_LIVE_EVENTS and live.publish not in events.subscribers:
            events.subscribers.append(live.publish)  # every commit's events to the WebSocket groups
