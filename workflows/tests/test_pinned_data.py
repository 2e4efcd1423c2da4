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
        assert "999" not in json.dumps(document) and "pinned" not in json.dumps(document)
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
