"""The OpenAPI schema (/api/v1/schema/): valid, generated without a drf-spectacular warning, and
fuzzed with schemathesis over every operation, in process, without a single 500.

The fuzz run is bounded (a fixed number of examples per operation, derandomized: the same cases
every run) and authenticates with a DRF token. The ids of seeded objects are offered to the path
parameters (and to the body and query fields naming a workflow) through schemathesis dictionaries,
so detail endpoints are reached with real ids as well as with made-up ones. Executions the fuzzer
starts go to the SynchronousExecutor (conftest), which nothing drains: no step runs.
"""

from __future__ import annotations

import pytest
import schemathesis
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from accounts.services import api_token_create
from flowpilot.wsgi import application
from monitoring.alert_services import alert_rule_create
from triggers import services as triggers
from workflows import credentials, services
from workflows.code import registry as code_registry
from workflows.engine import definition as definitions
from workflows.models import Workflow, WorkflowVersion
from workflows.tests.factories import active_workflow, step

# One process runs the module (its fuzz cases are CPU-bound: two at once on two cores would only take turns), and it
# is the first unit of work handed out (the largest group): everything else is spread over the other processes.
pytestmark = pytest.mark.xdist_group("test_openapi")

MAX_EXAMPLES = 20
# No 500; and every answer is one the schema documents: its status code, its content type, and its
# body when JSON. (A path that no URL pattern matches, such as an id of the wrong shape,
# "/executions/0.5/", is a JSON 404 too: flowpilot/errors.py.)
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def test_the_schema_is_valid_and_generated_without_warnings(tmp_path):
    # --fail-on-warn: any warning (an unresolvable field, a name collision...) is a CommandError.
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))
    assert "/api/v1/workflows/{id}/run/" in (tmp_path / "schema.yaml").read_text()


SCHEMA_URI = "urn:flowpilot:openapi"


def _as_json_schema(node, *, closed: bool):
    """OpenAPI 3.0's schema objects as JSON Schema: `nullable` becomes a null alternative; with `closed`,
    an object that lists its properties refuses any other (so a stored key nobody declared fails too)."""
    if isinstance(node, list):
        return [_as_json_schema(item, closed=closed) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: _as_json_schema(value, closed=closed) for key, value in node.items()}
    if closed and "properties" in node and "additionalProperties" not in node:
        node["additionalProperties"] = False
    if node.pop("nullable", False):
        if "type" in node:
            node["type"] = [node["type"], "null"]
        else:  # a $ref or an allOf
            node = {"anyOf": [node, {"type": "null"}]}
    return node


def component_validator(client, name: str, *, closed: bool = True) -> Draft202012Validator:
    """A validator of the served schema's component `name`, its $refs resolved within the schema."""
    document = client.get("/api/v1/schema/", {"format": "json"}).json()
    resource = Resource.from_contents(_as_json_schema(document, closed=closed), default_specification=DRAFT202012)
    return Draft202012Validator({"$ref": f"{SCHEMA_URI}#/components/schemas/{name}"},
                                registry=Registry().with_resource(SCHEMA_URI, resource))


def _served_definitions(client, workflow: Workflow) -> list[dict]:
    versions = client.get(f"/api/v1/workflows/{workflow.pk}/versions/").json()
    stored = dict(workflow.versions.values_list("number", "definition"))
    assert versions and {v["number"]: v["definition"] for v in versions} == stored  # served as stored
    return [v["definition"] for v in versions]


def test_the_versions_definition_is_a_named_component(api):
    schema = api.get("/api/v1/schema/", {"format": "json"}).json()["components"]["schemas"]
    assert schema["WorkflowVersion"]["properties"]["definition"]["allOf"] == [
        {"$ref": "#/components/schemas/WorkflowDefinition"}]


