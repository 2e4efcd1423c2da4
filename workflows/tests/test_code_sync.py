"""Code workflows (workflows.code) driven by the synchronous executor: the seed examples, each step
visit a TaskExecution row, the context persisted after every step."""

from datetime import timedelta

import pytest
from django.utils import timezone

from workflows.code import SynchronousExecutor, engine
from workflows.code.registry import CodeWorkflowError, UnknownCodeWorkflow, step, workflow
from workflows.models import ExecutionLog, TaskExecution, Workflow, WorkflowExecution, WorkflowKind
from workflows.engine.planner.states import ExecutionStatus as E
from workflows.engine.planner.states import TaskStatus as T
from workflows.tests import code_examples

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def clean_examples(sync_executor):
    engine.set_executor(SynchronousExecutor())
    code_examples.SIDE_EFFECTS.clear()
    code_examples.FAULTS.clear()
    yield
    code_examples.FAULTS.clear()


def visits(run):
    rows = TaskExecution.objects.filter(execution_id=run.id).order_by("created_at")
    return [(r.step_key, r.visit, r.attempt, r.status) for r in rows]


def test_user_onboarding_runs_its_steps_in_order_and_completes_with_the_context():
    run = engine.start("user_onboarding", user_id=7)
    assert run.status == E.COMPLETED
    assert run.data == {"user_id": 7, "email_sent": True, "crm_id": "crm-7", "notified": True}
    assert visits(run) == [("send_welcome_email", 1, 1, T.COMPLETED), ("create_crm_entry", 1, 1, T.COMPLETED),
                           ("notify_slack", 1, 1, T.COMPLETED)]
    assert code_examples.SIDE_EFFECTS == [("email", 7), ("slack", 7)]
    workflow_row = Workflow.objects.get(name="user_onboarding")
    assert workflow_row.kind == WorkflowKind.CODE and workflow_row.owner.username == "flowpilot-code"
    assert not workflow_row.owner.is_active
    assert run.execution.triggered_by == "python"


def test_order_fulfillment_confirms_reserves_and_ships():
    run = engine.start("order_fulfillment", order_id=42)
    assert run.status == E.COMPLETED
    assert run.data == {"order_id": 42, "payment_confirmed": True, "items_reserved": True, "shipped": True,
                        "tracking": "TRACK-42"}
    assert [v[0] for v in visits(run)] == ["confirm_payment", "reserve_inventory", "ship_order"]


def test_context_is_persisted_after_every_completed_step():
    code_examples.FAULTS["reserve_inventory"] = 99  # every attempt fails
    run = engine.start("order_fulfillment", order_id=5)
    assert run.status == E.FAILED
    assert "reserve_inventory" in run.error and "the service did not answer" in run.error
    # the context as after the last completed step (confirm_payment)
    assert run.execution.context == {"order_id": 5, "payment_confirmed": True, "items_reserved": False,
                                     "shipped": False, "tracking": ""}
    # three attempts of the first visit (the workflow's default Retry)
    assert visits(run)[1:] == [("reserve_inventory", 1, n, T.FAILED) for n in (1, 2, 3)]


def test_an_exception_is_retried_by_the_steps_policy_then_the_run_goes_on():
    code_examples.FAULTS["create_crm_entry"] = 2
    run = engine.start("user_onboarding", user_id=1)
    assert run.status == E.COMPLETED
    assert [v for v in visits(run) if v[0] == "create_crm_entry"] == [
        ("create_crm_entry", 1, 1, T.FAILED), ("create_crm_entry", 1, 2, T.FAILED),
        ("create_crm_entry", 1, 3, T.COMPLETED)]


def test_retry_of_a_failed_run_resumes_at_the_failed_step_with_its_context():
    from workflows import services

    code_examples.FAULTS["reserve_inventory"] = 3
    run = engine.start("order_fulfillment", order_id=9)
    assert run.status == E.FAILED
    services.execution_retry(execution=run.execution)
    engine.process_scheduled()
    run.refresh()
    assert run.status == E.COMPLETED and run.data["shipped"] is True
    assert [v[0] for v in visits(run)].count("confirm_payment") == 1


