"""Branching and waiting: conditional, labelled edges, signals, approvals, timeouts."""

from datetime import timedelta

import pytest
from django.utils import timezone

from workflows import services
from workflows.errors import Conflict, InvalidInput
from workflows.models import TaskExecution
from workflows.services.recovery import sweep
from workflows.engine.planner.states import ExecutionStatus as E
from workflows.engine.planner.states import TaskStatus as T
from workflows.tests import functions
from workflows.tests.factories import active_workflow, step


@pytest.fixture(autouse=True)
def clean_calls():
    functions.CALLS.clear()


def statuses(execution) -> dict:
    rows = TaskExecution.objects.filter(execution=execution).order_by("attempt")
    return {r.step_key: r.status for r in rows}


def record(key, value, *deps, **fields):
    return step(key, function="record", kwargs={"value": value}, depends_on=list(deps), **fields)


def start(wf, sync_executor, **input_data):
    execution, _ = services.execution_start(workflow=wf, input_data=input_data)
    sync_executor.drain()
    execution.refresh_from_db()
    return execution


def later(seconds):
    return timezone.now() + timedelta(seconds=seconds)


def signup_flow(user):
    """signup -> plan? pro: crm_pro / else: crm_basic -> join: slack"""
    return active_workflow(user, [
        record("signup", "signup"),
        step("plan", "conditional", config={"condition": "{{ input.plan == 'pro' }}"}, depends_on=["signup"]),
        record("crm_pro", "pro", "plan:true"),
        record("crm_basic", "basic", "plan:false"),
        record("slack", "slack", "crm_pro", "crm_basic"),
    ])


@pytest.mark.parametrize("plan,taken,skipped", [("pro", "crm_pro", "crm_basic"), ("free", "crm_basic", "crm_pro")])
def test_a_conditional_runs_one_branch_skips_the_other_and_joins_once(user, sync_executor, plan, taken, skipped):
    execution = start(signup_flow(user), sync_executor, plan=plan)
    assert execution.status == E.COMPLETED
    status = statuses(execution)
    assert status[taken] == T.COMPLETED and status[skipped] == T.SKIPPED and status["slack"] == T.COMPLETED
    assert [c["value"] for c in functions.CALLS] == ["signup", "pro" if plan == "pro" else "basic", "slack"]
    assert TaskExecution.objects.get(execution=execution, step_key="plan").output == {
        "branch": "true" if plan == "pro" else "false"}


def test_cases_choose_the_first_match_or_the_default(user, sync_executor):
    wf = active_workflow(user, [
        step("route", "conditional", config={"cases": [
            {"branch": "big", "when": "{{ input.amount > 1000 }}"},
            {"branch": "medium", "when": "{{ input.amount > 100 }}"}], "default": "small"}),
        record("big", "big", "route:big"), record("medium", "medium", "route:medium"),
        record("small", "small", "route:small"),
    ])
    for amount, expected in ((5000, "big"), (500, "medium"), (5, "small")):
        functions.CALLS.clear()
        start(wf, sync_executor, amount=amount)
        assert [c["value"] for c in functions.CALLS] == [expected]


def test_cases_take_field_conditions_beside_templates(user, sync_executor):
    wf = active_workflow(user, [
        step("route", "conditional", config={"cases": [
            {"branch": "big", "when": {"field": "order.amount", "operator": "gt", "value": 1000}},
            {"branch": "medium", "when": "{{ input.order.amount > 100 }}"}], "default": "small"}),
        record("big", "big", "route:big"), record("medium", "medium", "route:medium"),
        record("small", "small", "route:small"),
    ])
    for amount, expected in ((5000, "big"), (500, "medium"), (5, "small")):
        functions.CALLS.clear()
        start(wf, sync_executor, order={"amount": amount})
        assert [c["value"] for c in functions.CALLS] == [expected]


def test_a_bad_field_condition_in_a_case_is_refused_at_save_naming_it(user):
    with pytest.raises(InvalidInput) as caught:
        active_workflow(user, [step("route", "conditional", config={"cases": [
            {"branch": "big", "when": {"field": "amount", "operator": "matches", "value": "(\\d+)+$"}}]})])
    assert any("backtrack" in m for m in caught.value.fields["steps.route.config.cases.0.when.value"])


def test_skipping_propagates_down_an_untaken_branch(user, sync_executor):
    wf = active_workflow(user, [
        step("check", "conditional", config={"condition": "{{ input.ok }}"}),
        record("a", "a", "check:true"), record("b", "b", "a"), record("c", "c", "b"),
        record("after", "after", "c", "check:false"),
    ])
    execution = start(wf, sync_executor, ok=False)
    assert statuses(execution) == {"check": T.COMPLETED, "a": T.SKIPPED, "b": T.SKIPPED, "c": T.SKIPPED,
                                   "after": T.COMPLETED}


@pytest.mark.parametrize("depends_on,message", [
    (["plan:maybe"], "'plan' has no branch 'maybe'; its branches: true, false"),
    (["signup:true"], "'signup' has no branches to choose from"),
])
def test_a_branch_that_cannot_happen_is_refused_at_save_time(user, depends_on, message):
    with pytest.raises(InvalidInput) as error:
        services.workflow_create(owner=user, data={"name": "bad"}, steps=[
            record("signup", "x"), step("plan", "conditional", config={"condition": "{{ true }}"}),
            record("next", "y", *depends_on)])
    assert message in error.value.message and "steps.next.depends_on" in error.value.fields


