"""Seed 004 (../shared/seeds/004_*.txt, the plan) replayed literally: its "Key Endpoints" (section 1,
lines 68-81) with their paths as printed, without the API's version (/api/ is an alias of /api/v1/,
flowpilot/slashes.py), and the other examples a user would copy: the task registry (section 4), the
webhook handler and the schedule (section 6), the execution consumer (section 8), the Celery setup
(section 3), the target capabilities. Each test is named after the seed's section and line.

Where FlowPilot deliberately does otherwise, the test says so and asserts what it answers instead:
- line 259, `http_request`'s `data`: FlowPilot's body is `json` (or `body`); `data` is refused by name.
- line 268, `delay` sleeps in a worker: FlowPilot's is a durable timer that holds no worker.
- line 326, `webhook_handler(request, webhook_id)`: FlowPilot's is POST /hooks/<token>/, signed by
  default, answering 202 {"execution_id", "status", "created"} rather than {"status": "triggered"}.
- line 398, the consumer's {"type": "task_update", "task_id", "status", "result"}: FlowPilot sends
  {"type": "events", "events": [...]} whose step events carry the same task_id and status.
- line 222, CELERY_RESULT_BACKEND: none; the database is the source of truth.
"""

import time

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.conf import settings as django_settings
from django.test import Client
from django.urls import reverse

from flowpilot.asgi import application
from triggers import services as trigger_services
from workflows import services
from workflows.engine.planner.states import ExecutionStatus as E
from workflows.models import TaskExecution, Workflow, WorkflowExecution
from workflows.steps import registry, step_function
from workflows.tests import functions  # noqa: F401 (registers the "fail" step function)
from workflows.tests.factories import active_workflow, step
from workflows.tests.test_live import ORIGIN, session_cookie
from workflows.tests.websocket import WebsocketClient

# FlowPilot's own bodies (the seed prints the endpoints, not their bodies).
CREATE = {"name": "welcome-journey", "description": "When a new user signs up",
          "steps": [{"key": "send_welcome_email", "task_type": "log", "config": {"message": "Welcome {{ input.name }}"}},
                    {"key": "create_crm_entry", "task_type": "python", "depends_on": ["send_welcome_email"],
                     "config": {"function": "add", "kwargs": {"a": 1, "b": 2}}}]}


@step_function("seed_004_send_email")
def send_email_task(**config) -> dict:
    """Section 4 line 247's task, as a FlowPilot step function: its config arrives as keyword arguments."""
    return {"status": "sent", "to": config.get("to")}


def created(api, body=CREATE, *, active=True) -> dict:
    response = api.post("/api/workflows/", {**body, "status": "active" if active else "draft"}, format="json")
    assert response.status_code == 201, response.data
    return response.data


def failed_run(api, sync_executor) -> dict:
    workflow = created(api, {"name": "fails", "steps": [{"key": "charge", "task_type": "python", "max_retries": 0,
                                                          "config": {"function": "fail", "kwargs": {
                                                              "message": "card declined", "retryable": False}}}]})
    run = api.post(f"/api/workflows/{workflow['id']}/run/", {"input_data": {}}, format="json").data
    sync_executor.drain()
    assert WorkflowExecution.objects.get(pk=run["id"]).status == E.FAILED
    return run


# --- section 1, Key Endpoints ----------------------------------------------------------------------

def test_key_endpoints_line_68_post_workflows_creates(api):
    response = api.post("/api/workflows/", CREATE, format="json")
    assert response.status_code == 201, response.data
    assert Workflow.objects.filter(pk=response.data["id"], name="welcome-journey").exists()
    assert [s["key"] for s in response.data["steps"]] == ["send_welcome_email", "create_crm_entry"]


def test_key_endpoints_line_69_get_workflows_lists(api):
    workflow = created(api)
    response = api.get("/api/workflows/")
    assert response.status_code == 200
    assert [w["id"] for w in response.data["results"]] == [workflow["id"]]
    assert response.data["next"] is None  # links the API answers with keep the version
    page = api.get("/api/workflows/?limit=1&offset=0").json()
    assert page["workflows"][0]["id"] == workflow["id"]


def test_key_endpoints_line_70_get_workflow_details(api):
    workflow = created(api)
    response = api.get(f"/api/workflows/{workflow['id']}/")
    assert response.status_code == 200
    assert response.data["id"] == workflow["id"] and len(response.data["steps"]) == 2


