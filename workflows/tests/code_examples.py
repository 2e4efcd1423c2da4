"""The seed documents' code workflows, as a user would write them in an app's workflows.py.

Registered for the tests through FLOWPILOT_CODE_WORKFLOW_MODULES (flowpilot/testing.py), so real
worker processes load them too. `SIDE_EFFECTS` records what the steps did (in this process);
`FAULTS[step]` makes a step raise that many times; `HOLD_FILE`, when set, makes `reserve_inventory`
wait for the file to disappear (the crash test kills its worker meanwhile).
"""

from __future__ import annotations

import os
import time
from datetime import timedelta

from pydantic import BaseModel
from rest_framework import serializers

from workflows.code import (
    Retry,
    action,
    complete,
    event_workflow,
    fail,
    get_context,
    goto,
    sleep,
    step,
    wait,
    wait_for_event,
    workflow,
)

SIDE_EFFECTS: list[tuple[str, object]] = []
FAULTS: dict[str, int] = {}
QUICK_RETRY = Retry(max_attempts=3, base_delay=timedelta(seconds=0), max_delay=timedelta(seconds=0))


def _maybe_fault(key: str) -> None:
    if FAULTS.get(key, 0) > 0:
        FAULTS[key] -= 1
        raise ConnectionError(f"{key}: the service did not answer")


@workflow("user_onboarding")
class UserOnboarding:
    """Welcome a new user: email, CRM entry, Slack note."""

    class Context(BaseModel):
        user_id: int
        email_sent: bool = False
        crm_id: str = ""
        notified: bool = False

    @classmethod
    def create_context(cls, user_id: int):
        return cls.Context(user_id=user_id)

    @step(start=True)
    def send_welcome_email(self):
        ctx = get_context()
        SIDE_EFFECTS.append(("email", ctx.user_id))
        ctx.email_sent = True
        return goto(self.create_crm_entry)

    @step(retry=QUICK_RETRY)
    def create_crm_entry(self):
        ctx = get_context()
        _maybe_fault("create_crm_entry")
        ctx.crm_id = f"crm-{ctx.user_id}"
        return goto(self.notify_slack)

    @step()
    def notify_slack(self):
        ctx = get_context()
        SIDE_EFFECTS.append(("slack", ctx.user_id))
        return complete(notified=True)


@workflow("order_fulfillment", default_retry=QUICK_RETRY)
class OrderFulfillment:
    """Confirm payment, reserve inventory, ship."""

    class Context(BaseModel):
        order_id: int
        payment_confirmed: bool = False
        items_reserved: bool = False
        shipped: bool = False
        tracking: str = ""

    @step(start=True)
    def confirm_payment(self):
        ctx = get_context()
        ctx.payment_confirmed = True
        return goto(self.reserve_inventory)

    @step()
    def reserve_inventory(self):
        ctx = get_context()
        hold = os.environ.get("FLOWPILOT_TEST_HOLD_FILE")
        if hold:
            with open(hold + ".started", "a") as seen:
                seen.write(f"{os.getpid()}\n")
            while os.path.exists(hold):
                time.sleep(0.05)
        _maybe_fault("reserve_inventory")
        if ctx.order_id < 0:
            return fail(f"order {ctx.order_id} does not exist")
        ctx.items_reserved = True
        return goto(self.ship_order)

    @step()
    def ship_order(self):
        ctx = get_context()
        ctx.shipped = True
        return complete(tracking=f"TRACK-{ctx.order_id}")


@workflow("trip_saga", default_retry=QUICK_RETRY)
class TripSaga:
    """Book a flight and a hotel, then pay; when the payment fails for good, the bookings are
    cancelled, the hotel first (compensations, latest completed first)."""

    class Context(BaseModel):
        trip_id: int
        flight: str = ""
        hotel: str = ""
        cancelled: list[str] = []

    @step(start=True, compensate="cancel_flight")
    def book_flight(self):
        ctx = get_context()
        ctx.flight = f"FL-{ctx.trip_id}"
        SIDE_EFFECTS.append(("book_flight", ctx.flight))
        return goto(self.book_hotel)

    @step(compensate="cancel_hotel")
    def book_hotel(self):
        ctx = get_context()
        ctx.hotel = f"HT-{ctx.trip_id}"
        SIDE_EFFECTS.append(("book_hotel", ctx.hotel))
        return goto(self.pay)

    @step()
    def pay(self):
        ctx = get_context()
        if ctx.trip_id < 0:
            return fail("card declined")
        return complete(paid=True)

    @step()
    def cancel_hotel(self):  # a compensation: returning nothing ends it
        ctx = get_context()
        SIDE_EFFECTS.append(("cancel_hotel", ctx.hotel))
        ctx.cancelled.append("hotel")

    @step()
    def cancel_flight(self):
        ctx = get_context()
        SIDE_EFFECTS.append(("cancel_flight", ctx.flight))
        ctx.cancelled.append("flight")


