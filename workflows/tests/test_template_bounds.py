"""Issue 12, findings 3, 4 and 7 and the save-time check of 9: templates and conditions within bounds
of size, time and nesting; values that are not JSON refused; deep nesting a 400 in the house shape."""

from __future__ import annotations

import json
import sys
import tracemalloc

import pytest
from django.test import Client

from workflows import templating
from workflows.models import Workflow, WorkflowExecution
from workflows.templating import TemplateError, evaluate, render
from workflows.tests.cluster import wait_for

ISSUE_WHEN = "('ab'*350000)|wordwrap(1)|length > 0"


def _refused(run, bound: str) -> str:
    with pytest.raises(TemplateError) as caught:
        run()
    assert bound in caught.value.message, caught.value.message
    return caught.value.message


# --- finding 3: size -----------------------------------------------------------------------------

def test_the_when_quoted_in_the_issue_is_refused_by_the_size_bound():
    message = _refused(lambda: evaluate(ISSUE_WHEN, {}), "FLOWPILOT_TEMPLATE_MAX_CHARS (1000000)")
    assert "|wordwrap" in message


def test_a_rendered_value_past_the_bound_is_refused_not_stored():
    _refused(lambda: render("{{ ''|center(10**7) }}", {}), "FLOWPILOT_TEMPLATE_MAX_CHARS")
    _refused(lambda: render("{{ ''|center(10**8) }}", {}), "FLOWPILOT_TEMPLATE_MAX_CHARS")
    assert len(render("{{ ''|center(10**5) }}", {})) == 10**5  # within the bound: as before


@pytest.mark.parametrize("text", [
    "{{ ('x'*1000000)|replace('x', 'x'*500)|length > 0 }}",  # the issue's 5x10^8 characters
    "{{ 'a'|center(500000000) }}",
    "{{ 'a'.center(500000000) }}",
    "{{ '%500000000s'|format('a') }}",
    "{{ '%500000000s' % 'a' }}",
    "{{ '{:>500000000}'.format('a') }}",
    "{{ ('a'*900000) ~ ('a'*900000) }}",
    "{{ ('a'*900000) + ('a'*900000) }}",
    "{{ range(100000)|join('x'*5000) }}",
    "{{ ('a'*700000)|indent(10**9) }}",
    "{{ {'a': 'b'*100000}|tojson(indent=1000) }}",
    "{{ [1]|batch(10**9, 'x')|list }}",
    "{{ 'ab'*300000000 }}",
    "{% set x %}{% for i in range(1000) %}{{ 'a'*5000 }}{% endfor %}{% endset %}{{ x|length }}",
])
def test_every_amplifying_operation_is_refused_before_it_allocates(text):
    tracemalloc.start()
    try:
        _refused(lambda: render(text, {}), "FLOWPILOT_TEMPLATE_MAX_CHARS")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 40 * 1024 * 1024, f"{peak / 2**20:.0f} MiB allocated before the refusal"


# --- finding 3: time -----------------------------------------------------------------------------

def test_a_template_that_loops_too_long_stops_at_the_time_bound(settings):
    settings.FLOWPILOT_TEMPLATE_MAX_SECONDS = 0.2
    loop = "{% for i in range(3000) %}{% for j in range(3000) %}{% endfor %}{% endfor %}"
    _refused(lambda: render(loop, {}), "FLOWPILOT_TEMPLATE_MAX_SECONDS (0.2 s)")
    _refused(lambda: evaluate("(('ab'*100000)|wordwrap(3)|length) > 0", {}), "FLOWPILOT_TEMPLATE_MAX_SECONDS")


def test_many_plain_operations_are_watched_too(settings):
    settings.FLOWPILOT_TEMPLATE_MAX_SECONDS = 0.05
    many = "{% set a = 'a'*900000 %}" + "{{ a|replace('a', 'b')|length }}," * 300
    _refused(lambda: render(many, {}), "FLOWPILOT_TEMPLATE_MAX_SECONDS (0.05 s)")
    assert render("{{ ('a'*900000)|replace('a', 'b')|length }}", {}) == 900000


def _template_code_running() -> bool:
    """Whether any thread of this process is executing a compiled template right now."""
    for frame in sys._current_frames().values():
        while frame is not None:
            if frame.f_code.co_filename == "<template>":
                return True
            frame = frame.f_back
    return False


def test_try_a_step_stops_rendering_at_its_timeout(api, settings):
    settings.FLOWPILOT_TEMPLATE_MAX_SECONDS = 600  # only the step's timeout can stop it
    forever = "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"
    answer = api.post("/api/v1/step-types/data_transform/try/",
                      {"config": {"source": forever}, "timeout_seconds": 1}, format="json")
    assert answer.status_code in (200, 400), answer.content
    wait_for(lambda: not _template_code_running(), timeout=10, message="the template to stop after the timeout")


