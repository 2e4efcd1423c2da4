from django.apps import AppConfig


class MonitoringConfig(AppConfig):
    name = "monitoring"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from workflows.engine import events
        from workflows.services import recovery

        from . import prometheus

        if prometheus.observe not in events.subscribers:
            events.subscribers.append(prometheus.observe)  # every commit's transitions counted for /metrics
        recovery.row_failed.connect(prometheus.count_sweep_failure, dispatch_uid="flowpilot-sweep-row-failures")
