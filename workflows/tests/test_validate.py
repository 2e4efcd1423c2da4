"""POST /api/v1/workflows/validate/ (issue 13): the server's save checks without saving, which the
designer asks while the user edits instead of keeping its own copy of the rules.

Each bad body is sent to validate and then saved for real: validate's errors are the 400's fields,
path for path and message for message, and validate wrote nothing. The cases the designer's
frontend/src/lib/validation.test.ts asserted before it stopped re-implementing these rules are here,
asserted on the server that now states them.
"""

from __future__ import annotations

import pytest

from workflows import bounds
from workflows.models import Workflow, WorkflowStep, WorkflowVersion

VALIDATE = "/api/v1/workflows/validate/"


def log(key: str, depends_on: list[str] | None = None, **extra) -> dict:
    return {"key": key, "task_type": "log", "config": {"message": key}, "depends_on": depends_on or [], **extra}


def http(key: str, config: dict) -> dict:
    return {"key": key, "task_type": "http_request", "config": config}


def conditional(key: str, config: dict) -> dict:
    return {"key": key, "task_type": "conditional", "config": config}


def rows() -> tuple[int, int, int]:
    return Workflow.objects.count(), WorkflowStep.objects.count(), WorkflowVersion.objects.count()


def validate(api, body, **query):
    response = api.post(VALIDATE + (f"?workflow={query['workflow']}" if query else ""), body, format="json")
    assert response.status_code == 200, response.content
    return response.json()


