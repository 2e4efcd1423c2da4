"""Triggers: webhooks, cron schedules (django-celery-beat) and events that start workflows."""
