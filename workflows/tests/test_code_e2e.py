"""Code workflows on real Celery worker and beat processes (PostgreSQL, Redis): the seed examples
(a worker killed mid-step: test_code_worker_kill_e2e.py, whose worker must be the only one)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from workflows.code import engine
from workflows.models import TaskExecution, WorkflowExecution
from workflows.engine.planner.states import ExecutionStatus as E
from workflows.engine.planner.states import TaskStatus as T
from workflows.tests.cluster import Cluster, flush_broker, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.services, pytest.mark.django_db(transaction=True),
              pytest.mark.xdist_group("test_code_e2e")]  # one process runs the module: one worker fixture


@pytest.fixture(scope="module")
def cluster(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        flush_broker()
        c = Cluster()
        c.start_beat()
        c.start_worker("w1")
    yield c
    c.stop()


def settled(run, *, timeout: float = 60):
    wait_for(lambda: run.refresh().status in (E.COMPLETED, E.FAILED, E.CANCELLED), timeout=timeout,
             message=f"run {run.id} to finish")
    return run


def parked(run, step: str, visit: int = 1, *, timeout: float = 60):
    wait_for(lambda: (run.refresh().current_step, run.current_visit, run.step_status) == (step, visit, T.WAITING),
             timeout=timeout, message=f"run {run.id} to wait at {step} visit {visit}")
    return run


def steps(run) -> list[str]:
    return list(TaskExecution.objects.filter(execution_id=run.id, status=T.COMPLETED)
                .order_by("created_at").values_list("step_key", flat=True))


def test_user_onboarding_and_order_fulfillment_on_a_worker(cluster):
    onboarding = engine.start("user_onboarding", user_id=5)
    order = engine.start("order_fulfillment", order_id=6)
    assert settled(onboarding).status == E.COMPLETED, cluster.log("w1")
    assert onboarding.data == {"user_id": 5, "email_sent": True, "crm_id": "crm-5", "notified": True}
    assert settled(order).status == E.COMPLETED
    assert order.data["tracking"] == "TRACK-6" and order.data["shipped"] is True
    assert steps(order) == ["confirm_payment", "reserve_inventory", "ship_order"]


def test_loan_application_on_a_worker(cluster):
    approved = engine.start("loan_application", application_id=1, credit_score=720)
    review = engine.start("loan_application", application_id=2, credit_score=650)
    assert settled(approved).data["decision"] == "approved"
    parked(review, "manual_review_state")
    engine.signal("manual_review_complete", {"approved": False}, run_id=review.id)
    assert settled(review).status == E.COMPLETED and review.data["decision"] == "denied"
    assert steps(review)[-2:] == ["review_decided", "denied_state"]


def test_document_approval_timeout_and_escalation_on_a_worker(cluster):
    run = parked(engine.start("document_approval", document_id=3), "assign_reviewer")
    engine.process_scheduled(now=timezone.now() + timedelta(days=3, minutes=1))  # the timer fires
    parked(run, "escalate")
    assert run.data["escalated"] is True
    engine.signal("manager_review_completed", {"approved": True})
    assert settled(run).data["final_status"] == "approved"
    assert steps(run) == ["assign_reviewer", "escalate", "process_review", "approve"]


def test_reminder_loop_on_a_worker(cluster):
    run = parked(engine.start("reminder_loop", user_id=9), "send_reminder", 1)
    engine.process_scheduled(now=timezone.now() + timedelta(hours=24, minutes=1))
    parked(run, "send_reminder", 2)
    engine.process_scheduled(now=timezone.now() + timedelta(hours=48, minutes=2))
    assert settled(run).data == {"user_id": 9, "reminders_sent": 3, "finished": True}
    assert steps(run) == ["send_reminder"] * 3 + ["done"]


def test_event_workflows_on_a_worker(cluster):
    appointment = timezone.now() + timedelta(hours=3)
    engine.emit("appointment_due", {"appointment_id": 4, "patient": "Ada"}, at=appointment)
    execution = WorkflowExecution.objects.get(workflow__name="appointment_reminder")
    assert execution.status == E.PENDING and execution.scheduled_at == appointment - timedelta(hours=1)
    engine.process_scheduled(now=appointment - timedelta(minutes=59))
    run = settled(engine.get_run(execution.pk))
    assert run.data == {"appointment_id": 4, "patient": "Ada", "reminded": True}

    payment = parked(engine.start("payment_wait", order_id=1), "wait_for_payment")
    engine.emit("payment_received", {"amount": 30})
    assert settled(payment).data["paid"] is True and payment.data["amount"] == 30
