"""GET/PUT/DELETE /api/v1/workflows/<id>/pinned-data/: the designer's pinned data, kept per workflow,
bounded, the owner's only, outside the versioned definition and its export, and never read by a run."""

from __future__ import annotations

import json

import pytest
from django.test import Client
from django.utils import timezone

from triggers import services as trigger_services
from triggers.tests.conftest import create as create_trigger
from workflows.models import PinnedData, TaskExecution, WorkflowExecution
from workflows.tests.factories import active_workflow, step
from workflows.tests.http_server import allow_loopback, fresh_circuits, server  # noqa: F401

PINS = {"input": {"order": {"id": 42, "total": 30}},
        "steps": {"order": {"input": {"source": {"id": 42, "total": 30}}, "output": {"result": {"id": 42, "total": 999}}}},
        "source_execution": None}


@pytest.fixture
def workflow(user):
    return active_workflow(user, [
        step("order", "data_transform", config={"source": {"id": 42, "total": 30}}),
        step("invoice", "data_transform", depends_on=["order"],
             config={"source": "{{ steps.order.output.result.total * 2 }}"}),
    ], name="Invoices")


def url(workflow) -> str:
    return f"/api/v1/workflows/{workflow.pk}/pinned-data/"


def test_pins_are_kept_per_workflow_and_replaced_whole(api, workflow, user):
    assert api.get(url(workflow)).json() == {"input": {}, "steps": {}, "source_execution": None}
    saved = api.put(url(workflow), PINS, format="json")
    assert saved.status_code == 200, saved.json()
    assert saved.json() == PINS and api.get(url(workflow)).json() == PINS
    assert PinnedData.objects.get(workflow=workflow).updated_by == user

    only_input = api.put(url(workflow), {"input": {"order": {"total": 1}}}, format="json").json()
    assert only_input == {"input": {"order": {"total": 1}}, "steps": {}, "source_execution": None}
    assert api.delete(url(workflow)).status_code == 204
    assert api.get(url(workflow)).json()["steps"] == {} and not PinnedData.objects.exists()


def test_pins_are_not_part_of_the_definition_its_versions_or_its_export(api, workflow):
    api.put(url(workflow), PINS, format="json")
    detail = api.get(f"/api/v1/workflows/{workflow.pk}/").json()
    versions = api.get(f"/api/v1/workflows/{workflow.pk}/versions/").json()
    exported = api.get(f"/api/v1/workflows/{workflow.pk}/export/")
    for document in (detail, versions, exported.json()):
        # The pinned output's own JSON (a bare "999" also turns up in a random id or timestamp: a CI flake).
        assert '"total": 999' not in json.dumps(document) and "pinned" not in json.dumps(document)
    assert api.get(f"/api/v1/workflows/{workflow.pk}/").json()["version"] == 1  # pinning published nothing


@pytest.mark.parametrize("body,field", [
    ([1, 2], ""),
    ({"input": [1]}, "input"),
    ({"steps": []}, "steps"),
    ({"steps": {"not a key": {"output": 1}}}, "steps.not a key"),
    ({"steps": {"order": {"output": 1, "config": {}}}}, "steps.order"),
    ({"steps": {"order": {}}}, "steps.order"),
    ({"source_execution": 7}, "source_execution"),
    ({"extra": 1}, "extra"),
    ({"input": {"a": "x\u0000"}}, "pinned_data.input.a"),
])
def test_a_malformed_body_is_a_400_and_changes_nothing(api, workflow, body, field):
    api.put(url(workflow), PINS, format="json")
    refused = api.put(url(workflow), body, format="json")
    assert refused.status_code == 400 and field in refused.json()["fields"], refused.json()
    assert api.get(url(workflow)).json() == PINS


def test_pins_larger_than_the_bound_are_a_400(api, workflow, settings):
    settings.FLOWPILOT_MAX_PINNED_DATA_BYTES = 2000
    api.put(url(workflow), PINS, format="json")
    refused = api.put(url(workflow), {"steps": {"order": {"output": "x" * 2000}}}, format="json")
    assert refused.status_code == 400 and "limit is 2000" in refused.json()["message"]
    assert api.get(url(workflow)).json() == PINS
    assert api.put(url(workflow), {"steps": {"order": {"output": "x" * 1900}}}, format="json").status_code == 200


