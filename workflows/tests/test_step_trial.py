"""POST /api/v1/step-types/<name>/try/: one handler call on sample data, through the engine's own
path (workflows/engine/invoke.py), recording nothing."""

from __future__ import annotations

import time

import pytest
from rest_framework.test import APIClient

from workflows import credentials, services
from workflows.models import ExecutionLog, TaskExecution, WorkflowExecution
from workflows.tests.factories import active_workflow, step


def try_step(api, name: str, **body):
    return api.post(f"/api/v1/step-types/{name}/try/", body, format="json")


@pytest.fixture
def nothing_recorded(db):
    yield
    assert not WorkflowExecution.objects.exists()
    assert not TaskExecution.objects.exists() and not ExecutionLog.objects.exists()


def test_a_step_runs_on_sample_input_and_upstream_outputs(api, nothing_recorded):
    answer = try_step(api, "log", config={"message": "hi {{ input.name }}"}, input={"name": "bo"})
    assert answer.status_code == 200
    body = answer.json()
    assert body == {"status": "completed", "output": {"message": "hi bo"}, "error": None, "error_details": None,
                    "traceback": "",
                    "rendered_config": {"message": "hi bo"}, "logs": [{"level": "info", "message": "hi bo", "details": {}}],
                    "duration_ms": body["duration_ms"]}
    assert 0 <= body["duration_ms"] < 5000

    summed = try_step(api, "python", config={"function": "add", "kwargs": {"a": "{{ steps.prev.output.n }}", "b": 2}},
                      steps={"prev": {"output": {"n": 3}}}).json()
    assert (summed["status"], summed["output"]) == ("completed", {"sum": 5})
    assert summed["rendered_config"] == {"function": "add", "kwargs": {"a": 3, "b": 2}}


def test_a_failure_is_reported_with_its_error_and_traceback(api, nothing_recorded):
    refused = try_step(api, "python", config={"function": "fail", "kwargs": {"message": "nope", "retryable": False}})
    assert refused.status_code == 200
    assert refused.json()["status"] == "failed" and refused.json()["output"] is None
    assert refused.json()["error"] == "nope"
    assert refused.json()["error_details"] == {"type": "StepError", "retryable": False}

    crashed = try_step(api, "python", config={"function": "flaky", "kwargs": {"fail_times": 5}}).json()
    assert crashed["status"] == "failed" and crashed["error_details"]["retryable"] is True
    assert crashed["error"] == "RuntimeError: flaky failure on attempt 1"
    assert "Traceback" in crashed["traceback"] and "flaky failure" in crashed["traceback"]


def test_waits_and_child_runs_are_reported_not_acted_on(api, user, nothing_recorded):
    delay = try_step(api, "delay", config={"seconds": 60}).json()
    assert delay["status"] == "waiting" and delay["output"]["until"] and delay["output"]["signal"] is None
    signal = try_step(api, "wait_for_signal", config={"signal": "paid"}).json()
    assert signal["status"] == "waiting" and signal["output"]["signal"] == "paid"

    child = services.workflow_create(owner=user, data={"name": "child", "status": "active"},
                                     steps=[step("a", function="noop")])
    spawn = try_step(api, "sub_workflow", config={"workflow_id": str(child.pk), "input": {"x": 1}}).json()
    assert spawn["status"] == "would_start_children"
    assert spawn["output"] == {"workflow_id": str(child.pk), "inputs": [{"x": 1}], "parallelism": 1,
                               "collect_errors": False, "single": True}


def test_the_users_credentials_are_resolved_and_redacted(api, user, other_user, nothing_recorded):
    credentials.credential_save(owner=user, name="api_key", value="s3cret-value")
    body = try_step(api, "log", config={"message": "key={{ secrets.api_key }}"}).json()
    assert body["status"] == "completed"
    assert body["output"] == {"message": "key=[redacted]"} and body["rendered_config"] == body["output"]
    assert body["logs"][0]["message"] == "key=[redacted]"
    assert "s3cret" not in str(body)

    mallory = APIClient()
    mallory.force_authenticate(other_user)  # her own credentials only
    theirs = try_step(mallory, "log", config={"message": "key={{ secrets.api_key }}"}).json()
    assert theirs["status"] == "failed" and theirs["error"] == "credential 'api_key' does not exist"