@workflow("loan_application")
class LoanApplication:
    """A state machine: credit score decides; the middle band waits for a manual review."""

    class Context(BaseModel):
        application_id: int
        credit_score: int = 0
        state: str = "submitted"
        decision: str = ""
        approved: bool | None = None
        reviewer: str = ""

    @step(start=True)
    def submitted_state(self):
        get_context().state = "under_review"
        return goto(self.check_credit)

    @step()
    def check_credit(self):
        ctx = get_context()
        if ctx.credit_score > 700:
            ctx.state = "approved"
            return goto(self.approved_state)
        if ctx.credit_score > 600:
            ctx.state = "manual_review"
            return goto(self.manual_review_state)
        ctx.state = "denied"
        return goto(self.denied_state)

    @step()
    def manual_review_state(self):
        return wait.for_signal("manual_review_complete", then=self.review_decided)

    @step()
    def review_decided(self):
        return goto(self.approved_state) if get_context().approved else goto(self.denied_state)

    @step()
    def approved_state(self):
        return complete(state="approved", decision="approved")

    @step()
    def denied_state(self):
        return complete(state="denied", decision="denied")


@workflow("document_approval", default_retry=Retry(max_attempts=5, base_delay=timedelta(seconds=2),
                                                   max_delay=timedelta(minutes=5), backoff_factor=2.0))
class DocumentApproval:
    """Human in the loop: a reviewer has three days, then the manager is asked."""

    class Context(BaseModel):
        document_id: int
        reviewer: str = ""
        approved: bool = False
        escalated: bool = False
        reviewer_notes: str = ""

    @classmethod
    def create_context(cls, document_id: int):
        return cls.Context(document_id=document_id)

    @step(start=True)
    def assign_reviewer(self):
        ctx = get_context()
        ctx.reviewer = "reviewer@example.com"
        return wait.for_signal("review_completed", timeout=timedelta(days=3), on_timeout="escalate")

    @step()
    def process_review(self):
        return goto(self.approve) if get_context().approved else goto(self.request_revision)

    @step()
    def escalate(self):
        get_context().escalated = True
        return wait.for_signal("manager_review_completed", then=self.process_review)

    @step(retry=Retry(max_attempts=10, base_delay=timedelta(seconds=1)))
    def approve(self):
        return complete(final_status="approved")

    @step()
    def request_revision(self):
        return complete(final_status="revision_requested")


@workflow("reminder_loop")
class ReminderLoop:
    """A reminder a day, three times: each reminder is a visit of the same step."""

    class Context(BaseModel):
        user_id: int
        reminders_sent: int = 0

    @step(start=True)
    def send_reminder(self):
        ctx = get_context()
        ctx.reminders_sent += 1
        SIDE_EFFECTS.append(("reminder", ctx.reminders_sent))
        if ctx.reminders_sent < 3:
            return sleep(timedelta(hours=24))
        return goto(self.done)

    @step()
    def done(self):
        return complete(finished=True)


@workflow("payment_wait")
class PaymentWait:
    """Waits for the payment_received event (48 hours at most)."""

    class Context(BaseModel):
        order_id: int
        amount: float = 0
        event_name: str = ""
        cancelled: bool = False

    @step(start=True)
    def wait_for_payment(self):
        return wait_for_event("payment_received", timeout=timedelta(hours=48), on_timeout="cancel_order")

    @step()
    def process_payment(self):
        return complete(paid=True)

    @step()
    def cancel_order(self):
        get_context().cancelled = True
        return complete(paid=False)


