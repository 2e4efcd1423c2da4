"""sub_workflow and for_each: child runs started from a step, waited for without a worker."""

from datetime import timedelta

import pytest
from django.utils import timezone

from workflows import services
from workflows.models import TaskExecution, WorkflowExecution
from workflows.services.recovery import sweep
from workflows.engine.planner.states import ExecutionStatus as E
from workflows.engine.planner.states import TaskStatus as T
from workflows.tests import functions
from workflows.tests.factories import active_workflow, step


@pytest.fixture(autouse=True)
def clean():
    functions.CALLS.clear()
    functions.FAULTS.clear()
    yield
    functions.FAULTS.clear()


def later(seconds):
    return timezone.now() + timedelta(seconds=seconds)


def start(wf, sync_executor, **input_data):
    execution, _ = services.execution_start(workflow=wf, input_data=input_data)
    sync_executor.drain()
    execution.refresh_from_db()
    return execution


def children_of(execution):
    return list(WorkflowExecution.objects.filter(parent_task__execution=execution).order_by("child_index"))


def test_a_sub_workflow_runs_with_templated_input_and_its_output_flows_on(user, sync_executor):
    child = active_workflow(user, [step("sum", function="add", kwargs={"a": "{{ input.n }}", "b": 100})],
                            name="child")
    parent = active_workflow(user, [
        step("sub", "sub_workflow", config={"workflow_id": str(child.pk), "input": {"n": "{{ input.n }}"}}),
        step("after", function="record", kwargs={"value": "{{ steps.sub.output.sum.sum }}"}, depends_on=["sub"]),
    ], name="parent")
    execution = start(parent, sync_executor, n=5)
    assert execution.status == E.COMPLETED
    (run,) = children_of(execution)
    assert run.triggered_by == "workflow" and run.input == {"n": 5} and run.status == E.COMPLETED
    assert functions.CALLS == [{"value": 105, "idempotency_key": f"{execution.pk}:after", "attempt": 1}]
    assert TaskExecution.objects.get(execution=execution, step_key="sub").output["execution_id"] == str(run.pk)


def test_a_failing_sub_workflow_fails_the_step(user, sync_executor):
    child = active_workflow(user, [step("boom", function="fail", kwargs={"message": "CRM down", "retryable": False})],
                            name="child")
    parent = active_workflow(user, [step("sub", "sub_workflow", config={"workflow_id": str(child.pk)})])
    execution = start(parent, sync_executor)
    assert execution.status == E.FAILED
    assert execution.error_message == "step 'sub' failed: sub-workflow failed: step 'boom' failed: CRM down"


def test_someone_elses_workflow_cannot_be_a_child(user, other_user, sync_executor):
    theirs = active_workflow(other_user, [step("x", function="noop")], name="theirs")
    parent = active_workflow(user, [step("sub", "sub_workflow", config={"workflow_id": str(theirs.pk)})])
    execution = start(parent, sync_executor)
    assert execution.status == E.FAILED and "does not exist (or is not yours)" in execution.error_message
    assert not WorkflowExecution.objects.filter(workflow=theirs).exists()


def fan_out(user, *, parallelism=2, on_item_failure="fail"):
    child = active_workflow(user, [
        step("wait", "delay", config={"seconds": 60}),
        step("make", function="create_patient", kwargs={"name": "{{ input.name }}"}, depends_on=["wait"],
             max_retries=0),
    ], name="per patient")
    return active_workflow(user, [
        step("each", "for_each", config={"items": "{{ input.names }}", "workflow_id": str(child.pk),
                                         "item_input": {"name": "{{ item }}", "position": "{{ index }}"},
                                         "parallelism": parallelism, "on_item_failure": on_item_failure}),
        step("report", function="record", kwargs={"value": "{{ steps.each.output.results|length }}"},
             depends_on=["each"]),
    ], name="fan out")


def test_for_each_runs_every_item_with_a_parallelism_limit_and_keeps_the_order(user, sync_executor):
    execution = start(fan_out(user, parallelism=2), sync_executor, names=["a", "b", "c", "d", "e"])
    each = TaskExecution.objects.get(execution=execution, step_key="each")
    assert each.status == T.WAITING
    running_at_most = []
    for _ in range(4):
        running_at_most.append(sum(c.status == E.RUNNING for c in children_of(execution)))
        sweep(now=later(61))
        sync_executor.drain()
    execution.refresh_from_db()
    assert execution.status == E.COMPLETED
    assert max(running_at_most) == 2 and running_at_most[0] == 2
    runs = children_of(execution)
    assert [c.input for c in runs] == [{"name": n, "position": i} for i, n in enumerate("abcde")]
    output = TaskExecution.objects.get(execution=execution, step_key="each").output
    assert [r["make"]["patient"] for r in output["results"]] == list("abcde") and output["errors"] == []


def test_one_failed_item_fails_the_step_or_is_collected(user, sync_executor):
    functions.FAULTS.add("b")
    failing = start(fan_out(user, parallelism=5), sync_executor, names=["a", "b", "c"])
    sweep(now=later(61))
    sync_executor.drain()
    failing.refresh_from_db()
    assert failing.status == E.FAILED and "item 1 failed" in failing.error_message

    collecting = start(fan_out(user, parallelism=5, on_item_failure="collect"), sync_executor, names=["a", "b", "c"])
    sweep(now=later(61))
    sync_executor.drain()
    collecting.refresh_from_db()
    assert collecting.status == E.COMPLETED
    output = TaskExecution.objects.get(execution=collecting, step_key="each").output
    assert output["results"][1] is None and output["errors"][0]["index"] == 1
    assert "database overloaded" in output["errors"][0]["error"]


def test_retrying_a_failed_for_each_reruns_only_the_failed_items(user, sync_executor):
    functions.FAULTS.add("b")
    execution = start(fan_out(user, parallelism=5), sync_executor, names=["a", "b", "c"])
    sweep(now=later(61))
    sync_executor.drain()
    first_runs = {c.input["name"]: c.pk for c in children_of(execution)}
    functions.FAULTS.clear()
    functions.CALLS.clear()
    services.execution_retry(execution=WorkflowExecution.objects.get(pk=execution.pk))
    sync_executor.drain()
    sweep(now=later(61))
    sync_executor.drain()
    execution.refresh_from_db()
    assert execution.status == E.COMPLETED
    assert [c["value"] for c in functions.CALLS if c["value"] in ("a", "b", "c")] == ["b"]  # a, c not run again
    assert {c.input["name"]: c.pk for c in children_of(execution)} == first_runs  # same child runs, b retried


def test_cancelling_the_parent_cancels_its_children(user, sync_executor):
    execution = start(fan_out(user, parallelism=3), sync_executor, names=["a", "b", "c", "d"])
    services.execution_cancel(execution=execution)
    assert [c.status for c in children_of(execution)] == [E.CANCELLED] * 3
    sweep(now=later(61))
    sync_executor.drain()
    assert len(children_of(execution)) == 3  # no new item started after the cancel


def test_an_empty_list_completes_at_once(user, sync_executor):
    execution = start(fan_out(user), sync_executor, names=[])
    assert execution.status == E.COMPLETED
    assert TaskExecution.objects.get(execution=execution, step_key="each").output == {
        "results": [], "errors": [], "execution_ids": []}
