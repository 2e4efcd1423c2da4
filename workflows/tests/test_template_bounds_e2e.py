"""Issue 12, findings 3 and 4, on real workers: a hostile template or condition fails its own step
clearly and at once (non-retryable, naming the bound), and another user's run goes on meanwhile."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from workflows import services
from workflows.models import TaskExecution, WorkflowExecution
from workflows.engine.planner.states import ExecutionStatus as E
from workflows.tests.cluster import Cluster, flush_broker, wait_for
from workflows.tests.factories import active_workflow, step

pytestmark = [pytest.mark.e2e, pytest.mark.services, pytest.mark.django_db(transaction=True),
              pytest.mark.xdist_group("test_template_bounds_e2e")]  # one process runs the module: one worker fixture

QUICK_RETRIES = {"max_retries": 2, "retry_base_delay": 0.1, "retry_max_delay": 0.2}


@pytest.fixture(scope="module")
def cluster(django_db_setup, django_db_blocker):
    """One worker for the module (each test's data is flushed after it; the worker keeps nothing)."""
    flush_broker()
    c = Cluster()
    try:
        c.start_beat()
        c.start_worker("w1", concurrency=2)
        yield c
    finally:
        c.stop()


def _ended(execution) -> WorkflowExecution | None:
    execution.refresh_from_db()
    return execution if execution.status in (E.COMPLETED, E.FAILED) else None


def _transform(key: str, source: str, **fields) -> dict:
    return step(key, "data_transform", config={"source": source, "transforms": []}, **fields)


def test_a_hostile_when_fails_its_step_and_another_users_run_goes_on(cluster, user):
    hostile = active_workflow(user, [
        step("first", function="noop"),
        step("gated", function="noop", depends_on=["first"], when="('ab'*350000)|wordwrap(1)|length > 0"),
    ], name="hostile when", **QUICK_RETRIES)
    bob = get_user_model().objects.create_user("bob")
    other = active_workflow(bob, [step("only", function="noop")], name="bob's")

    attack = services.execution_start(workflow=hostile, input_data={})[0]
    victim = services.execution_start(workflow=other, input_data={})[0]

    assert wait_for(lambda: _ended(victim), timeout=30, message="bob's run to end").status == E.COMPLETED
    assert wait_for(lambda: _ended(attack), timeout=30, message="the hostile run to end").status == E.FAILED
    gated = TaskExecution.objects.get(execution=attack, step_key="gated")
    assert "FLOWPILOT_TEMPLATE_MAX_CHARS" in gated.error_message
    assert gated.error_details["retryable"] is False


def test_a_value_past_the_output_bound_fails_the_step_without_retries(cluster, user):
    workflow = active_workflow(user, [_transform("pad", "{{ ''|center(10**7) }}")], name="pad", **QUICK_RETRIES)
    execution = services.execution_start(workflow=workflow, input_data={})[0]

    assert wait_for(lambda: _ended(execution), timeout=30, message="the run to end").status == E.FAILED
    attempts = list(TaskExecution.objects.filter(execution=execution, step_key="pad"))
    assert len(attempts) == 1, [a.error_message for a in attempts]
    assert "FLOWPILOT_TEMPLATE_MAX_CHARS" in attempts[0].error_message
    assert attempts[0].output is None
    assert attempts[0].error_details["retryable"] is False


@pytest.mark.parametrize("source, kind", [("{{ range(3) }}", "range"), ("{{ self }}", "TemplateReference")])
def test_a_non_json_value_is_a_clear_step_error_not_a_lost_worker(cluster, user, source, kind):
    workflow = active_workflow(user, [_transform("shape", source)], name="not json", **QUICK_RETRIES)
    execution = services.execution_start(workflow=workflow, input_data={})[0]

    assert wait_for(lambda: _ended(execution), timeout=30, message="the run to end").status == E.FAILED
    attempts = list(TaskExecution.objects.filter(execution=execution, step_key="shape"))
    assert len(attempts) == 1, [a.error_message for a in attempts]
    message = attempts[0].error_message
    assert f"is a {kind}, which is not JSON" in message and "config.source" in message
    assert "worker lost" not in message and "lease" not in message
    assert attempts[0].error_details["retryable"] is False
