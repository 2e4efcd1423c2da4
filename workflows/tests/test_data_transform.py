"""data_transform: the pure operations (no database), the handler, and whole runs through the engine."""

from __future__ import annotations

import copy

import pytest

from workflows import services, transforms
from workflows.errors import InvalidInput
from workflows.models import TaskExecution
from workflows.engine.planner.states import ExecutionStatus as E
from workflows.engine.planner.states import TaskStatus as T
from workflows.steps import StepContext, StepError, registry
from workflows.tests.factories import active_workflow, step

CUSTOMER = {"id": 7, "email": "asha@example.com", "profile": {"name": "Asha", "city": "Pune", "age": 31},
            "orders": [{"id": 1, "total": 120, "status": "paid"}, {"id": 2, "total": 40, "status": "open"},
                       {"id": 3, "total": 80, "status": "paid"}]}


def apply(*steps: dict, source=CUSTOMER):
    return transforms.apply(source, list(steps))


def run_handler(config: dict) -> dict:
    ctx = StepContext(execution_id="e1", step_key="t", attempt=1, idempotency_key="e1:t", timeout_seconds=10,
                      input={})
    return registry.get("data_transform").execute(config, ctx)


# --- the operations, pure ------------------------------------------------------------------------

def test_pick_keeps_dotted_paths_nested_and_leaves_missing_ones_out():
    assert apply({"type": "pick", "fields": ["id", "profile.name", "profile.zip", "nope"]}) == \
        {"id": 7, "profile": {"name": "Asha"}}


def test_omit_drops_paths_and_ignores_missing_ones():
    result = apply({"type": "omit", "fields": ["orders", "profile.age", "profile.zip.code", "nope"]})
    assert result == {"id": 7, "email": "asha@example.com", "profile": {"name": "Asha", "city": "Pune"}}


def test_rename_moves_a_path_creating_objects_and_a_missing_one_changes_nothing():
    result = apply({"type": "rename", "from": "profile.name", "to": "contact.full_name"},
                   {"type": "rename", "from": "email", "to": "contact.email"})
    assert result["contact"] == {"full_name": "Asha", "email": "asha@example.com"}
    assert "email" not in result and result["profile"] == {"city": "Pune", "age": 31}
    assert apply({"type": "rename", "from": "nope", "to": "x"}) == CUSTOMER


def test_set_writes_any_json_value_creating_objects():
    result = apply({"type": "set", "field": "meta.source", "value": {"via": ["signup"], "n": None}},
                   {"type": "set", "field": "id", "value": "A-7"})
    assert result["meta"] == {"source": {"via": ["signup"], "n": None}} and result["id"] == "A-7"


def test_set_through_a_value_that_is_not_an_object_fails_naming_it():
    with pytest.raises(transforms.TransformError) as error:
        apply({"type": "pick", "fields": ["id"]}, {"type": "set", "field": "id.value", "value": 1})
    assert str(error.value) == "transforms[1] (set): cannot set 'id.value': 'id' is a number, not an object"
    assert error.value.field == "field"


def test_merge_is_deep_and_replaces_non_objects():
    result = apply({"type": "merge", "value": {"profile": {"city": "Mumbai", "tags": ["vip"]}, "orders": []}})
    assert result["profile"] == {"name": "Asha", "city": "Mumbai", "age": 31, "tags": ["vip"]}
    assert result["orders"] == [] and result["id"] == 7


def test_default_sets_only_a_missing_field_and_keeps_a_present_null():
    source = {"plan": None, "profile": {}}
    assert apply({"type": "default", "field": "plan", "value": "free"},
                 {"type": "default", "field": "profile.country", "value": "IN"},
                 {"type": "default", "field": "seats", "value": 1}, source=source) == \
        {"plan": None, "profile": {"country": "IN"}, "seats": 1}


