"""Issue 16, credentials in the browser, on the server: which workflows use each credential
(`used_by`), a delete refused while one does (naming them), a value never returned, and a step naming
a credential its owner does not have reported by validate and by the save, on that step's field, as a
warning (docs/adr/0022-a-missing-credential-is-a-warning.md)."""

from __future__ import annotations

import json

import pytest

from workflows import credentials
from workflows.models import Credential, Workflow
from workflows.secrets import decrypt
from workflows.steps import registry

VALUE = "sk_live_TOPSECRET_0123456789"
VALIDATE = "/api/v1/workflows/validate/"


def crm(credential: str = "crm_token") -> dict:
    return {"key": "crm", "task_type": "http_request",
            "config": {"url": "https://crm.invalid/contacts", "auth": {"type": "bearer", "credential": credential}}}


def slack(credential: str = "slack_hook") -> dict:
    return {"key": "notify", "task_type": "slack", "config": {"credential": credential, "text": "hi"}}


def create_workflow(api, name: str, steps: list[dict], **fields) -> dict:
    response = api.post("/api/v1/workflows/", {"name": name, "steps": steps, **fields}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def add_credential(api, name: str, value: str = VALUE) -> dict:
    response = api.post("/api/v1/credentials/", {"name": name, "value": value}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def listed(api) -> dict[str, dict]:
    response = api.get("/api/v1/credentials/")
    assert response.status_code == 200
    return {c["name"]: c for c in response.json()["results"]}


def test_the_step_types_mark_their_credential_fields_in_their_schemas():
    """The designer's picker finds credential fields by this mark, never by a field's name."""
    marked = {name: credentials.step_references(name, config)
              for name, config in (("http_request", crm()["config"]), ("slack", slack()["config"]),
                                   ("sql", {"credential": "orders_db", "query": "SELECT 1"}))}
    assert marked == {"http_request": [("config.auth.credential", "crm_token")],
                      "slack": [("config.credential", "slack_hook")], "sql": [("config.credential", "orders_db")]}
    schema = registry.get("http_request").config_schema
    assert schema["properties"]["auth"]["properties"]["credential"]["format"] == "credential"
    assert "format" not in schema["properties"]["url"]
    # A template in a marked field names no credential (the type refuses it on save); {{ secrets.X }} does.
    assert credentials.step_references("log", {"message": "token {{ secrets.API_KEY }}"}) == [
        ("config.message", "API_KEY")]
    assert credentials.step_references("slack", {"credential": "{{ input.hook }}", "text": "x"}) == []


def test_used_by_names_the_draft_and_active_workflows_whose_steps_name_it(api, user, other_user):
    add_credential(api, "crm_token")
    add_credential(api, "slack_hook")
    add_credential(api, "unused")
    onboarding = create_workflow(api, "Onboarding", [crm(), slack()], status="active")
    digest = create_workflow(api, "Digest", [
        {"key": "say", "task_type": "log", "config": {"message": "with {{ secrets.slack_hook }}"}}])
    archived = create_workflow(api, "Old", [crm()])
    assert api.patch(f"/api/v1/workflows/{archived['id']}/", {"status": "archived"}, format="json").status_code == 200
    # Another user's workflow naming the same name uses their own credential, not this one.
    theirs = Workflow.objects.create(owner=other_user, name="Theirs")
    theirs.steps.create(key="crm", task_type="http_request", config=crm()["config"])

    found = listed(api)
    assert found["crm_token"]["used_by"] == [{"id": onboarding["id"], "name": "Onboarding", "steps": ["crm"]}]
    assert found["slack_hook"]["used_by"] == [
        {"id": digest["id"], "name": "Digest", "steps": ["say"]},
        {"id": onboarding["id"], "name": "Onboarding", "steps": ["notify"]}]
    assert found["unused"]["used_by"] == []
    one = api.get(f"/api/v1/credentials/{found['crm_token']['id']}/").json()
    assert one["used_by"] == found["crm_token"]["used_by"]
    assert set(one) == {"id", "name", "description", "created_at", "updated_at", "used_by"}


def test_a_delete_is_refused_naming_the_workflows_while_one_uses_it(api, user):
    token = add_credential(api, "crm_token")
    first = create_workflow(api, "Signup", [crm()])
    second = create_workflow(api, "Import contacts", [crm()], status="active")

    refused = api.delete(f"/api/v1/credentials/{token['id']}/")
    assert refused.status_code == 409, refused.content
    body = refused.json()
    assert "'Import contacts'" in body["message"] and "'Signup'" in body["message"]
    assert [w["name"] for w in body["used_by"]] == ["Import contacts", "Signup"]
    assert Credential.objects.filter(owner=user, name="crm_token").exists()  # nothing changed

    for workflow in (first, second):  # the workflows stop naming it: then it goes
        changed = api.patch(f"/api/v1/workflows/{workflow['id']}/", {"steps": [
            {"key": "note", "task_type": "log", "config": {"message": "no credential"}}]}, format="json")
        assert changed.status_code == 200, changed.content
    assert api.delete(f"/api/v1/credentials/{token['id']}/").status_code == 204
    assert not Credential.objects.filter(owner=user, name="crm_token").exists()


def test_the_value_is_never_returned_by_create_replace_list_or_read(api, user):
    created = add_credential(api, "crm_token")
    replaced = api.patch(f"/api/v1/credentials/{created['id']}/", {"value": "rotated-" + VALUE}, format="json")
    assert replaced.status_code == 200
    assert decrypt(Credential.objects.get(owner=user).encrypted_value) == "rotated-" + VALUE
    answers = [created, replaced.json(), api.get("/api/v1/credentials/").json(),
               api.get(f"/api/v1/credentials/{created['id']}/").json()]
    for answer in answers:
        text = json.dumps(answer)
        assert VALUE not in text and "value" not in json.dumps(answer.get("results", answer))
    assert "encrypted_value" not in json.dumps(answers)


def test_validate_and_the_save_report_a_missing_credential_on_its_step_as_a_warning(api, user):
    add_credential(api, "slack_hook")
    body = {"name": "Signup", "steps": [crm("crm_tokn"), slack("slack_hook"),
                                        {"key": "say", "task_type": "log",
                                         "config": {"message": "{{ secrets.NOPE }} and {{ secrets.slack_hook }}"}}]}
    expected = {"steps.crm.config.auth.credential": ["no credential named 'crm_tokn': create it (Credentials), "
                                                     "or choose another"],
                "steps.say.config.message": ["no credential named 'NOPE': create it (Credentials), or choose another"]}

    answer = api.post(VALIDATE, body, format="json").json()
    assert answer == {"valid": True, "errors": {}, "warnings": expected}

    saved = api.post("/api/v1/workflows/", body, format="json")  # a draft is saved, and told
    assert saved.status_code == 201 and saved.json()["warnings"] == expected
    workflow_id = saved.json()["id"]
    assert api.get(f"/api/v1/workflows/{workflow_id}/").json()["warnings"] == expected
    assert api.get("/api/v1/workflows/").json()["results"][0]["warnings"] is None  # lists do not ask
    # Checked as a change of this workflow, without steps in the body: its stored steps.
    stored = api.post(f"{VALIDATE}?workflow={workflow_id}", {"name": "Signup"}, format="json").json()
    assert stored["warnings"] == expected

    # Created under that name, the warning goes, in validate and in the save's answer.
    add_credential(api, "crm_tokn")
    fixed = api.put(f"/api/v1/workflows/{workflow_id}/", body, format="json")
    assert fixed.status_code == 200 and list(fixed.json()["warnings"]) == ["steps.say.config.message"]
    # Activation is not refused (a credential may be added later: the ADR says why); it says the same.
    activated = api.post(f"/api/v1/workflows/{workflow_id}/activate/")
    assert activated.status_code == 200 and list(activated.json()["warnings"]) == ["steps.say.config.message"]


def test_a_credential_of_another_user_does_not_count(api, user, other_user):
    credentials.credential_save(owner=other_user, name="crm_token", value=VALUE)
    answer = api.post(VALIDATE, {"name": "w", "steps": [crm()]}, format="json").json()
    assert list(answer["warnings"]) == ["steps.crm.config.auth.credential"]


@pytest.mark.parametrize("steps", [[], [{"key": "a", "task_type": "no_such_type", "config": {"credential": "x"}}]])
def test_validate_answers_warnings_beside_errors_for_any_body(api, user, steps):
    answer = api.post(VALIDATE, {"name": "w", "steps": steps}, format="json").json()
    assert answer["warnings"] == {} and answer["valid"] == (not steps)