def test_fail_result_fails_the_run_with_its_message_and_no_retry():
    run = engine.start("order_fulfillment", order_id=-1)
    assert run.status == E.FAILED
    assert run.error == "step 'reserve_inventory' failed: order -1 does not exist"
    assert [v for v in visits(run) if v[0] == "reserve_inventory"] == [("reserve_inventory", 1, 1, T.FAILED)]


@pytest.mark.parametrize("score,decision,path", [
    (750, "approved", ["submitted_state", "check_credit", "approved_state"]),
    (500, "denied", ["submitted_state", "check_credit", "denied_state"]),
])
def test_loan_application_branches_on_the_credit_score(score, decision, path):
    run = engine.start("loan_application", application_id=1, credit_score=score)
    assert run.status == E.COMPLETED and run.data["decision"] == decision and run.data["state"] == decision
    assert [v[0] for v in visits(run)] == path


def test_loan_application_manual_review_waits_for_the_signal():
    run = engine.start("loan_application", application_id=2, credit_score=650)
    assert run.status == E.RUNNING
    assert (run.current_step, run.step_status, run.waiting_signal) == (
        "manual_review_state", T.WAITING, "manual_review_complete")
    assert run.data["state"] == "manual_review"  # persisted when the step parked
    signalled = engine.signal("manual_review_complete", {"approved": True, "reviewer": "bob"})
    assert [r.id for r in signalled] == [run.id]
    run.refresh()
    assert run.status == E.COMPLETED
    assert run.data["decision"] == "approved" and run.data["reviewer"] == "bob"
    assert [v[0] for v in visits(run)][-2:] == ["review_decided", "approved_state"]


def test_signal_to_one_run_only():
    first = engine.start("loan_application", application_id=3, credit_score=650)
    second = engine.start("loan_application", application_id=4, credit_score=650)
    engine.signal("manual_review_complete", {"approved": False}, run_id=second.id)
    assert first.refresh().status == E.RUNNING
    assert second.refresh().status == E.COMPLETED and second.data["decision"] == "denied"


def test_document_approval_signal_before_the_timeout():
    run = engine.start("document_approval", document_id=7)
    assert run.waiting_signal == "review_completed"
    assert run.wake_at and run.wake_at > timezone.now() + timedelta(days=2, hours=23)
    engine.signal("review_completed", {"approved": True, "reviewer_notes": "fine"})
    run.refresh()
    assert run.status == E.COMPLETED
    assert run.data == {"document_id": 7, "reviewer": "reviewer@example.com", "approved": True,
                        "escalated": False, "reviewer_notes": "fine", "final_status": "approved"}


def test_document_approval_times_out_and_escalates_to_the_manager():
    run = engine.start("document_approval", document_id=8)
    engine.process_scheduled(now=timezone.now() + timedelta(days=1))
    assert run.refresh().current_step == "assign_reviewer"  # not yet due
    engine.process_scheduled(now=timezone.now() + timedelta(days=3, minutes=1))
    run.refresh()
    assert (run.current_step, run.waiting_signal) == ("escalate", "manager_review_completed")
    assert run.data["escalated"] is True
    engine.signal("manager_review_completed", {"approved": False})
    run.refresh()
    assert run.status == E.COMPLETED and run.data["final_status"] == "revision_requested"
    assert [v[0] for v in visits(run)] == ["assign_reviewer", "escalate", "process_review", "request_revision"]


