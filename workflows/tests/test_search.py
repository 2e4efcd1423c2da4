"""Search by business data (issue 17): a workflow's search_fields, the values its runs keep, and
?search.<name>=<value> on the executions list, the bulk retry, the metrics and the CLI.
docs/adr/0028-search-by-business-data.md."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from workflows import credentials, selectors, services, tasks
from workflows.code import CodeWorkflowError, registry
from workflows.code import step as code_step
from workflows.engine import search_index
from workflows.engine.events import Events
from workflows.models import ExecutionLog, ExecutionSearchValue, Workflow, WorkflowExecution
from workflows.portability import export_workflow, import_workflow
from workflows.tests.factories import active_workflow, step

pytestmark = pytest.mark.django_db

LIST = "/api/v1/executions/"
FIELDS = {"phone": "{{ input.phone }}", "patient": "{{ steps.crm.output.value }}"}


def crm_workflow(owner, **fields):
    """start (input) -> crm (its output: the patient id) -> notify."""
    return active_workflow(owner, [
        step("start", function="noop"),
        step("crm", function="record", kwargs={"value": "P-{{ input.n }}"}, depends_on=["start"]),
        step("notify", function="noop", depends_on=["crm"]),
    ], search_fields=fields.pop("search_fields", FIELDS), **fields)


def ids(response) -> set[str]:
    assert response.status_code == 200, response.data
    return {row["id"] for row in response.data["results"]}


# --- declaring them -----------------------------------------------------------------------------

def test_search_fields_are_saved_versioned_and_shown(api):
    created = api.post("/api/v1/workflows/", {"name": "signup", "status": "active", "search_fields": FIELDS,
                                              "steps": [step("crm", function="noop")]}, format="json")
    assert created.status_code == 201, created.data
    assert created.data["search_fields"] == FIELDS
    workflow = Workflow.objects.get(pk=created.data["id"])
    assert workflow.versions.get(number=1).definition["search_fields"] == FIELDS
    changed = api.patch(f"/api/v1/workflows/{workflow.pk}/", {"search_fields": {"phone": "{{ input.mobile }}"}},
                        format="json")
    assert changed.status_code == 200 and changed.data["version"] == 2
    versions = {v["number"]: v["definition"].get("search_fields") for v in
                api.get(f"/api/v1/workflows/{workflow.pk}/versions/").data}
    assert versions == {2: {"phone": "{{ input.mobile }}"}, 1: FIELDS}


def test_a_workflow_without_search_fields_publishes_the_definition_it_did_before(user):
    workflow = active_workflow(user, [step("a", function="noop")])
    assert "search_fields" not in workflow.versions.get().definition


@pytest.mark.parametrize("fields, path, message", [
    ({"phone": "{{ secrets.TOKEN }}"}, "search_fields.phone", "never secrets"),
    ({"phone": "{{ context.phone }}"}, "search_fields.phone", "reads 'context'"),
    ({"phone": "{{ steps.nope.output.id }}"}, "search_fields.phone", "does not have"),
    ({"phone": "{{ steps.crm.input }}"}, "search_fields.phone", "steps.<key>.output"),
    ({"phone": "{{ input.phone"}, "search_fields.phone", "does not parse"),
    ({"phone": "+91123"}, "search_fields.phone", "the same text for every run"),
    ({"phone": ""}, "search_fields.phone", "must be a template"),
    ({"phone": "{{ input.phone }}" + " " * 500}, "search_fields.phone", "at most 500"),
    ({"9phone": "{{ input.phone }}"}, "search_fields.9phone", "letters, digits and underscores"),
    ({f"f{i}": "{{ input.x }}" for i in range(11)}, "search_fields", "at most 10 search fields"),
])
def test_bad_search_fields_are_refused_with_a_clear_message(api, fields, path, message):
    body = {"name": "wf", "search_fields": fields, "steps": [step("crm", function="noop")]}
    response = api.post("/api/v1/workflows/", body, format="json")
    assert response.status_code == 400, response.data
    assert path in response.data["fields"] and message in " ".join(response.data["fields"][path]), response.data
    assert not Workflow.objects.exists()
    checked = api.post("/api/v1/workflows/validate/", body, format="json").data  # what the designer shows
    assert not checked["valid"] and path in checked["errors"]


def test_search_fields_travel_in_exports(user):
    workflow = crm_workflow(user)
    document = export_workflow(workflow)
    assert document["workflow"]["search_fields"] == FIELDS
    copy = import_workflow(owner=user, document={**document, "workflow": {**document["workflow"], "name": "copy"}})
    assert copy.search_fields == FIELDS and copy.versions.get().definition["search_fields"] == FIELDS


# --- the values a run keeps ---------------------------------------------------------------------

def test_values_from_the_input_at_start_and_from_a_step_when_it_completes(api, user, sync_executor):
    workflow = crm_workflow(user)
    started = api.post(f"/api/v1/workflows/{workflow.pk}/run/", {"input_data": {"phone": "+91123", "n": 7}},
                       format="json")
    assert started.status_code == 201 and started.data["search"] == {"phone": "+91123"}  # the input's, at once
    other, _ = services.execution_start(workflow=workflow, input_data={"phone": "+91999", "n": 8})
    sync_executor.drain()
    run = api.get(f"{LIST}{started.data['id']}/").data
    assert run["status"] == "completed" and run["search"] == {"patient": "P-7", "phone": "+91123"}
    assert ids(api.get(LIST, {"search.phone": "+91123"})) == {started.data["id"]}
    assert ids(api.get(f"{LIST}?search.phone=%2B91123")) == {started.data["id"]}  # as the issue writes it
    assert ids(api.get(LIST, {"search.patient": "P-8"})) == {str(other.pk)}
    assert ids(api.get(LIST, {"search.phone": "+91123", "search.patient": "P-7"})) == {started.data["id"]}  # AND
    assert ids(api.get(LIST, {"search.phone": "+91123", "search.patient": "P-8"})) == set()
    assert ids(api.get(LIST, {"search.phone": "+9112"})) == set()  # exact, not a prefix
    assert ids(api.get(LIST, {"search.phone": "+91123", "workflow": str(workflow.pk), "status": "completed"})) \
        == {started.data["id"]}
    listed = api.get(LIST, {"search.phone": "+91999"}).data["results"]
    assert listed[0]["search"] == {"patient": "P-8", "phone": "+91999"}


def test_others_runs_are_not_found(api, other_user):
    workflow = crm_workflow(other_user)
    services.execution_start(workflow=workflow, input_data={"phone": "+91123"})
    assert ids(api.get(LIST, {"search.phone": "+91123"})) == set()


def test_values_that_are_missing_or_unfit_are_not_stored(user, sync_executor):
    workflow = active_workflow(user, [step("crm", function="record", kwargs={"value": "{{ input.blob }}"})],
                               search_fields={"phone": "{{ input.phone }}", "blob": "{{ steps.crm.output.value }}",
                                              "n": "{{ input.n }}", "vip": "{{ input.vip }}"})
    run, _ = services.execution_start(workflow=workflow, input_data={"blob": "x" * 201, "n": 42, "vip": True})
    other, _ = services.execution_start(workflow=workflow, input_data={"blob": {"a": 1}, "phone": ""})
    sync_executor.drain()
    assert dict(run.search_values.values_list("name", "value")) == {"n": "42", "vip": "true"}  # no phone: none
    assert not other.search_values.exists()
    warnings = ExecutionLog.objects.filter(event="search.not_stored").order_by("execution__created_at")
    assert [(w.execution_id, w.details["field"]) for w in warnings] == [(run.pk, "blob"), (other.pk, "blob")]
    assert "201 characters; at most 200" in warnings[0].message and "an object" in warnings[1].message


def test_a_value_holding_a_redacted_secret_is_not_stored(user, sync_executor):
    credentials.credential_save(owner=user, name="TOKEN", value="s3cr3t-token-value")
    workflow = active_workflow(user, [step("crm", function="record", kwargs={"value": "id {{ secrets.TOKEN }}"})],
                               search_fields={"token": "{{ steps.crm.output.value }}"})
    run, _ = services.execution_start(workflow=workflow, input_data={})
    sync_executor.drain()
    assert run.task_executions.get().output == {"value": "id [redacted]"}  # redacted at the one seam
    assert not run.search_values.exists()  # and a value holding the mark is not kept
    assert ExecutionLog.objects.get(event="search.not_stored").message == (
        "search field 'token': the value holds a redacted secret; not stored")
    assert not ExecutionSearchValue.objects.filter(value__contains="s3cr3t").exists()


def test_a_step_completed_by_a_signal_keeps_its_value(api, user, sync_executor):
    """Not only a worker's result: a signal (likewise a timer, an approval, child runs) completes a step."""
    workflow = active_workflow(user, [step("wait", "wait_for_signal", config={"signal": "paid"}),
                                      step("after", function="noop", depends_on=["wait"])],
                               search_fields={"invoice": "{{ steps.wait.output.payload.invoice }}"})
    run, _ = services.execution_start(workflow=workflow, input_data={})
    sync_executor.drain()
    assert not run.search_values.exists()
    answer = api.post(f"{LIST}{run.pk}/signal/", {"name": "paid", "payload": {"invoice": "INV-7"}}, format="json")
    assert answer.status_code == 200 and answer.data["search"] == {"invoice": "INV-7"}
    assert ids(api.get(LIST, {"search.invoice": "INV-7"})) == {str(run.pk)}


