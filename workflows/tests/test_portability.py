"""Import and export: the definition survives the round trip (API and commands), a bad document is
refused as the API refuses a bad workflow, nothing secret leaves, others' workflows stay invisible."""

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from triggers import services as trigger_services
from triggers.models import Trigger
from workflows import credentials, examples, portability
from workflows.models import Workflow
from workflows.tests.factories import diamond

CYCLE = [{"key": "a", "task_type": "log", "config": {"message": "x"}, "depends_on": ["b"]},
         {"key": "b", "task_type": "log", "config": {"message": "x"}, "depends_on": ["a"]}]
BAD_KEY = [{"key": "bad key!", "task_type": "log"}]


@pytest.fixture
def signup(user):
    """The shipped example: branches (plan:true), positions, timeouts, retry fields, a credential by name."""
    workflow, _ = examples.load(owner=user)
    return workflow


def frozen(workflow: Workflow) -> dict:
    """The definition its latest version froze: what runs execute."""
    return workflow.versions.get(number=workflow.version).definition


def document(steps, **workflow) -> dict:
    return {"flowpilot_export": 1, "workflow": {"name": "imported", **workflow, "steps": steps}, "triggers": []}


def test_the_export_is_the_api_shape_with_refs_positions_and_retry_fields(signup):
    doc = portability.export_workflow(signup)
    assert doc["flowpilot_export"] == 1 and doc["triggers"] == []
    wf = doc["workflow"]
    assert wf["name"] == "New user signup" and wf["status"] == "active" and wf["max_retries"] == 3
    steps = {s["key"]: s for s in wf["steps"]}
    assert steps["crm_pro"]["depends_on"] == ["plan:true"] and steps["crm_pro"]["timeout_seconds"] == 30
    assert steps["plan"]["position"] == {"x": 300, "y": 300} and "id" not in steps["plan"]
    json.dumps(doc)  # plain JSON


def test_round_trip_through_the_api(api, signup):
    exported = api.get(f"/api/v1/workflows/{signup.pk}/export/")
    assert exported.status_code == 200
    assert exported["Content-Disposition"] == 'attachment; filename="new-user-signup.json"'
    imported = api.post("/api/v1/workflows/import/", exported.json(), format="json")
    assert imported.status_code == 201, imported.data
    copy = Workflow.objects.get(pk=imported.data["id"])
    assert copy.pk != signup.pk and imported.data["status"] == "active" and imported.data["version"] == 1
    assert frozen(copy) == frozen(signup)
    assert portability.export_workflow(copy) == exported.json()


def test_activate_chooses_the_status_and_replace_publishes_a_new_version(api, user, signup):
    doc = portability.export_workflow(signup)
    draft = api.post("/api/v1/workflows/import/?activate=false", doc, format="json")
    assert draft.status_code == 201 and draft.data["status"] == "draft" and draft.data["version"] == 0
    as_draft = {**doc, "workflow": {**doc["workflow"], "status": "draft"}}
    active = api.post("/api/v1/workflows/import/?activate=true", as_draft, format="json")
    assert active.status_code == 201 and active.data["status"] == "active" and active.data["version"] == 1

    doc["workflow"]["description"] = "edited in git"
    doc["workflow"]["steps"][0]["config"]["message"] = "Signup: {{ input.email }}"
    replaced = api.post(f"/api/v1/workflows/import/?replace={signup.pk}", doc, format="json")
    assert replaced.status_code == 200 and replaced.data["id"] == str(signup.pk) and replaced.data["version"] == 2
    signup.refresh_from_db()
    assert signup.description == "edited in git"
    assert frozen(signup)["steps"][0]["config"]["message"] == "Signup: {{ input.email }}"
    archived = api.post("/api/v1/workflows/import/", {**doc, "workflow": {**doc["workflow"], "status": "archived"}},
                        format="json")
    assert archived.status_code == 201 and archived.data["status"] == "archived"
    assert Workflow.objects.count() == 4


def test_round_trip_through_the_commands(user, signup, tmp_path):
    path = tmp_path / "signup.json"
    out = StringIO()
    call_command("export_workflow", str(signup.pk), "-o", str(path), stdout=out)
    assert "Exported 'New user signup'" in out.getvalue()
    stdout = StringIO()
    call_command("export_workflow", str(signup.pk), stdout=stdout)
    assert json.loads(stdout.getvalue()) == json.loads(path.read_text())

    out = StringIO()
    call_command("import_workflow", str(path), "--owner", "alice", stdout=out)
    copy = Workflow.objects.exclude(pk=signup.pk).get()
    assert f"Imported 'New user signup' ({copy.pk}): active, version 1, 6 steps" in out.getvalue()
    assert frozen(copy) == frozen(signup)
    assert portability.export_workflow(copy)["workflow"] == json.loads(path.read_text())["workflow"]

    call_command("import_workflow", str(path), "--owner", "alice", "--no-activate", stdout=StringIO())
    assert Workflow.objects.filter(status="draft").count() == 1


@pytest.mark.parametrize("steps,field", [(CYCLE, "steps.a.depends_on"), (BAD_KEY, "steps[0].key")])
def test_an_invalid_definition_is_refused_with_the_apis_field_names(api, tmp_path, steps, field):
    direct = api.post("/api/v1/workflows/", {"name": "imported", "steps": steps}, format="json")
    imported = api.post("/api/v1/workflows/import/", document(steps), format="json")
    assert direct.status_code == imported.status_code == 400
    assert imported.data == direct.data and field in imported.data["fields"]

    path = tmp_path / "bad.json"
    path.write_text(json.dumps(document(steps)))
    with pytest.raises(CommandError) as refused:
        call_command("import_workflow", str(path), "--owner", "alice")
    assert f"{field}: {' '.join(direct.data['fields'][field])}" in str(refused.value)
    assert not Workflow.objects.exists()


