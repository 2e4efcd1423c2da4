"""Celery entry points of the triggers: celery-beat sends fire_schedule at each cron time."""

from celery import shared_task

from . import services


@shared_task(name="triggers.tasks.fire_schedule", ignore_result=True)
def fire_schedule(trigger_id: str) -> list[str]:
    return [str(execution.pk) for execution in services.schedule_fire(trigger_id)]