# --- finding 4: JSON only ------------------------------------------------------------------------

@pytest.mark.parametrize("text, kind", [("{{ range(3) }}", "range"), ("{{ self }}", "TemplateReference"),
                                        ("{{ input.n|float }}", "nan")])
def test_a_value_that_is_not_json_is_a_template_error(text, kind):
    message = _refused(lambda: render(text, {"input": {"n": "nan"}}, field="source"), kind)
    assert "JSON" in message
    assert render("{{ range(3)|list }}", {}) == [0, 1, 2]


# --- finding 7: nesting --------------------------------------------------------------------------

DEEP_PARENS = "{{ " + "(" * 3000 + "1" + ")" * 3000 + " }}"
DEEP_LIST = "{{ " + "[" * 3000 + "]" * 3000 + " }}"
DEEP_NOT = "not " * 3000 + "true"


@pytest.mark.parametrize("text", [DEEP_PARENS, DEEP_LIST, "{{ 1" + " + 1" * 3000 + " }}"])
def test_a_template_nested_3000_deep_is_a_syntax_error_naming_the_bound(text):
    assert "FLOWPILOT_TEMPLATE_MAX_DEPTH" in templating.syntax_error(text)
    _refused(lambda: render(text, {}), "FLOWPILOT_TEMPLATE_MAX_DEPTH")
    assert "FLOWPILOT_TEMPLATE_MAX_DEPTH" in templating.condition_syntax_error(DEEP_NOT)


def test_a_macro_calling_itself_is_a_clear_error():
    _refused(lambda: render("{% macro f(n) %}{{ f(n) }}{% endmacro %}{{ f(1) }}", {}), "nest too deeply")


def _nested(depth: int) -> dict:
    return json.loads('{"a": ' * depth + "1" + "}" * depth)


def test_a_request_body_nested_3000_deep_is_a_400_in_the_house_shape(api):
    body = ('{"name": "deep", "steps": [], "x": ' + "[" * 3000 + "]" * 3000 + "}").encode()
    response = api.post("/api/v1/workflows/", body, content_type="application/json")
    assert response.status_code == 400 and response["Content-Type"] == "application/json"
    assert "FLOWPILOT_JSON_MAX_DEPTH (64)" in response.json()["message"]
    deep = api.post("/api/v1/workflows/", {"name": "deep", "steps": [], "x": _nested(100)}, format="json")
    assert deep.status_code == 400 and "FLOWPILOT_JSON_MAX_DEPTH" in deep.json()["message"]
    assert not Workflow.objects.exists()


@pytest.mark.parametrize("field, step", [
    ("steps.a.config.message", {"key": "a", "task_type": "log", "config": {"message": DEEP_PARENS}}),
    ("steps.a.when", {"key": "a", "task_type": "log", "config": {"message": "x"}, "when": DEEP_NOT}),
])
def test_a_template_or_when_nested_3000_deep_is_a_400_naming_the_field(api, field, step):
    response = api.post("/api/v1/workflows/", {"name": "deep", "steps": [step]}, format="json")
    assert response.status_code == 400, response.content
    assert "FLOWPILOT_TEMPLATE_MAX_DEPTH" in " ".join(response.json()["fields"][field]), response.json()
    assert not Workflow.objects.exists()


def test_a_webhook_body_nested_3000_deep_is_a_400(api, user):
    from workflows.tests.factories import active_workflow, step

    workflow = active_workflow(user, [step("hello", "log", config={"message": "hi"})], name="hooked")
    hook = api.post(f"/api/v1/workflows/{workflow.pk}/triggers/", {"type": "webhook", "require_signature": False},
                    format="json").json()
    response = Client().post(hook["url"], b"[" * 3000 + b"]" * 3000, content_type="application/json")
    assert response.status_code == 400 and "FLOWPILOT_JSON_MAX_DEPTH" in response.json()["message"]
    assert not WorkflowExecution.objects.exists()


# --- finding 9 (last part): what saves is what renders -------------------------------------------

def test_two_expressions_in_one_string_save_and_render_alike(api):
    text = "{{ input.first }} {{ input.last }}"
    assert templating.syntax_error(text) is None
    assert render(text, {"input": {"first": "Ada", "last": "Lovelace"}}) == "Ada Lovelace"
    saved = api.post("/api/v1/workflows/", {"name": "names", "steps": [
        {"key": "greet", "task_type": "log", "config": {"message": text}}]}, format="json")
    assert saved.status_code == 201, saved.json()
    tried = api.post("/api/v1/step-types/log/try/", {"config": {"message": text},
                                                     "input": {"first": "Ada", "last": "Lovelace"}}, format="json")
    assert tried.json()["output"] == {"message": "Ada Lovelace"}