def test_a_later_visit_or_retry_of_the_step_replaces_its_value(user, sync_executor):
    workflow = crm_workflow(user)
    run, _ = services.execution_start(workflow=workflow, input_data={"phone": "+1", "n": 1})
    sync_executor.drain()
    WorkflowExecution.objects.filter(pk=run.pk).update(input={"phone": "+1", "n": 2})
    run.refresh_from_db()
    search_index.step_completed(run, "crm", {"value": "P-2"}, Events())
    assert dict(run.search_values.values_list("name", "value")) == {"patient": "P-2", "phone": "+1"}


# --- what they cost -----------------------------------------------------------------------------

@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="the budget is PostgreSQL's (CI's database)")
def test_only_runs_with_search_fields_pay_for_them(user, sync_executor):
    """A step that no search field reads costs what it did (test_query_budget); one that a field
    reads costs one INSERT ... ON CONFLICT; a start with fields over the input, one INSERT."""
    plain = crm_workflow(user, name="plain", search_fields={})
    searched = crm_workflow(user, name="searched")

    def costs(workflow) -> tuple[int, list[int]]:
        services.execution_start(workflow=workflow, input_data={"phone": "+1", "n": 1})
        sync_executor.drain()  # warm: the definition cached, as in a worker that has run one
        with CaptureQueriesContext(connection) as start:
            services.execution_start(workflow=workflow, input_data={"phone": "+1", "n": 1})
        steps = []
        while sync_executor.queue:
            item = sync_executor.queue.popleft()
            if callable(item):
                item()
                continue
            with CaptureQueriesContext(connection) as queries:
                tasks.run_step.run(item)
            steps.append(len(queries))
        return len(start), steps

    plain_start, plain_steps = costs(plain)
    searched_start, searched_steps = costs(searched)
    assert searched_start == plain_start + 1  # the INSERT of the input's values
    assert searched_steps == [plain_steps[0], plain_steps[1] + 1, plain_steps[2]]  # crm's upsert only