def test_map_renders_the_template_per_item_with_item_and_index_keeping_types():
    result = apply({"type": "map", "field": "orders",
                    "template": {"ref": "order-{{ item.id }}", "total": "{{ item.total * 2 }}",
                                 "position": "{{ index + 1 }}", "fixed": True}})
    assert result["orders"] == [{"ref": "order-1", "total": 240, "position": 1, "fixed": True},
                                {"ref": "order-2", "total": 80, "position": 2, "fixed": True},
                                {"ref": "order-3", "total": 160, "position": 3, "fixed": True}]


def test_map_and_filter_without_a_field_work_on_the_value_itself():
    assert transforms.apply([3, 1, 4, 1, 5], [{"type": "filter", "condition": "item > 2"},
                                              {"type": "map", "template": "#{{ index }}={{ item }}"}]) == \
        ["#0=3", "#1=4", "#2=5"]


def test_map_on_a_non_list_fails_naming_the_transform_and_field():
    with pytest.raises(transforms.TransformError) as error:
        apply({"type": "pick", "fields": ["profile"]}, {"type": "map", "field": "profile", "template": "x"})
    assert str(error.value) == "transforms[1] (map): 'profile' is an object, not a list"
    assert (error.value.index, error.value.type, error.value.field) == (1, "map", "field")
    with pytest.raises(transforms.TransformError, match=r"transforms\[0\] \(map\): 'nope' is missing, not a list"):
        apply({"type": "map", "field": "nope", "template": "x"})


def test_a_template_error_in_map_names_the_item_and_template_field():
    with pytest.raises(transforms.TransformError) as error:
        apply({"type": "map", "field": "orders", "template": {"who": "{{ item.customer.name }}"}})
    assert str(error.value) == ("transforms[0] (map): item 0: template.who: undefined variable "
                                "'item.customer'")


def test_filter_keeps_items_for_which_the_condition_is_true():
    result = apply({"type": "filter", "field": "orders", "condition": "item.status == 'paid' and item.total > 100"})
    assert result["orders"] == [{"id": 1, "total": 120, "status": "paid"}]
    assert apply({"type": "filter", "field": "orders", "condition": "{{ index == 1 }}"})["orders"][0]["id"] == 2


def test_transforms_chain_in_order_and_never_change_the_source():
    before = copy.deepcopy(CUSTOMER)
    result = apply(
        {"type": "pick", "fields": ["email", "profile.name", "orders"]},
        {"type": "rename", "from": "profile.name", "to": "name"},
        {"type": "omit", "fields": ["profile"]},
        {"type": "filter", "field": "orders", "condition": "item.status == 'paid'"},
        {"type": "map", "field": "orders", "template": "{{ item.id }}"},
        {"type": "merge", "value": {"tags": {"source": "crm"}}},
        {"type": "default", "field": "plan", "value": "free"},
        {"type": "set", "field": "tags.count", "value": 2},
    )
    assert result == {"email": "asha@example.com", "name": "Asha", "orders": [1, 3],
                      "tags": {"source": "crm", "count": 2}, "plan": "free"}
    assert CUSTOMER == before


def test_object_operations_need_an_object():
    with pytest.raises(transforms.TransformError, match=r"transforms\[0\] \(pick\): the value is a list, not an "):
        transforms.apply([1, 2], [{"type": "pick", "fields": ["a"]}])


# --- the handler and its schema ------------------------------------------------------------------

def test_the_seed_shape_is_valid_and_runs():
    config = {"transforms": [{"type": "rename", "from": "a", "to": "b"}]}
    assert registry.config_errors("data_transform", config, rendered=False) == []
    assert run_handler(config) == {"result": {}}
    assert run_handler({**config, "source": {"a": 1, "c": 2}}) == {"result": {"b": 1, "c": 2}}


def test_the_handler_answers_result_and_fails_without_retry_naming_the_transform():
    assert run_handler({"source": {"xs": [1, 2]}, "transforms": [
        {"type": "map", "field": "xs", "template": "{{ item * 10 }}"}]}) == {"result": {"xs": [10, 20]}}
    with pytest.raises(StepError) as error:
        run_handler({"source": {"xs": "1,2"}, "transforms": [{"type": "map", "field": "xs", "template": "x"}]})
    assert not error.value.retryable
    assert error.value.message == "transforms[0] (map): 'xs' is a string, not a list"
    assert error.value.details == {"transform": 0, "type": "map", "field": "field"}