def test_another_users_workflow_is_404_for_every_method(api, other_user):
    theirs = active_workflow(other_user, [step("a", "log", config={"message": "hi"})], name="Theirs")
    PinnedData.objects.create(workflow=theirs, data={"input": {"secret": "theirs"}})
    for method, body in (("get", None), ("put", PINS), ("put", [1]), ("delete", None)):
        answer = getattr(api, method)(url(theirs), body, format="json")
        assert answer.status_code == 404, (method, answer.status_code)
    assert PinnedData.objects.get(workflow=theirs).data == {"input": {"secret": "theirs"}}


def test_runs_never_answer_from_pins_whoever_starts_them(api, workflow, sync_executor):
    """Pinned: order's output says total 999. Every way a run starts (the API's /run/ and /executions/,
    a webhook, a schedule) runs order for real: invoice doubles its real 30, not the pinned 999."""
    assert api.put(url(workflow), PINS, format="json").status_code == 200
    started = [
        api.post(f"/api/v1/workflows/{workflow.pk}/run/", {"input_data": {"order": {"id": 1, "total": 30}}},
                 format="json").json()["id"],
        api.post("/api/v1/executions/", {"workflow_id": str(workflow.pk), "input_data": {"order": {"total": 30}}},
                 format="json").json()["id"],
    ]
    hook = create_trigger(api, workflow, type="webhook", require_signature=False)
    delivered = Client().post(hook["url"], b'{"order": {"total": 30}}', content_type="application/json")
    assert delivered.status_code == 202
    started.append(delivered.json()["execution_id"])
    schedule = create_trigger(api, workflow, type="schedule", cron="* * * * *", input_data={"order": {"total": 30}})
    started += [str(e.pk) for e in trigger_services.schedule_fire(schedule["id"], now=timezone.now())]
    sync_executor.drain()

    runs = WorkflowExecution.objects.filter(pk__in=started)
    assert sorted(r.triggered_by for r in runs) == ["api", "manual", "schedule", "webhook"]
    for run in runs:
        assert run.status == "completed", (run.triggered_by, run.error_message)
        outputs = {t.step_key: t.output for t in TaskExecution.objects.filter(execution=run)}
        assert outputs["order"]["result"]["total"] == 30 and outputs["invoice"] == {"result": 60}, run.triggered_by


# --- a test run with pinned data (POST /workflows/<id>/test-run/, docs/adr/0031) ----------------------

def crm_flow(url: str) -> dict:
    """POST to the CRM (pinned), shape its answer (pure), then tell a notifier (not pinned: runs)."""
    return {"name": "crm", "status": "active", "steps": [
        {"key": "crm", "task_type": "http_request", "max_retries": 0,
         "config": {"method": "POST", "url": f"{url}/crm", "json": {"name": "{{ input.name }}"}}},
        {"key": "shape", "task_type": "data_transform", "depends_on": ["crm"],
         "config": {"source": "{{ steps.crm.output.body.id }}"}},
        {"key": "notify", "task_type": "http_request", "depends_on": ["shape"], "max_retries": 0,
         "config": {"method": "POST", "url": f"{url}/notify", "json": {"id": "{{ steps.shape.output.result }}"}}},
    ]}


