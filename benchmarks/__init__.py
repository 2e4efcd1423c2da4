"""Benchmarks of FlowPilot against services (PostgreSQL, Redis, Celery workers). `make bench`.

Nothing here imports Django at import time: the benchmark sets its environment (its own
database and Redis db) before Django reads the settings.
"""
