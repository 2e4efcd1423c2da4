"""Write-only credentials stay unreadable (issue 12, finding 6): redaction catches a secret in any case
and in the forms a URL or a hostname gives it, and templates cannot derive a value from a secret (a
filter, a slice, a transformed concatenation...), so nothing a run leaves behind shows it."""

from __future__ import annotations

import io
import json
import logging
from datetime import timedelta

import pytest
from django.utils import timezone

from flowpilot import logs
from monitoring.errors import error_groups
from workflows import credentials, services, templating
from workflows.models import ExecutionLog, TaskExecution, WorkflowExecution
from workflows.runner import run_with_timeout
from workflows.secrets import RedactingFilter, redact, redacted_from_logs
from workflows.tests.factories import active_workflow, step

SECRET = "Zebra-Secret-9876"
# Arguments for the filters that need some, so that on an engine without the refusal each one
# would really derive a value from the secret.
ARGS = {"attr": "('upper')", "batch": "(3)", "center": "(40)", "format": "()", "groupby": "(0)",
        "indent": "(2, true)", "join": "('.')", "map": "('upper')", "reject": "('none')",
        "rejectattr": "('x')", "replace": "('-', '_')", "round": "", "select": "('string')",
        "selectattr": "('x')", "slice": "(2)", "sum": "(start='')", "truncate": "(12, true, '', 0)",
        "wordwrap": "(5)", "xmlattr": ""}
EXTRA = ["{{ secrets.K[1:] }}", "{{ secrets.K[::-1] }}", "{{ ('x' ~ secrets.K)|upper }}",
         "{{ (secrets.K ~ '!')|reverse }}", "{{ secrets.K|list|join }}", "{{ secrets.K|list|reverse|join('') }}",
         "{{ secrets.K|replace('-', '.')|title }}", "{{ secrets.K.lower() }}", "{{ secrets['K']|upper }}",
         "{{ secrets|tojson }}", "{{ secrets.values()|list }}", "x{{ secrets.K[0] }}{{ secrets.K[1] }}",
         "{% set s %}{{ secrets.K }}{% endset %}{{ s|reverse }}", "{% filter upper %}{{ secrets.K }}{% endfilter %}",
         "{% macro m() %}{{ secrets.K }}{% endmacro %}{{ m()|lower }}",
         "{% for c in secrets.K %}{{ c }}{% endfor %}", "{% if secrets.K.startswith('Z') %}Z{% endif %}"]


def leaked_forms(text: str) -> list[str]:
    """The forms of SECRET found in `text`, in any case: whole, reversed, without its first or last
    character, percent-encoded."""
    forms = {SECRET, SECRET[::-1], SECRET[1:], SECRET[:-1], SECRET.replace("-", "%2D")}
    return [form for form in forms if form.lower() in text.lower()]


def filter_templates() -> list[str]:
    """One template per filter of the sandbox (b64encode too, if this Jinja has it), then EXTRA."""
    return [f"{{{{ secrets.K|{name}{ARGS.get(name, '')} }}}}" for name in sorted(templating._env.filters)] + EXTRA


def test_redaction_catches_case_changes_and_the_forms_a_url_gives_a_secret():
    assert redact("cannot resolve 'zebra-secret-9876.invalid'", [SECRET]) == "cannot resolve '[redacted].invalid'"
    assert redact({"ZEBRA-SECRET-9876": ["https://x.test/?q=6789-terceS-arbeZ"]}, [SECRET]) == \
        {"[redacted]": ["https://x.test/?q=[redacted]"]}
    secret = "Bücherei/Pass word?9876"  # its host part, "bücherei", is "xn--bcherei-n2a" in IDNA
    text = redact(f"{secret.upper()} xn--bcherei-n2a / b%C3%BCcherei%2Fpass%20word%3F9876 / "
                  "B%C3%BCcherei%2FPass+word%3F9876", [secret])
    assert text == "[redacted] [redacted] / [redacted] / [redacted]", text
    # The host a URL parser cuts out of a secret ("user:password@host" put in a URL) is redacted too.
    assert redact("cannot resolve 'internal-db-7731.corp'", ["admin:pw@internal-db-7731.corp"]) == \
        "cannot resolve '[redacted]'"
    assert redact("a short word: Zebr", [SECRET]) == "a short word: Zebr"


def test_a_urls_scheme_is_not_taken_for_a_piece_of_the_secret():
    dsn = "postgresql://reporting:Hunter-22-pw@db-internal.corp:5432/warehouse_prod"
    text = redact(f"PostgreSQL said: password authentication failed for user reporting on db-internal.corp "
                  f"(warehouse_prod); {dsn}", [dsn])
    assert text == "PostgreSQL said: password authentication failed for user [redacted] on [redacted] " \
                   "([redacted]); [redacted]", text
    assert redact("POSTGRESQL://x", ["postgresql://reporting@db-internal.corp/warehouse_prod"]) == "POSTGRESQL://x"


