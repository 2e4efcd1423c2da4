"""`sub_workflow` and `for_each`: run other workflows from a step and wait for them, holding no
worker. A child run is an ordinary execution (its own steps, retries, logs), linked to the step.
"""

from .base import RunChildren, StepContext, StepError
from .registry import step_type
from ..templating import TemplateError, render_config

WORKFLOW_ID = {"type": "string", "title": "Workflow", "format": "uuid",
               "description": "The id of an active workflow of yours."}


@step_type(
    "sub_workflow",
    side_effects=True,
    category="flow",
    description="Start another workflow with this input and wait for it; its failure is this step's failure.",
    config_schema={
        "type": "object", "required": ["workflow_id"], "additionalProperties": False,
        "properties": {"workflow_id": WORKFLOW_ID,
                       "input": {"type": "object", "title": "Input", "default": {}}},
    },
    output_schema={"type": "object", "description": "The child run's output, and its execution_id."},
    example={"workflow_id": "00000000-0000-0000-0000-000000000000", "input": {"email": "{{ input.email }}"}},
    example_data={"input": {"email": "ada@example.com"}},
)
def sub_workflow_step(config: dict, ctx: StepContext) -> RunChildren:
    return RunChildren(workflow_id=config["workflow_id"], inputs=[config.get("input") or {}], single=True)


@step_type(
    "for_each",
    side_effects=True,
    category="flow",
    description="Run a workflow once per item of a list, a few at a time, and collect the outputs in order.",
    config_schema={
        "type": "object", "required": ["items", "workflow_id"], "additionalProperties": False,
        "properties": {
            "items": {"type": "array", "title": "Items", "maxItems": 10_000,
                      "description": "A list, usually a template: {{ steps.fetch.output.body.users }}"},
            "workflow_id": WORKFLOW_ID,
            "item_input": {"title": "Input of each run", "default": {"item": "{{ item }}", "index": "{{ index }}"},
                           "description": "Templates over item and index (rendered per item)."},
            "parallelism": {"type": "integer", "minimum": 1, "maximum": 100, "default": 5,
                            "title": "At most this many at a time"},
            "on_item_failure": {"type": "string", "enum": ["fail", "collect"], "default": "fail",
                                "title": "When an item fails",
                                "description": "fail the step, or collect the error and go on"},
        },
    },
    output_schema={"type": "object", "properties": {"results": {"type": "array"}, "errors": {"type": "array"},
                                                    "execution_ids": {"type": "array"}}},
    example={"items": "{{ input.users }}", "workflow_id": "00000000-0000-0000-0000-000000000000",
             "item_input": {"email": "{{ item.email }}"}, "parallelism": 5},
    example_data={"input": {"users": [{"email": "ada@example.com"}, {"email": "grace@example.com"}]}},
    raw_fields=("item_input",),
)
def for_each_step(config: dict, ctx: StepContext) -> RunChildren:
    template = config.get("item_input", {"item": "{{ item }}", "index": "{{ index }}"})
    inputs = []
    for index, item in enumerate(config["items"]):
        try:
            value = render_config(template, {"item": item, "index": index}, field="item_input")
        except TemplateError as exc:
            raise StepError(f"item {index}: {exc}", retryable=False) from None
        inputs.append(value if isinstance(value, dict) else {"item": value})
    return RunChildren(workflow_id=config["workflow_id"], inputs=inputs,
                       parallelism=int(config.get("parallelism", 5)),
                       collect_errors=config.get("on_item_failure") == "collect")