# --- filters: bounds, bulk retry, metrics, CLI --------------------------------------------------

@pytest.mark.parametrize("params, field", [
    ({"search.9x": "a"}, "search.9x"),
    ({"search.": "a"}, "search."),
    ({"search.phone": ""}, "search.phone"),
    ({"search.phone": "x" * 201}, "search.phone"),
    ({"search.phone": "a\x00b"}, "search.phone"),
    ({f"search.f{i}": "a" for i in range(6)}, "search"),
])
def test_bad_search_filters_are_a_400_naming_them(api, params, field):
    response = api.get(LIST, params)
    assert response.status_code == 400 and field in response.data["fields"], response.data


def test_retry_failed_takes_search_filters(api, user, sync_executor):
    workflow = active_workflow(user, [step("crm", function="fail", kwargs={"retryable": False})],
                               search_fields={"phone": "{{ input.phone }}"})
    mine, _ = services.execution_start(workflow=workflow, input_data={"phone": "+91123"})
    services.execution_start(workflow=workflow, input_data={"phone": "+91456"})
    sync_executor.drain()
    assert WorkflowExecution.objects.filter(status="failed").count() == 2
    dry = api.post("/api/v1/executions/retry-failed/", {"search": {"phone": "+91123"}, "dry_run": True},
                   format="json")
    assert dry.status_code == 200 and dry.data["execution_ids"] == [mine.pk]
    on_url = api.post("/api/v1/executions/retry-failed/?search.phone=%2B91123", {"dry_run": True}, format="json")
    assert on_url.data["execution_ids"] == [mine.pk]
    both = api.post("/api/v1/executions/retry-failed/?search.phone=%2B91456", {"search": {"phone": "+91123"},
                                                                               "dry_run": True}, format="json")
    assert both.status_code == 400  # one field, two values: refused rather than matching nothing
    retried = api.post("/api/v1/executions/retry-failed/", {"search": {"phone": "+91123"}}, format="json")
    assert retried.data["retried"] == 1 and retried.data["execution_ids"] == [mine.pk]
    mine.refresh_from_db()
    assert mine.retry_count == 1
    bad = api.post("/api/v1/executions/retry-failed/", {"search": {"phone": "x" * 201}}, format="json")
    assert bad.status_code == 400 and "search.phone" in bad.data["fields"]