@event_workflow("appointment_due", offset_minutes=-60, name="appointment_reminder")
class AppointmentReminder:
    """Runs an hour before the appointment's time."""

    class Context(BaseModel):
        appointment_id: int
        patient: str = ""
        reminded: bool = False

    @classmethod
    def create_context(cls, event=None):
        return cls.Context(appointment_id=event.payload["appointment_id"], patient=event.payload.get("patient", ""))

    @step(start=True)
    def send_reminder(self):
        ctx = get_context()
        SIDE_EFFECTS.append(("appointment", ctx.appointment_id))
        ctx.reminded = True
        return complete()


class ReviewInput(serializers.Serializer):
    approved = serializers.BooleanField()
    comment = serializers.CharField(max_length=500, required=False, default="")


@workflow("expense_approval")
class ExpenseApproval:
    """An expense waits for a reviewer's decision, given through POST /api/v1/actions/expense_submit_review/."""

    class Context(BaseModel):
        expense_id: int
        amount: float
        approved: bool | None = None
        comment: str = ""

    @step(start=True)
    def submit(self):
        return goto(self.review)

    @action("expense_submit_review", serializer=ReviewInput)
    @step()
    def review(self, approved: bool, comment: str = ""):
        ctx = get_context()
        ctx.approved, ctx.comment = approved, comment
        return complete(status="approved" if approved else "rejected")



@workflow("acknowledgement")
class Acknowledgement:
    """Waits an hour for an "ack" signal; without on_timeout, the run fails when the hour is over."""

    @step(start=True)
    def ask(self):
        return wait.for_signal("ack", timeout=timedelta(hours=1))

    @step()
    def done(self):
        return complete()



@workflow("countdown")
class Countdown:
    """A loop of goto: one visit of `tick` per count."""

    class Context(BaseModel):
        n: int

    @step(start=True)
    def tick(self):
        ctx = get_context()
        ctx.n -= 1
        return goto(self.tick) if ctx.n > 0 else complete()


# --- the README's example ("Write a workflow in Python"), word for word but for the input's name --------

class payments:  # noqa: N801  (stands in for the README's `payments` module)
    paid: list = []
    reminded: list = []

    @staticmethod
    def pay(expense_id):
        payments.paid.append(expense_id)

    @staticmethod
    def remind(expense_id):
        payments.reminded.append(expense_id)


class ReadmeReviewInput(serializers.Serializer):
    approved = serializers.BooleanField()
    comment = serializers.CharField(required=False, default="")


@workflow("expense_report", default_retry=Retry(max_attempts=5, base_delay=timedelta(seconds=2),
                                                max_delay=timedelta(minutes=5), backoff_factor=2.0))
class ExpenseReport:
    """An expense: checked, reviewed by a person when large, paid, and followed until settled."""

    class Context(BaseModel):  # validated, and saved on the run after every step
        expense_id: int
        amount: float
        approved: bool = False
        comment: str = ""
        reminders_sent: int = 0

    @classmethod
    def create_context(cls, expense_id: int, amount: float):
        return cls.Context(expense_id=expense_id, amount=amount)

    @step(start=True)
    def check(self):
        ctx = get_context()
        if ctx.amount <= 0:
            return fail("the amount must be positive")  # fails the run, with no retry
        return goto(self.review) if ctx.amount >= 100 else goto(self.pay)

    @action("expense_report_review", serializer=ReadmeReviewInput)
    @step()
    def review(self, approved: bool, comment: str = ""):  # POST /api/v1/actions/expense_report_review/
        ctx = get_context()
        ctx.approved, ctx.comment = approved, comment
        return goto(self.pay) if approved else complete(status="rejected")

    @step(retry=Retry(max_attempts=10, base_delay=timedelta(seconds=1)))
    def pay(self):  # an exception here is retried up to 10 times
        payments.pay(get_context().expense_id)
        return goto(self.await_settlement)

    @step()
    def await_settlement(self):  # the event's payload is merged into the context
        return wait_for_event("payment_settled", timeout=timedelta(days=1), on_timeout=self.remind)

    @step()
    def settled(self):  # declared next: where the run goes when the event comes
        return complete(status="paid")

    @step()
    def remind(self):
        ctx = get_context()
        ctx.reminders_sent += 1
        payments.remind(ctx.expense_id)
        if ctx.reminders_sent < 3:
            return goto(self.await_settlement)  # a loop: each wait is a new visit
        return wait.for_signal("finance_checked", timeout=timedelta(days=3), on_timeout=self.expire,
                               then=self.settled)

    @step()
    def expire(self):
        return complete(status="expired")
