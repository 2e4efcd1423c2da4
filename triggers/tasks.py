"""Celery entry points of the triggers: celery-beat sends fire_schedule at each cron time, and
prune_seen_signatures every few minutes (flowpilot/settings.py's CELERY_BEAT_SCHEDULE)."""

from celery import shared_task

from . import services


@shared_task(name="triggers.tasks.fire_schedule", ignore_result=True)
def fire_schedule(trigger_id: str) -> list[str]:
    return [str(execution.pk) for execution in services.schedule_fire(trigger_id)]


@shared_task(name="triggers.tasks.prune_seen_signatures", ignore_result=True)
def prune_seen_signatures() -> int:
    return services.webhook_signatures_prune()