@pytest.mark.parametrize("body,words", [
    ({**document([]), "flowpilot_export": 2}, "unsupported flowpilot_export version 2"),
    ({"workflow": {"name": "x"}}, "not a FlowPilot export"),
    ([1, 2], "not a FlowPilot export"),
    ({**document([]), "workflow": "x"}, "workflow must be a JSON object"),
])
def test_a_document_of_another_format_is_refused_clearly(api, body, words):
    response = api.post("/api/v1/workflows/import/", body, format="json")
    assert response.status_code == 400 and words in response.data["message"], response.data
    assert not Workflow.objects.exists()


def test_an_unknown_version_is_refused_by_the_command(user, tmp_path):
    path = tmp_path / "future.json"
    path.write_text(json.dumps({**document(CYCLE), "flowpilot_export": 7}))
    with pytest.raises(CommandError, match="unsupported flowpilot_export version 7; this FlowPilot reads version 1"):
        call_command("import_workflow", str(path), "--owner", "alice")
    with pytest.raises(CommandError, match="no user 'nobody'"):
        call_command("import_workflow", str(path), "--owner", "nobody")


def test_another_users_workflow_cannot_be_exported_or_replaced(api, other_user):
    theirs = diamond(other_user)
    assert api.get(f"/api/v1/workflows/{theirs.pk}/export/").status_code == 404
    assert api.get("/api/v1/workflows/not-an-id/export/").status_code == 404
    doc = portability.export_workflow(theirs)
    assert api.post(f"/api/v1/workflows/import/?replace={theirs.pk}", doc, format="json").status_code == 404
    mine = api.post("/api/v1/workflows/import/", doc, format="json")  # the document itself is anyone's to import
    assert mine.status_code == 201 and mine.data["owner"] == "alice"


def test_the_export_contains_no_secrets(api, user):
    credentials.credential_save(owner=user, name="SLACK_WEBHOOK_URL", value="https://hooks.slack.com/T0/SECRET")
    workflow, _ = examples.load(owner=user)
    text = json.dumps(api.get(f"/api/v1/workflows/{workflow.pk}/export/").json())
    assert "SLACK_WEBHOOK_URL" in text  # the credential is named...
    assert "hooks.slack.com" not in text and "encrypted" not in text  # ...never given


def test_a_webhook_travels_without_its_token_and_secret_and_gets_new_ones(user, signup):
    trigger, secret = trigger_services.trigger_create(workflow=signup, type="webhook", data={"name": "github"})
    doc = portability.export_workflow(signup)
    text = json.dumps(doc)
    assert [t["type"] for t in doc["triggers"]] == ["webhook"]
    assert secret not in text and trigger.token not in text and trigger.secret_encrypted not in text
    copy = portability.import_workflow(owner=user, document=doc)
    new = Trigger.objects.get(workflow=copy)
    assert new.type == "webhook" and new.name == "github" and new.token and new.token != trigger.token
    assert new.secret_encrypted and new.secret_encrypted != trigger.secret_encrypted


def test_a_bad_trigger_refuses_the_whole_import(api, signup):
    doc = {**portability.export_workflow(signup), "triggers": [{"type": "schedule", "cron": "every day"}]}
    response = api.post("/api/v1/workflows/import/", doc, format="json")
    assert response.status_code == 400 and "cron" in response.data["message"], response.data
    not_a_list = api.post("/api/v1/workflows/import/", {**doc, "triggers": "webhook"}, format="json")
    assert not_a_list.status_code == 400 and "triggers" in not_a_list.data["fields"]
    assert Workflow.objects.count() == 1 and not Trigger.objects.exists()


def test_the_openapi_schema_documents_export_and_import(api):
    paths = api.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()["paths"]
    assert "get" in paths["/api/v1/workflows/{id}/export/"]
    operation = paths["/api/v1/workflows/import/"]["post"]
    assert {p["name"] for p in operation["parameters"]} == {"activate", "replace"}
    assert "201" in operation["responses"]


def test_options_on_the_import_describes_the_document(api):
    # Was a 500 (found by test_openapi's schemathesis run): DRF's OPTIONS metadata asks the view for its
    # serializer, and the import view had none.
    response = api.options("/api/v1/workflows/import/")
    assert response.status_code == 200
    assert {"flowpilot_export", "workflow", "triggers"} <= set(response.data["actions"]["POST"])


def test_the_error_workflow_travels_by_name_or_is_dropped_with_a_warning(api, user, other_user, signup):
    handler = diamond(user, name="on error")
    signup.error_workflow = handler
    signup.save()
    doc = api.get(f"/api/v1/workflows/{signup.pk}/export/").json()
    assert doc["workflow"]["error_workflow"] == "on error" and "error_workflow_id" not in doc["workflow"]

    imported = api.post("/api/v1/workflows/import/", doc, format="json")
    assert imported.status_code == 201, imported.data
    assert imported.data["error_workflow_id"] == str(handler.pk) and imported.data["warnings"] is None

    # On another account (no workflow of that name): imported without it, and said so.
    other = api.__class__()
    other.force_authenticate(other_user)
    moved = other.post("/api/v1/workflows/import/", doc, format="json")
    assert moved.status_code == 201, moved.data
    assert moved.data["error_workflow_id"] is None
    assert "no active workflow of yours named 'on error'" in moved.data["warnings"]["error_workflow"][0]
