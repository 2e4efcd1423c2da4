"""Replay as a dry run (POST /api/v1/executions/{id}/replay/, docs/adr/0026): which step types have
side effects, the replay's one rule (pure), and replays over the API, run in-process against a real
HTTP server on 127.0.0.1 standing in for the CRM and Slack. The same on real workers: test_replay_e2e.py."""

from __future__ import annotations

import pytest

from workflows import bounds
from workflows.engine.planner import replay as rule
from workflows.engine.planner.states import ExecutionStatus as E
from workflows.engine.planner.states import TaskStatus as T
from workflows.models import TaskExecution, WorkflowExecution
from workflows.steps import registry
from workflows.steps.base import StepType
from workflows.tests.http_server import allow_loopback, fresh_circuits, server  # noqa: F401


# --- which step types have side effects ------------------------------------------------------------

@pytest.mark.parametrize("task_type,config,expected", [
    ("http_request", {"method": "GET", "url": "https://x"}, False),
    ("http_request", {"method": "head", "url": "https://x"}, False),
    ("http_request", {"url": "https://x"}, False),  # GET is the default
    ("http_request", {"method": "POST", "url": "https://x"}, True),
    ("http_request", {"method": "DELETE", "url": "https://x"}, True),
    ("http_request", {"method": "{{ input.method }}", "url": "https://x"}, True),  # unknown until run: the safe side
    ("sql", {"query": "SELECT 1"}, False),
    ("sql", {"query": "UPDATE t SET a = 1", "read_only": False}, True),
    ("sql", {"query": "SELECT 1", "read_only": "{{ input.rw }}"}, True),
    ("file", {"operation": "read", "path": "a.txt"}, False),
    ("file", {"operation": "list", "path": ""}, False),
    ("file", {"operation": "write", "path": "a.txt", "content": "x"}, True),
    ("file", {"operation": "delete", "path": "a.txt"}, True),
    ("send_email", {}, True), ("slack", {}, True), ("sub_workflow", {}, True), ("for_each", {}, True),
    ("python", {"function": "noop"}, True),  # not declared pure
    ("data_transform", {}, False), ("conditional", {}, False), ("log", {}, False), ("delay", {}, False),
    ("wait_for_signal", {}, False), ("approval", {}, False),
    ("no_such_type", {}, True),
])
def test_each_step_type_says_whether_it_has_side_effects(task_type, config, expected):
    assert registry.has_side_effects(task_type, config) is expected


def test_a_custom_step_type_has_side_effects_unless_it_declares_none():
    def handler(config, ctx):
        return {}

    assert StepType(name="x", description="", category="custom", config_schema={}, execute=handler) \
        .has_side_effects({}) is True
    pure = StepType(name="x", description="", category="custom", config_schema={}, execute=handler, side_effects=False)
    assert pure.has_side_effects({}) is False and pure.describe()["side_effects"] == "never"
    broken = StepType(name="x", description="", category="custom", config_schema={}, execute=handler,
                      side_effects=lambda config: config["missing"])
    assert broken.has_side_effects({}) is True  # a rule that cannot read the config answers the safe way


def test_the_step_types_list_says_it(api):
    listed = {t["name"]: t for t in api.get("/api/v1/step-types/").data}
    assert listed["http_request"]["side_effects"] == "by_config"
    assert "GET and HEAD" in listed["http_request"]["side_effects_note"]
    assert listed["send_email"]["side_effects"] == "always"
    assert listed["data_transform"]["side_effects"] == "never"


# --- the rule, pure ----------------------------------------------------------------------------------

def test_a_mock_wins_then_a_recording_for_a_step_with_side_effects_else_it_is_refused():
    mocks = {"crm": {"id": 7}}
    assert rule.answer(step_key="crm", side_effects=True, mocks=mocks, recorded=(True, {"id": 1})) == \
        rule.ReplayAnswer(output={"id": 7}, source=rule.MOCK)
    assert rule.answer(step_key="slack", side_effects=True, mocks=mocks, recorded=(True, {"ok": True})) == \
        rule.ReplayAnswer(output={"ok": True}, source=rule.RECORDING)
    refused = rule.answer(step_key="slack", side_effects=True, mocks=mocks, recorded=(False, None))
    assert not refused.run and refused.output is None and "'slack' has side effects" in refused.refused
    assert rule.answer(step_key="shape", side_effects=False, mocks=mocks, recorded=(True, {"x": 1})) == rule.RUN
    # A pure step the user mocks answers with the mock (a wait or a delay need not wait in a replay).
    assert rule.answer(step_key="wait", side_effects=False, mocks={"wait": {"branch": "received"}}).source == rule.MOCK


def test_the_recording_is_read_only_when_the_rule_needs_it():
    assert rule.needs_recording(step_key="crm", side_effects=True, mocks={})
    assert not rule.needs_recording(step_key="crm", side_effects=True, mocks={"crm": {}})
    assert not rule.needs_recording(step_key="shape", side_effects=False, mocks={})


# --- over the API ------------------------------------------------------------------------------------