def test_served_definitions_of_designed_workflows_match_the_declared_component(api, user):
    """The component declares every key from_data stores, and no key it stores is undeclared."""
    validator = component_validator(api, "WorkflowDefinition")
    drawn = active_workflow(user, [
        step("check", "conditional", config={"condition": "{{ input.pro }}"}, position_x=10.5, position_y=-4),
        step("pro", "log", config={"message": "pro"}, depends_on=["check:true"], max_retries=2,
             retry_base_delay=0.5, retry_backoff_factor=3, retry_max_delay=9, timeout_seconds=30,
             when="{{ input.plan }}"),
        step("plain", function="noop", depends_on=["check:false"], name="Plain"),
    ], name="drawn", max_retries=1, retry_max_delay=60)
    # A version published before positions were kept: its steps have none.
    older = definitions.from_data(workflow={"name": drawn.name}, steps=[step("a", "log", config={"message": "a"})])
    for stored_step in older["steps"]:
        del stored_step["position"]
    drawn.version += 1
    drawn.save(update_fields=["version"])
    WorkflowVersion.objects.create(workflow=drawn, number=drawn.version, definition=older)
    served = _served_definitions(api, drawn)
    assert len(served) == 2
    for definition in served:
        validator.validate(definition)
    for broken in ({**served[0], "extra": 1}, {**served[0], "steps": [{"key": "a"}]},
                   {**served[0], "retry": {"max_retries": "3"}}):
        with pytest.raises(ValidationError):
            validator.validate(broken)


def test_served_definitions_of_code_workflows_match_the_declared_component(db, settings):
    """Every registered code workflow's version: kind, code, edges, steps with start and action."""
    settings.FLOWPILOT_API_RATE_USER = "1000000/minute"
    staff = APIClient()
    staff.force_authenticate(get_user_model().objects.create_user("root", is_staff=True))
    staff.get("/api/v1/workflows/", {"page_size": 100})  # listing them stores their versions
    validator = component_validator(staff, "WorkflowDefinition")
    names = [spec.name for spec in code_registry.all_workflows()]
    assert len(names) > 3
    for workflow in Workflow.objects.filter(kind="code", name__in=names):
        (definition,) = _served_definitions(staff, workflow)
        assert definition["kind"] == "code"
        validator.validate(definition)
    with pytest.raises(ValidationError):
        validator.validate({**definition, "edges": [{"from": "a", "to": "b", "kind": "jump"}]})


DOCS = ("/api/v1/docs/", "/api/v1/schema/")


def test_the_interactive_docs_and_the_schema_are_served(user):
    """To a logged-in user. (schemathesis leaves out the operation that serves the schema it reads: it is here.)"""
    client = Client()
    client.force_login(user)
    docs = client.get("/api/v1/docs/")
    assert docs.status_code == 200 and b"swagger-ui" in docs.content.lower()
    as_json = client.get("/api/v1/schema/", {"format": "json", "lang": "en"})
    assert as_json.status_code == 200 and as_json.json()["openapi"].startswith("3.")
    as_yaml = client.get("/api/v1/schema/", {"format": "yaml"})
    assert as_yaml.status_code == 200 and as_yaml.content.startswith(b"openapi: 3.")
    assert client.get("/api/v1/schema/", {"format": "xml"}).status_code == 404


def test_the_docs_and_the_schema_need_a_login_unless_published(user, settings):
    """Issue 12, finding 9: they answered anyone, though only /health is open."""
    settings.FLOWPILOT_API_RATE_ANON = ""  # the anonymous counters are shared by the whole run
    anonymous = Client()
    for path in DOCS:
        refused = anonymous.get(path)
        assert refused.status_code == 401 and refused["WWW-Authenticate"] == "Token", path
        assert b"swagger" not in refused.content.lower() and b"openapi" not in refused.content.lower()
    as_json = anonymous.get("/api/v1/schema/", {"format": "json"})
    assert as_json.status_code == 401 and as_json.json() == {"message": "Authentication credentials were not provided."}
    key = Token.objects.create(user=user).key
    assert [Client().get(path, HTTP_AUTHORIZATION=f"Token {key}").status_code for path in DOCS] == [200, 200]
    settings.FLOWPILOT_PUBLIC_API_DOCS = True
    assert [anonymous.get(path).status_code for path in DOCS] == [200, 200]


