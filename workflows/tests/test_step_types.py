"""Every step type keeps the same contract; custom step types plug in from settings."""

import json
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.conf import settings
from django.utils import timezone
from jsonschema import Draft202012Validator

from workflows import json_values, services, templating
from workflows.errors import InvalidInput
from workflows.models import TaskExecution
from workflows.steps import RunChildren, StepContext, StepError, StepType, Wait, registry
from workflows.steps.registry import UnknownStepType
from workflows.tests import functions
from workflows.tests.factories import active_workflow, step
from workflows.tests.http_server import allow_loopback, fresh_circuits, server  # noqa: F401 (fixtures)

ALL = registry.all_types()

# The credentials the examples name, as the owner would have stored them. Slack's is a webhook URL,
# so it names the local server (filled in per test); any other name is refused as in a run.
CREDENTIALS = {"crm_token": "crm-example-token", "slack_alerts_webhook": "{server}/slack/T000/B000/example"}


def _run_data(step_type: StepType) -> dict:
    """A run's data as templates see it (as in workflows/engine/invoke.py and step_trial), from the example's."""
    data = step_type.example_data
    return {"input": data.get("input", {}), "context": data.get("context", {}), "steps": data.get("steps", {}),
            "execution": {"id": "contract", "workflow_id": None, "retry_count": 0}}


def _to_local(value, base_url: str):
    """Every absolute http(s) URL in a config pointed at the local server, path and query kept: the
    example's outside service becomes a real one on 127.0.0.1."""
    if isinstance(value, dict):
        return {k: _to_local(v, base_url) for k, v in value.items()}
    if isinstance(value, list):
        return [_to_local(v, base_url) for v in value]
    if isinstance(value, str) and value.startswith(("http://", "https://")):
        parts = urlsplit(value)
        return base_url + urlunsplit(("", "", parts.path, parts.query, ""))
    return value


def _json_problem(value) -> str | None:
    """What the engine would refuse to record (workflows/engine/invoke.py), or None."""
    return json_values.problem(value, max_depth=settings.FLOWPILOT_JSON_MAX_DEPTH)


@pytest.mark.parametrize("step_type", ALL, ids=[t.name for t in ALL])
class TestStepTypeContract:
    """What every registered step type promises, built-in or custom: one set of checks run against
    each (as Django's session backends share one test mixin). A type registered later is checked
    too, because the list comes from the registry. Its example is run for real: its templates
    rendered over its example_data, outside HTTP services replaced by a server on 127.0.0.1, email
    through the tests' backend (locmem), files under the test's own directory."""

    @pytest.fixture
    def run_example(self, step_type: StepType, server, allow_loopback, settings, tmp_path):
        settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
        settings.FLOWPILOT_FILES_ROOT = tmp_path / "files"  # the file step's example writes here
        credentials = {name: value.format(server=server.url) for name, value in CREDENTIALS.items()}

        def secret(name: str) -> str:
            if name not in credentials:
                raise StepError(f"credential {name!r} is not available here", retryable=False)
            return credentials[name]

        def run():
            config = templating.render_config(step_type.example, _run_data(step_type), raw=step_type.raw_fields)
            config = _to_local(config, server.url)
            assert registry.config_errors(step_type.name, config) == [], \
                "the rendered example must pass its schema as a run checks it"
            ctx = StepContext(execution_id="contract", step_key="example", attempt=1,
                              idempotency_key="contract:example", timeout_seconds=10,
                              input=_run_data(step_type)["input"], secret=secret)
            return step_type.execute(config, ctx), ctx

        return run

    def test_its_metadata_describes_it(self, step_type: StepType):
        Draft202012Validator.check_schema(step_type.config_schema)
        Draft202012Validator.check_schema(step_type.output_schema)
        assert step_type.name and step_type.description and step_type.category and step_type.example
        assert registry.get(step_type.name) is step_type
        described = step_type.describe()
        assert {"name", "description", "category", "config_schema", "output_schema", "example",
                "example_data", "branches"} <= set(described)
        assert _json_problem(described) is None
        if step_type.branches:
            assert all(isinstance(b, str) and b for b in step_type.branches(step_type.example))

    def test_its_example_passes_its_own_checks_at_save_time(self, step_type: StepType):
        assert registry.config_errors(step_type.name, step_type.example, rendered=False) == [], \
            "the example must pass its own schema at save time"
        assert templating.template_errors(step_type.example) == []

    def test_its_example_runs_to_an_answer_the_engine_can_record(self, step_type: StepType, run_example):
        try:
            result, ctx = run_example()
        except StepError as exc:  # a failure is an answer too, if it says what went wrong
            assert isinstance(exc.message, str) and exc.message.strip()
            assert isinstance(exc.retryable, bool) and _json_problem(exc.details) is None
            return
        assert isinstance(result, (dict, Wait, RunChildren)), f"{type(result).__name__} is not an answer"
        if isinstance(result, dict):
            assert _json_problem(result) is None
            json.dumps(result, allow_nan=False)
            assert list(Draft202012Validator(step_type.output_schema).iter_errors(result)) == [], \
                "the output must match the type's output_schema"
        elif isinstance(result, Wait):
            assert result.until is not None or result.signal, "a wait needs a time or a signal"
            assert result.until is None or timezone.is_aware(result.until)
            assert _json_problem(result.output) is None
        else:
            assert result.workflow_id and result.parallelism >= 1 and isinstance(result.inputs, list)
            assert _json_problem(result.inputs) is None
        for level, message, details in ctx.logs:
            assert level in {"debug", "info", "warning", "error"} and isinstance(message, str)
            assert _json_problem(details) is None


def test_unknown_types_list_the_known_ones():
    with pytest.raises(UnknownStepType) as error:
        registry.get("teleport")
    assert "known types:" in str(error.value) and "http_request" in str(error.value)


def test_a_duplicate_name_or_a_broken_schema_is_refused_at_registration():
    with pytest.raises(ValueError, match="already registered"):
        registry.step_type("log", config_schema={"type": "object"})(lambda config, ctx: {})
    with pytest.raises(ValueError, match="invalid config schema"):
        registry.step_type("broken", config_schema={"type": "no-such-type"})(lambda config, ctx: {})
    assert "broken" not in registry.names()


def test_a_custom_step_type_registered_from_settings_is_offered_validated_and_run(api, user, sync_executor):
    functions.SENT_SMS.clear()
    offered = {t["name"]: t for t in api.get("/api/v1/step-types/").data}
    assert offered["test_sms"]["config_schema"]["required"] == ["to", "text"]
    with pytest.raises(InvalidInput, match="config.text"):
        services.workflow_create(owner=user, data={"name": "bad"}, steps=[
            step("sms", "test_sms", config={"to": "+1", "text": "x" * 200})])
    wf = active_workflow(user, [step("sms", "test_sms", config={"to": "{{ input.phone }}", "text": "Hi {{ input.name }}"})])
    execution, _ = services.execution_start(workflow=wf, input_data={"phone": "+15550001", "name": "Ada"})
    sync_executor.drain()
    assert functions.SENT_SMS == [{"to": "+15550001", "text": "Hi Ada", "idempotency_key": f"{execution.pk}:sms"}]
    assert TaskExecution.objects.get(execution=execution).output == {"message_id": "sms-1"}
