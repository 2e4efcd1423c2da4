"""Issue 12, finding 6, as reported, on real worker processes: a credential used in a URL's host fails
with a resolver error that lowercases it; no case of it may reach anything the run leaves behind."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from monitoring.errors import error_groups
from workflows import credentials, services
from workflows.models import ExecutionLog, TaskExecution, WorkflowExecution
from workflows.engine.planner.states import ExecutionStatus as E
from workflows.tests.cluster import Cluster, flush_broker, wait_for
from workflows.tests.factories import active_workflow, step

pytestmark = [pytest.mark.e2e, pytest.mark.services, pytest.mark.django_db(transaction=True),
              pytest.mark.xdist_group("test_secrets_e2e")]  # one process runs the module: one worker fixture

SECRET = "Zebra-Secret-9876"


@pytest.fixture(scope="module")
def cluster():
    flush_broker()
    c = Cluster(FLOWPILOT_CIRCUIT_FAILURES="1")  # the breaker's log line names the host: the secret
    yield c
    c.stop()


def cases_of_the_secret(text: str) -> list[str]:
    found = [form for form in (SECRET, SECRET.lower(), SECRET.upper()) if form in text]
    return found + (["(another case)"] if not found and SECRET.lower() in text.lower() else [])


def test_a_secret_in_a_url_host_never_comes_back_in_any_case(user, cluster):
    credentials.credential_save(owner=user, name="HOST", value=SECRET)
    workflow = active_workflow(user, [step("call", "http_request", max_retries=0, config={
        "url": "https://{{ secrets.HOST }}.invalid/orders", "timeout": 5})])
    cluster.start_worker(concurrency=1)
    run, _ = services.execution_start(workflow=workflow)
    wait_for(lambda: WorkflowExecution.objects.filter(pk=run.pk, status=E.FAILED).exists(), timeout=60,
             message="the run to fail")

    run.refresh_from_db()
    assert "cannot resolve '[redacted].invalid'" in run.error_message, run.error_message  # the case reproduced
    staff = get_user_model().objects.create_user("ops", password="pw", is_staff=True, is_superuser=True)
    admin = Client()
    admin.force_login(staff)
    pages = {model: admin.get(reverse(f"admin:workflows_{model._meta.model_name}_changelist"))
             for model in (WorkflowExecution, TaskExecution, ExecutionLog)}
    assert all(page.status_code == 200 for page in pages.values())
    assert "[redacted]" in pages[WorkflowExecution].content.decode()
    groups = error_groups(executions=WorkflowExecution.objects.all(), since=timezone.now() - timedelta(hours=1),
                          until=timezone.now())
    assert [g.sample_message for g in groups] == [TaskExecution.objects.get(execution=run).error_message]
    worker_log = cluster.log("worker")
    assert "opened after 1 consecutive failures" in worker_log  # Python logging named the host
    places = {
        "execution error": [run.error_message, run.error_details],
        "task errors": list(TaskExecution.objects.filter(execution=run).values("error_message", "error_details",
                                                                                 "output")),
        "logs": list(ExecutionLog.objects.filter(execution=run).values("message", "details")),
        "error groups": [g.__dict__ for g in groups],
        "admin lists": [page.content.decode() for page in pages.values()],
        "worker's Python logging": worker_log,
    }
    leaks = {place: cases_of_the_secret(json.dumps(value, default=str)) for place, value in places.items()}
    assert leaks == {place: [] for place in places}
