"""A workflow's and a step's `limits` (workflows/flow_limits.py): the rules when saved, the parsed form
runs read, a rate limit's arithmetic, and the field over the API (saved, versioned, exported)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from workflows import flow_limits
from workflows.code import CodeWorkflowError, registry
from workflows.code import step as code_step
from workflows.flow_limits import Concurrency, Debounce, Limits, Rate
from workflows.models import Workflow

FULL = {"concurrency": {"key": "{{ input.tenant }}", "max": 3, "name": "ehr"},
        "rate": {"key": "sms", "limit": 5, "per_seconds": 1, "burst": 2, "name": "sms-provider"},
        "debounce": {"key": "{{ input.user_id }}", "seconds": 60},
        "priority": "{{ input.tier == 'enterprise' and 10 or 0 }}"}


def test_a_full_workflow_value_has_no_problem_and_parses():
    assert flow_limits.problems(FULL) == {}
    assert flow_limits.parse(FULL) == Limits(
        concurrency=Concurrency(max=3, key="{{ input.tenant }}", name="ehr"),
        rate=Rate(limit=5, per_seconds=1.0, burst=2, key="sms", name="sms-provider"),
        debounce=Debounce(seconds=60.0, key="{{ input.user_id }}"),
        priority=FULL["priority"])


@pytest.mark.parametrize("value, path, words", [
    ([], "limits", "must be an object"),
    ({"throttle": {}}, "limits.throttle", "unknown"),
    ({"concurrency": {"key": "x"}}, "limits.concurrency.max", "is required"),
    ({"concurrency": {"max": 0}}, "limits.concurrency.max", "between 1 and"),
    ({"concurrency": {"max": 2.5}}, "limits.concurrency.max", "whole number"),
    ({"concurrency": {"max": True}}, "limits.concurrency.max", "whole number"),
    ({"concurrency": {"max": 10**9}}, "limits.concurrency.max", "between 1 and 10000"),
    ({"concurrency": {"max": 1, "name": "has space"}}, "limits.concurrency.name", "a limit's name"),
    ({"concurrency": {"max": 1, "key": "{{ secrets.token }}"}}, "limits.concurrency.key", "reads 'secrets'"),
    ({"concurrency": {"max": 1, "key": "{{ input.x"}}, "limits.concurrency.key", "does not parse"),
    ({"concurrency": {"max": 1, "wat": 1}}, "limits.concurrency.wat", "unknown"),
    ({"rate": {"limit": 5}}, "limits.rate.per_seconds", "is required"),
    ({"rate": {"limit": 5, "per_seconds": 0}}, "limits.rate.per_seconds", "between"),
    ({"rate": {"limit": 5, "per_seconds": 10**9}}, "limits.rate.per_seconds", "between"),
    ({"rate": {"limit": 5, "per_seconds": float("nan")}}, "limits.rate.per_seconds", "number of seconds"),
    ({"rate": {"limit": 10**9, "per_seconds": 1}}, "limits.rate.limit", "between"),
    ({"rate": {"limit": 5, "per_seconds": 1, "burst": 0}}, "limits.rate.burst", "between"),
    ({"debounce": {"seconds": 0}}, "limits.debounce.seconds", "between"),
    ({"debounce": {"seconds": 10**7}}, "limits.debounce.seconds", "between"),
    ({"debounce": {"seconds": 5, "key": "{{ steps.a.output }}"}}, "limits.debounce.key", "reads 'steps'"),
    ({"priority": "high"}, "limits.priority", "must be a template"),
    ({"priority": 3}, "limits.priority", "must be a text"),
    ({"priority": "{{ x" + "y" * 600 + " }}"}, "limits.priority", "at most 500"),
])
def test_each_broken_rule_is_named_by_its_path(value, path, words):
    found = flow_limits.problems(value)
    assert path in found, found
    assert any(words in message for message in found[path]), found


def test_a_steps_limits_take_concurrency_and_rate_only_and_may_read_step_outputs():
    step = {"concurrency": {"max": 2, "key": "{{ steps.lookup.output.host }}"}, "rate": {"limit": 1, "per_seconds": 2}}
    assert flow_limits.problems(step, step=True, step_keys=["lookup"]) == {}
    assert "limits.concurrency.key" in flow_limits.problems(step, step=True, step_keys=["other"])
    assert "limits.debounce" in flow_limits.problems({"debounce": {"seconds": 1}}, step=True)
    assert flow_limits.parse({"debounce": {"seconds": 1}, "priority": "{{ input.p }}"}, step=True) == Limits()


def test_stored_values_parse_leniently_clamped_to_todays_bounds():
    parsed = flow_limits.parse({"concurrency": {"max": 10**9}, "rate": {"limit": 5, "per_seconds": 10**9},
                                "debounce": {"seconds": "soon"}, "priority": 7})
    assert parsed.concurrency == Concurrency(max=10_000)
    assert parsed.rate == Rate(limit=5, per_seconds=86_400.0, burst=1)
    assert parsed.debounce is None and parsed.priority == ""
    assert not flow_limits.parse(None) and not flow_limits.parse("x") and not flow_limits.parse({})


@pytest.mark.parametrize("value, expected", [(5, 5), ("12", 12), (" -3 ", -3), (2.9, 2), (10**9, 1000),
                                             (-10**9, -1000), ("high", 0), (None, 0), (True, 0),
                                             (float("inf"), 0)])
def test_a_rendered_priority_is_a_clamped_int(value, expected):
    assert flow_limits.priority_of(value) == expected


T0 = datetime(2026, 12, 4, 12, 0, tzinfo=timezone.utc)


def takes(rate: Rate, times: list[float]) -> list[float]:
    """The slots (seconds after T0) of takers arriving at `times`, one bucket."""
    tat, slots = None, []
    for t in times:
        slot = flow_limits.reserve(rate, tat, T0 + timedelta(seconds=t))
        tat = slot.tat
        slots.append(round((slot.at - T0).total_seconds(), 6))
    return slots


def test_a_rate_without_burst_spaces_takers_evenly_and_never_lets_more_than_limit_through_a_window():
    slots = takes(Rate(limit=5, per_seconds=1, burst=1), [0.0] * 20)
    assert slots == [round(i * 0.2, 6) for i in range(20)]
    for start in slots:  # any window of per_seconds holds at most `limit` slots
        assert sum(1 for s in slots if start <= s < start + 1) <= 5


def test_a_burst_lets_that_many_go_at_once_after_a_quiet_time_then_the_steady_rate():
    assert takes(Rate(limit=5, per_seconds=1, burst=3), [0.0] * 6) == [0, 0, 0, 0.2, 0.4, 0.6]
    # after a quiet time the bucket is full again, never more than the burst
    assert takes(Rate(limit=5, per_seconds=1, burst=3), [0, 0, 0, 10, 10, 10, 10]) == [0, 0, 0, 10, 10, 10, 10.2]


def test_a_slow_taker_never_waits():
    assert takes(Rate(limit=2, per_seconds=1, burst=1), [0, 0.6, 1.2, 5]) == [0, 0.6, 1.2, 5]


# --- over the API ---------------------------------------------------------------------------------

def http_step(key="call", **extra):
    return {"key": key, "task_type": "http_request", "config": {"method": "POST", "url": "http://127.0.0.1:9/x"},
            **extra}


def test_limits_are_saved_versioned_shown_and_exported(api):
    steps = [http_step(limits={"rate": {"limit": 5, "per_seconds": 1, "name": "sms-provider"}})]
    made = api.post("/api/v1/workflows/", {"name": "sms", "status": "active", "limits": FULL, "steps": steps},
                    format="json")
    assert made.status_code == 201, made.data
    assert made.data["limits"] == FULL
    assert made.data["steps"][0]["limits"] == steps[0]["limits"]
    version = api.get(f"/api/v1/workflows/{made.data['id']}/versions/").data
    definition = (version["results"] if isinstance(version, dict) else version)[0]["definition"]
    assert definition["limits"] == FULL and definition["steps"][0]["limits"] == steps[0]["limits"]
    exported = api.get(f"/api/v1/workflows/{made.data['id']}/export/")
    assert exported.status_code == 200
    assert exported.data["workflow"]["limits"] == FULL
    assert exported.data["workflow"]["steps"][0]["limits"] == steps[0]["limits"]


def test_a_workflow_without_limits_publishes_the_definition_it_did_before(api):
    made = api.post("/api/v1/workflows/", {"name": "plain", "status": "active", "steps": [http_step()]},
                    format="json")
    assert made.status_code == 201, made.data
    assert made.data["limits"] == {} and made.data["steps"][0]["limits"] == {}
    version = api.get(f"/api/v1/workflows/{made.data['id']}/versions/").data
    definition = (version["results"] if isinstance(version, dict) else version)[0]["definition"]
    assert "limits" not in definition and "limits" not in definition["steps"][0]


@pytest.mark.parametrize("body, field", [
    ({"limits": {"rate": {"limit": 0, "per_seconds": 1}}}, "limits.rate.limit"),
    ({"limits": {"concurrency": {"max": 2, "key": "{{ steps.call.output }}"}}}, "limits.concurrency.key"),
    ({"steps": [{"key": "t", "task_type": "log", "config": {"message": "x"},
                 "limits": {"rate": {"limit": 1, "per_seconds": 1}}}]}, "steps.t.limits"),
    ({"steps": [http_step(limits={"debounce": {"seconds": 3}})]}, "steps.call.limits.debounce"),
    ({"limits": {"priority": "{{ input.tier "}}, "limits.priority"),
])
def test_a_broken_limit_is_a_400_naming_its_field_and_saves_nothing(api, body, field):
    before = Workflow.objects.count()
    answer = api.post("/api/v1/workflows/", {"name": "bad", "steps": [http_step()], **body}, format="json")
    assert answer.status_code == 400, answer.data
    assert field in str(answer.data), answer.data
    assert Workflow.objects.count() == before


def test_step_types_say_whether_they_call_hosts(api):
    types = {t["name"]: t for t in api.get("/api/v1/step-types/").data}
    assert types["http_request"]["calls_hosts"] is True and types["slack"]["calls_hosts"] is True
    assert types["log"]["calls_hosts"] is False and types["python"]["calls_hosts"] is False


def test_code_workflows_declare_limits_as_designed_ones_do():
    class Sync:
        @code_step(start=True)
        def first(self):
            return None

    with pytest.raises(CodeWorkflowError, match="limits.rate.per_seconds: is required"):
        registry._build("limits-bad", Sync, default_retry=None, limits={"rate": {"limit": 5}})
    spec = registry._build("limits-good", Sync, default_retry=None, limits=FULL)
    assert spec.definition()["limits"] == FULL
    assert "limits" not in registry._build("plain", Sync, default_retry=None).definition()