def signup(url: str, *, tier: str = "basic") -> dict:
    """The seed's shape: shape the input, then POST it to the CRM, then tell Slack."""
    return {"name": "signup", "status": "active", "steps": [
        {"key": "shape", "task_type": "data_transform", "config": {
            "source": "{{ input }}", "transforms": [{"type": "pick", "fields": ["name", "email"]},
                                                   {"type": "set", "field": "tier", "value": tier}]}},
        {"key": "crm", "task_type": "http_request", "depends_on": ["shape"], "max_retries": 0,
         "config": {"method": "POST", "url": f"{url}/crm", "json": "{{ steps.shape.output.result }}"}},
        {"key": "slack", "task_type": "http_request", "depends_on": ["crm"], "max_retries": 0,
         "config": {"method": "POST", "url": f"{url}/slack", "json": {"text": "New signup: {{ input.name }}"}}},
    ]}


def by_step(detail) -> dict[str, dict]:
    """The current attempt of each step."""
    return {row["step_key"]: row for row in detail["task_executions"] if row["is_latest"]}


@pytest.fixture
def original(api, server, allow_loopback, sync_executor):  # noqa: F811
    workflow = api.post("/api/v1/workflows/", signup(server.url), format="json").data
    run = api.post(f"/api/v1/workflows/{workflow['id']}/run/",
                   {"input_data": {"name": "Ada", "email": "ada@example.com", "plan": "pro"}}, format="json").data
    sync_executor.drain()
    detail = api.get(f"/api/v1/executions/{run['id']}/").data
    assert detail["status"] == E.COMPLETED and len(server.requests) == 2
    return workflow, detail


def replay(api, sync_executor, run_id, body=None) -> dict:
    response = api.post(f"/api/v1/executions/{run_id}/replay/", body or {}, format="json")
    assert response.status_code == 201, response.data
    sync_executor.drain()
    return api.get(f"/api/v1/executions/{response.data['id']}/").data


def test_a_replay_calls_no_receiver_answers_from_the_recording_and_runs_the_pure_steps(api, server, original,
                                                                                       sync_executor):
    workflow, first = original
    assert "replay" in first["allowed_actions"]
    detail = replay(api, sync_executor, first["id"])
    assert len(server.requests) == 2  # the original's two calls; none from the replay
    assert detail["status"] == E.COMPLETED and detail["replay_of"] == first["id"] and detail["is_replay"]
    assert detail["triggered_by"] == "replay" and detail["idempotency_key"] is None
    steps, recorded = by_step(detail), by_step(first)
    assert steps["crm"]["mocked"] and steps["slack"]["mocked"] and not steps["shape"]["mocked"]
    assert steps["crm"]["output_data"] == recorded["crm"]["output_data"]
    assert steps["slack"]["output_data"] == recorded["slack"]["output_data"]
    assert steps["shape"]["output_data"] == {"result": {"name": "Ada", "email": "ada@example.com", "tier": "basic"}}
    assert steps["crm"]["idempotency_key"] != recorded["crm"]["idempotency_key"]  # never a real run's key
    assert not any(row["mocked"] for row in first["task_executions"])
    logged = api.get(f"/api/v1/executions/{detail['id']}/logs/").data["logs"]
    assert any("answered with the original run's output, not run" in line["message"] for line in logged)
    # Flagged in the list, and found by what it replays.
    listed = api.get(f"/api/v1/executions/?replay_of={first['id']}").data["results"]
    assert [row["id"] for row in listed] == [detail["id"]] and listed[0]["is_replay"]
    real = api.get(f"/api/v1/executions/?workflow={workflow['id']}&is_replay=false").data["results"]
    assert [row["id"] for row in real] == [first["id"]]


def test_a_replay_on_the_latest_version_computes_the_changed_transform_and_uses_the_mocks(api, server, original,
                                                                                          sync_executor):
    workflow, first = original
    changed = signup(server.url, tier="gold")["steps"][0]
    response = api.patch(f"/api/v1/workflows/{workflow['id']}/steps/shape/", {"config": changed["config"]},
                         format="json")
    assert response.status_code == 200 and api.get(f"/api/v1/workflows/{workflow['id']}/").data["version"] == 2
    mock = {"status_code": 201, "body": {"id": "crm-42"}}
    detail = replay(api, sync_executor, first["id"], {"version": "latest", "mocks": {"crm": mock}})
    assert len(server.requests) == 2
    assert detail["status"] == E.COMPLETED and detail["workflow_version"] == 2
    steps = by_step(detail)
    assert steps["shape"]["output_data"]["result"]["tier"] == "gold" != by_step(first)["shape"]["output_data"]["result"]["tier"]
    assert steps["crm"]["mocked"] and steps["crm"]["output_data"] == mock
    # The original as it was, and version 1 still replayable by number.
    again = replay(api, sync_executor, first["id"], {"version": 1})
    assert again["workflow_version"] == 1 and by_step(again)["shape"]["output_data"]["result"]["tier"] == "basic"


