"""Templates and conditions: plain JSON in, sandboxed, bounded, clear errors."""

import pytest

from workflows.templating import TemplateError, evaluate, render, render_config, syntax_error, template_errors

DATA = {"input": {"n": 5, "phone": "+91", "tags": ["a", "b"], "user": {"name": "Ada"}},
        "steps": {"create": {"output": {"id": 42}}}, "execution": {"id": "e1"}}


def test_a_single_expression_keeps_its_type():
    assert render("{{ input.n }}", DATA) == 5
    assert render("{{ input.user }}", DATA) == {"name": "Ada"}
    assert render("{{ steps.create.output.id + 1 }}", DATA) == 43
    assert render("  {{ input.tags }}  ", DATA) == ["a", "b"]


def test_mixed_text_renders_to_a_string():
    assert render("Hi {{ input.user.name }} #{{ steps.create.output.id }}", DATA) == "Hi Ada #42"
    assert render("no template", DATA) == "no template"


def test_render_config_walks_nested_json():
    config = {"url": "https://x/{{ input.phone }}", "json": {"ids": ["{{ steps.create.output.id }}", 7]}, "n": 1}
    assert render_config(config, DATA) == {"url": "https://x/+91", "json": {"ids": [42, 7]}, "n": 1}


@pytest.mark.parametrize("text,missing", [
    ("{{ input.email }}", "input.email"),
    ("Hello {{ input.user.surname }}", "input.user.surname"),
    ("{{ steps.nope.output.id }}", "steps.nope"),
])
def test_a_missing_variable_is_named_with_the_field(text, missing):
    with pytest.raises(TemplateError) as error:
        render_config({"body": {"x": text}}, DATA)
    assert error.value.field == "body.x" and f"undefined variable {missing!r}" in error.value.message


def test_conditions():
    assert evaluate("input.n > 3", DATA) is True
    assert evaluate("{{ input.n > 30 }}", DATA) is False
    assert evaluate("'a' in input.tags and input.user.name == 'Ada'", DATA) is True


@pytest.mark.parametrize("text", [
    "{{ ''.__class__ }}", "{{ ''.__class__.__mro__[1].__subclasses__() }}", "{{ input|attr('__class__') }}",
    "{{ '{0.__class__}'.format(input) }}", "{{ input.user.__init__ }}",
])
def test_sandbox_escapes_get_a_clear_error(text):
    with pytest.raises(TemplateError) as error:
        render(text, DATA)
    assert "not allowed" in error.value.message or "undefined" in error.value.message or "unsafe" in str(error.value)


@pytest.mark.parametrize("text", ["{{ range(10**9)|list }}", "{{ 'a' * 10**9 }}", "{{ 9**9**9 }}",
                                  "{{ [1] * 10**8 }}"])
def test_runaway_work_ends_with_a_clear_error(text):
    with pytest.raises(TemplateError):
        render(text, DATA)


def test_save_time_syntax_checks():
    assert syntax_error("{{ input.n }}") is None
    assert "does not parse" in syntax_error("{{ input.n ")
    assert template_errors({"a": ["ok", "{% if %}"]}) == [("a[1]", template_errors({"x": "{% if %}"})[0][1])]


def test_raw_fields_are_left_for_the_handler():
    config = {"items": "{{ input.tags }}", "transforms": [{"template": "{{ item.x }}", "value": "{{ input.n }}"}]}
    rendered = render_config(config, DATA, raw=("transforms[].template",))
    assert rendered == {"items": ["a", "b"], "transforms": [{"template": "{{ item.x }}", "value": 5}]}