# (body, a field path the answer must name, words in its messages): the field and the words pin that
# each case is the rule it names, on top of validate == save.
BAD_BODIES = {
    # the config against its step type's JSON Schema
    "a required field": ({"name": "w", "steps": [http("fetch", {"method": "GET"})]}, "steps.fetch.config.url",
                         "required"),
    "a required field, nested": ({"name": "w", "steps": [http("fetch", {"url": "https://x", "auth": {
        "type": "bearer"}})]}, "steps.fetch.config.auth.credential", "required"),
    "a type": ({"name": "w", "steps": [http("fetch", {"url": "u", "timeout": "soon"})]},
               "steps.fetch.config.timeout", "is not of type"),
    "an enum": ({"name": "w", "steps": [http("fetch", {"url": "u", "method": "FETCH"})]},
                "steps.fetch.config.method", "is not one of"),
    "a range": ({"name": "w", "steps": [http("fetch", {"url": "u", "timeout": 601})]},
                "steps.fetch.config.timeout", "maximum"),
    "an array's item": ({"name": "w", "steps": [http("fetch", {"url": "u", "success_status": [200, "x"]})]},
                        "steps.fetch.config.success_status.1", "is not of type"),
    "a closed object": ({"name": "w", "steps": [http("fetch", {"url": "u", "colour": "blue"})]},
                        "steps.fetch.config", "colour"),
    "an empty string": ({"name": "w", "steps": [http("fetch", {"url": ""})]}, "steps.fetch.config.url",
                        "should be non-empty"),
    "one of a oneOf, none": ({"name": "w", "steps": [conditional("check", {})]}, "steps.check.config",
                             "valid under"),
    "one of a oneOf, both": ({"name": "w", "steps": [conditional("check", {
        "condition": True, "cases": [{"branch": "a", "when": True}]})]}, "steps.check.config", "valid under"),
    # the steps and their graph
    "a key's pattern": ({"name": "w", "steps": [log("bad key")]}, "steps[0].key", bounds.STEP_KEY_HELP),
    "a key's length": ({"name": "w", "steps": [log("k" * (bounds.STEP_KEY_MAX_LENGTH + 1))]}, "steps[0].key",
                       f"no more than {bounds.STEP_KEY_MAX_LENGTH} characters"),
    "a key used twice": ({"name": "w", "steps": [log("dup"), log("dup")]}, "steps.dup.key", "more than one step"),
    "an unknown step type": ({"name": "w", "steps": [{"key": "mystery", "task_type": "teleport"}]},
                             "steps.mystery.task_type", "unknown step type 'teleport'"),
    "a template's syntax": ({"name": "w", "steps": [{"key": "mail", "task_type": "send_email", "config": {
        "to": "a@b.c", "subject": "Hi {{ input.name"}}]}, "steps.mail.config.subject", "does not parse"),
    "a condition's syntax": ({"name": "w", "steps": [log("when", when="{{ input.ok and ")]}, "steps.when.when",
                             "does not parse"),
    "a dependency on itself": ({"name": "w", "steps": [log("a", ["a"])]}, "steps.a.depends_on", "itself"),
    "an unknown dependency": ({"name": "w", "steps": [log("a", ["ghost"])]}, "steps.a.depends_on",
                              "unknown step 'ghost'"),
    "a cycle": ({"name": "w", "steps": [log("a", ["c"]), log("b", ["a"]), log("c", ["b"]), log("d")]},
                "steps.a.depends_on", "dependency cycle"),
    "a branch the upstream step lacks": ({"name": "w", "steps": [
        conditional("route", {"cases": [{"branch": "eu", "when": "{{ x }}"}], "default": "other"}),
        log("eu", ["route:eu"]), log("us", ["route:true"])]}, "steps.us.depends_on", "no branch 'true'"),
    "a branch of a step without branches": ({"name": "w", "steps": [log("eu"), log("plain", ["eu:yes"])]},
                                            "steps.plain.depends_on", "no branches"),
    # failure paths ("<key>:failed")
    "a failure path of an unknown step": ({"name": "w", "steps": [log("a"), log("b", ["ghost:failed"])]},
                                          "steps.b.depends_on", "unknown step 'ghost'"),
    "a step after a step and its failure": ({"name": "w", "steps": [log("a"), log("b", ["a", "a:failed"])]},
                                            "steps.b.depends_on", "never runs"),
    "a cycle through a failure path": ({"name": "w", "steps": [log("a", ["b:failed"]), log("b", ["a"])]},
                                       "steps.a.depends_on", "dependency cycle"),
    "continue on failure not a boolean": ({"name": "w", "steps": [log("a", continue_on_failure="maybe")]},
                                          "steps[0].continue_on_failure", "valid boolean"),
    # the bounds on a step's numbers (GET /api/v1/limits/)
    "a timeout below its bound": ({"name": "w", "steps": [log("a", timeout_seconds=0)]},
                                  "steps[0].timeout_seconds", "greater than or equal to 1"),
    "a delay above its bound": ({"name": "w", "steps": [log("a", retry_base_delay=1e12)]},
                                "steps[0].retry_base_delay", "less than or equal to"),
    "a factor above its bound": ({"name": "w", "steps": [log("a", retry_backoff_factor=1e308)]},
                                 "steps[0].retry_backoff_factor", "less than or equal to"),
    "a retry policy": ({"name": "w", "retry_base_delay": 50, "retry_max_delay": 10, "steps": [log("a")]},
                       "retry", "max_delay"),
    # the workflow's own fields
    "a blank name": ({"name": "", "steps": [log("a")]}, "name", "blank"),
    "a concurrency key's syntax": ({"name": "w", "concurrency_key": "{{ input.", "steps": [log("a")]},
                                   "concurrency_key", "does not parse"),
    "an empty workflow created active": ({"name": "w", "status": "active", "steps": []}, "steps", "is empty"),
    "the NUL character": ({"name": "w", "steps": [log("a") | {"config": {"message": "a\x00b"}}]},
                          "steps.a.config.message", "NUL"),
}


@pytest.mark.parametrize("body,field,words", BAD_BODIES.values(), ids=BAD_BODIES.keys())
def test_validate_answers_the_errors_a_save_answers_and_writes_nothing(api, body, field, words):
    answer = validate(api, body)
    assert rows() == (0, 0, 0)
    saved = api.post("/api/v1/workflows/", body, format="json")
    assert saved.status_code == 400, saved.data
    assert answer == {"valid": False, "errors": saved.json()["fields"], "warnings": {}}
    assert words in " ".join(answer["errors"][field]), answer


