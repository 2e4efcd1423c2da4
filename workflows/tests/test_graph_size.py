"""Graph size (issue 12, finding 10): saving, activating and advancing cost O(steps + edges) per
operation, so a step of a 500-step workflow costs what a step of a 5-step one does.

No clocks here (the timings are `make bench-graph`'s): what would grow is counted instead, the
queries, the rows read and the comparisons of step keys, against the real PostgreSQL.
"""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from django.db import connection
from django.db.models.signals import post_init
from django.test.utils import CaptureQueriesContext

from workflows.engine import definition as definitions
from workflows.engine import orchestrator
from workflows import services
from workflows.models import StepDependency, TaskExecution, WorkflowExecution
from workflows.tests.factories import active_workflow, step

pytestmark = pytest.mark.django_db


def chain(size: int) -> list[dict]:
    return [step("s1", function="noop")] + [step(f"s{i}", function="noop", depends_on=[f"s{i - 1}"])
                                            for i in range(2, size + 1)]


@contextmanager
def counting_rows(*models):
    """Counts the model instances built meanwhile (rows read or made), per model name."""
    counts = dict.fromkeys((m.__name__ for m in models), 0)

    def count(sender, **kwargs):
        counts[sender.__name__] += 1

    for model in models:
        post_init.connect(count, sender=model, weak=False)
    try:
        yield counts
    finally:
        for model in models:
            post_init.disconnect(count, sender=model)


def cost_of_steps(user, executor, size: int) -> dict[str, tuple[int, int]]:
    """Queries and TaskExecution rows built while the third step and the last step of a `size`-step
    chain run: claim, handler, result, advance."""
    workflow = active_workflow(user, chain(size), name=f"chain {size}")
    execution, _ = services.execution_start(workflow=workflow, input_data={})
    assert executor.drain(limit=2) == 2
    costs = {}

    def measure(label: str) -> None:
        task_id = executor.queue.popleft()
        with CaptureQueriesContext(connection) as queries, counting_rows(TaskExecution) as rows:
            assert orchestrator.run_step(task_id) == "completed"
        costs[label] = (len(queries), rows["TaskExecution"])

    measure("middle")
    # Fast-forward (the steps between would only take time): s4 .. s(n-1) done, then s(n) queued.
    executor.queue.clear()
    TaskExecution.objects.filter(execution=execution, step_key__in=[f"s{i}" for i in range(4, size)]).update(
        status="completed", output={})
    orchestrator.advance(execution.pk)
    measure("last")
    assert WorkflowExecution.objects.get(pk=execution.pk).status == "completed"
    return costs


def test_a_step_of_a_500_step_workflow_costs_the_queries_and_rows_of_one_in_a_5_step_workflow(user,
                                                                                              sync_executor):
    small = cost_of_steps(user, sync_executor, 5)
    big = cost_of_steps(user, sync_executor, 500)
    # Each figure is (queries, task rows read): a step reads its neighbours, not the whole run.
    assert big == small, f"5 steps: {small}; 500 steps: {big}"
    assert small["middle"][1] <= 10, small


def test_saving_and_activating_take_as_many_queries_for_500_steps_as_for_5(api):
    def queries(size: int) -> int:
        with CaptureQueriesContext(connection) as saved:
            created = api.post("/api/v1/workflows/", {"name": f"chain {size}", "steps": chain(size)}, format="json")
            assert created.status_code == 201, created.data
            assert api.post(f"/api/v1/workflows/{created.data['id']}/activate/").status_code == 200
        return len(saved)

    assert queries(500) == queries(5)


def test_a_saved_graph_reads_back_as_written_and_a_new_one_replaces_it(api):
    """The graph is written in two statements (workflows/graph_rows.py): every field, the model's
    defaults for absent ones, branches and the order of the steps survive, and saving the steps again
    replaces them (edges included) rather than adding to them."""
    written = [
        {"key": "check", "name": "Check it", "task_type": "conditional", "config": {"condition": "{{ input.ok }}"},
         "step_order": 3, "timeout_seconds": 30, "when": "{{ true }}", "position": {"x": 1.5, "y": -2},
         "max_retries": 2, "retry_base_delay": 0.5, "retry_backoff_factor": 3, "retry_max_delay": 60},
        {"key": "yes", "task_type": "python", "config": {"function": "noop", "kwargs": {"a": [1, "two", None]}},
         "depends_on": ["check:true"]},
        {"key": "after", "task_type": "python", "config": {"function": "noop"}, "depends_on": ["check", "yes"]},
    ]
    created = api.post("/api/v1/workflows/", {"name": "round trip", "steps": written}, format="json")
    assert created.status_code == 201, created.data
    answered = {s["key"]: s for s in api.get(f"/api/v1/workflows/{created.data['id']}/").data["steps"]}
    assert list(answered) == ["yes", "after", "check"]  # step_order, then the order written
    check, yes = answered["check"], answered["yes"]
    assert {f: check[f] for f in ("name", "task_type", "config", "step_order", "timeout_seconds", "when", "position",
                                  "max_retries", "retry_base_delay", "retry_backoff_factor", "retry_max_delay")} == {
        "name": "Check it", "task_type": "conditional", "config": {"condition": "{{ input.ok }}"}, "step_order": 3,
        "timeout_seconds": 30, "when": "{{ true }}", "position": {"x": 1.5, "y": -2.0}, "max_retries": 2,
        "retry_base_delay": 0.5, "retry_backoff_factor": 3.0, "retry_max_delay": 60.0}
    assert yes["config"] == {"function": "noop", "kwargs": {"a": [1, "two", None]}}
    assert (yes["name"], yes["step_order"], yes["timeout_seconds"], yes["when"], yes["position"],
            yes["max_retries"]) == ("", 0, None, "", {"x": 0.0, "y": 0.0}, None)
    assert yes["depends_on"] == ["check:true"] and answered["after"]["depends_on"] == ["check", "yes"]

    replaced = api.put(f"/api/v1/workflows/{created.data['id']}/",
                       {"name": "round trip", "steps": [written[0], {**written[2], "depends_on": ["check"]}]},
                       format="json")
    assert replaced.status_code == 200, replaced.data
    assert [(s["key"], s["depends_on"]) for s in replaced.data["steps"]] == [("after", ["check"]), ("check", [])]
    assert StepDependency.objects.filter(step__workflow_id=created.data["id"]).count() == 1