@pytest.mark.parametrize("transform, field, message", [
    ({"type": "rename", "from": "a"}, "transforms.0.to", "this field is required"),
    ({"type": "pick"}, "transforms.0.fields", "this field is required"),
    ({"type": "set", "field": "a"}, "transforms.0.value", "this field is required"),
    ({"type": "map", "field": "xs"}, "transforms.0.template", "this field is required"),
    ({"type": "merge", "value": [1]}, "transforms.0.value", "[1] is not of type 'object'"),
    ({"type": "reverse"}, "transforms.0.type", "'reverse' is not one of"),
    ({"from": "a", "to": "b"}, "transforms.0.type", "this field is required"),
    ({"type": "pick", "fields": ["a"], "to": "b"}, "transforms.0.to",
     "not used by a 'pick' transform, which takes fields"),
    ({"type": "filter", "field": "xs", "condition": "item >"}, "transforms.0.condition", "does not parse"),
    # a condition is evaluated per item, never rendered over the run's data first
    ({"type": "filter", "field": "xs", "condition": "item > {{ input.n }}"}, "transforms.0.condition",
     "does not parse"),
])
def test_a_bad_transform_is_refused_naming_its_field(transform, field, message):
    errors = registry.config_errors("data_transform", {"transforms": [transform]}, rendered=False)
    assert len(errors) == 1 and errors[0][0] == field and message in errors[0][1]


def test_the_schema_describes_every_field_for_the_designer():
    step_type = registry.get("data_transform")
    described = step_type.describe()
    properties = described["config_schema"]["properties"]["transforms"]["items"]["properties"]
    assert all(p.get("title") and p.get("description") for p in properties.values())
    assert registry.config_errors("data_transform", described["example"], rendered=False) == []


# --- through the engine --------------------------------------------------------------------------

def run(workflow, executor, **input_data):
    execution, _ = services.execution_start(workflow=workflow, input_data=input_data)
    executor.drain()
    execution.refresh_from_db()
    return execution


def test_a_whole_run_feeds_transformed_data_to_a_later_step(user, sync_executor):
    wf = active_workflow(user, [
        step("t", "data_transform", config={"source": "{{ input.customer }}", "transforms": [
            {"type": "pick", "fields": ["email", "profile.name", "orders"]},
            {"type": "rename", "from": "profile.name", "to": "name"},
            # the engine renders run data in values; templates and conditions are left for each item
            {"type": "filter", "field": "orders", "condition": "{{ item.status == 'paid' }}"},
            {"type": "map", "field": "orders", "template": {"id": "{{ item.id }}", "label": "order-{{ item.id }}"}},
            {"type": "set", "field": "count", "value": "{{ input.customer.orders | length }}"},
        ]}),
        step("add", function="add", kwargs={"a": "{{ steps.t.output.result.orders[1].id }}",
                                            "b": "{{ steps.t.output.result.count }}"}, depends_on=["t"]),
        step("say", "log", depends_on=["t"],
             config={"message": "{{ steps.t.output.result.name }} <{{ steps.t.output.result.email }}>"}),
    ])
    execution = run(wf, sync_executor, customer=CUSTOMER)
    assert execution.status == E.COMPLETED, execution.error_message
    rows = {r.step_key: r for r in TaskExecution.objects.filter(execution=execution)}
    assert rows["t"].output == {"result": {
        "email": "asha@example.com", "profile": {}, "name": "Asha", "count": 3,  # rename leaves the parent
        "orders": [{"id": 1, "label": "order-1"}, {"id": 3, "label": "order-3"}]}}
    assert rows["t"].input["transforms"][3]["template"] == {"id": "{{ item.id }}", "label": "order-{{ item.id }}"}
    assert rows["add"].output == {"sum": 6}
    assert rows["say"].output == {"message": "Asha <asha@example.com>"}