def test_reminder_loop_sends_three_reminders_as_visits_of_one_step():
    run = engine.start("reminder_loop", user_id=1)
    assert (run.current_step, run.current_visit, run.step_status) == ("send_reminder", 1, T.WAITING)
    for day in (1, 2):
        engine.process_scheduled(now=timezone.now() + timedelta(hours=24 * day, minutes=1))
    run.refresh()
    assert run.status == E.COMPLETED and run.data == {"user_id": 1, "reminders_sent": 3, "finished": True}
    assert visits(run) == [("send_reminder", 1, 1, T.COMPLETED), ("send_reminder", 2, 1, T.COMPLETED),
                           ("send_reminder", 3, 1, T.COMPLETED), ("done", 1, 1, T.COMPLETED)]
    assert [e for e in code_examples.SIDE_EFFECTS if e[0] == "reminder"] == [("reminder", n) for n in (1, 2, 3)]
    keys = {r.idempotency_key for r in TaskExecution.objects.filter(execution_id=run.id, step_key="send_reminder")}
    assert len(keys) == 3  # each visit its own idempotency key


def test_wait_for_event_takes_the_event_payload():
    run = engine.start("payment_wait", order_id=3)
    assert run.waiting_signal == "event:payment_received"
    engine.emit("payment_received", {"amount": 12.5})
    run.refresh()
    assert run.status == E.COMPLETED
    assert run.data["amount"] == 12.5 and run.data["event_name"] == "payment_received" and run.data["paid"]


def test_wait_for_event_timeout_takes_on_timeout():
    run = engine.start("payment_wait", order_id=4)
    engine.process_scheduled(now=timezone.now() + timedelta(hours=49))
    run.refresh()
    assert run.status == E.COMPLETED and run.data["cancelled"] is True and run.data["paid"] is False


def test_event_workflow_runs_sixty_minutes_before_the_appointment():
    appointment = timezone.now() + timedelta(hours=5)
    engine.emit("appointment_due", {"appointment_id": 11, "patient": "Ada"}, at=appointment)
    execution = WorkflowExecution.objects.get(workflow__name="appointment_reminder")
    assert execution.status == E.PENDING
    assert execution.scheduled_at == appointment - timedelta(minutes=60)
    engine.process_scheduled(now=appointment - timedelta(minutes=61))
    execution.refresh_from_db()
    assert execution.status == E.PENDING
    engine.process_scheduled(now=appointment - timedelta(minutes=60))
    run = engine.get_run(execution.pk)
    assert run.status == E.COMPLETED
    assert run.data == {"appointment_id": 11, "patient": "Ada", "reminded": True}
    assert ("appointment", 11) in code_examples.SIDE_EFFECTS


def test_cancel_a_waiting_run():
    run = engine.start("document_approval", document_id=9)
    cancelled = engine.cancel(run.id)
    assert cancelled.status == E.CANCELLED
    assert TaskExecution.objects.get(execution_id=run.id).status == T.CANCELLED


def test_runs_are_logged_like_any_other():
    run = engine.start("user_onboarding", user_id=3)
    events = list(ExecutionLog.objects.filter(execution_id=run.id).values_list("event", flat=True))
    assert events[0] == "execution.created" and events[-1] == "execution.completed"
    assert events.count("step.completed") == 3


def test_a_changed_definition_is_a_new_version():
    engine.start("user_onboarding", user_id=3)
    workflow_row = Workflow.objects.get(name="user_onboarding")
    engine.start("user_onboarding", user_id=4)
    workflow_row.refresh_from_db()
    assert workflow_row.version == 1
    definition = workflow_row.versions.get().definition
    assert definition["kind"] == "code" and definition["code"]["start"] == "send_welcome_email"
    assert {"from": "send_welcome_email", "to": "create_crm_entry", "kind": "goto"} in definition["edges"]


def test_bad_arguments_fail_at_start():
    with pytest.raises(Exception, match="user_id"):
        engine.start("user_onboarding", user_id="not a number")
    with pytest.raises(UnknownCodeWorkflow, match="known: .*user_onboarding"):
        engine.start("no_such_workflow")


def test_a_duplicate_workflow_name_fails_loudly_naming_both_places():
    with pytest.raises(CodeWorkflowError, match="defined twice: in workflows.tests.code_examples.UserOnboarding"):
        @workflow("user_onboarding")
        class Again:
            @step(start=True)
            def one(self):
                pass