@pytest.fixture
def seeded(transactional_db, user, sync_executor):
    """Objects of every kind, committed (the WSGI app sees them), and their ids by kind."""
    waiting = active_workflow(user, [
        step("greet", "log", config={"message": "hi {{ input.name }}"}),
        step("approve", "approval", config={"message": "ok?", "timeout_seconds": 3600}, depends_on=["greet"]),
    ], name="approve")
    failing = active_workflow(user, [step("boom", function="fail", kwargs={"retryable": False})], name="failing")
    draft = services.workflow_create(owner=user, data={"name": "draft"},
                                     steps=[step("only", "log", config={"message": "x"})])
    executions = [services.execution_start(workflow=wf, input_data={"name": "bo"})[0] for wf in (waiting, failing)]
    sync_executor.drain()  # one waits for its approval, one failed: signal, retry and cancel have work
    made = [triggers.trigger_create(workflow=waiting, type=kind, data=data)[0] for kind, data in (
        ("webhook", {}), ("schedule", {"cron": "0 9 * * 1", "timezone": "Europe/Paris"}),
        ("event", {"event_name": "signup", "offset_minutes": 30})) for _ in range(2)]  # 2: DELETE takes some
    credential = credentials.credential_save(owner=user, name="api_key", value="s3cret-value")
    token, _ = api_token_create(user=user, name="ci")
    rules = [alert_rule_create(owner=user, data={  # email only: a test notification goes to the locmem outbox
        "name": f"rule {i}", "workflow_id": failing.pk, "kind": "failure_rate", "threshold": 0.1,
        "channels": [{"type": "email", "to": ["ops@example.com"]}]}) for i in range(2)]
    return {
        "workflows": [str(wf.pk) for wf in (waiting, failing, draft)],
        "executions": [str(e.pk) for e in executions],
        "triggers": [str(t.pk) for t in made],
        "credentials": [credential.pk],
        "tokens": [token.pk],
        "alert_rules": [rule.pk for rule in rules],
        # Step types safe to try with made-up configs: no network, no mail, nothing that sleeps.
        "step_types": ["log", "data_transform", "conditional", "delay", "wait_for_signal"],
    }


@pytest.fixture
def api_schema(seeded, user, settings, request):
    # schemathesis 4.32's lazy schemas read and rename Function._nodeid, which pytest 9.2 no longer
    # has (its nodeid is a property): give it the attribute, used only to name the operations' reports.
    request.node._nodeid = request.node.nodeid
    settings.FLOWPILOT_API_RATE_USER = ""  # no throttling: the fuzzer makes hundreds of requests
    settings.FLOWPILOT_API_RATE_ANON = ""
    key = Token.objects.create(user=user).key
    often = 0.7  # the rest of the time, made-up values (404s, 400s)

    def ids(kind, *names):
        return {name: {"dictionary": kind, "probability": often} for name in names}

    config = schemathesis.Config.from_dict({
        "headers": {"Authorization": f"Token {key}"},
        "cache": {"enabled": False},
        "dictionaries": {kind: {"values": values} for kind, values in seeded.items()},
        "operations": [
            {"include-path-regex": r"^/api/v1/workflows/",
             "parameters": ids("workflows", "path.id", "path.workflow_id", "query.replace")},
            {"include-path-regex": r"^/api/v1/executions/", "parameters": {
                **ids("executions", "path.id"), **ids("workflows", "query.workflow", "body.workflow_id")}},
            {"include-path-regex": r"^/api/v1/triggers/", "parameters": ids("triggers", "path.id")},
            {"include-path-regex": r"^/api/v1/credentials/", "parameters": ids("credentials", "path.id")},
            {"include-path-regex": r"^/api/v1/tokens/", "parameters": ids("tokens", "path.id")},
            {"include-path-regex": r"^/api/v1/step-types/", "parameters": ids("step_types", "path.name")},
            {"include-path-regex": r"^/api/v1/alert-rules/", "parameters": {
                **ids("alert_rules", "path.id", "path.rule_id"), **ids("workflows", "body.workflow_id")}},
        ],
    })
    return schemathesis.openapi.from_wsgi("/api/v1/schema/", application, config=config,
                                          headers={"Authorization": f"Token {key}"})


schema = schemathesis.pytest.from_fixture("api_schema")


@pytest.mark.fuzz
@schema.parametrize()
@hypothesis_settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, database=None,
                     suppress_health_check=list(HealthCheck))
def test_no_operation_answers_a_server_error(case):
    """Every operation of the schema, with valid and invalid input. Nothing is excluded: /hooks/ is not an API
    operation (not in the schema), and GET /api/v1/schema/, which schemathesis skips as the document it
    reads, is tested above."""
    case.call_and_validate(checks=CHECKS)
