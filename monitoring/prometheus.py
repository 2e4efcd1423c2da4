"""Prometheus: GET /metrics in the text format.

- Counters and histograms of executions and steps by workflow, step and status, counted where every
  transition is seen: an events subscriber (workflows/engine/events.py), after commit, in whichever process
  committed (web, embedded worker threads, Celery workers).
- Gauges computed at scrape: runs and attempts in flight by status, from the database (the queued
  attempts are the queue depth that counts: the row is the outbox), and the broker's queue lengths
  when the broker is Redis.

Multi-process: with PROMETHEUS_MULTIPROC_DIR set (before the processes start, the same directory for
web and workers, emptied when the service starts), prometheus-client keeps each process's counters in
files there and /metrics adds them up (prometheus_client.multiprocess). Without it, /metrics reports
the counters of the process that serves it (right for the embedded mode: one process).

Protected by FLOWPILOT_METRICS_TOKEN: `Authorization: Bearer <token>`; without it 401. When the token
is unset, the embedded mode serves /metrics to anyone and services mode refuses (403).
"""

from __future__ import annotations

import hmac
import logging
import os
import socket
from collections.abc import Iterable

from django.conf import settings
from django.db.models import Count
from django.http import HttpResponse
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily

from flowpilot import fail_open
from workflows.engine.planner.states import STATUS_OF
from workflows.engine.planner.states import ExecutionStatus as E
from workflows.engine.planner.states import TaskStatus as T
from workflows.models import TaskExecution, WorkflowExecution

log = logging.getLogger(__name__)


def process_identifier() -> str:
    """Names this process's files in PROMETHEUS_MULTIPROC_DIR. Containers that share the directory
    (docker-compose's web and workers) repeat pids, so the host is part of the name ("_" is the
    file name's separator, hence replaced)."""
    return f"{socket.gethostname().replace('_', '-')}-{os.getpid()}"


if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    from prometheus_client import values

    # Before the first labelled child is made (all the metrics below have labels).
    values.ValueClass = values.MultiProcessValue(process_identifier=process_identifier)

# Seconds; a step is often milliseconds (a no-op) to minutes (an HTTP call with retries inside).
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900, 3600)

EXECUTIONS = Counter("flowpilot_executions", "Executions that reached a status (transitions into it).",
                     ["workflow_id", "workflow", "status"])
STEPS = Counter("flowpilot_steps", "Step attempts that reached a status (transitions into it).",
                ["workflow_id", "workflow", "step", "status"])
EXECUTION_SECONDS = Histogram("flowpilot_execution_duration_seconds",
                              "Duration of the executions that ended (completed or failed), started to end.",
                              ["workflow_id", "workflow", "status"], buckets=BUCKETS)
STEP_SECONDS = Histogram("flowpilot_step_duration_seconds",
                         "Duration of the step attempts that ended (completed or failed), claim to end.",
                         ["workflow_id", "workflow", "step", "status"], buckets=BUCKETS)
SWEEP_ROW_FAILURES = Counter("flowpilot_sweep_row_failures", "Rows a sweeper phase could not handle (logged, then "
                             "set aside: their attempt and run ended with the error, or skipped).",
                             ["phase", "set_aside"])

ENDED = {"completed", "failed"}


def count_sweep_failure(sender: str, *, set_aside: bool = False, **kwargs) -> None:
    """Receiver of workflows.services.recovery.row_failed."""
    SWEEP_ROW_FAILURES.labels(phase=sender, set_aside=str(bool(set_aside)).lower()).inc()


# --- counting the transitions (an events subscriber) -----------------------------------------------

def observe(rows: Iterable) -> None:
    """The events subscriber: count the transitions among one commit's ExecutionLog rows. One query
    for their workflows (and the durations of what ended). Never raises: metrics never cost a step."""
    try:
        _observe(list(rows))
    except Exception:
        log.warning("metrics of a commit's events not counted", exc_info=True)


def _observe(rows: list) -> None:
    transitions = [(row, STATUS_OF[row.event]) for row in rows if row.event in STATUS_OF]
    if not transitions:
        return
    # The writer's labels where it gave them (a run's duration is read only for a run that ended).
    ended = {row.execution_id for row, status in transitions if not row.event.startswith("step.") and status in ENDED}
    labels = {row.execution_id: (str(row.run_labels.workflow_id), row.run_labels.workflow_name, None)
              for row, _ in transitions if getattr(row, "run_labels", None) is not None
              and row.execution_id not in ended}
    runs = {row.execution_id for row, _ in transitions} - labels.keys()
    tasks = {row.task_execution_id for row, status in transitions
             if row.event.startswith("step.") and status in ENDED and row.task_execution_id}
    if runs:
        labels.update({pk: (str(workflow_id), name, duration) for pk, workflow_id, name, duration in
                       WorkflowExecution.objects.filter(pk__in=runs).values_list("pk", "workflow_id", "workflow__name",
                                                                                   "duration_ms")})
    durations = dict(TaskExecution.objects.filter(pk__in=tasks).values_list("pk", "duration_ms")) if tasks else {}
    for row, status in transitions:
        if row.execution_id not in labels:
            continue
        workflow_id, name, run_ms = labels[row.execution_id]
        if row.event.startswith("step."):
            STEPS.labels(workflow_id, name, row.step_key, status).inc()
            ms = durations.get(row.task_execution_id)
            if status in ENDED and ms is not None:
                STEP_SECONDS.labels(workflow_id, name, row.step_key, status).observe(ms / 1000)
        else:
            EXECUTIONS.labels(workflow_id, name, status).inc()
            if status in ENDED and run_ms is not None:
                EXECUTION_SECONDS.labels(workflow_id, name, status).observe(run_ms / 1000)


