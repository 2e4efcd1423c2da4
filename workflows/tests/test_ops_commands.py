"""`manage.py executions list|retry|cancel`: a readable table, bulk retry and cancel through the services
with a progress bar, and dry runs that change nothing."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from workflows import services
from workflows.management.console import Progress, parse_since
from workflows.models import WorkflowExecution
from workflows.engine.planner.states import ExecutionStatus as E
from workflows.tests import functions
from workflows.tests.factories import active_workflow, diamond, step


@pytest.fixture(autouse=True)
def no_faults():
    functions.FAULTS.clear()
    yield
    functions.FAULTS.clear()


def run(*args) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("executions", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.fixture
def patients(user, sync_executor):
    """Runs for a, b and c; the database was "overloaded" for a and b, so those two failed at create_patient."""
    workflow = active_workflow(user, [
        step("otp", function="noop"),
        step("create_patient", function="create_patient", kwargs={"name": "{{ input.name }}"}, depends_on=["otp"],
             max_retries=0)], name="patients")
    functions.FAULTS.update({"a", "b"})
    runs = {name: services.execution_start(workflow=workflow, input_data={"name": name})[0] for name in "abc"}
    sync_executor.drain()
    functions.FAULTS.clear()
    return workflow, runs


def statuses(runs: dict) -> dict:
    return {name: WorkflowExecution.objects.get(pk=e.pk).status for name, e in runs.items()}


def test_list_is_a_table_with_the_failed_step_and_its_error(patients, user):
    workflow, runs = patients
    services.execution_start(workflow=diamond(user, name="other"))
    out, _ = run("list", "--workflow", "patients", "--status", "failed")
    header, rule, *rows, footer = out.strip().splitlines()
    assert header.split() == ["ID", "WORKFLOW", "STATUS", "CREATED", "FAILED", "STEP", "ERROR"]
    assert set(rule) <= {"-", " "} and footer == "2 executions"
    assert {row.split()[0] for row in rows} == {str(runs["a"].pk), str(runs["b"].pk)}
    assert all("patients" in row and "create_patient" in row for row in rows)
    assert any("database overloaded while creating a" in row for row in rows)

    everything, _ = run("list", "--workflow", str(workflow.pk))
    assert everything.strip().endswith("3 executions") and "completed" in everything and "other" not in everything
    assert "4 executions" in run("list", "--since", "2h")[0]
    assert "No executions match." in run("list", "--since", (timezone.now() + timedelta(hours=1)).isoformat())[0]
    limited, _ = run("list", "--limit", "1")
    assert limited.strip().endswith("1 execution (the limit; --limit shows more)")


def test_retry_by_step_and_error_resumes_only_those(patients, sync_executor):
    workflow, runs = patients
    out, err = run("retry", "--workflow", "patients", "--step", "create_patient", "--error", "CREATING A")
    assert "Retried 1 of 1 execution." in out
    assert f"1/1 {runs['a'].pk} retried" in err and "[#####" in err
    sync_executor.drain()
    assert statuses(runs) == {"a": E.COMPLETED, "b": E.FAILED, "c": E.COMPLETED}

    assert "No executions to retry." in run("retry", "--workflow", "patients", "--step", "otp")[0]
    out, err = run("retry", "--workflow", str(workflow.pk))
    assert "Retried 1 of 1 execution." in out and str(runs["b"].pk) in err
    sync_executor.drain()
    assert statuses(runs) == {"a": E.COMPLETED, "b": E.COMPLETED, "c": E.COMPLETED}


def test_a_dry_run_says_which_and_changes_nothing(patients, sync_executor):
    _, runs = patients
    out, err = run("retry", "--workflow", "patients", "--error", "overloaded", "--dry-run")
    assert out.startswith("Dry run: would retry 2 executions; nothing was changed.")
    assert str(runs["a"].pk) in out and str(runs["b"].pk) in out and str(runs["c"].pk) not in out
    assert err == ""
    sync_executor.drain()
    assert statuses(runs) == {"a": E.FAILED, "b": E.FAILED, "c": E.COMPLETED}
    assert WorkflowExecution.objects.get(pk=runs["a"].pk).retry_count == 0


def test_cancel_by_workflow_status_and_id(user, sync_executor):
    workflow = active_workflow(user, [step("wait", "delay", config={"seconds": 60})], name="waits", max_concurrency=1)
    runs = {n: services.execution_start(workflow=workflow, input_data={"n": n})[0] for n in range(4)}
    sync_executor.drain()
    assert [statuses(runs)[n] for n in range(4)] == [E.RUNNING, E.PENDING, E.PENDING, E.PENDING]

    out, err = run("cancel", "--workflow", "waits", "--dry-run")
    assert "Dry run: would cancel 4 executions" in out and err == ""
    assert E.CANCELLED not in statuses(runs).values()

    out, err = run("cancel", "--id", str(runs[3].pk))
    assert "Cancelled 1 of 1 execution." in out and f"1/1 {runs[3].pk} cancelled" in err
    out, err = run("cancel", "--workflow", "waits", "--status", "pending")
    assert "Cancelled 2 of 2 executions." in out and err.count("cancelled") == 2
    sync_executor.drain()
    assert [statuses(runs)[n] for n in range(4)] == [E.RUNNING, E.CANCELLED, E.CANCELLED, E.CANCELLED]

    out, _ = run("cancel", "--id", str(runs[0].pk), str(runs[1].pk))
    assert "1 of the given ids is not pending or running" in out and "Cancelled 1 of 1 execution." in out
    assert statuses(runs)[0] == E.CANCELLED


def test_pause_and_unpause_by_workflow_host_and_id(user, sync_executor):
    workflow = active_workflow(user, [step("first", function="noop"),
                                      step("call", "http_request", config={"url": "https://ehr.example/a"},
                                           depends_on=["first"])], name="calls ehr")
    other = active_workflow(user, [step("only", function="noop")], name="quiet")
    runs = [services.execution_start(workflow=workflow)[0] for _ in range(2)]
    quiet = services.execution_start(workflow=other)[0]

    out, err = run("pause", "--host", "ehr.example", "--dry-run")
    assert "Dry run: would pause 2 executions" in out and E.PAUSED not in statuses(dict(enumerate(runs))).values()
    out, err = run("pause", "--host", "https://ehr.example")
    assert "Paused 2 of 2 executions." in out and err.count("paused") == 2
    assert set(statuses(dict(enumerate(runs))).values()) == {E.PAUSED}
    quiet.refresh_from_db()
    assert quiet.status == E.RUNNING

    out, _ = run("unpause", "--id", str(runs[0].pk))
    assert "Unpaused 1 of 1 execution." in out
    out, _ = run("unpause", "--workflow", "calls ehr")
    assert "Unpaused 1 of 1 execution." in out
    assert set(statuses(dict(enumerate(runs))).values()) == {E.RUNNING}


@pytest.mark.parametrize("args,words", [
    (["pause", "--step", "x"], "say which executions to pause"),
    (["cancel", "--status", "pending"], "say which executions to cancel"),
    (["cancel", "--id", "nope"], "'nope' is not an execution id"),
    (["retry", "--workflow", "ghost"], "no workflow with the id or name 'ghost'"),
    (["retry"], "--workflow"),
    (["list", "--since", "yesterday"], "neither a duration like 2h"),
    (["delete"], "invalid choice"),
])
def test_bad_arguments_are_refused_clearly(db, args, words):
    with pytest.raises(CommandError, match=words):
        run(*args)


def test_since_takes_durations_and_iso_dates():
    now = timezone.now()
    assert parse_since("2h", now=now) == now - timedelta(hours=2)
    assert parse_since("7d", now=now) == now - timedelta(days=7)
    assert parse_since("2024-05-01").isoformat() == "2024-05-01T00:00:00+00:00"
    assert parse_since("2024-05-01T10:30:00+02:00").isoformat() == "2024-05-01T10:30:00+02:00"


def test_the_progress_bar_redraws_in_place_on_a_terminal():
    class Terminal(StringIO):
        def isatty(self):
            return True

    from django.core.management.base import OutputWrapper

    screen = Terminal()
    progress = Progress(OutputWrapper(screen), 2, width=4)
    progress.advance("first")
    progress.advance("second")
    assert screen.getvalue() == "\r[##..] 1/2 first\r[####] 2/2 second\n"
