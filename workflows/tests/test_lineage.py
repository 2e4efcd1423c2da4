"""Sub-workflow trees (issue 12, finding 2): the depth bound and cycles refused at save time and when
a step runs, and a cancel that reaches every descendant of a tree of any depth in one API call."""

from __future__ import annotations

import sys
import uuid


from workflows import services
from workflows.call_graph import path_back
from workflows.engine.children import WAITING_FOR_CHILDREN
from workflows.engine.lineage import Ancestor, child_refusal
from workflows.models import TaskExecution, Workflow, WorkflowExecution
from workflows.engine.planner.states import ExecutionStatus as E
from workflows.engine.planner.states import TaskStatus as T
from workflows.tests.factories import active_workflow, step

A, B, C = (uuid.UUID(int=n) for n in (1, 2, 3))

# --- the rules, without a database ---------------------------------------------------------------


def test_a_workflow_already_in_the_chain_is_a_cycle_named_root_first():
    chain = [Ancestor(B, "billing"), Ancestor(A, "orders")]  # a run of B, started by a run of A
    refusal = child_refusal(chain, child_id=A, child_name="orders", max_depth=10)
    assert refusal.startswith("workflow cycle: 'orders' -> 'billing' -> 'orders'")
    assert child_refusal(chain, child_id=C, child_name="audit", max_depth=10) is None


def test_a_child_past_the_depth_bound_is_refused_naming_the_bound():
    chain = [Ancestor(uuid.UUID(int=n), f"w{n}") for n in range(3, 0, -1)]  # depth 2: a child is depth 3
    assert child_refusal(chain, child_id=uuid.UUID(int=98), child_name="x", max_depth=3) is None
    refusal = child_refusal(chain, child_id=uuid.UUID(int=99), child_name="x", max_depth=2)
    assert "depth 3" in refusal and "maximum of 2" in refusal and "FLOWPILOT_MAX_WORKFLOW_DEPTH" in refusal


def test_path_back_finds_the_shortest_cycle_without_recursion():
    assert path_back(A, B, {B: {C}, C: {A}}) == [A, B, C, A]
    assert path_back(A, A, {}) == [A, A]
    assert path_back(A, B, {B: {C}, C: {B}}) is None
    long = {uuid.UUID(int=n): {uuid.UUID(int=n + 1)} for n in range(10, 10 + 5000)}
    long[uuid.UUID(int=5010)] = {A}
    assert len(path_back(A, uuid.UUID(int=10), long)) == 5003  # A, 5,001 others, A: deeper than Python's recursion limit


# --- save time: cycles through literal workflow ids ----------------------------------------------

def calls(key: str, workflow_id) -> dict:
    return {"key": key, "task_type": "sub_workflow", "config": {"workflow_id": str(workflow_id)}}


def test_saving_a_workflow_that_closes_a_cycle_is_a_400_naming_the_cycle(api):
    leaf = api.post("/api/v1/workflows/", {"name": "orders", "steps": [
        {"key": "note", "task_type": "log", "config": {"message": "hi"}}]}, format="json").data
    billing = api.post("/api/v1/workflows/", {"name": "billing", "steps": [calls("charge", leaf["id"])]},
                       format="json").data
    # orders now calls billing, which calls orders: refused, and nothing changed
    response = api.patch(f"/api/v1/workflows/{leaf['id']}/", {"steps": [calls("bill", billing["id"])]},
                         format="json")
    assert response.status_code == 400, response.data
    message = response.data["fields"]["steps.bill.config.workflow_id"][0]
    assert "workflow cycle: 'orders' -> 'billing' -> 'orders'" in message and message in response.data["message"]
    assert list(Workflow.objects.get(pk=leaf["id"]).steps.values_list("key", flat=True)) == ["note"]
    # a workflow naming itself is the shortest cycle
    itself = api.patch(f"/api/v1/workflows/{billing['id']}/", {"steps": [calls("again", billing["id"])]},
                       format="json")
    assert itself.status_code == 400
    assert "'billing' -> 'billing'" in itself.data["fields"]["steps.again.config.workflow_id"][0]
    # a templated id is not knowable when saving: accepted here, refused when the step runs
    templated = api.patch(f"/api/v1/workflows/{leaf['id']}/", {"steps": [calls("bill", "{{ input.next }}")]},
                          format="json")
    assert templated.status_code == 200


def test_activating_a_workflow_rechecks_the_cycle(api, user):
    orders = services.workflow_create(owner=user, data={"name": "orders"}, steps=[step("x", "log", config={
        "message": "hi"})])
    billing = active_workflow(user, [calls("charge", orders.pk)], name="billing")
    # the draft's steps written before billing called it (as an older FlowPilot allowed)
    Workflow.objects.get(pk=orders.pk).steps.update(task_type="sub_workflow", config={"workflow_id": str(billing.pk)})
    response = api.post(f"/api/v1/workflows/{orders.pk}/activate/")
    assert response.status_code == 400
    assert "'orders' -> 'billing' -> 'orders'" in response.data["message"]
    assert Workflow.objects.get(pk=orders.pk).status == "draft"