def test_a_workflow_needs_steps_and_one_start():
    with pytest.raises(CodeWorkflowError, match="no @step"):
        @workflow("empty_one")
        class Empty:
            pass
    with pytest.raises(CodeWorkflowError, match="more than one start step"):
        @workflow("two_starts")
        class Two:
            @step(start=True)
            def a(self):
                pass

            @step(start=True)
            def b(self):
                pass


def test_the_readme_example_small_expense_is_paid_when_the_payment_settles():
    code_examples.payments.paid.clear()
    run = engine.start("expense_report", expense_id=1, amount=20)
    assert (run.current_step, run.waiting_signal) == ("await_settlement", "event:payment_settled")
    engine.emit("payment_settled", {"reference": "x1"})
    assert run.refresh().status == E.COMPLETED and run.data["status"] == "paid"
    assert code_examples.payments.paid == [1]


def test_the_readme_example_reminds_three_times_then_asks_finance():
    from workflows.code.actions import action_submit
    from workflows.code.registry import actions

    code_examples.payments.reminded.clear()
    run = engine.start("expense_report", expense_id=2, amount=500)
    assert (run.current_step, run.waiting_signal) == ("review", "action:expense_report_review")
    target = next(a for a in actions() if a.name == "expense_report_review")
    action_submit(action=target, execution=run.execution, data={"approved": True, "comment": "fine"})
    engine.process_scheduled()
    for day in (1, 2, 3):
        engine.process_scheduled(now=timezone.now() + timedelta(days=day, minutes=day))
    run.refresh()
    assert (run.current_step, run.waiting_signal) == ("remind", "finance_checked")
    assert code_examples.payments.reminded == [2, 2, 2]
    assert run.data["reminders_sent"] == 3 and run.data["approved"] is True
    engine.signal("finance_checked", {"comment": "settled by hand"})
    assert run.refresh().status == E.COMPLETED
    assert run.data["status"] == "paid" and run.data["comment"] == "settled by hand"
    assert [v[:2] for v in visits(run)] == [
        ("check", 1), ("review", 1), ("review", 2), ("pay", 1), ("await_settlement", 1), ("remind", 1),
        ("await_settlement", 2), ("remind", 2), ("await_settlement", 3), ("remind", 3), ("settled", 1)]


def test_the_readme_example_refuses_a_negative_amount():
    run = engine.start("expense_report", expense_id=3, amount=-5)
    assert run.status == E.FAILED and "the amount must be positive" in run.error


def test_a_wait_without_on_timeout_fails_the_run_when_it_times_out():
    run = engine.start("acknowledgement")
    engine.process_scheduled(now=timezone.now() + timedelta(hours=1, minutes=1))
    run.refresh()
    assert run.status == E.FAILED and "timed out waiting for signal 'ack'" in run.error


def test_a_signal_to_a_run_that_does_not_wait_for_it_is_a_conflict():
    from workflows.errors import Conflict

    run = engine.start("acknowledgement")
    with pytest.raises(Conflict, match="no step of this execution is waiting for signal 'nope'"):
        engine.signal("nope", {}, run_id=run.id)
    assert engine.signal("nope", {}) == []  # no run waits for it: nobody takes it
    assert [r.id for r in engine.signal("ack", {"seen": True})] == [run.id]
    assert run.refresh().status == E.COMPLETED and run.data == {"seen": True}


def test_a_goto_loop_is_visits_and_a_runaway_one_is_stopped(settings):
    run = engine.start("countdown", n=4)
    assert run.status == E.COMPLETED and run.data == {"n": 0}
    assert [v[:2] for v in visits(run)] == [("tick", n) for n in (1, 2, 3, 4)]
    settings.FLOWPILOT_CODE_MAX_VISITS = 5
    runaway = engine.start("countdown", n=100)
    assert runaway.status == E.FAILED
    assert runaway.error.startswith("step 'tick' would run a visit 6 (FLOWPILOT_CODE_MAX_VISITS: 5)")
    assert runaway.execution.context == {"n": 95}