def test_a_template_stands_for_a_value_of_any_type_and_a_sound_body_is_valid(api):
    body = {"name": "signup", "max_retries": 2, "steps": [
        log("start"),
        conditional("check", {"condition": "{{ input.pro }}"}) | {"depends_on": ["start"]},
        log("pro", ["check:true"]) | {"config": {"message": "{{ steps.start.output.message }}"}},
        http("fetch", {"url": "https://x", "timeout": "{{ input.timeout }}"}) | {"depends_on": ["check:false"]},
        log("k" * bounds.STEP_KEY_MAX_LENGTH, ["fetch"]),
    ]}
    assert validate(api, body) == {"valid": True, "errors": {}, "warnings": {}}
    assert rows() == (0, 0, 0)
    assert api.post("/api/v1/workflows/", body, format="json").status_code == 201


def test_too_many_steps_is_refused_as_a_save_refuses_it(api, settings):
    settings.FLOWPILOT_MAX_WORKFLOW_STEPS = 2
    body = {"name": "big", "steps": [log("a"), log("b"), log("c")]}
    answer = validate(api, body)
    assert answer["errors"] == {"steps": ["at most 2 steps in one workflow; this one has 3"]}
    assert answer["errors"] == api.post("/api/v1/workflows/", body, format="json").json()["fields"]
    assert rows() == (0, 0, 0)


def calls(key: str, workflow_id) -> dict:
    return {"key": key, "task_type": "sub_workflow", "config": {"workflow_id": str(workflow_id)}}


def test_with_a_workflow_it_checks_a_put_of_it_and_the_cycle_back_to_it(api):
    orders = api.post("/api/v1/workflows/", {"name": "orders", "steps": [log("note")]}, format="json").json()
    billing = api.post("/api/v1/workflows/", {"name": "billing", "steps": [calls("charge", orders["id"])]},
                       format="json").json()
    body = {"name": "orders", "steps": [calls("bill", billing["id"])]}
    # as a new workflow nothing can call it yet: no cycle to know of
    assert validate(api, body) == {"valid": True, "errors": {}, "warnings": {}}
    before = rows()
    answer = validate(api, body, workflow=orders["id"])
    assert rows() == before
    assert list(Workflow.objects.get(pk=orders["id"]).steps.values_list("key", flat=True)) == ["note"]
    saved = api.put(f"/api/v1/workflows/{orders['id']}/", body, format="json")
    assert saved.status_code == 400
    assert answer == {"valid": False, "errors": saved.json()["fields"], "warnings": {}}
    assert "workflow cycle: 'orders' -> 'billing' -> 'orders'" in answer["errors"]["steps.bill.config.workflow_id"][0]


def test_with_a_workflow_its_stored_retry_defaults_count(api):
    """A PUT keeps the workflow's own retry fields when the body leaves them out: the step's merged
    policy is checked with them, so validate must be told which workflow it is."""
    wf = api.post("/api/v1/workflows/", {"name": "slow", "retry_base_delay": 50, "steps": [log("a")]},
                  format="json").json()
    body = {"name": "slow", "steps": [log("a", retry_max_delay=10)]}
    assert validate(api, body)["valid"] is True
    answer = validate(api, body, workflow=wf["id"])
    saved = api.put(f"/api/v1/workflows/{wf['id']}/", body, format="json")
    assert saved.status_code == 400
    assert answer == {"valid": False, "errors": saved.json()["fields"], "warnings": {}}


def test_another_users_workflow_is_not_found_and_a_bad_id_too(api, other_user):
    theirs = Workflow.objects.create(owner=other_user, name="theirs")
    for workflow_id in (theirs.pk, "not-a-uuid"):
        response = api.post(f"{VALIDATE}?workflow={workflow_id}", {"name": "x", "steps": []}, format="json")
        assert response.status_code == 404, response.content