def test_plain_item_templates_are_left_per_item_while_other_values_get_run_data(user, sync_executor):
    wf = active_workflow(user, [step("t", "data_transform", config={
        "source": {"users": [{"email": "a@x.io", "age": 17}, {"email": "b@x.io", "age": 30}]},
        "transforms": [
            {"type": "filter", "field": "users", "condition": "item.age >= 18"},
            {"type": "map", "field": "users", "template": {"to": "{{ item.email }}", "n": "{{ index }}"}},
            {"type": "set", "field": "campaign", "value": "{{ input.campaign }}"},
        ]})])
    execution = run(wf, sync_executor, campaign={"id": 9, "name": "spring"})
    assert execution.status == E.COMPLETED, execution.error_message
    row = TaskExecution.objects.get(execution=execution, step_key="t")
    assert row.output == {"result": {"users": [{"to": "b@x.io", "n": 0}], "campaign": {"id": 9, "name": "spring"}}}
    assert row.input["transforms"][1]["template"] == {"to": "{{ item.email }}", "n": "{{ index }}"}
    assert row.input["transforms"][2]["value"] == {"id": 9, "name": "spring"}


def test_per_item_templates_see_only_item_and_index(user, sync_executor):
    wf = active_workflow(user, [step("t", "data_transform", config={
        "source": {"xs": [1]}, "transforms": [{"type": "map", "field": "xs", "template": "{{ input.n }}"}]})])
    execution = run(wf, sync_executor, n=1)
    assert execution.status == E.FAILED
    assert "transforms[0] (map): item 0: template: undefined variable 'input'" in execution.error_message


def test_a_transform_that_cannot_apply_fails_the_run_without_retry(user, sync_executor):
    wf = active_workflow(user, [step("t", "data_transform", max_retries=3, config={
        "source": "{{ input }}", "transforms": [{"type": "map", "field": "items", "template": "x"}]})])
    execution = run(wf, sync_executor, items={"not": "a list"})
    assert [r.status for r in TaskExecution.objects.filter(execution=execution)] == [T.FAILED]
    assert execution.status == E.FAILED
    assert "transforms[0] (map): 'items' is an object, not a list" in execution.error_message


def test_a_bad_transform_is_refused_when_the_workflow_is_saved(user):
    with pytest.raises(InvalidInput) as error:
        services.workflow_create(owner=user, data={"name": "bad"}, steps=[
            step("reshape", "data_transform", config={"transforms": [
                {"type": "pick", "fields": ["a"]}, {"type": "rename", "from": "a"}]})])
    assert error.value.message == "step 'reshape': config.transforms.1.to: this field is required"
    assert error.value.fields == {"steps.reshape.config.transforms.1.to": ["this field is required"]}


def test_templates_wait_for_run_time_but_a_wrong_shape_does_not(user):
    active_workflow(user, [step("t", "data_transform", config={
        "source": "{{ input }}", "transforms": "{{ input.transforms }}"})])  # checked when rendered
    with pytest.raises(InvalidInput, match=r"config\.transforms\.0\.value: 'x' is not of type 'object'"):
        active_workflow(user, [step("t", "data_transform", config={
            "transforms": [{"type": "merge", "value": "x"}]})])


def test_without_source_it_transforms_the_one_upstream_output_else_the_input():
    rename = [{"type": "rename", "from": "a", "to": "b"}]
    data = {"input": {"a": "input"}, "steps": {"prev": {"output": {"a": "prev"}}, "other": {"output": {"a": "o"}}}}

    def handle(upstream: tuple[str, ...]) -> dict:
        ctx = StepContext(execution_id="e1", step_key="t", attempt=1, idempotency_key="e1:t", timeout_seconds=10,
                          input=data["input"], upstream=upstream, data=lambda: data)
        return registry.get("data_transform").execute({"transforms": rename}, ctx)

    assert handle(()) == {"result": {"b": "input"}}
    assert handle(("prev",)) == {"result": {"b": "prev"}}
    assert handle(("prev", "other")) == {"result": {"b": "input"}}
    with pytest.raises(StepError, match="no output of upstream step 'gone' to transform; set source"):
        handle(("gone",))
    assert "default" not in registry.get("data_transform").config_schema["properties"]["source"]