def test_key_endpoints_line_71_put_workflow_updates(api):
    workflow = created(api, active=False)
    body = {"name": "renamed", "steps": [{"key": "only", "task_type": "log", "config": {"message": "hi"}}]}
    response = api.put(f"/api/workflows/{workflow['id']}/", body, format="json")
    assert response.status_code == 200, response.data
    assert response.data["name"] == "renamed" and [s["key"] for s in response.data["steps"]] == ["only"]
    assert Workflow.objects.get(pk=workflow["id"]).name == "renamed"


def test_key_endpoints_line_72_delete_workflow(api):
    workflow = created(api, active=False)
    assert api.delete(f"/api/workflows/{workflow['id']}/").status_code == 204
    assert api.get(f"/api/workflows/{workflow['id']}/").status_code == 404


def test_key_endpoints_line_75_post_run_triggers_an_execution(api, sync_executor):
    workflow = created(api)
    response = api.post(f"/api/workflows/{workflow['id']}/run/", {"input_data": {"name": "Ada"}}, format="json")
    assert response.status_code == 201, response.data
    sync_executor.drain()
    run = WorkflowExecution.objects.get(pk=response.data["id"])
    assert run.status == E.COMPLETED and run.input == {"name": "Ada"}


def test_key_endpoints_line_76_get_executions_lists(api):
    workflow = created(api)
    run = api.post(f"/api/workflows/{workflow['id']}/run/", {"input_data": {}}, format="json").data
    response = api.get("/api/executions/")
    assert response.status_code == 200 and [e["id"] for e in response.data["results"]] == [run["id"]]


def test_key_endpoints_line_77_get_execution_status(api, sync_executor):
    workflow = created(api)
    run = api.post(f"/api/workflows/{workflow['id']}/run/", {"input_data": {"name": "Ada"}}, format="json").data
    sync_executor.drain()
    response = api.get(f"/api/executions/{run['id']}/")
    assert response.status_code == 200
    assert response.data["status"] == E.COMPLETED
    assert [t["step_key"] for t in response.data["task_executions"]] == ["send_welcome_email", "create_crm_entry"]


def test_key_endpoints_line_78_post_retry_retries_a_failed_execution(api, sync_executor):
    run = failed_run(api, sync_executor)
    response = api.post(f"/api/executions/{run['id']}/retry/")
    assert response.status_code == 200, response.data
    assert response.data["retry_count"] == 1


@pytest.mark.parametrize("method, path, body", [
    ("post", "/api/workflows", CREATE),
    ("get", "/api/workflows", None),
    ("get", "/api/workflows/{id}", None),
    ("put", "/api/workflows/{draft}", {"name": "renamed"}),
    ("delete", "/api/workflows/{draft}", None),
    ("post", "/api/workflows/{id}/run", {"input_data": {}}),
    ("get", "/api/executions", None),
    ("get", "/api/executions/{run}", None),
])
def test_key_endpoints_lines_68_to_78_answer_without_their_slash_too_and_without_a_redirect(api, method, path, body):
    ids = {"id": created(api)["id"], "draft": created(api, active=False)["id"]}
    ids["run"] = api.post(f"/api/workflows/{ids['id']}/run/", {"input_data": {}}, format="json").data["id"]
    response = getattr(api, method)(path.format(**ids), body, format="json")
    assert 200 <= response.status_code < 300, (response.status_code, getattr(response, "data", None))


def test_key_endpoints_the_alias_is_the_current_version_not_a_second_api(api, sync_executor):
    """/api/ answers as /api/v1/: the same objects, and every URL it names keeps the version."""
    workflow = created(api)
    assert api.get(f"/api/v1/workflows/{workflow['id']}/").data == api.get(f"/api/workflows/{workflow['id']}/").data
    assert reverse("workflow-detail", kwargs={"pk": workflow["id"]}) == f"/api/v1/workflows/{workflow['id']}/"
    for _ in range(2):
        api.post(f"/api/workflows/{workflow['id']}/run/", {"input_data": {}}, format="json")
    page = api.get("/api/executions/?limit=1&offset=0").json()
    assert page["count"] == 2 and page["next"].startswith("http://testserver/api/v1/executions/")  # versioned links
    assert api.get("/api/v1/").status_code == 200  # the API root, under its version
    assert api.get("/api/v2/workflows/").status_code == 404  # another version is not aliased to v1
    assert api.get("/api/no-such-thing/").status_code == 404
    assert Client().get("/api/workflows/").status_code in (401, 403)  # the alias asks for a user too


