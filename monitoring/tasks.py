"""Celery entry points of monitoring. Thin: each calls one service."""

from __future__ import annotations

from celery import shared_task

from . import alert_services, presence


@shared_task(name="monitoring.tasks.evaluate_alerts", ignore_result=True)
def evaluate_alerts() -> dict:
    return alert_services.alerts_evaluate().as_dict()


@shared_task(name="monitoring.tasks.beat_tick", ignore_result=True)
def beat_tick() -> None:
    presence.beat_ticked()
