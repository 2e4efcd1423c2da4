"""Every step type keeps the same contract; custom step types plug in from settings."""

import pytest
from jsonschema import Draft202012Validator

from workflows import services
from workflows.errors import InvalidInput
from workflows.models import TaskExecution
from workflows.steps import StepType, registry
from workflows.steps.registry import UnknownStepType
from workflows.tests import functions
from workflows.tests.factories import active_workflow, step

ALL = registry.all_types()


@pytest.mark.parametrize("step_type", ALL, ids=[t.name for t in ALL])
def test_the_step_type_contract(step_type: StepType):
    Draft202012Validator.check_schema(step_type.config_schema)
    Draft202012Validator.check_schema(step_type.output_schema)
    assert step_type.description and step_type.category and step_type.example
    described = step_type.describe()
    assert {"name", "description", "category", "config_schema", "output_schema", "example", "branches"} <= set(described)
    assert registry.config_errors(step_type.name, step_type.example, rendered=False) == [], \
        "the example must pass its own schema at save time"
    if step_type.branches:
        assert all(isinstance(b, str) and b for b in step_type.branches(step_type.example))


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