# --- section 1, Real-time Updates (line 81) and section 8, ExecutionConsumer (lines 390-403) ---------

@pytest.mark.django_db(transaction=True)
def test_key_endpoints_line_81_websocket_streams_an_execution(user, sync_executor):
    workflow = active_workflow(user, [step("hello", "log", config={"message": "hi {{ input.name }}"}),
                                      step("add", function="add", kwargs={"a": 1, "b": 2}, depends_on=["hello"])])
    execution, _ = services.execution_start(workflow=workflow, input_data={"name": "Ada"})
    alice = session_cookie(user)

    @async_to_sync
    async def scenario():
        client = WebsocketClient(application, f"/ws/executions/{execution.pk}/", headers=[ORIGIN, alice])
        connected, code = await client.connect()
        assert connected, code
        await sync_to_async(sync_executor.drain)()
        events = []
        deadline = time.monotonic() + 10
        while not any(e["event"] == "execution.completed" for e in events):
            message = await client.receive_json_from(timeout=max(deadline - time.monotonic(), 0.01))
            assert message["type"] == "events", message  # line 400's "task_update": FlowPilot batches events
            events.extend(message["events"])
        await client.disconnect()
        return events

    events = scenario()
    tasks = {str(t.pk): t.step_key for t in TaskExecution.objects.filter(execution=execution)}
    # Line 400-403's task_update fields: each step's transitions name its task_id and status.
    completed = [(tasks[e["task_id"]], e["status"]) for e in events if e["event"] == "step.completed"]
    assert completed == [("hello", "completed"), ("add", "completed")]


def test_real_time_updates_line_81_websocket_refuses_without_a_user(db):
    @async_to_sync
    async def scenario():
        client = WebsocketClient(application, "/ws/executions/00000000-0000-0000-0000-000000000000/",
                                 headers=[ORIGIN])
        connected, _ = await client.connect()
        assert connected  # accepted, then closed with the reason (a browser sees no close code otherwise)
        output = await client.receive_output(2)
        await client.disconnect()
        return output

    output = scenario()
    assert output["type"] == "websocket.close" and output["code"] == 4401


# --- section 1, Enhanced Models (lines 84-128) -----------------------------------------------------

def test_enhanced_models_lines_88_to_91_version_draft_and_creator(api, user):
    workflow = created(api, active=False)
    assert (workflow["status"], workflow["owner"]) == ("draft", user.username)  # is_draft, created_by
    assert workflow["version"] == 0  # versions are numbered when published: a draft has none yet
    active = api.post(f"/api/workflows/{workflow['id']}/activate/").data
    assert (active["status"], active["version"]) == ("active", 1)


def test_enhanced_models_lines_107_to_113_execution_statuses():
    assert {"pending", "running", "completed", "failed", "cancelled"} <= set(E.values)


def test_enhanced_models_line_96_step_type_is_called_task_type(api):
    """The seed's WorkflowStep.step_type is FlowPilot's (and seed 002's) `task_type`: a step given with
    `step_type` only is refused, naming the field it lacks."""
    body = {"name": "x", "steps": [{"key": "a", "step_type": "log", "config": {"message": "hi"}}]}
    response = api.post("/api/workflows/", body, format="json")
    assert response.status_code == 400
    assert "task_type" in str(response.data)
    assert not Workflow.objects.filter(name="x").exists()


# --- section 3, Task Queue setup (lines 221-225) ---------------------------------------------------

def test_task_queue_setup_lines_223_to_225_json_only():
    assert django_settings.CELERY_ACCEPT_CONTENT == ["json"] and django_settings.CELERY_TASK_SERIALIZER == "json"
    assert django_settings.CELERY_RESULT_BACKEND is None  # line 222: no result backend; the database is the truth


# --- section 4, Enhanced Task Registry (lines 231-281) ---------------------------------------------

def test_enhanced_task_registry_line_247_a_python_function_registered_as_a_task(api, sync_executor):
    workflow = created(api, {"name": "mail", "steps": [{"key": "welcome", "task_type": "python", "config": {
        "function": "seed_004_send_email", "kwargs": {"to": "ada@example.com"}}}]})
    run = api.post(f"/api/workflows/{workflow['id']}/run/", {"input_data": {}}, format="json").data
    sync_executor.drain()
    task = TaskExecution.objects.get(execution_id=run["id"])
    assert (task.status, task.output) == ("completed", {"status": "sent", "to": "ada@example.com"})


