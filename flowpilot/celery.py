"""The Celery application: configured from Django settings (CELERY_*), tasks found in the apps."""

import os

from celery import Celery
from celery.signals import beat_init, celeryd_init, task_prerun, worker_process_init
from django.conf import settings
from django.db import close_old_connections

from . import database, gc_tuning

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "flowpilot.settings")

app = Celery("flowpilot")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def _add_bootsteps() -> None:
    from monitoring.presence import WorkerPresence

    app.steps["consumer"].add(WorkerPresence)  # /health's "workers": a heartbeat while consuming


_add_bootsteps()


@celeryd_init.connect
def _worker_database_pool(**kwargs) -> None:
    """A worker's connections: named flowpilot-worker, FLOWPILOT_WORKER_DB_POOL_MAX per process
    (set before its first query, so its prefork children are made with the same options)."""
    database.use_role("worker", max_size=settings.FLOWPILOT_WORKER_DB_POOL_MAX)


@beat_init.connect
def _beat_database_pool(**kwargs) -> None:
    database.use_role("beat", max_size=settings.FLOWPILOT_WORKER_DB_POOL_MAX)


@worker_process_init.connect
def _child_database_pool(**kwargs) -> None:
    """A prefork child makes its own pool; the one it inherited belongs to its parent. (Connected
    before Celery's Django fixup, which would close the inherited pool, and with it the parent's
    sessions.)"""
    database.forget_inherited_pool()
    gc_tuning.tune()  # the child's code is loaded (inherited from its parent): freeze it


@task_prerun.connect
def _fresh_database_connection(**kwargs) -> None:
    """As at the start of a web request: the last task's connection goes back to the pool (or is
    dropped when broken), and this task takes a checked one."""
    close_old_connections()
