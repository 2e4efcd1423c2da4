"""Managing a workflow through the API: settings, duplicate, archive/unarchive, delete while runs are in flight."""

from __future__ import annotations

from workflows.models import Workflow
from workflows.engine.planner.states import ExecutionStatus as E
from workflows.tests.factories import active_workflow, step

STEPS = [step("a", function="noop"), step("b", function="noop", depends_on=["a"])]


def test_settings_are_saved_and_bad_ones_refused_changing_nothing(api, user):
    wf = active_workflow(user, STEPS)
    good = {"description": "the signup flow", "max_retries": 5, "retry_base_delay": 2, "max_concurrency": 3,
            "concurrency_key": "{{ input.email }}"}
    response = api.patch(f"/api/v1/workflows/{wf.pk}/", good, format="json")
    assert response.status_code == 200, response.data
    assert {k: response.data[k] for k in good} == {**good, "retry_base_delay": 2.0}
    for bad, field in [({"max_concurrency": 0}, "max_concurrency"), ({"max_retries": 10_000}, "max_retries"),
                       ({"concurrency_key": "{{ input.email "}, "concurrency_key")]:
        response = api.patch(f"/api/v1/workflows/{wf.pk}/", bad, format="json")
        assert response.status_code == 400 and field in response.data["fields"], response.data
    wf.refresh_from_db()
    assert (wf.max_concurrency, wf.max_retries, wf.concurrency_key) == (3, 5, "{{ input.email }}")


def test_duplicate_makes_a_draft_copy_of_the_settings_and_steps(api, user):
    wf = active_workflow(user, STEPS, name="signup", description="d", max_concurrency=2)
    response = api.post(f"/api/v1/workflows/{wf.pk}/duplicate/", {}, format="json")
    assert response.status_code == 201, response.data
    copy = response.data
    assert copy["id"] != str(wf.pk) and copy["name"] == "signup (copy)" and copy["status"] == "draft"
    assert copy["version"] == 0 and copy["description"] == "d" and copy["max_concurrency"] == 2
    assert [(s["key"], s["depends_on"]) for s in copy["steps"]] == [("a", []), ("b", ["a"])]
    named = api.post(f"/api/v1/workflows/{wf.pk}/duplicate/", {"name": "other"}, format="json")
    assert named.status_code == 201 and named.data["name"] == "other"
    assert Workflow.objects.filter(owner=user).count() == 3


def test_duplicate_refuses_bad_names_and_others_workflows(api, user, other_user):
    wf = active_workflow(user, STEPS)
    for body in ({"name": ""}, {"name": "x" * 201}, {"name": "   "}):
        response = api.post(f"/api/v1/workflows/{wf.pk}/duplicate/", body, format="json")
        assert response.status_code == 400 and "name" in response.data["fields"], response.data
    theirs = active_workflow(other_user, STEPS)
    assert api.post(f"/api/v1/workflows/{theirs.pk}/duplicate/", {}, format="json").status_code == 404
    assert Workflow.objects.filter(owner=user).count() == 1


def test_archive_stops_new_runs_and_unarchive_brings_it_back(api, user):
    wf = active_workflow(user, STEPS)
    response = api.post(f"/api/v1/workflows/{wf.pk}/archive/")
    assert response.status_code == 200 and response.data["status"] == "archived"
    assert api.post(f"/api/v1/workflows/{wf.pk}/run/", {}, format="json").status_code == 409
    response = api.post(f"/api/v1/workflows/{wf.pk}/unarchive/")
    assert response.status_code == 200 and response.data["status"] == "active" and response.data["version"] == 1
    assert api.post(f"/api/v1/workflows/{wf.pk}/run/", {}, format="json").status_code == 201
    response = api.post(f"/api/v1/workflows/{wf.pk}/unarchive/")
    assert response.status_code == 409 and "not archived" in response.data["message"]


def test_unarchive_of_a_never_activated_workflow_makes_a_draft(api, user):
    draft = api.post("/api/v1/workflows/", {"name": "draft", "steps": STEPS}, format="json").data
    assert api.post(f"/api/v1/workflows/{draft['id']}/archive/").data["status"] == "archived"
    assert api.post(f"/api/v1/workflows/{draft['id']}/unarchive/").data["status"] == "draft"


def test_delete_is_refused_with_the_reason_while_runs_are_in_flight(api, user, sync_executor):
    wf = active_workflow(user, [step("wait", "delay", config={"seconds": 60})], name="waiter")
    run = api.post(f"/api/v1/workflows/{wf.pk}/run/", {}, format="json").data
    sync_executor.drain()
    response = api.delete(f"/api/v1/workflows/{wf.pk}/")
    assert response.status_code == 409
    assert response.data["runs_in_flight"] == 1
    assert response.data["message"] == ("workflow 'waiter' has 1 run pending or running; cancel them (or wait for "
                                        "them to end) before deleting it, or archive it")
    assert Workflow.objects.filter(pk=wf.pk).exists()
    assert api.post(f"/api/v1/executions/{run['id']}/cancel/").data["status"] == E.CANCELLED
    assert api.delete(f"/api/v1/workflows/{wf.pk}/").status_code == 204
    assert not Workflow.objects.filter(pk=wf.pk).exists()


def test_export_then_import_makes_the_same_workflow(api, user):
    wf = active_workflow(user, STEPS, name="signup", description="d", max_retries=4)
    document = api.get(f"/api/v1/workflows/{wf.pk}/export/").data
    response = api.post("/api/v1/workflows/import/", document, format="json")
    assert response.status_code == 201, response.data
    assert response.data["name"] == "signup" and response.data["max_retries"] == 4
    assert [s["key"] for s in response.data["steps"]] == ["a", "b"]
    bad = api.post("/api/v1/workflows/import/", {"workflow": {}}, format="json")
    assert bad.status_code == 400 and "flowpilot_export" in bad.data["fields"]