def test_validate_needs_a_user_and_is_in_the_openapi_schema(db, api):
    from rest_framework.test import APIClient

    assert APIClient().post(VALIDATE, {"name": "x"}, format="json").status_code in (401, 403)
    schema = api.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    operation = schema["paths"]["/api/v1/workflows/validate/"]["post"]
    assert operation["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("/WorkflowInput")
    answer = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    assert schema["components"]["schemas"][answer.rsplit("/", 1)[1]]["required"] == ["errors", "valid", "warnings"]


def test_the_limits_serve_the_step_key_rule_a_save_applies(api):
    rule = api.get("/api/v1/limits/").json()["step_key"]
    assert rule == {"min": 1, "max": 100, "pattern": bounds.STEP_KEY_PATTERN, "message": bounds.STEP_KEY_HELP}
    assert WorkflowStep._meta.get_field("key").max_length == rule["max"]
    assert validate(api, {"name": "w", "steps": [log("k" * rule["max"])]})["valid"] is True
    refused = validate(api, {"name": "w", "steps": [log("1st")]})["errors"]
    assert refused == {"steps[0].key": [rule["message"]]}


@pytest.mark.parametrize("template,refused", [
    ("Hello {{ input.name }}, {% if input.x %}yes{% endif %}", False),
    ("no templates here", False),
    ("Hi input.name }}", False),  # a stray closing delimiter is text to Jinja (the designer refused it)
    ("Hi {{ input.name", True),
    ("{% if x }}", True),
    ("{{ a {{ b }}", True),
    ("{{ }}", True),
])
def test_template_syntax_is_the_servers_to_say(api, template, refused):
    """The delimiter checks the designer made (frontend/src/lib/templates.ts, removed), as the server
    answers them: at the path of the string, deep in a config too."""
    body = {"name": "w", "steps": [log("a") | {"config": {"message": template}},
                                   http("b", {"url": "https://x", "json": {"list": ["ok", template]}})]}
    answer = validate(api, body)
    if not refused:
        assert answer == {"valid": True, "errors": {}, "warnings": {}}
        return
    assert sorted(answer["errors"]) == ["steps.a.config.message", "steps.b.config.json.list[1]"]
    assert all("does not parse" in m for messages in answer["errors"].values() for m in messages)
    assert answer["errors"] == api.post("/api/v1/workflows/", body, format="json").json()["fields"]


def test_bounded_like_a_save_the_body_size_and_depth(api, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2000
    big = {"name": "w", "steps": [log("a") | {"config": {"message": "x" * 5000}}]}
    refused = api.post(VALIDATE, big, format="json")
    saved = api.post("/api/v1/workflows/", big, format="json")
    assert refused.status_code == saved.status_code == 413, refused.content
    assert refused.json() == saved.json()
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024
    settings.FLOWPILOT_JSON_MAX_DEPTH = 5
    deep = {"name": "w", "steps": [log("a") | {"config": {"message": "m", "x": {"y": {"z": {"w": 1}}}}}]}
    refused = api.post(VALIDATE, deep, format="json")
    saved = api.post("/api/v1/workflows/", deep, format="json")
    assert refused.status_code == saved.status_code == 400
    assert refused.json() == saved.json() and "deep" in refused.json()["message"]
    assert rows() == (0, 0, 0)


def test_a_workflow_defined_in_code_answers_as_its_save_does(api, user):
    coded = Workflow.objects.create(owner=user, name="coded", kind="code")
    body = {"name": "coded", "steps": [log("a")]}
    refused = api.post(f"{VALIDATE}?workflow={coded.pk}", body, format="json")
    saved = api.put(f"/api/v1/workflows/{coded.pk}/", body, format="json")
    assert refused.status_code == saved.status_code == 409
    assert refused.json() == saved.json()