def test_a_condition_must_render_to_true_or_false(user, sync_executor):
    with pytest.raises(InvalidInput, match="condition"):
        services.workflow_create(owner=user, data={"name": "bad"}, steps=[
            step("plan", "conditional", config={"condition": "input.plan == 'pro'"})])  # not a template
    wf = active_workflow(user, [step("plan", "conditional", config={"condition": "{{ input.plan }}"})])
    execution = start(wf, sync_executor, plan="pro")
    assert execution.status == E.FAILED and "is not of type 'boolean'" in execution.error_message


def approval_flow(user, **config):
    return active_workflow(user, [
        record("request", "request"),
        step("approve", "approval", config={"message": "Refund {{ input.amount }}?", "timeout_seconds": 3600,
                                            **config}, depends_on=["request"]),
        record("refund", "refund {{ context.note }}", "approve:approved"),
        record("decline", "decline", "approve:rejected"),
        record("escalate", "escalate", "approve:timeout"),
    ])


def test_an_approval_waits_without_a_worker_and_follows_the_decision(user, sync_executor):
    execution = start(approval_flow(user), sync_executor, amount=40)
    row = TaskExecution.objects.get(execution=execution, step_key="approve")
    assert row.status == T.WAITING and row.signal_name == "approval" and row.wake_at > later(3500)
    assert sync_executor.queue == type(sync_executor.queue)()  # nothing queued: no worker is held
    services.execution_signal(execution=execution, name="approval", payload={"approved": True, "note": "ok by Bo"})
    sync_executor.drain()
    execution.refresh_from_db()
    assert execution.status == E.COMPLETED and execution.context == {"approved": True, "note": "ok by Bo"}
    assert [c["value"] for c in functions.CALLS] == ["request", "refund ok by Bo"]
    approve = TaskExecution.objects.get(execution=execution, step_key="approve")
    assert approve.output["branch"] == "approved" and approve.output["payload"]["note"] == "ok by Bo"


def test_a_rejection_takes_the_rejected_branch(user, sync_executor):
    execution = start(approval_flow(user), sync_executor, amount=40)
    services.execution_signal(execution=execution, name="approval", payload={"approved": False})
    sync_executor.drain()
    assert [c["value"] for c in functions.CALLS] == ["request", "decline"]


def test_an_approval_needs_a_yes_or_no_and_a_waiting_step(user, sync_executor):
    execution = start(approval_flow(user), sync_executor, amount=40)
    with pytest.raises(InvalidInput, match="approved"):
        services.execution_signal(execution=execution, name="approval", payload={"approved": "yes"})
    with pytest.raises(Conflict, match="no step of this execution is waiting for signal 'other'"):
        services.execution_signal(execution=execution, name="other")
    assert TaskExecution.objects.get(execution=execution, step_key="approve").status == T.WAITING


def test_a_signal_timeout_takes_the_timeout_path(user, sync_executor):
    execution = start(approval_flow(user), sync_executor, amount=40)
    assert sweep(now=later(3000)).timers_fired == 0
    assert sweep(now=later(3601)).timers_fired == 1
    sync_executor.drain()
    execution.refresh_from_db()
    assert execution.status == E.COMPLETED
    assert [c["value"] for c in functions.CALLS] == ["request", "escalate"]
    assert statuses(execution)["refund"] == T.SKIPPED
    with pytest.raises(Conflict):
        services.execution_signal(execution=execution, name="approval", payload={"approved": True})


def test_a_signal_timeout_can_fail_the_run(user, sync_executor):
    execution = start(approval_flow(user, on_timeout="fail"), sync_executor, amount=40)
    sweep(now=later(3601))
    execution.refresh_from_db()
    assert execution.status == E.FAILED
    assert execution.error_message == "step 'approve' failed: timed out waiting for signal 'approval'"


def test_wait_for_signal_through_the_api(api, user, sync_executor):
    wf = active_workflow(user, [
        step("wait", "wait_for_signal", config={"signal": "payment_received"}),
        record("ship", "ship to {{ context.address }}", "wait:received"),
    ])
    execution = start(wf, sync_executor)
    url = f"/api/v1/executions/{execution.pk}/signal/"
    assert api.post(url, {"name": "nope"}, format="json").status_code == 409
    assert api.post(url, {"name": "payment_received", "payload": [1]}, format="json").status_code == 400
    response = api.post(url, {"name": "payment_received", "payload": {"address": "Main St 1"}}, format="json")
    assert response.status_code == 200
    sync_executor.drain()
    assert [c["value"] for c in functions.CALLS] == ["ship to Main St 1"]


def test_a_cancelled_wait_ignores_later_signals(user, sync_executor):
    execution = start(approval_flow(user), sync_executor, amount=40)
    services.execution_cancel(execution=execution)
    with pytest.raises(Conflict, match="cancelled"):
        services.execution_signal(execution=execution, name="approval", payload={"approved": True})