def test_metrics_take_search_filters(api, user, sync_executor):
    workflow = crm_workflow(user)
    for phone in ("+1", "+1", "+2"):
        services.execution_start(workflow=workflow, input_data={"phone": phone, "n": 1})
    sync_executor.drain()
    runs = lambda params: api.get("/api/v1/metrics/workflows/", params).data["workflows"][0]["runs"]  # noqa: E731
    assert runs({}) == 3 and runs({"search.phone": "+1"}) == 2 and runs({"search.phone": "+2"}) == 1
    steps = api.get("/api/v1/metrics/steps/", {"search.phone": "+2"}).data["steps"]
    assert {row["step_key"]: row["runs"] for row in steps} == {"start": 1, "crm": 1, "notify": 1}
    buckets = api.get("/api/v1/metrics/throughput/", {"search.phone": "+1"}).data["buckets"]
    assert sum(b["started"] for b in buckets) == 2
    assert api.get("/api/v1/metrics/running/", {"search.phone": "+1"}).status_code == 200
    assert api.get("/api/v1/metrics/errors/", {"search.phone": "x" * 201}).status_code == 400


def test_the_cli_takes_search_filters(user, sync_executor):
    workflow = active_workflow(user, [step("crm", function="fail", kwargs={"retryable": False})],
                               search_fields={"phone": "{{ input.phone }}"}, name="signup")
    mine, _ = services.execution_start(workflow=workflow, input_data={"phone": "+91123"})
    other, _ = services.execution_start(workflow=workflow, input_data={"phone": "+91456"})
    sync_executor.drain()
    out = StringIO()
    call_command("executions", "list", "--search", "phone=+91123", stdout=out)
    assert str(mine.pk) in out.getvalue() and str(other.pk) not in out.getvalue()
    out = StringIO()
    call_command("executions", "retry", "--search", "phone=+91123", stdout=out, stderr=StringIO())
    assert "Retried 1 of 1 execution" in out.getvalue()
    mine.refresh_from_db(), other.refresh_from_db()
    assert (mine.retry_count, other.retry_count) == (1, 0)
    with pytest.raises(CommandError, match="NAME=VALUE"):
        call_command("executions", "list", "--search", "phone")
    with pytest.raises(CommandError, match="at most 200"):
        call_command("executions", "list", "--search", "phone=" + "x" * 201)


def test_code_workflows_declare_search_fields():
    class Signup:
        @code_step(start=True)
        def first(self):
            return None

    with pytest.raises(CodeWorkflowError, match="search_fields.token: .*never secrets"):
        registry._build("search-bad", Signup, default_retry=None, search_fields={"token": "{{ secrets.X }}"})
    fields = {"phone": "{{ input.phone }}", "done": "{{ steps.first.output.x }}"}
    spec = registry._build("search-good", Signup, default_retry=None, search_fields=fields)
    assert spec.definition()["search_fields"] == fields
    assert "search_fields" not in registry._build("plain", Signup, default_retry=None).definition()


# --- the index --------------------------------------------------------------------------------------

def _many_runs(owner, count: int) -> Workflow:
    """`count` runs of one workflow, each with its own phone and one of 4 plans, as the engine stores them."""
    workflow = crm_workflow(owner, search_fields={"phone": "{{ input.phone }}", "plan": "{{ input.plan }}"})
    version = workflow.versions.get()
    runs = WorkflowExecution.objects.bulk_create([
        WorkflowExecution(workflow=workflow, workflow_version=version, status="completed") for _ in range(count)])
    ExecutionSearchValue.objects.bulk_create(
        [ExecutionSearchValue(execution=run, name="phone", value=f"+91{i:07d}") for i, run in enumerate(runs)]
        + [ExecutionSearchValue(execution=run, name="plan", value=("gold", "silver", "bronze", "free")[i % 4])
           for i, run in enumerate(runs)])
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE workflows_workflowexecution")
        cursor.execute("ANALYZE workflows_executionsearchvalue")
    return workflow


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's planner (SQLite: test_embedded)")
def test_the_executions_list_finds_a_value_through_the_index(api, user):
    """The planner's own choice, after ANALYZE, over 5,000 runs (200,000: benchmarks/search_index.py,
    the plans in ADR 0028): the list's query probes search_name_value, whatever else it does."""
    _many_runs(user, 5000)
    wanted = ExecutionSearchValue.objects.get(name="phone", value="+910001234").execution_id
    assert ids(api.get(LIST, {"search.phone": "+910001234"})) == {str(wanted)}
    listed = WorkflowExecution.objects.visible_to(user).for_api()
    plan = selectors.with_search(listed, {"phone": "+910001234"}).order_by("-created_at")[:20].explain()
    assert "search_name_value" in plan, plan
    assert "Seq Scan on workflows_executionsearchvalue" not in plan, plan