class Key(str):
    """A step key that counts how often it is compared with another string."""

    compared = 0

    def __eq__(self, other):
        Key.compared += 1
        return str.__eq__(self, other)

    __hash__ = str.__hash__


@pytest.mark.parametrize("shape", ["chain", "wide"])
def test_checking_and_planning_a_definition_compare_keys_a_number_of_times_linear_in_its_size(shape):
    size = 2000
    if shape == "chain":
        steps = [{"key": Key(f"s{i}"), "task_type": "python", "config": {"function": "noop"},
                  "depends_on": [f"s{i - 1}"] if i > 1 else []} for i in range(1, size + 1)]
    else:  # root -> 1,998 parallel steps -> join
        middle = [f"p{i}" for i in range(1, size - 1)]
        steps = [{"key": Key("root"), "task_type": "python", "config": {"function": "noop"}},
                 *({"key": Key(k), "task_type": "python", "config": {"function": "noop"}, "depends_on": ["root"]}
                   for k in middle),
                 {"key": Key("join"), "task_type": "python", "config": {"function": "noop"}, "depends_on": middle}]
    Key.compared = 0
    data = definitions.from_data(workflow={"name": "big"}, steps=steps)
    assert definitions.issues(data) == []
    parsed = definitions.Definition(data)
    assert parsed.sinks == (("s2000",) if shape == "chain" else ("join",))
    assert len(parsed.graph.roots()) == 1
    edges = size - 1 if shape == "chain" else 2 * (size - 2)
    # O(steps + edges): a few comparisons per step and per edge, never one per pair of steps.
    assert Key.compared <= 10 * (size + edges), Key.compared


def test_after_a_step_completes_the_planner_reads_only_its_neighbours():
    size = 2000
    graph = definitions.dag.Graph.from_steps(
        [{"key": "s1"}] + [{"key": f"s{i}", "depends_on": [f"s{i - 1}"]} for i in range(2, size + 1)])

    class Statuses(dict):
        read = 0

        def __getitem__(self, key):
            Statuses.read += 1
            return super().__getitem__(key)

    states = Statuses({f"s{i}": "completed" if i <= 10 else "pending" for i in range(1, size + 1)})
    decision = definitions.dag.decide_after(graph, ["s10"], states)
    assert decision.queue == ["s11"] and decision.skip == []
    assert Statuses.read <= 5, Statuses.read


def test_a_step_after_a_skipped_branch_is_skipped_and_a_later_failure_stops_new_work(user, sync_executor):
    """What reading only the neighbours must not lose: skips propagate down the chain past the rows
    read first, and once a step has failed for good no new step starts."""
    wf = active_workflow(user, [
        step("a", function="noop"),
        step("b", function="noop", depends_on=["a"], when="{{ false }}"),
        step("c", function="noop", depends_on=["b"]),
        step("d", function="noop", depends_on=["c"]),
        step("x", function="noop", depends_on=["a"]),
    ])
    execution, _ = services.execution_start(workflow=wf, input_data={})
    sync_executor.drain()
    statuses = dict(TaskExecution.objects.filter(execution=execution).values_list("step_key", "status"))
    assert statuses == {"a": "completed", "b": "skipped", "c": "skipped", "d": "skipped", "x": "completed"}
    assert WorkflowExecution.objects.get(pk=execution.pk).status == "completed"

    wf = active_workflow(user, [
        step("a", function="noop"),
        step("bad", function="fail", kwargs={"retryable": False}, depends_on=["a"]),
        step("slow", function="noop", depends_on=["a"]),
        step("after", function="noop", depends_on=["slow"]),
    ], name="failing")
    execution, _ = services.execution_start(workflow=wf, input_data={})
    sync_executor.drain(limit=1)  # a: queues bad, then slow
    bad, slow = list(sync_executor.queue)
    sync_executor.queue.clear()
    running = orchestrator._claim(slow, worker_id="test", celery_task_id="")
    orchestrator.run_step(bad)  # fails for good while slow runs
    statuses = dict(TaskExecution.objects.filter(execution=execution).values_list("step_key", "status"))
    assert statuses["bad"] == "failed" and statuses["slow"] == "running"
    orchestrator.record(running, orchestrator._execute(running))  # slow completes after the failure
    sync_executor.drain()
    statuses = dict(TaskExecution.objects.filter(execution=execution).values_list("step_key", "status"))
    assert statuses["after"] == "pending", statuses
    assert WorkflowExecution.objects.get(pk=execution.pk).status == "failed"