def test_a_step_with_side_effects_and_nothing_recorded_fails_without_running(api, server, original, sync_executor):
    workflow, first = original
    audit = {"key": "audit", "task_type": "http_request", "depends_on": ["slack"], "max_retries": 0,
             "config": {"method": "POST", "url": f"{server.url}/audit", "json": {}}}
    response = api.post(f"/api/v1/workflows/{workflow['id']}/steps/", audit, format="json")
    assert response.status_code == 201, response.data
    detail = replay(api, sync_executor, first["id"], {"version": "latest"})
    assert len(server.requests) == 2 and not any(r["path"] == "/audit" for r in server.requests)
    assert detail["status"] == E.FAILED
    step = by_step(detail)["audit"]
    assert step["status"] == T.FAILED and step["attempt_number"] == 1 and not step["mocked"]
    assert "'audit' has side effects and is not run in a replay" in step["error_message"]
    # "Retry the failed runs" means the real ones: a failed replay is not selected.
    selected = api.post("/api/v1/executions/retry-failed/", {"dry_run": True}, format="json").data
    assert selected["count"] == 0, selected
    # With a mock it completes.
    mocked = replay(api, sync_executor, first["id"], {"version": "latest", "mocks": {"audit": {"ok": True}}})
    assert mocked["status"] == E.COMPLETED and by_step(mocked)["audit"]["output_data"] == {"ok": True}
    assert len(server.requests) == 2


def test_a_replay_of_a_replay_answers_from_that_replay(api, server, original, sync_executor):
    _, first = original
    once = replay(api, sync_executor, first["id"], {"mocks": {"slack": {"ok": "mocked"}}})
    twice = replay(api, sync_executor, once["id"])
    assert twice["replay_of"] == once["id"] and twice["status"] == E.COMPLETED
    assert by_step(twice)["slack"]["output_data"] == {"ok": "mocked"} and by_step(twice)["slack"]["mocked"]
    assert len(server.requests) == 2


def replays_of(run_id) -> int:
    return WorkflowExecution.objects.filter(replay_of_id=run_id).count()


@pytest.mark.parametrize("body,field", [
    ({"version": "newest"}, "version"),
    ({"version": 9}, "version"),
    ({"version": 0}, "version"),
    ({"version": True}, "version"),
    ({"version": [1]}, "version"),
    ({"version": 10**30}, "version"),
    ({"version": 1.5}, "version"),
    ({"mocks": {"crm": {"nul": "a\u0000b"}}}, "mocks.crm.nul"),
    ({"mocks": ["crm"]}, "mocks"),
    ({"mocks": {"nope": {}}}, "mocks"),
    ({"mocks": {"crm": "not an object"}}, "mocks.crm"),
    ({"mocks": {"crm": {"big": "x" * 3000}}}, "mocks"),
])
def test_a_bad_version_or_mocks_is_a_400_naming_the_field_and_starts_nothing(api, original, settings, body, field):
    settings.FLOWPILOT_MAX_PAYLOAD_BYTES = 2000
    _, first = original
    response = api.post(f"/api/v1/executions/{first['id']}/replay/", body, format="json")
    assert response.status_code == 400, response.data
    assert field in response.data["fields"], response.data
    assert replays_of(first["id"]) == 0


def test_more_mocks_than_the_bound_is_a_400(api, original, monkeypatch):
    monkeypatch.setattr(bounds, "REPLAY_MAX_MOCKS", 1)
    _, first = original
    response = api.post(f"/api/v1/executions/{first['id']}/replay/", {"mocks": {"crm": {}, "slack": {}}},
                        format="json")
    assert response.status_code == 400 and "at most 1 mocks" in response.data["fields"]["mocks"][0]
    assert replays_of(first["id"]) == 0


def test_a_run_not_finished_is_a_409_and_another_users_run_a_404(api, other_user, server, allow_loopback):  # noqa: F811
    workflow = api.post("/api/v1/workflows/", signup(server.url), format="json").data
    run = api.post(f"/api/v1/workflows/{workflow['id']}/run/", {"input_data": {}}, format="json").data  # not drained
    response = api.post(f"/api/v1/executions/{run['id']}/replay/", {}, format="json")
    assert response.status_code == 409 and "replay" not in response.data["allowed_actions"]
    api.force_authenticate(other_user)
    assert api.post(f"/api/v1/executions/{run['id']}/replay/", {}, format="json").status_code == 404
    assert replays_of(run["id"]) == 0 and not TaskExecution.objects.filter(mocked=True).exists()


def test_in_a_test_run_a_pin_answers_and_every_other_step_runs_even_with_side_effects():
    pins = {"crm": {"id": 7}}
    assert rule.answer(step_key="crm", side_effects=True, mocks=pins, test_run=True) == \
        rule.ReplayAnswer(output={"id": 7}, source=rule.PIN)
    assert rule.answer(step_key="slack", side_effects=True, mocks=pins, test_run=True) == rule.RUN
    assert rule.answer(step_key="shape", side_effects=False, mocks=pins, test_run=True) == rule.RUN
    assert not rule.needs_recording(step_key="slack", side_effects=True, mocks=pins, test_run=True)
