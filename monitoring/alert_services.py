"""Alert rules: saving them, and evaluating them (measure -> decide -> notify -> record).

The decision is alerting.decide (pure); this module does the effects. Evaluation locks each rule
row (select_for_update(skip_locked=True)): two evaluators running at once (two beats, a slow run
overlapping the next) each take the rules the other does not hold, and the second to see a rule
sees the state the first recorded, so an incident is never announced twice. Notifications are
sent while the row is locked, before the commit: a crash in between sends again next time (at
least once) rather than losing the alert.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from flowpilot import public_url
from workflows.engine.planner.states import ExecutionStatus, TaskStatus
from workflows.errors import InvalidInput
from workflows.models import TaskExecution, Workflow, WorkflowExecution, WorkflowStep

from . import alerting, metrics, notify
from .models import AlertEvent, AlertKind, AlertRule

log = logging.getLogger(__name__)

RULE_FIELDS = ("name", "enabled", "workflow_id", "step_key", "kind", "threshold", "window_minutes", "min_runs",
               "hours", "cooldown_minutes", "channels")


# --- saving rules --------------------------------------------------------------------------------

def _check(*, owner, fields: dict) -> dict:
    """Meaning checks (the serializer checked the shapes); InvalidInput naming every field at fault."""
    problems: dict[str, list[str]] = {}
    kind = fields.get("kind")
    workflow = None
    if fields.get("workflow_id") is not None:
        workflow = Workflow.objects.visible_to(owner).filter(pk=fields["workflow_id"]).first()
        if workflow is None:
            problems["workflow_id"] = ["no such workflow"]
    if fields.get("step_key") and workflow is not None \
            and not WorkflowStep.objects.filter(workflow=workflow, key=fields["step_key"]).exists():
        problems["step_key"] = [f"workflow {workflow.name!r} has no step {fields['step_key']!r}"]
    threshold = fields.get("threshold")
    if kind == AlertKind.FAILURE_RATE and (threshold is None or not 0 <= threshold < 1):
        problems["threshold"] = ["a failure rate threshold is a fraction from 0 to 1 (0.10 = 10%)"]
    if kind == AlertKind.P95_DURATION and (threshold is None or threshold <= 0):
        problems["threshold"] = ["a p95 duration threshold is a number of seconds above 0"]
    if kind == AlertKind.NO_SUCCESS and (fields.get("hours") is None or fields["hours"] <= 0):
        problems["hours"] = ["a no_success rule needs hours above 0"]
    problems.update(notify.channel_problems(fields.get("channels", [])))
    if problems:
        summary = "; ".join(f"{k}: {' '.join(v)}" for k, v in problems.items())
        raise InvalidInput(f"Invalid input: {summary}", fields=problems)
    return fields


@transaction.atomic
def alert_rule_create(*, owner, data: dict) -> AlertRule:
    fields = _check(owner=owner, fields={k: v for k, v in data.items() if k in RULE_FIELDS})
    return AlertRule.objects.create(owner=owner, since=timezone.now(), **fields)


@transaction.atomic
def alert_rule_update(*, rule: AlertRule, data: dict) -> AlertRule:
    """Change a rule; its state and history stay (a changed threshold is judged at the next evaluation)."""
    rule = AlertRule.objects.select_for_update().get(pk=rule.pk)
    fields = {name: getattr(rule, name) for name in RULE_FIELDS}
    fields.update({k: v for k, v in data.items() if k in RULE_FIELDS})
    _check(owner=rule.owner, fields=fields)
    for name, value in fields.items():
        setattr(rule, name, value)
    rule.save()
    return rule


# --- measuring -----------------------------------------------------------------------------------

def _combined(rows):
    """The selectors answer one row per workflow (or per workflow and step); a rule over several
    wants one figure. Counts add up; percentiles cannot be merged, so the worst p95 speaks."""
    rows = list(rows)
    if len(rows) == 1:
        return rows[0]
    if not rows:
        return None
    runs = sum(r.runs for r in rows)
    failures = sum(r.failures for r in rows)
    p95s = [r.p95_ms for r in rows if r.p95_ms is not None]
    successes = [r.last_success_at for r in rows if r.last_success_at is not None]
    return _Stats(runs=runs, failures=failures, failure_rate=failures / runs if runs else None,
                  p95_ms=max(p95s) if p95s else None, last_success_at=max(successes) if successes else None)


@dataclass(frozen=True)
class _Stats:
    runs: int
    failures: int
    failure_rate: float | None
    p95_ms: float | None
    last_success_at: datetime | None


def measure(rule: AlertRule, *, now: datetime) -> alerting.Measurement:
    """The rule's figure from the shared metrics selectors (monitoring.metrics), over the owner's runs."""
    if rule.kind == AlertKind.NO_SUCCESS:
        since = now - timedelta(hours=rule.hours or 0)
    else:
        since = now - timedelta(minutes=rule.window_minutes)
    executions = WorkflowExecution.objects.visible_to(rule.owner).real()  # a replay's failure alerts no one
    if rule.step_key:
        stats = _combined(metrics.step_stats(executions=executions, since=since, until=now,
                                             workflow_id=rule.workflow_id, step_key=rule.step_key))
    else:
        stats = _combined(metrics.workflow_stats(executions=executions, since=since, until=now,
                                                 workflow_id=rule.workflow_id))
    if stats is None:
        return alerting.Measurement(value=None, runs=0)
    if rule.kind == AlertKind.FAILURE_RATE:
        value = stats.failure_rate
    elif rule.kind == AlertKind.P95_DURATION:
        value = None if stats.p95_ms is None else stats.p95_ms / 1000
    else:
        last = stats.last_success_at
        value = None if last is None else max((now - last).total_seconds(), 0) / 3600
    return alerting.Measurement(value=value, runs=stats.runs)


# --- evaluating ----------------------------------------------------------------------------------

@dataclass
class EvaluationReport:
    evaluated: int = 0
    skipped: int = 0  # held by another evaluator
    notified: int = 0
    errors: int = 0

    def as_dict(self) -> dict:
        return asdict(self)


def alerts_evaluate(*, now: datetime | None = None) -> EvaluationReport:
    """Evaluate every enabled rule once. A rule that fails to evaluate is logged; the others go on."""
    report = EvaluationReport()
    for rule_id in AlertRule.objects.enabled().order_by("pk").values_list("pk", flat=True):
        try:
            outcome = alert_rule_evaluate(rule_id=rule_id, now=now)
        except Exception:
            log.exception("alert rule %s: evaluation failed", rule_id)
            report.errors += 1
            continue
        if outcome is None:
            report.skipped += 1
            continue
        report.evaluated += 1
        report.notified += outcome.event is not None
    return report


@dataclass(frozen=True)
class RuleEvaluation:
    rule: AlertRule
    measurement: alerting.Measurement
    decision: alerting.Decision
    event: AlertEvent | None


def alert_rule_evaluate(*, rule_id: int, now: datetime | None = None) -> RuleEvaluation | None:
    """Evaluate one rule under its row lock; None when another evaluator holds it (or it is disabled)."""
    now = now or timezone.now()
    with transaction.atomic():
        rule = (AlertRule.objects.select_for_update(skip_locked=True, of=("self",)).select_related("workflow")
                .filter(pk=rule_id, enabled=True).first())
        if rule is None:
            return None
        measurement = measure(rule, now=now)
        met = alerting.condition_met(kind=rule.kind, threshold=rule.threshold, min_runs=rule.min_runs,
                                     hours=rule.hours, measurement=measurement)
        decision = alerting.decide(alerting.RuleState(
            state=rule.state, since=rule.since, last_notified_at=rule.last_notified_at,
            cooldown=timedelta(minutes=rule.cooldown_minutes)), met, now)
        rule.last_value, rule.last_runs, rule.last_evaluated_at = measurement.value, measurement.runs, now
        if decision.changed or rule.since is None:
            rule.state, rule.since = decision.state, now
        event = None
        if decision.notify:
            event = _notify(rule, decision.notify, measurement, now=now)
            rule.last_notified_at = now
        rule.save(update_fields=["state", "since", "last_value", "last_runs", "last_evaluated_at",
                                 "last_notified_at"])
    if decision.notify:
        log.info("alert rule %s %s: %s", rule.pk, decision.notify, event.message)
    return RuleEvaluation(rule, measurement, decision, event)


def _subject(rule: AlertRule) -> str:
    what = f"workflow {rule.workflow.name!r}" if rule.workflow_id else "all workflows"
    return f"step {rule.step_key!r} of {what}" if rule.step_key else what


def _condition(rule: AlertRule) -> str:
    return alerting.describe_condition(kind=rule.kind, threshold=rule.threshold, window_minutes=rule.window_minutes,
                                       min_runs=rule.min_runs, hours=rule.hours)


def links(rule: AlertRule, *, base_url: str | None = None) -> dict:
    """The app's pages about the rule's incident (never the API's JSON), under the public base URL:
    `base_url` (the request's, when there is one), else flowpilot.public_url.base()."""
    base_url = base_url or public_url.base()
    failed = {"workflow": str(rule.workflow_id), "status": "failed"} if rule.workflow_id else {"status": "failed"}
    found = {"rule": public_url.ui_url("/alerts", base_url=base_url)}
    if rule.workflow_id:
        found["workflow"] = public_url.ui_url(f"/workflows/{rule.workflow_id}", base_url=base_url)
    found["failed_executions"] = public_url.ui_url("/executions", base_url=base_url, query=failed)
    latest = _latest_failure(rule)
    if latest is not None:
        found["latest_failed_execution"] = public_url.ui_url(f"/executions/{latest}", base_url=base_url)
    return found


def _latest_failure(rule: AlertRule):
    """The id of the newest failed run the rule watches (of its step, if it names one), or None."""
    runs = WorkflowExecution.objects.visible_to(rule.owner).real().filter(status=ExecutionStatus.FAILED)
    if rule.workflow_id:
        runs = runs.filter(workflow_id=rule.workflow_id)
    if rule.step_key:
        runs = runs.filter(pk__in=TaskExecution.objects.filter(step_key=rule.step_key, status=TaskStatus.FAILED)
                           .values("execution_id"))
    return runs.order_by("-created_at").values_list("pk", flat=True).first()


def _notification(rule: AlertRule, state: str, measurement: alerting.Measurement, *, now: datetime,
                  key: str, base_url: str | None = None) -> notify.Notification:
    text = alerting.message(notify=state, rule_name=rule.name, subject=_subject(rule), kind=rule.kind,
                            condition=_condition(rule), measurement=measurement)
    return notify.Notification(
        rule={"id": rule.pk, "name": rule.name, "kind": rule.kind,
              "workflow_id": str(rule.workflow_id) if rule.workflow_id else None, "step_key": rule.step_key},
        state=state, value=measurement.value, runs=measurement.runs, message=text,
        links=links(rule, base_url=base_url),
        sent_at=now.isoformat(), idempotency_key=key)


def _notify(rule: AlertRule, state: str, measurement: alerting.Measurement, *, now: datetime) -> AlertEvent:
    # One key per incident and state: a receiver can drop a repeat sent after a crash.
    key = f"flowpilot-alert:{rule.pk}:{state}:{rule.since.isoformat() if rule.since else now.isoformat()}"
    notification = _notification(rule, state, measurement, now=now, key=key)
    deliveries = notify.deliver(channels=rule.channels, notification=notification, owner_id=rule.owner_id)
    return AlertEvent.objects.create(rule=rule, state=state, value=measurement.value, runs=measurement.runs,
                                     message=notification.message, deliveries=[asdict(d) for d in deliveries])


def alert_rule_send_test(*, rule: AlertRule, base_url: str | None = None) -> list[notify.Delivery]:
    """Send a test notification to the rule's channels now; changes nothing, records nothing. Its links
    point under `base_url` (the address the request came to), else the public URL."""
    now = timezone.now()
    measurement = alerting.Measurement(value=rule.last_value, runs=rule.last_runs or 0)
    notification = _notification(rule, "test", measurement, now=now,
                                 key=f"flowpilot-alert:{rule.pk}:test:{now.isoformat()}", base_url=base_url)
    return notify.deliver(channels=rule.channels, notification=notification, owner_id=rule.owner_id)