def test_enhanced_task_registry_lines_247_to_275_the_four_task_types_exist():
    assert {"send_email", "http_request", "delay", "conditional"} <= set(registry.names())


def test_enhanced_task_registry_line_259_http_request_data_is_refused_by_name(api):
    """Deliberately different: the seed sends `data` as JSON; FlowPilot's http_request says `json`
    (or `body`), and refuses the unknown key rather than ignoring it."""
    body = {"name": "call", "steps": [{"key": "call", "task_type": "http_request", "config": {
        "method": "POST", "url": "https://api.example.com/users", "headers": {"X-Team": "growth"},
        "data": {"name": "Ada"}}}]}
    response = api.post("/api/workflows/", body, format="json")
    assert response.status_code == 400
    assert "data" in str(response.data)
    assert not Workflow.objects.filter(name="call").exists()
    body["steps"][0]["config"]["json"] = body["steps"][0]["config"].pop("data")
    assert api.post("/api/workflows/", body, format="json").status_code == 201  # FlowPilot's spelling


def test_enhanced_task_registry_line_268_delay_seconds_is_a_durable_wait(api, sync_executor):
    workflow = created(api, {"name": "wait", "steps": [{"key": "pause", "task_type": "delay", "config": {"seconds": 60}}]})
    run = api.post(f"/api/workflows/{workflow['id']}/run/", {"input_data": {}}, format="json").data
    sync_executor.drain()
    task = TaskExecution.objects.get(execution_id=run["id"])
    assert task.status == "waiting" and task.wake_at is not None  # no worker sleeps (line 271's time.sleep)
    assert WorkflowExecution.objects.get(pk=run["id"]).status == E.RUNNING


def test_phase_2_lines_441_to_445_the_task_library_has_http_email_database_and_file_operations(api):
    served = {t["name"]: t for t in api.get("/api/step-types/").data}
    for name in ("http_request", "send_email", "sql", "file"):  # lines 442-445, in that order
        assert name in served, name
        assert served[name]["config_schema"]["properties"], name  # each with the form the designer shows
    assert {"read", "write", "append", "list", "delete"} == set(
        served["file"]["config_schema"]["properties"]["operation"]["enum"])
    assert served["sql"]["config_schema"]["properties"]["read_only"]["default"] is True


# --- section 6, Event Bus (lines 303-330) ----------------------------------------------------------

def test_event_bus_line_314_register_schedule_with_a_cron_expression(api):
    workflow = created(api)
    response = api.post(f"/api/workflows/{workflow['id']}/triggers/",
                        {"type": "schedule", "cron": "0 9 * * *"}, format="json")
    assert response.status_code == 201, response.data
    assert response.data["cron"] == "0 9 * * *" and len(response.data["next_fire_times"]) == 5


def test_event_bus_line_326_webhook_handler_starts_a_run_with_the_request_data(api, sync_executor):
    """The seed's webhook_handler(request, webhook_id) is POST /hooks/<token>/: the token stands for
    webhook_id, the JSON body is the run's input (line 328's request.data), signed by default."""
    workflow = created(api)
    hook = api.post(f"/api/workflows/{workflow['id']}/triggers/", {"type": "webhook"}, format="json").data
    body = b'{"name": "Ada", "email": "ada@example.com"}'
    response = Client().post(hook["url"], body, content_type="application/json",
                             HTTP_X_FLOWPILOT_SIGNATURE=trigger_services.sign(hook["secret"], body))
    assert response.status_code == 202, response.json()
    answer = response.json()
    assert set(answer) == {"execution_id", "status", "created"} and answer["created"] is True  # not {"status": "triggered"}
    sync_executor.drain()
    run = WorkflowExecution.objects.get(pk=answer["execution_id"])
    assert run.triggered_by == "webhook" and run.input["name"] == "Ada" and run.status == E.COMPLETED
    unsigned = Client().post(hook["url"], body, content_type="application/json")
    assert unsigned.status_code == 401 and "signature" in unsigned.json()["message"]


# --- Success Metrics, Target Capabilities (line 600) -----------------------------------------------

def test_success_metrics_line_600_ten_or_more_task_types(api):
    names = {t["name"] for t in api.get("/api/step-types/").data}
    assert len(names) >= 10 and names == set(registry.names())