def test_log_lines_written_while_a_step_holds_a_secret_have_it_redacted():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.JsonFormatter())
    handler.addFilter(RedactingFilter())
    logger = logging.getLogger("flowpilot.tests.redacting")
    logger.addHandler(handler)
    logger.propagate = False

    def step_code():  # in the runner's thread, as a handler runs
        logger.warning("calling https://%s.invalid/", SECRET.lower())
        try:
            raise OSError(f"cannot resolve '{SECRET.lower()}.invalid'")
        except OSError:
            logger.exception("failed")

    held: set[str] = set()
    with redacted_from_logs(held):
        held.add(SECRET)  # handed out after the block began (Resolver.get): still redacted
        assert run_with_timeout(step_code, 5)
    logger.warning("after the step: %s", SECRET)  # outside the block: the filter has nothing to take out
    first, second, third = (json.loads(line) for line in stream.getvalue().splitlines())
    assert first["message"] == "calling https://[redacted].invalid/"
    assert "cannot resolve '[redacted].invalid'" in second["exception"] and SECRET.lower() not in second["exception"]
    assert third["message"] == f"after the step: {SECRET}"


def test_a_secret_written_whole_into_the_text_still_renders():
    data = {"secrets": {"K": SECRET}, "input": {"n": [1, 2]}}
    assert templating.render("{{ secrets.K }}", data) == SECRET
    assert templating.render("{{ 'Bearer ' ~ secrets.K }}", data) == f"Bearer {SECRET}"
    assert templating.render("{% if input.n %}key={{ secrets['K'] }}{% endif %}", data) == f"key={SECRET}"
    assert templating.render("{% for i in input.n %}{{ i }}:{{ secrets.K }};{% endfor %}", data) == \
        f"1:{SECRET};2:{SECRET};"
    assert templating.render("{{ input.n|reverse|list }}", {"input": {"n": [1, 2]}}) == [2, 1]  # no secrets: as before


def test_every_filter_and_transformation_of_a_secret_is_refused_at_render(api, user, caplog):
    # Through "try a step": the engine's own invoke() (credentials resolved, outcome redacted), answered.
    credentials.credential_save(owner=user, name="K", value=SECRET)
    templates = filter_templates()
    assert len(templates) > 60  # every filter of the sandbox (54 with Jinja 3.1) and the extras
    caplog.set_level(logging.DEBUG)
    answers = []
    for template in templates:
        response = api.post("/api/v1/step-types/log/try/", {"config": {"message": template}}, format="json")
        if templating.secret_names(template) == {"K"}:
            assert response.status_code == 400, (template, response.status_code, response.data)
            assert "filters cannot be applied to secrets" in " ".join(response.data["fields"]["config.message"])
        else:  # `secrets` whole, or secrets.values(): not a credential's name, so nothing is resolved
            assert response.status_code == 400 or response.data["status"] == "failed", (template, response.data)
        answers.append(response.data)
    assert leaked_forms(json.dumps([answers, [record.getMessage() for record in caplog.records]])) == []


@pytest.mark.parametrize("template", ["{{ secrets.K|reverse }}", "{{ secrets.K|upper }}", "{{ secrets.K[1:] }}",
                                      "{{ secrets.K|lower }}", "{{ secrets.K|title }}",
                                      "{{ secrets.K|replace('-', '+') }}", "{{ secrets.K|list|join('.') }}",
                                      "{{ ('x' ~ secrets.K)|reverse }}"])
def test_a_run_stores_no_transformed_secret(template, user, sync_executor, caplog):
    credentials.credential_save(owner=user, name="K", value=SECRET)
    workflow = active_workflow(user, [step("note", "log", config={"message": template}, max_retries=0)])
    caplog.set_level(logging.DEBUG)
    run, _ = services.execution_start(workflow=workflow)
    sync_executor.drain()

    run.refresh_from_db()
    assert run.status == "failed" and "filters cannot be applied to secrets" in run.error_message, run.error_message
    stored = json.dumps([
        list(TaskExecution.objects.values()), list(ExecutionLog.objects.values()),
        list(WorkflowExecution.objects.values()),
        [g.__dict__ for g in error_groups(executions=WorkflowExecution.objects.all(),
                                          since=timezone.now() - timedelta(hours=1), until=timezone.now())],
        [record.getMessage() for record in caplog.records]], default=str)
    assert leaked_forms(stored) == []
