"""The Celery application: configured from Django settings (CELERY_*), tasks found in the apps."""

import os

from celery import Celery
from celery.signals import task_prerun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "flowpilot.settings")

app = Celery("flowpilot")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def _add_bootsteps() -> None:
    from monitoring.presence import WorkerPresence

    app.steps["consumer"].add(WorkerPresence)  # /health's "workers": a heartbeat while consuming


_add_bootsteps()


@task_prerun.connect
def _fresh_database_connection(**kwargs) -> None:
    """As at the start of a web request: drop a connection that is broken or past CONN_MAX_AGE."""
    from django.db import close_old_connections

    close_old_connections()
