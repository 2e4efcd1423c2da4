"""Structured logs: FLOWPILOT_LOG_FORMAT=json makes every log line one JSON object, and lines written
while the engine runs an attempt carry its execution_id, step_key and task_id."""

from __future__ import annotations

import io
import json
import logging
import re

import pytest

from flowpilot import logs
from monitoring.tests import log_functions  # noqa: F401 (registers the step function here too)
from workflows import services
from workflows.engine.planner.states import ExecutionStatus as E
from workflows.tests.cluster import Cluster, flush_broker, wait_for
from workflows.tests.factories import active_workflow, step

PLAIN_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} [A-Z]+ ")


def capture(formatter: logging.Formatter):
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    handler.addFilter(logs.ContextFilter())
    logger = logging.getLogger("flowpilot.tests.capture")
    logger.addHandler(handler)
    logger.propagate = False
    logger.setLevel(logging.INFO)
    return logger, stream


def test_json_lines_carry_the_bound_ids():
    logger, stream = capture(logs.JsonFormatter())
    logger.info("outside")
    with logs.bound(execution_id="e-1", task_id="t-1"), logs.bound(step_key="create_patient"):
        logger.warning("inside %s", "the step")
    try:
        raise ValueError("bad")
    except ValueError:
        logger.exception("failed")
    first, second, third = (json.loads(line) for line in stream.getvalue().splitlines())
    assert set(first) == {"time", "level", "logger", "message"} and first["message"] == "outside"
    assert {k: second[k] for k in ("level", "logger", "message", "execution_id", "step_key", "task_id")} == {
        "level": "WARNING", "logger": "flowpilot.tests.capture", "message": "inside the step",
        "execution_id": "e-1", "step_key": "create_patient", "task_id": "t-1"}
    assert third["level"] == "ERROR" and "ValueError: bad" in third["exception"] and "execution_id" not in third
    assert logs.current() == {}


def test_the_plain_format_appends_the_ids():
    logger, stream = capture(logging.Formatter("%(levelname)s %(name)s: %(message)s%(log_context)s"))
    with logs.bound(execution_id="e-1", step_key="a", task_id=None):
        logger.info("hello")
    assert stream.getvalue() == "INFO flowpilot.tests.capture: hello execution_id=e-1 step_key=a\n"


@pytest.mark.django_db
def test_the_ids_follow_the_step_into_its_handler_thread(user, sync_executor, caplog):
    workflow = active_workflow(user, [step("shout", function="log_a_line", kwargs={"text": "hi"})])
    execution, _ = services.execution_start(workflow=workflow, input_data={})
    seen = []

    class Keep(logging.Handler):
        def emit(self, record):
            seen.append((record.getMessage(), logs.current()))

    handler = Keep()
    logging.getLogger("flowpilot.tests.steps").addHandler(handler)
    try:
        sync_executor.drain()
    finally:
        logging.getLogger("flowpilot.tests.steps").removeHandler(handler)
    task = execution.task_executions.get()
    assert seen == [("a line from inside the step: hi", {
        "task_id": str(task.pk), "execution_id": str(execution.pk), "step_key": "shout"})]


@pytest.mark.e2e
@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_a_worker_writes_json_lines_with_the_attempts_ids(user):
    flush_broker()
    cluster = Cluster(FLOWPILOT_LOG_FORMAT="json",
                      FLOWPILOT_STEP_MODULES="workflows.tests.functions,monitoring.tests.log_functions")
    try:
        cluster.start_worker()
        cluster.start_beat()
        workflow = active_workflow(user, [step("shout", function="log_a_line", kwargs={"text": "from a worker"}),
                                          step("boom", function="fail", kwargs={"retryable": False},
                                               depends_on=["shout"])])
        execution, _ = services.execution_start(workflow=workflow, input_data={})
        wait_for(lambda: type(execution).objects.get(pk=execution.pk).status == E.FAILED, timeout=30,
                 message="the run to fail")
        task = execution.task_executions.get(step_key="shout")
        line = wait_for(lambda: next((ln for ln in cluster.log("worker").splitlines() if "from a worker" in ln), None),
                        timeout=10, message="the step's log line")
    finally:
        cluster.stop()
    record = json.loads(line)
    assert {k: record[k] for k in ("level", "logger", "message", "execution_id", "step_key", "task_id")} == {
        "level": "WARNING", "logger": "flowpilot.tests.steps", "message": "a line from inside the step: from a worker",
        "execution_id": str(execution.pk), "step_key": "shout", "task_id": str(task.pk)}
    # Every log line of the worker is JSON (Celery's start-up banner is printed, not logged).
    lines = cluster.log("worker").splitlines() + cluster.log("beat").splitlines()
    assert not [ln for ln in lines if PLAIN_LINE.match(ln)]
    parsed = [json.loads(ln) for ln in lines if ln.startswith("{")]
    assert parsed and all({"time", "level", "logger", "message"} <= set(p) for p in parsed)
