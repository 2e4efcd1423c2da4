"""Compensation (compensate_with) over the API, steps run in this process: validation, the order of a
failed run's compensations, a failed compensation, cancel with compensate, retry refused
(docs/adr/0035-compensation.md)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from workflows.engine import claims, orchestrator
from workflows.engine import definition as definitions
from workflows.models import ExecutionLog, TaskExecution, WorkflowExecution, WorkflowVersion
from workflows.services.recovery import sweep
from workflows.tests import functions


@pytest.fixture(autouse=True)
def clean_functions():
    functions.CALLS.clear()


def record(key, depends_on=(), value=None, **extra):
    return {"key": key, "task_type": "python", "depends_on": list(depends_on),
            "config": {"function": "record", "kwargs": {"value": value or key}}, **extra}


def undo(key, value=None, **extra):
    return {"key": key, "task_type": "python", "max_retries": 0,
            "config": {"function": "record", "kwargs": {"value": value or f"{key}: {{{{ compensating.step }}}}"}},
            **extra}


def fail(key, depends_on=(), **extra):
    return {"key": key, "task_type": "python", "config": {"function": "fail", "kwargs": {"message": "no stock"}},
            "depends_on": list(depends_on), "max_retries": 0, **extra}


SAGA = [record("reserve", compensate_with="release"), record("charge", ["reserve"], compensate_with="refund"),
        record("ship", ["charge"]), record("label", ["charge"], compensate_with="void_label"),
        fail("order", ["ship", "label"]),
        undo("release"), undo("refund", "refund {{ steps.charge.output.value }} ({{ compensating.error }})"),
        undo("void_label")]


def create(api, steps, name="saga"):
    return api.post("/api/v1/workflows/", {"name": name, "status": "active", "steps": steps}, format="json")


def drain(sync_executor, rounds=4):
    sync_executor.drain()
    for _ in range(rounds):
        sweep(now=timezone.now() + timedelta(seconds=2))
        sync_executor.drain()


def run(api, sync_executor, steps, **input_data):
    wf = create(api, steps)
    assert wf.status_code == 201, wf.data
    started = api.post(f"/api/v1/workflows/{wf.data['id']}/run/", {"input_data": input_data}, format="json")
    assert started.status_code == 201, started.data
    drain(sync_executor)
    return api.get(f"/api/v1/executions/{started.data['id']}/").data


def completion_order(run_id, keys):
    rows = TaskExecution.objects.filter(execution_id=run_id, step_key__in=keys, status="completed")
    return [row.step_key for row in rows.order_by("completed_at")]


@pytest.mark.parametrize("steps, message", [
    ([record("a", compensate_with="missing")], "names unknown step 'missing'"),
    ([record("a", compensate_with="a")], "a step cannot compensate itself"),
    ([record("a", compensate_with="b"), record("b", ["a"])], "'b' depends on other steps"),
    ([record("a", compensate_with="b"), record("b"), record("c", ["b"])], "other steps depend on 'b'"),
    ([record("a", compensate_with="b"), record("b", compensate_with="c"), record("c")], "'b' has a compensation"),
])
def test_compensate_with_is_checked_at_save(api, steps, message):
    answer = create(api, steps)
    assert answer.status_code == 400, answer.data
    assert "steps.a.compensate_with" in str(answer.data) and message in str(answer.data), answer.data


def test_compensate_with_is_kept_in_the_version_only_when_set_and_answered_by_the_api(api):
    wf = create(api, SAGA)
    assert wf.status_code == 201, wf.data
    steps = {s["key"]: s for s in wf.data["steps"]}
    assert steps["charge"]["compensate_with"] == "refund" and steps["ship"]["compensate_with"] == ""
    definition = definitions.for_version(WorkflowVersion.objects.get(workflow_id=wf.data["id"]).pk)
    frozen = {s["key"]: s for s in definition.data["steps"]}
    assert frozen["charge"]["compensate_with"] == "refund" and "compensate_with" not in frozen["ship"]
    # compensation steps are no part of the normal flow: no row at the start, not roots
    assert set(definition.graph.order) == {"reserve", "charge", "ship", "label", "order"}
    exported = api.get(f"/api/v1/workflows/{wf.data['id']}/export/").data
    assert {s["key"]: s["compensate_with"] for s in exported["workflow"]["steps"]}["reserve"] == "release"


def test_a_failed_run_compensates_its_completed_steps_in_reverse_completion_order(api, sync_executor):
    detail = run(api, sync_executor, SAGA)
    assert detail["status"] == "failed" and detail["phase"] == "compensated", detail
    assert detail["error_message"].startswith("step 'order' failed: no stock")
    done = completion_order(detail["id"], ["reserve", "charge", "label"])
    undo_of = {"reserve": "release", "charge": "refund", "label": "void_label"}
    expected = [undo_of[k] for k in reversed(done)]
    compensations = [t for t in detail["task_executions"] if t["compensates"]]
    assert [t["step_key"] for t in sorted(compensations, key=lambda t: t["completed_at"])] == expected
    assert all(t["status"] == "completed" and t["attempt_number"] == 1 for t in compensations)
    assert len({t["idempotency_key"] for t in compensations}) == 3
    outputs = {t["step_key"]: t["output_data"]["value"] for t in compensations}
    assert outputs["release"] == "release: reserve"
    assert outputs["refund"].startswith("refund charge (step 'order' failed: no stock")
    assert [p["compensation"] for p in detail["compensation"]["plan"]] == expected
    assert detail["error_details"]["compensation"]["outcome"] == "compensated"
    assert "retry" not in detail["allowed_actions"] and "rerun" not in detail["allowed_actions"]
    refused = api.post(f"/api/v1/executions/{detail['id']}/retry/", {}, format="json")
    assert refused.status_code == 409 and "compensation" in str(refused.data)
    events = list(ExecutionLog.objects.filter(execution_id=detail["id"], event__startswith="execution.compensat")
                  .values_list("event", flat=True))
    assert events == ["execution.compensating", "execution.compensated"]
    assert api.get(f"/api/v1/executions/{detail['id']}/why/").status_code == 200
    listed = api.get("/api/v1/executions/", {"workflow": detail["workflow"]}).data["results"]
    assert [(r["phase"], r["compensation"]["outcome"]) for r in listed] == [("compensated", "compensated")]


def test_a_compensation_that_fails_for_good_stops_the_chain(api, sync_executor):
    steps = [record("a", compensate_with="undo_a"), record("b", ["a"], compensate_with="undo_b"),
             fail("c", ["b"]), undo("undo_a"),
             {**fail("undo_b"), "max_retries": 1, "retry_base_delay": 0}]
    detail = run(api, sync_executor, steps)
    assert detail["status"] == "failed" and detail["phase"] == "compensation_failed", detail
    rows = [t for t in detail["task_executions"] if t["compensates"]]
    assert [(t["step_key"], t["attempt_number"], t["status"]) for t in rows] == [
        ("undo_b", 1, "failed"), ("undo_b", 2, "failed")]  # its retry policy; undo_a never started
    assert "compensation 'undo_b' of step 'b' failed: no stock" in detail["error_message"]
    assert detail["compensation"]["failed"]["step"] == "b"


def test_a_run_without_completed_compensated_steps_fails_as_before(api, sync_executor):
    detail = run(api, sync_executor, [fail("a", compensate_with="undo_a"), undo("undo_a")])
    assert detail["status"] == "failed" and detail["phase"] == "" and detail["compensation"] == {}
    assert not [t for t in detail["task_executions"] if t["compensates"]]


def test_cancel_with_compensate(api, sync_executor):
    steps = [record("a", compensate_with="undo_a"),
             {"key": "wait", "task_type": "wait_for_signal", "depends_on": ["a"], "config": {"signal": "go"}},
             record("b", ["wait"], compensate_with="undo_b"), undo("undo_a"), undo("undo_b")]
    wf = create(api, steps)
    assert wf.status_code == 201, wf.data
    run_id = api.post(f"/api/v1/workflows/{wf.data['id']}/run/", {"input_data": {}}, format="json").data["id"]
    drain(sync_executor)
    assert WorkflowExecution.objects.get(pk=run_id).status == "running"
    bad = api.post(f"/api/v1/executions/{run_id}/cancel/", {"compensate": "maybe"}, format="json")
    assert bad.status_code == 400 and "compensate" in bad.data["fields"]
    answer = api.post(f"/api/v1/executions/{run_id}/cancel/", {"compensate": True}, format="json")
    assert answer.status_code == 200, answer.data
    assert answer.data["phase"] == "compensating" and answer.data["status"] == "running"
    assert api.get(f"/api/v1/executions/{run_id}/why/").status_code == 200
    again = api.post(f"/api/v1/executions/{run_id}/cancel/", {"compensate": True}, format="json")
    assert again.status_code == 409
    drain(sync_executor)
    detail = api.get(f"/api/v1/executions/{run_id}/").data
    assert detail["status"] == "cancelled" and detail["phase"] == "compensated", detail
    assert [t["step_key"] for t in detail["task_executions"] if t["compensates"]] == ["undo_a"]
    assert [c["value"] for c in functions.CALLS] == ["a", "undo_a: a"]


def test_cancel_without_compensate_is_unchanged(api, sync_executor):
    steps = [record("a", compensate_with="undo_a"),
             {"key": "wait", "task_type": "wait_for_signal", "depends_on": ["a"], "config": {"signal": "go"}},
             undo("undo_a")]
    wf = create(api, steps)
    run_id = api.post(f"/api/v1/workflows/{wf.data['id']}/run/", {"input_data": {}}, format="json").data["id"]
    drain(sync_executor)
    answer = api.post(f"/api/v1/executions/{run_id}/cancel/", {}, format="json")
    assert answer.status_code == 200 and answer.data["status"] == "cancelled" and answer.data["phase"] == ""


def test_cancel_with_compensate_waits_for_a_running_step_and_compensates_it_too(api, sync_executor):
    steps = [record("a", compensate_with="undo_a"), record("b", ["a"], compensate_with="undo_b"),
             record("c", ["b"]), undo("undo_a"), undo("undo_b")]
    wf = create(api, steps)
    run_id = api.post(f"/api/v1/workflows/{wf.data['id']}/run/", {"input_data": {}}, format="json").data["id"]
    sync_executor.drain(limit=1)  # a completes; b is queued
    queued = TaskExecution.objects.get(execution_id=run_id, step_key="b")
    now = timezone.now()
    task = claims.claim(queued.pk, now=now, lease_expires_at=now + timedelta(seconds=60), worker_id="w",
                        celery_task_id="")
    assert task is not None and task.status == "running"  # a worker holds b
    answer = api.post(f"/api/v1/executions/{run_id}/cancel/", {"compensate": True}, format="json")
    assert answer.data["phase"] == "compensating" and answer.data["compensation"]["plan"] is None
    orchestrator.record(task, orchestrator._execute(task))  # b completes after the cancel
    drain(sync_executor)
    detail = api.get(f"/api/v1/executions/{run_id}/").data
    assert detail["status"] == "cancelled" and detail["phase"] == "compensated", detail
    assert [c["value"] for c in functions.CALLS] == ["a", "b", "undo_b: b", "undo_a: a"]
    assert "c" not in [t["step_key"] for t in detail["task_executions"] if t["status"] == "completed"]


def test_a_failing_step_of_a_run_cancelled_with_compensate_is_not_retried(api, sync_executor):
    steps = [record("a", compensate_with="undo_a"), {**fail("b", ["a"]), "max_retries": 3}, undo("undo_a")]
    wf = create(api, steps)
    run_id = api.post(f"/api/v1/workflows/{wf.data['id']}/run/", {"input_data": {}}, format="json").data["id"]
    sync_executor.drain(limit=1)
    queued = TaskExecution.objects.get(execution_id=run_id, step_key="b")
    now = timezone.now()
    task = claims.claim(queued.pk, now=now, lease_expires_at=now + timedelta(seconds=60), worker_id="w",
                        celery_task_id="")
    api.post(f"/api/v1/executions/{run_id}/cancel/", {"compensate": True}, format="json")
    orchestrator.record(task, orchestrator._execute(task))
    drain(sync_executor)
    detail = api.get(f"/api/v1/executions/{run_id}/").data
    assert detail["status"] == "cancelled" and detail["phase"] == "compensated"
    assert [t["attempt_number"] for t in detail["task_executions"] if t["step_key"] == "b"] == [1]


def test_a_paused_run_is_not_cancelled_with_compensate(api, sync_executor):
    steps = [record("a", compensate_with="undo_a"),
             {"key": "wait", "task_type": "wait_for_signal", "depends_on": ["a"], "config": {"signal": "go"}},
             undo("undo_a")]
    wf = create(api, steps)
    run_id = api.post(f"/api/v1/workflows/{wf.data['id']}/run/", {"input_data": {}}, format="json").data["id"]
    drain(sync_executor)
    assert api.post(f"/api/v1/executions/{run_id}/pause/").status_code == 200
    refused = api.post(f"/api/v1/executions/{run_id}/cancel/", {"compensate": True}, format="json")
    assert refused.status_code == 409 and "unpause" in str(refused.data)
    assert WorkflowExecution.objects.get(pk=run_id).status == "paused"