# --- run time: every cycle and the depth bound, with templated ids -------------------------------

def ping_pong(user, name: str):
    """Calls the workflow named by its input, handing it its own id to call back: a cycle no save
    can see."""
    return active_workflow(user, [step("call", "sub_workflow", config={
        "workflow_id": "{{ input.next }}", "input": {"next": "{{ input.back }}", "back": "{{ input.next }}"}},
        max_retries=0)], name=name)


def test_a_cycle_through_templated_ids_fails_the_step_when_it_runs(user, sync_executor):
    a, b = ping_pong(user, "a"), ping_pong(user, "b")
    execution, _ = services.execution_start(workflow=a, input_data={"next": str(b.pk), "back": str(a.pk)})
    sync_executor.drain()
    runs = WorkflowExecution.objects.filter(workflow__in=[a, b])
    assert runs.count() == 2 and set(runs.values_list("status", flat=True)) == {E.FAILED}
    step_b = TaskExecution.objects.get(execution__workflow=b, step_key="call")
    assert step_b.status == T.FAILED and step_b.attempt == 1
    assert step_b.error_message.startswith("workflow cycle: 'a' -> 'b' -> 'a'")
    execution.refresh_from_db()
    assert "workflow cycle: 'a' -> 'b' -> 'a'" in execution.error_message


def test_a_chain_of_distinct_workflows_stops_at_the_depth_bound(user, sync_executor, settings):
    settings.FLOWPILOT_MAX_WORKFLOW_DEPTH = 3
    chain = [active_workflow(user, [step("end", "log", config={"message": "bottom"})], name="w5")]
    for n in range(4, -1, -1):  # w0 -> w1 -> ... -> w5
        chain.insert(0, active_workflow(user, [calls("call", chain[0].pk)], name=f"w{n}"))
    root, _ = services.execution_start(workflow=chain[0])
    sync_executor.drain()
    assert [WorkflowExecution.objects.filter(workflow=w).count() for w in chain] == [1, 1, 1, 1, 0, 0]
    deepest = TaskExecution.objects.get(execution__workflow=chain[3], step_key="call")
    assert deepest.status == T.FAILED and deepest.attempt == 1
    assert "depth 4, past the maximum of 3 (FLOWPILOT_MAX_WORKFLOW_DEPTH)" in deepest.error_message
    root.refresh_from_db()
    assert root.status == E.FAILED and "maximum of 3" in root.error_message


# --- cancel: a whole tree, deeper than Python's recursion limit ----------------------------------

def tree(workflow, *, depth: int, leaves: int) -> tuple[WorkflowExecution, int]:
    """A root run with a chain `depth` runs deep below it, the deepest waiting for `leaves` pending
    children: written straight to the database, each run waiting in a step for its children."""
    version = workflow.versions.get()
    runs = [WorkflowExecution(workflow=workflow, workflow_version=version, status=E.RUNNING)
            for _ in range(depth + 1)]
    tasks = [TaskExecution(execution=run, step_key="call", task_type="sub_workflow", status=T.WAITING,
                           signal_name=WAITING_FOR_CHILDREN) for run in runs]
    for run, parent in zip(runs[1:], tasks):
        run.parent_task = parent
    leaf_runs = [WorkflowExecution(workflow=workflow, workflow_version=version, status=E.PENDING,
                                   parent_task=tasks[-1], child_index=i) for i in range(leaves)]
    WorkflowExecution.objects.bulk_create(runs + leaf_runs)  # foreign keys are checked at commit
    TaskExecution.objects.bulk_create(tasks)
    return runs[0], depth + leaves


def test_cancelling_the_root_cancels_every_descendant_of_a_deep_tree_in_one_call(api, user):
    workflow = active_workflow(user, [step("call", "log", config={"message": "x"})], name="deep")
    depth = sys.getrecursionlimit() * 2  # 2,000: a recursive walk could not reach the bottom
    root, descendants = tree(workflow, depth=depth, leaves=300)
    assert WorkflowExecution.objects.exclude(status__in=[E.CANCELLED]).count() == descendants + 1

    response = api.post(f"/api/v1/executions/{root.pk}/cancel/")
    assert response.status_code in (200, 202), response.content[:500]
    assert response.data["status"] == E.CANCELLED
    assert WorkflowExecution.objects.filter(status__in=[E.PENDING, E.RUNNING]).count() == 0
    assert WorkflowExecution.objects.filter(status=E.CANCELLED).count() == descendants + 1
    assert TaskExecution.objects.filter(status=T.WAITING).count() == 0
