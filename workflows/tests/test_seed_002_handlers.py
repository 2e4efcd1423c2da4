"""Seed 002's handler table (../shared/seeds/002_*.txt, "Task Handlers"), replayed as printed.

Users copy its Example Config column:

| Type | Description | Example Config |
| `http_request` | Make HTTP requests | `{"url": "...", "method": "POST", "body": {...}}` |
| `data_transform` | Transform data | `{"transforms": [{"type": "rename", "from": "a", "to": "b"}]}` |
| `delay` | Wait/sleep | `{"seconds": 5}` |
| `conditional` | Branch logic | `{"condition": {"field": "x", "operator": "eq", "value": "y"}}` |
| `log` | Log messages | `{"message": "Processing {order_id}", "level": "info"}` |

Each runs through the engine (services.execution_start, then the synchronous executor). Where the
seed elides a value ("..." and {...}) the test fills in one: the local server's URL and an order.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from workflows import services
from workflows.engine.planner.states import ExecutionStatus as E
from workflows.engine.planner.states import TaskStatus as T
from workflows.errors import InvalidInput
from workflows.models import ExecutionLog, TaskExecution
from workflows.services.recovery import sweep
from workflows.tests.factories import active_workflow, step
from workflows.tests.http_server import allow_loopback, fresh_circuits, server  # noqa: F401


def run(workflow, executor, input_data: dict):
    execution, _ = services.execution_start(workflow=workflow, input_data=input_data)
    executor.drain()
    execution.refresh_from_db()
    return execution


def rows(execution) -> dict[str, TaskExecution]:
    return {r.step_key: r for r in TaskExecution.objects.filter(execution=execution).order_by("attempt")}


# `http_request` | Make HTTP requests | {"url": "...", "method": "POST", "body": {...}}

def test_seed_002_http_request_posts_an_object_body_as_json(user, sync_executor, server, allow_loopback):
    order = {"order_id": "12345", "items": [{"sku": "A-1", "qty": 2}], "paid": True}
    wf = active_workflow(user, [step("call", "http_request",
                                     config={"url": f"{server.url}/validate", "method": "POST", "body": order})])
    execution = run(wf, sync_executor, {})
    assert execution.status == E.COMPLETED, execution.error_message
    sent = server.requests[0]
    assert sent["method"] == "POST" and sent["path"] == "/validate"
    assert sent["headers"]["Content-Type"] == "application/json"
    assert json.loads(sent["body"]) == order
    output = rows(execution)["call"].output
    assert output["status_code"] == 200 and output["body"]["ok"] is True


@pytest.mark.parametrize("body", [[1, "two", {"three": 3}], 42, None, False])
def test_seed_002_http_request_body_may_be_any_json_value(user, sync_executor, server, allow_loopback, body):
    wf = active_workflow(user, [step("call", "http_request",
                                     config={"url": f"{server.url}/validate", "method": "POST", "body": body})])
    assert run(wf, sync_executor, {}).status == E.COMPLETED
    assert server.requests[0]["headers"]["Content-Type"] == "application/json"
    assert json.loads(server.requests[0]["body"]) == body


def test_seed_002_http_request_a_string_body_is_sent_as_it_is(user, sync_executor, server, allow_loopback):
    wf = active_workflow(user, [step("call", "http_request", config={
        "url": f"{server.url}/validate", "method": "POST", "body": "order=12345",
        "headers": {"Content-Type": "application/x-www-form-urlencoded"}})])
    assert run(wf, sync_executor, {}).status == E.COMPLETED
    assert server.requests[0]["body"] == b"order=12345"
    assert server.requests[0]["headers"]["Content-Type"] == "application/x-www-form-urlencoded"


def test_seed_002_http_request_an_object_body_takes_templates(user, sync_executor, server, allow_loopback):
    wf = active_workflow(user, [step("call", "http_request", config={
        "url": f"{server.url}/validate", "method": "POST", "body": {"order_id": "{{ input.order_id }}"}})])
    assert run(wf, sync_executor, {"order_id": 12345}).status == E.COMPLETED
    assert json.loads(server.requests[0]["body"]) == {"order_id": 12345}


# `data_transform` | Transform data | {"transforms": [{"type": "rename", "from": "a", "to": "b"}]}

SEED_TRANSFORM = {"transforms": [{"type": "rename", "from": "a", "to": "b"}]}


def test_seed_002_data_transform_renames_in_the_runs_input(user, sync_executor):
    wf = active_workflow(user, [step("transform", "data_transform", config=SEED_TRANSFORM)])
    execution = run(wf, sync_executor, {"a": 1})
    assert execution.status == E.COMPLETED, execution.error_message
    assert rows(execution)["transform"].output == {"result": {"b": 1}}


def test_seed_002_data_transform_after_one_step_transforms_its_output(user, sync_executor):
    wf = active_workflow(user, [
        step("shape", "data_transform", config={"source": {"a": "{{ input.a * 10 }}", "c": 3}}),
        step("transform", "data_transform", config=SEED_TRANSFORM, depends_on=["shape"]),
    ])
    execution = run(wf, sync_executor, {"a": 1})
    assert execution.status == E.COMPLETED, execution.error_message
    assert rows(execution)["shape"].output == {"result": {"a": 10, "c": 3}}
    # its one upstream step's output ({"result": ...}) is what flows in
    assert rows(execution)["transform"].output == {"result": {"result": {"a": 10, "c": 3}}}


def test_seed_002_data_transform_after_several_steps_transforms_the_runs_input(user, sync_executor):
    wf = active_workflow(user, [
        step("one", "log", config={"message": "one"}),
        step("two", "log", config={"message": "two"}),
        step("transform", "data_transform", config=SEED_TRANSFORM, depends_on=["one", "two"]),
    ])
    execution = run(wf, sync_executor, {"a": 1, "keep": True})
    assert execution.status == E.COMPLETED, execution.error_message
    assert rows(execution)["transform"].output == {"result": {"b": 1, "keep": True}}


# `delay` | Wait/sleep | {"seconds": 5}

def test_seed_002_delay_waits_five_seconds_without_a_worker(user, sync_executor):
    wf = active_workflow(user, [step("wait", "delay", config={"seconds": 5}),
                                step("after", "log", config={"message": "done"}, depends_on=["wait"])])
    started = timezone.now()
    execution = run(wf, sync_executor, {})
    wait = rows(execution)["wait"]
    assert execution.status == E.RUNNING and wait.status == T.WAITING
    assert started + timedelta(seconds=5) <= wait.wake_at <= timezone.now() + timedelta(seconds=5)
    assert sweep(now=started + timedelta(seconds=1)).timers_fired == 0
    assert sweep(now=timezone.now() + timedelta(seconds=6)).timers_fired == 1
    sync_executor.drain()
    execution.refresh_from_db()
    assert execution.status == E.COMPLETED, execution.error_message
    assert rows(execution)["after"].status == T.COMPLETED


# `conditional` | Branch logic | {"condition": {"field": "x", "operator": "eq", "value": "y"}}

def branch_flow(user, condition: dict):
    return active_workflow(user, [
        step("check", "conditional", config={"condition": condition}),
        step("yes", "log", config={"message": "yes"}, depends_on=["check:true"]),
        step("no", "log", config={"message": "no"}, depends_on=["check:false"]),
    ])


@pytest.mark.parametrize("input_data,branch", [({"x": "y"}, "true"), ({"x": "z"}, "false"), ({}, "false")])
def test_seed_002_conditional_branches_on_a_field(user, sync_executor, input_data, branch):
    wf = branch_flow(user, {"field": "x", "operator": "eq", "value": "y"})
    execution = run(wf, sync_executor, input_data)
    assert execution.status == E.COMPLETED, execution.error_message
    found = rows(execution)
    assert found["check"].output == {"branch": branch}
    taken, skipped = ("yes", "no") if branch == "true" else ("no", "yes")
    assert found[taken].status == T.COMPLETED and found[skipped].status == T.SKIPPED


@pytest.mark.parametrize("condition,expected", [
    ({"field": "x", "operator": "ne", "value": "y"}, False),
    ({"field": "order.total", "operator": "gt", "value": 100}, True),
    ({"field": "order.total", "operator": "gte", "value": 150}, True),
    ({"field": "order.total", "operator": "lt", "value": 150}, False),
    ({"field": "order.total", "operator": "lte", "value": "{{ input.limit }}"}, True),
    ({"field": "order.country", "operator": "in", "value": ["IN", "FR"]}, True),
    ({"field": "order.tags", "operator": "contains", "value": "gift"}, True),
    ({"field": "order.coupon", "operator": "exists"}, False),
    ({"field": "order.coupon", "operator": "exists", "value": False}, True),
    ({"field": "order.email", "operator": "matches", "value": r"^[^@]+@example\.com$"}, True),
    ({"field": "steps.check_first.output.branch", "operator": "eq", "value": "true"}, True),
])
def test_seed_002_conditional_operators(user, sync_executor, condition, expected):
    wf = active_workflow(user, [
        step("check_first", "conditional", config={"condition": {"field": "x", "operator": "eq", "value": "y"}}),
        step("check", "conditional", config={"condition": condition}, depends_on=["check_first:true"]),
    ])
    execution = run(wf, sync_executor, {"x": "y", "limit": 150, "order": {
        "total": 150, "country": "IN", "tags": ["gift", "rush"], "email": "ada@example.com"}})
    assert execution.status == E.COMPLETED, execution.error_message
    assert rows(execution)["check"].output == {"branch": "true" if expected else "false"}


@pytest.mark.parametrize("condition,field,message", [
    ({"field": "x", "operator": "equals", "value": "y"}, "config.condition.operator", "is not one of"),
    ({"field": "x", "value": "y"}, "config.condition.operator", "this field is required"),
    ({"operator": "eq", "value": "y"}, "config.condition.field", "this field is required"),
    ({"field": "x", "operator": "eq"}, "config.condition.value", "this field is required"),
    ({"field": "x", "operator": "eq", "value": "y", "extra": 1}, "config.condition", "'extra' was unexpected"),
    ({"field": "x", "operator": "in", "value": 3}, "config.condition.value", "is not of type"),
    ({"field": "x", "operator": "matches", "value": "(a+)+$"}, "config.condition.value", "backtrack"),
    ({"field": "x", "operator": "matches", "value": "(a|aa)*b"}, "config.condition.value", "backtrack"),
    ({"field": "x", "operator": "matches", "value": r"(a)\1"}, "config.condition.value", "backreferences"),
    ({"field": "x", "operator": "matches", "value": "(unclosed"}, "config.condition.value",
     "not a valid regular expression"),
    ({"field": "x", "operator": "matches", "value": "a" * 201}, "config.condition.value", "is too long"),
])
def test_seed_002_conditional_invalid_forms_are_refused_at_save(user, condition, field, message):
    with pytest.raises(InvalidInput) as caught:
        branch_flow(user, condition)
    messages = caught.value.fields.get(f"steps.check.{field}", [])
    assert any(message in m for m in messages), caught.value.fields


def test_seed_002_conditional_a_long_subject_fails_clearly_instead_of_matching(user, sync_executor):
    wf = branch_flow(user, {"field": "x", "operator": "matches", "value": "^a+$"})
    execution = run(wf, sync_executor, {"x": "a" * 5000})
    assert execution.status == E.FAILED
    assert "at most 1000 are matched" in execution.error_message


def test_seed_002_conditional_comparing_a_number_with_a_string_fails_clearly(user, sync_executor):
    wf = branch_flow(user, {"field": "x", "operator": "gt", "value": "y"})
    execution = run(wf, sync_executor, {"x": 3})
    assert execution.status == E.FAILED
    assert "x is a number; gt compares it with a string" in execution.error_message


def test_seed_002_conditional_expressions_still_work(user, sync_executor):
    wf = branch_flow(user, "{{ input.x == 'y' }}")
    assert rows(run(wf, sync_executor, {"x": "y"}))["check"].output == {"branch": "true"}


# `log` | Log messages | {"message": "Processing {order_id}", "level": "info"}

def logged(execution, key: str) -> list[tuple[str, str]]:
    return list(ExecutionLog.objects.filter(execution=execution, step_key=key, event="step.log")
                .values_list("level", "message"))


def test_seed_002_log_interpolates_a_field_of_the_input(user, sync_executor):
    wf = active_workflow(user, [step("say", "log", config={"message": "Processing {order_id}", "level": "info"})])
    execution = run(wf, sync_executor, {"order_id": "12345"})
    assert execution.status == E.COMPLETED, execution.error_message
    assert rows(execution)["say"].output == {"message": "Processing 12345"}
    assert logged(execution, "say") == [("info", "Processing 12345")]


def test_seed_002_log_a_missing_field_stays_visible(user, sync_executor):
    wf = active_workflow(user, [step("say", "log", config={"message": "Processing {order_id}", "level": "info"})])
    execution = run(wf, sync_executor, {})
    assert execution.status == E.COMPLETED, execution.error_message
    assert logged(execution, "say") == [("info", "Processing {order_id}")]


def test_seed_002_log_mixes_placeholders_and_templates_without_confusing_them(user, sync_executor):
    wf = active_workflow(user, [step("say", "log", config={
        "message": "Order {order.id} for {{ input.customer }} ({{ input.order.total * 2 }}) {note} {{ '{x}' }}",
        "level": "warning"})])
    # a value holding braces or a template is shown, never interpolated or rendered again
    execution = run(wf, sync_executor, {"order": {"id": 7, "total": 5}, "customer": "{order_id} {{ 1 + 1 }}",
                                         "note": "{{ 7 * 7 }}"})
    assert execution.status == E.COMPLETED, execution.error_message
    assert logged(execution, "say") == [
        ("warning", "Order 7 for {order_id} {{ 1 + 1 }} (10) {{ 7 * 7 }} {x}")]
