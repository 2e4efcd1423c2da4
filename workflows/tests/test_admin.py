"""The admin for ops: every page opens, filters and search find runs, retry and cancel go through the
services, nothing that is the engine's state can be edited, list pages cost a constant number of queries."""

from __future__ import annotations

import datetime

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from workflows import services
from workflows.engine.events import Events
from workflows.models import (
    Credential,
    ExecutionLog,
    TaskExecution,
    TriggerSource,
    Workflow,
    WorkflowExecution,
    WorkflowStep,
    WorkflowVersion,
)
from workflows.engine.planner.states import ExecutionStatus as E
from workflows.tests.factories import active_workflow, step

MODELS = [Workflow, WorkflowStep, WorkflowVersion, WorkflowExecution, TaskExecution, ExecutionLog, Credential]


def url(model, view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def start(workflow, sync_executor, *, drain: bool = True, **kwargs) -> WorkflowExecution:
    execution, _ = services.execution_start(workflow=workflow, **kwargs)
    if drain:
        sync_executor.drain()
    execution.refresh_from_db()
    return execution


@pytest.fixture
def flaky(user):
    """Fails on its first attempt (no retries), succeeds when retried."""
    return active_workflow(user, [step("a", function="noop"), step("b", function="flaky", kwargs={"fail_times": 1},
                                                                    depends_on=["a"], max_retries=0)], name="flaky")


@pytest.fixture
def noop(user):
    return active_workflow(user, [step("only", function="noop")], name="noop")


def listed(response) -> set:
    assert response.status_code == 200
    return {row.pk for row in response.context["cl"].result_list}


def act(admin_client, action: str, executions) -> list[str]:
    response = admin_client.post(url(WorkflowExecution, "changelist"), {
        "action": action, "index": 0, ACTION_CHECKBOX_NAME: [str(e.pk) for e in executions]}, follow=True)
    assert response.status_code == 200
    return [str(m) for m in response.context["messages"]]


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_every_changelist_and_change_page_opens(admin_client, flaky, sync_executor, user, model):
    start(flaky, sync_executor, idempotency_key="k1")
    services_credential = Credential.objects.create(owner=user, name="TOKEN", encrypted_value="x")
    assert services_credential
    assert admin_client.get(url(model, "changelist")).status_code == 200
    obj = model.objects.first()
    assert admin_client.get(url(model, "change", obj.pk)).status_code == 200


@pytest.mark.parametrize("model", [WorkflowExecution, TaskExecution, ExecutionLog, WorkflowVersion, WorkflowStep])
def test_runs_and_their_history_cannot_be_added_by_hand(admin_client, model):
    assert admin_client.get(url(model, "add")).status_code == 403


def test_filters_and_search_find_executions(admin_client, flaky, noop, sync_executor):
    failed = start(flaky, sync_executor, idempotency_key="signup-+911234")
    completed = start(noop, sync_executor, triggered_by=TriggerSource.MANUAL)
    old = start(noop, sync_executor)
    WorkflowExecution.objects.filter(pk=old.pk).update(created_at=datetime.datetime(2020, 5, 1, tzinfo=datetime.UTC))
    assert (failed.status, completed.status) == (E.FAILED, E.COMPLETED)
    changelist = url(WorkflowExecution, "changelist")

    assert listed(admin_client.get(changelist, {"status__exact": "failed"})) == {failed.pk}
    assert listed(admin_client.get(changelist, {"triggered_by__exact": "manual"})) == {completed.pk}
    assert listed(admin_client.get(changelist, {"workflow__id__exact": str(noop.pk)})) == {completed.pk, old.pk}
    # The "Past 7 days" link of the created_at filter.
    today = timezone.now().replace(hour=0, minute=0, second=0, microsecond=0)
    assert listed(admin_client.get(changelist, {"created_at__gte": str(today - datetime.timedelta(days=7)),
                                                "created_at__lt": str(today + datetime.timedelta(days=1))})) \
        == {failed.pk, completed.pk}
    assert listed(admin_client.get(changelist, {"created_at__year": "2020"})) == {old.pk}  # date hierarchy

    assert listed(admin_client.get(changelist, {"q": "signup-+911234"})) == {failed.pk}
    assert listed(admin_client.get(changelist, {"q": str(completed.pk)})) == {completed.pk}
    assert listed(admin_client.get(changelist, {"q": str(completed.pk)[:13]})) == {completed.pk}


def test_attempts_and_logs_filter_and_search(admin_client, flaky, noop, sync_executor):
    failed = start(flaky, sync_executor)
    start(noop, sync_executor)
    failed_attempt = TaskExecution.objects.get(execution=failed, step_key="b")
    tasks = url(TaskExecution, "changelist")
    assert listed(admin_client.get(tasks, {"status__exact": "failed"})) == {failed_attempt.pk}
    assert listed(admin_client.get(tasks, {"execution__id__exact": str(failed.pk)})) \
        == set(failed.task_executions.values_list("pk", flat=True))
    assert listed(admin_client.get(tasks, {"q": str(failed.pk)})) == set(failed.task_executions.values_list("pk", flat=True))

    logs = url(ExecutionLog, "changelist")
    errors = listed(admin_client.get(logs, {"level__exact": "error", "execution__id__exact": str(failed.pk)}))
    assert errors and errors <= set(failed.logs.values_list("pk", flat=True))
    assert listed(admin_client.get(logs, {"q": "flaky failure on attempt 1"}))


def test_retry_resumes_a_failed_execution_through_the_services(admin_client, flaky, sync_executor):
    failed = start(flaky, sync_executor)
    assert failed.status == E.FAILED
    messages = act(admin_client, "retry", [failed])
    assert messages == ["Retried 1 execution(s)."]
    failed.refresh_from_db()
    assert failed.status == E.RUNNING and failed.retry_count == 1
    sync_executor.drain()
    failed.refresh_from_db()
    assert failed.status == E.COMPLETED
    # Resumed at the failed step: "a" ran once, "b" twice.
    assert sorted(failed.task_executions.values_list("step_key", "attempt")) == [("a", 1), ("b", 1), ("b", 2)]
    assert failed.logs.filter(event="execution.retried", details__user="admin").exists()


def test_bulk_retry_takes_only_the_failed_executions_of_the_selection(admin_client, flaky, noop, sync_executor):
    failed = [start(flaky, sync_executor) for _ in range(2)]
    completed = start(noop, sync_executor)
    messages = act(admin_client, "bulk_retry_failed", [*failed, completed])
    assert messages == ["Retried 2 failed execution(s).", "Skipped 1 execution(s): not failed."]
    sync_executor.drain()
    assert set(WorkflowExecution.objects.values_list("status", flat=True)) == {E.COMPLETED}
    assert WorkflowExecution.objects.get(pk=completed.pk).retry_count == 0


def test_cancel_stops_running_executions_and_skips_finished_ones(admin_client, noop, sync_executor):
    completed = start(noop, sync_executor)
    running = start(noop, sync_executor, drain=False)
    assert running.status == E.RUNNING
    messages = act(admin_client, "cancel", [running, completed])
    assert messages == ["Cancelled 1 execution(s).", "Skipped 1 execution(s): already finished."]
    running.refresh_from_db()
    assert running.status == E.CANCELLED
    assert set(running.task_executions.values_list("status", flat=True)) == {"cancelled"}


def test_pause_and_unpause_go_through_the_services_and_skip_what_they_refuse(admin_client, noop, sync_executor):
    completed = start(noop, sync_executor)
    running = start(noop, sync_executor, drain=False)
    assert act(admin_client, "pause", [running, completed]) == [
        "Paused 1 execution(s).", "Skipped 1 execution(s): not pending or running."]
    running.refresh_from_db()
    assert running.status == E.PAUSED and running.logs.filter(event="execution.paused").exists()
    assert act(admin_client, "unpause", [running]) == ["Unpaused 1 execution(s)."]
    sync_executor.drain()
    running.refresh_from_db()
    assert running.status == E.COMPLETED


def test_a_post_cannot_change_the_engines_state(admin_client, flaky, sync_executor):
    failed = start(flaky, sync_executor)
    before = {f.attname: getattr(failed, f.attname) for f in WorkflowExecution._meta.fields}
    other_version = WorkflowVersion.objects.exclude(pk=failed.workflow_version_id).first()
    with CaptureQueriesContext(connection) as captured:
        response = admin_client.post(url(WorkflowExecution, "change", failed.pk), {
            "status": "completed", "retry_count": "9", "output": '{"forged": true}', "error_message": "",
            "workflow_version": other_version.pk if other_version else "", "completed_at_0": "2020-01-01",
            "task_executions-TOTAL_FORMS": "0", "task_executions-INITIAL_FORMS": "0",
            "logs-TOTAL_FORMS": "0", "logs-INITIAL_FORMS": "0"})
    assert response.status_code == 302
    # Not even a write-back of the values as read: a worker may have changed the row meanwhile.
    assert not [q["sql"] for q in captured if q["sql"].startswith("UPDATE") and "workflows_" in q["sql"]]
    failed.refresh_from_db()
    assert {f.attname: getattr(failed, f.attname) for f in WorkflowExecution._meta.fields} == before

    attempt = failed.task_executions.get(step_key="b")
    assert admin_client.post(url(TaskExecution, "change", attempt.pk), {"status": "completed", "attempt": "7"}) \
        .status_code == 403
    assert admin_client.post(url(Workflow, "change", failed.workflow_id), {"status": "archived", "version": "9"}) \
        .status_code == 403
    attempt.refresh_from_db()
    assert (attempt.status, attempt.attempt) == ("failed", 1)
    assert Workflow.objects.get(pk=failed.workflow_id).status == "active"


def test_a_run_in_flight_cannot_be_deleted_a_finished_one_can(admin_client, noop, sync_executor):
    completed = start(noop, sync_executor)
    running = start(noop, sync_executor, drain=False)
    assert admin_client.get(url(WorkflowExecution, "delete", running.pk)).status_code == 403
    assert admin_client.post(url(WorkflowExecution, "delete", completed.pk), {"post": "yes"}).status_code == 302
    assert not WorkflowExecution.objects.filter(pk=completed.pk).exists()
    attempt = running.task_executions.first()
    assert admin_client.get(url(TaskExecution, "delete", attempt.pk)).status_code == 403


def test_the_execution_page_shows_only_the_latest_log_lines(admin_client, noop, sync_executor):
    execution = start(noop, sync_executor)
    events = Events()
    for n in range(250):
        events.add(execution.pk, "test.line", f"line {n:03}")
    events.flush()
    response = admin_client.get(url(WorkflowExecution, "change", execution.pk))
    assert response.status_code == 200
    log_formset = next(f for f in response.context["inline_admin_formsets"] if f.formset.model is ExecutionLog)
    shown = [form.instance.message for form in log_formset.formset.forms]
    assert shown == [f"line {n:03}" for n in range(50, 250)]  # the last 200, oldest first


@pytest.mark.parametrize("model", [Workflow, WorkflowStep, WorkflowVersion, WorkflowExecution, TaskExecution,
                                   ExecutionLog])
def test_list_pages_make_a_constant_number_of_queries(admin_client, user, sync_executor, model):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert admin_client.get(url(model, "changelist")).status_code == 200
        return len(captured)

    workflow = active_workflow(user, [step("a", function="noop"), step("b", function="noop", depends_on=["a"])])
    start(workflow, sync_executor)
    few = queries()
    for n in range(4):
        more = active_workflow(user, [step("a", function="noop"), step("b", function="noop", depends_on=["a"])],
                               name=f"wf {n}")
        start(more, sync_executor)
        start(more, sync_executor)
    assert queries() == few