def test_the_time_limit_is_the_requests_and_capped_by_the_server(api, settings, nothing_recorded):
    started = time.monotonic()
    body = try_step(api, "python", config={"function": "sleep", "kwargs": {"seconds": 3}}, timeout_seconds=0.2).json()
    assert body["status"] == "failed"
    assert body["error_details"] == {"type": "StepTimeout", "retryable": True, "timeout_seconds": 0.2}

    settings.FLOWPILOT_TRY_MAX_SECONDS = 0.3
    capped = try_step(api, "python", config={"function": "sleep", "kwargs": {"seconds": 3}}, timeout_seconds=600).json()
    assert capped["error"] == "step timed out after 0.3 s"
    assert time.monotonic() - started < 2.5


def test_a_config_that_does_not_render_or_fit_is_a_400_and_an_unknown_type_a_404(api, nothing_recorded):
    undefined = try_step(api, "log", config={"message": "hi {{ input.nope }}"})
    assert undefined.status_code == 400
    assert undefined.json() == {"message": "Invalid input: config.message: undefined variable 'input.nope'",
                                "fields": {"config.message": ["undefined variable 'input.nope'"]}}
    broken = try_step(api, "log", config={"message": "{{ input.x"})
    assert broken.status_code == 400 and list(broken.json()["fields"]) == ["config.message"]
    missing = try_step(api, "log", config={})
    assert missing.status_code == 400 and missing.json()["fields"] == {"config.message": ["this field is required"]}
    shape = try_step(api, "log", config="text", steps={"a": {"no": "output"}}, timeout_seconds=-1)
    assert shape.status_code == 400 and set(shape.json()["fields"]) == {"config", "steps.a.output", "timeout_seconds"}

    unknown = try_step(api, "teleport", config={})
    assert unknown.status_code == 404
    assert unknown.json()["message"].startswith("unknown step type 'teleport'; known types: ")
    assert try_step(APIClient(), "log", config={"message": "x"}).status_code == 401


def test_a_run_reports_a_config_error_as_the_try_does(user, sync_executor):
    """One path for both: the attempt's error names the field, and is not retried."""
    workflow = active_workflow(user, [step("greet", "log", config={"message": "hi {{ input.nope }}"}, max_retries=3)])
    execution, _ = services.execution_start(workflow=workflow, input_data={})
    sync_executor.drain()
    (attempt,) = TaskExecution.objects.filter(execution=execution)
    assert attempt.status == "failed"
    assert attempt.error_message == "step 'greet': config.message: undefined variable 'input.nope'"
    assert attempt.error_details == {"type": "ConfigError", "retryable": False,
                                     "fields": {"config.message": ["undefined variable 'input.nope'"]}}


def test_seed_002_forms_try_as_they_run(api, nothing_recorded):
    rename = {"transforms": [{"type": "rename", "from": "a", "to": "b"}]}
    on_input = try_step(api, "data_transform", config=rename, input={"a": 1}).json()
    assert on_input["output"] == {"result": {"b": 1}}
    # the sample outputs given are its upstream steps': with exactly one, that output is transformed
    on_upstream = try_step(api, "data_transform", config=rename, input={"a": 1},
                           steps={"prev": {"output": {"a": 2}}}).json()
    assert on_upstream["output"] == {"result": {"b": 2}}

    logged = try_step(api, "log", config={"message": "Processing {order_id}", "level": "info"},
                      input={"order_id": 7}).json()
    assert logged["output"] == {"message": "Processing 7"}
    assert logged["rendered_config"] == {"message": "Processing 7", "level": "info"}

    branch = try_step(api, "conditional", config={"condition": {"field": "x", "operator": "eq", "value": "y"}},
                      input={"x": "y"}).json()
    assert branch["output"] == {"branch": "true"}