# --- computed at scrape ---------------------------------------------------------------------------

class InFlightCollector:
    """Runs and attempts in flight now (from the database), and the broker's queue lengths."""

    def collect(self):
        runs = GaugeMetricFamily("flowpilot_executions_in_flight", "Executions pending or running now.",
                                 labels=["status"])
        counted = dict(WorkflowExecution.objects.filter(status__in=[E.PENDING, E.RUNNING]).order_by()
                       .values("status").annotate(n=Count("pk")).values_list("status", "n"))
        for status in (E.PENDING, E.RUNNING):
            runs.add_metric([status], counted.get(status, 0))
        yield runs
        steps = GaugeMetricFamily("flowpilot_steps_in_flight",
                                  "Step attempts queued (the queue depth: sent, not yet claimed), running, "
                                  "waiting (a timer or a signal) or retrying (due at their backoff) now.",
                                  labels=["status"])
        counted = dict(TaskExecution.objects.filter(status__in=[T.QUEUED, T.RUNNING, T.WAITING, T.RETRYING])
                       .order_by().values("status").annotate(n=Count("pk")).values_list("status", "n"))
        for status in (T.QUEUED, T.RUNNING, T.WAITING, T.RETRYING):
            steps.add_metric([status], counted.get(status, 0))
        yield steps
        lengths = broker_queue_lengths()
        if lengths is not None:
            broker = GaugeMetricFamily("flowpilot_broker_queue_length",
                                       "Messages waiting in the broker's queue (Redis).", labels=["queue"])
            for queue, n in lengths.items():
                broker.add_metric([queue], n)
            yield broker


def broker_queues() -> list[str]:
    names = {settings.CELERY_TASK_DEFAULT_QUEUE}
    names.update(route["queue"] for route in getattr(settings, "CELERY_TASK_ROUTES", {}).values() if "queue" in route)
    return sorted(names)


def broker_queue_lengths() -> dict[str, int] | None:
    """LLEN of each queue (kombu's Redis transport keeps a queue as a list of its name; its priority
    levels as lists named queue + separator + level, counted in). None without Redis or when it
    does not answer (the database figures are still reported)."""
    if not settings.SERVICES_MODE or not settings.CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
        return None
    import redis
    from kombu.transport.redis import PRIORITY_STEPS, Channel

    levels = ["", *(f"{Channel.sep}{p}" for p in PRIORITY_STEPS if p)]
    queues = broker_queues()
    try:
        client = redis.Redis.from_url(settings.CELERY_BROKER_URL, socket_timeout=1, socket_connect_timeout=1)
        with client.pipeline(transaction=False) as pipe:
            for queue in queues:
                for level in levels:
                    pipe.llen(queue + level)
            counts = pipe.execute()
    except Exception as exc:
        log.warning("broker queue lengths not read: %s", exc)
        return None
    n = len(levels)
    return {queue: sum(counts[i * n:(i + 1) * n]) for i, queue in enumerate(queues)}


def registry() -> CollectorRegistry:
    """The process's own counters, or every process's (PROMETHEUS_MULTIPROC_DIR), and the gauges."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        found = CollectorRegistry()
        multiprocess.MultiProcessCollector(found)
    else:
        found = CollectorRegistry(auto_describe=True)
        for metric in (EXECUTIONS, STEPS, EXECUTION_SECONDS, STEP_SECONDS, *fail_open.COUNTERS):
            found.register(metric)
    found.register(InFlightCollector())
    return found


# --- the endpoint -----------------------------------------------------------------------------------

def _refusal(request) -> HttpResponse | None:
    token = settings.FLOWPILOT_METRICS_TOKEN
    if not token:
        if settings.SERVICES_MODE:
            return HttpResponse("/metrics is off: set FLOWPILOT_METRICS_TOKEN to a secret and send it as "
                                "'Authorization: Bearer <token>'.\n", status=403, content_type="text/plain")
        return None  # the embedded mode: one machine, one user
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), token.encode()):
        response = HttpResponse("a bearer token is needed\n", status=401, content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return None


@require_GET
def metrics_view(request):
    refused = _refusal(request)
    if refused is not None:
        return refused
    return HttpResponse(generate_latest(registry()), content_type=CONTENT_TYPE_LATEST)