def test_a_test_run_answers_pinned_steps_from_their_pins_and_runs_the_rest(api, server, allow_loopback,
                                                                           sync_executor):
    flow = api.post("/api/v1/workflows/", crm_flow(server.url), format="json").data
    pins = {"steps": {"crm": {"output": {"status_code": 201, "body": {"id": "crm-pinned-7"}}},
                      "gone": {"output": {"x": 1}},  # a step the version does not have: left out
                      "notify": {"input": {"only": "an input"}}}}  # no output pinned: runs
    assert api.put(f"/api/v1/workflows/{flow['id']}/pinned-data/", pins, format="json").status_code == 200
    response = api.post(f"/api/v1/workflows/{flow['id']}/test-run/", {"input_data": {"name": "Ada"}}, format="json")
    assert response.status_code == 201, response.data
    started = response.data
    assert started["test_run"] and not started["is_replay"] and started["triggered_by"] == "manual"
    # Pins are frozen at the start: an edit now does not change the run.
    pins["steps"]["crm"]["output"]["body"]["id"] = "edited-later"
    assert api.put(f"/api/v1/workflows/{flow['id']}/pinned-data/", pins, format="json").status_code == 200
    sync_executor.drain()
    detail = api.get(f"/api/v1/executions/{started['id']}/").data
    assert detail["status"] == "completed", detail["error_message"]
    steps = {row["step_key"]: row for row in detail["task_executions"] if row["is_latest"]}
    assert steps["crm"]["mocked"] and not steps["shape"]["mocked"] and not steps["notify"]["mocked"]
    assert steps["shape"]["output_data"] == {"result": "crm-pinned-7"}
    assert [r["path"] for r in server.requests] == ["/notify"]  # zero calls to the pinned CRM
    assert json.loads(server.requests[0]["body"]) == {"id": "crm-pinned-7"}
    logged = api.get(f"/api/v1/executions/{detail['id']}/logs/").data["logs"]
    assert any("Test run: step 'crm' answered with its pinned output" in line["message"] for line in logged)
    # Flagged in the list; not a real run for the metrics, alerts or bulk retry.
    listed = api.get(f"/api/v1/executions/?workflow={flow['id']}&test_run=true").data["results"]
    assert [row["id"] for row in listed] == [detail["id"]] and listed[0]["test_run"]
    assert api.get(f"/api/v1/executions/?workflow={flow['id']}&is_replay=true").data["results"] == []
    assert not WorkflowExecution.objects.real().filter(pk=detail["id"]).exists()
    # A plain run of the same workflow ignores the pins.
    plain = api.post(f"/api/v1/workflows/{flow['id']}/run/", {"input_data": {"name": "Ada"}}, format="json").data
    sync_executor.drain()
    assert not api.get(f"/api/v1/executions/{plain['id']}/").data["test_run"]
    assert [r["path"] for r in server.requests] == ["/notify", "/crm"]


def test_a_failed_test_run_is_not_picked_by_retry_failed(api, server, allow_loopback, sync_executor):
    flow = api.post("/api/v1/workflows/", crm_flow(server.url), format="json").data
    pins = {"steps": {"crm": {"output": {"status_code": 201, "body": {"id": "x"}}}}}
    api.put(f"/api/v1/workflows/{flow['id']}/pinned-data/", pins, format="json")
    failing = {"config": {"method": "POST", "url": f"{server.url}/status/500"}}
    assert api.patch(f"/api/v1/workflows/{flow['id']}/steps/notify/", failing, format="json").status_code == 200
    run = api.post(f"/api/v1/workflows/{flow['id']}/test-run/", {}, format="json").data
    sync_executor.drain()
    assert api.get(f"/api/v1/executions/{run['id']}/").data["status"] == "failed"
    assert api.post("/api/v1/executions/retry-failed/", {"dry_run": True}, format="json").data["count"] == 0


def test_a_test_run_without_pins_runs_everything_and_is_bounded_like_a_start(api, workflow, sync_executor, settings):
    run = api.post(f"/api/v1/workflows/{workflow.pk}/test-run/", {"input_data": {}}, format="json")
    assert run.status_code == 201 and run.data["test_run"], run.data
    sync_executor.drain()
    outputs = {t.step_key: (t.output, t.mocked) for t in TaskExecution.objects.filter(execution_id=run.data["id"])}
    assert outputs == {"order": ({"result": {"id": 42, "total": 30}}, False), "invoice": ({"result": 60}, False)}
    assert api.post(f"/api/v1/workflows/{workflow.pk}/test-run/", {"input_data": [1]}, format="json").status_code == 400
    settings.FLOWPILOT_MAX_PAYLOAD_BYTES = 100
    before = WorkflowExecution.objects.count()
    big = api.post(f"/api/v1/workflows/{workflow.pk}/test-run/", {"input_data": {"x": "y" * 200}}, format="json")
    assert big.status_code == 400 and WorkflowExecution.objects.count() == before


def test_a_test_run_of_another_users_workflow_is_404(api, other_user):
    theirs = active_workflow(other_user, [step("a", "log", config={"message": "x"})])
    assert api.post(f"/api/v1/workflows/{theirs.pk}/test-run/", {}, format="json").status_code == 404
