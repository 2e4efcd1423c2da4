"""Celery entry points. Thin: load by id, call the orchestrator. JSON arguments only."""

from __future__ import annotations

import os
import socket

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from flowpilot import idle

from .engine import orchestrator
from .services import recovery

WORKER_ID = socket.gethostname()


@shared_task(bind=True, name="workflows.tasks.run_step", acks_late=True, reject_on_worker_lost=True,
             ignore_result=True)
def run_step(self, task_execution_id: str) -> str:
    worker = f"{self.request.hostname or WORKER_ID}:{os.getpid()}"
    return orchestrator.run_message(task_execution_id, worker_id=worker, celery_task_id=self.request.id or "")


@shared_task(name="workflows.tasks.start_scheduled", ignore_result=True)
def start_scheduled(execution_id: str) -> bool:
    """A pending run's start time came (its rate limit's slot): admit it now, as the sweeper would."""
    return recovery.start_scheduled_one(execution_id, now=timezone.now())


@shared_task(name="workflows.tasks.sweep", ignore_result=True)
def sweep() -> dict:
    published = idle.published()
    report = recovery.sweep()
    if not settings.SERVICES_MODE and recovery.nothing_in_flight():
        idle.at_rest(published_before=published)  # the embedded sweeper may rest until a step is sent
    return report.as_dict()
