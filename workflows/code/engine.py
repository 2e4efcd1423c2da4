"""`engine`: start, signal, cancel and drive code workflows from Python (tests, scripts, views).

Everything goes through the same services as the API (execution_start, execution_signal,
execution_cancel, the sweeper), so a code run is an ordinary WorkflowExecution. With a
SynchronousExecutor (`engine.set_executor(SynchronousExecutor())`) each call also runs the steps it
made due, in this process, so a test can drive a workflow step by step without a worker.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils import timezone
from pydantic_core import to_jsonable_python

from triggers import services as triggers
from ..engine import executors
from ..errors import Conflict
from ..models import TaskExecution, TriggerSource, WorkflowExecution, WorkflowKind
from ..services import execution_cancel, execution_signal, execution_start
from ..services.recovery import queue_due_retries, sweep
from . import registry, runtime
from .runs import WorkflowRun, copy_run
from .sync import code_workflow_sync


class Run:
    """A code workflow's run as last read: status, current step, context data, as the WorkflowRun
    model reads them (runs.py). `refresh()` (or `refresh_from_db()`, as on a model) reads it again."""

    def __init__(self, execution):
        self.execution = execution
        self._load()

    def _load(self) -> None:
        # The run and its latest step attempt in one statement, so they are of one moment (read in two,
        # a commit in between showed a step waiting with the context from before it).
        row = WorkflowRun.objects.get(pk=self.execution.pk)
        copy_run(row, self.execution)
        self.id = self.pk = row.pk
        self.name = row.name
        self.status = row.status
        self.data = row.data
        self.error = row.error
        self.current_step = row.current_step
        self.current_visit = row.current_visit
        self.step_status = row.step_status
        self.waiting_signal = row.waiting_signal
        self.wake_at = row.wake_at

    def refresh(self) -> Run:
        self._load()
        return self

    def refresh_from_db(self, using=None, fields=None, from_queryset=None) -> None:
        """What a model instance offers (the guide's tests call it): the whole run is read again."""
        self._load()

    def __repr__(self) -> str:
        return f"<Run {self.id} {self.status} at {self.current_step!r}>"


class Engine:
    def set_executor(self, executor) -> None:
        """Run steps with `executor` from now on in this process (None: the configured one)."""
        executors.set_executor(executor)

    def _drain(self) -> None:
        """With a SynchronousExecutor: run what is due now (steps, and retries whose backoff is over)."""
        executor = executors.get_executor()
        if not isinstance(executor, executors.SynchronousExecutor):
            return
        while True:
            executor.drain()
            if not queue_due_retries(timezone.now()):
                return

    def start(self, name: str, /, **kwargs: Any) -> Run:
        """Start code workflow `name` with `create_context(**kwargs)` (checked now, built by its first step)."""
        return self.start_run(name, kwargs)

    def start_run(self, name: str, input_data: dict, *, idempotency_key: str | None = None, user=None,
                  scheduled_at: datetime | None = None) -> Run:
        spec = registry.get(name)
        runtime.initial_context(spec, input_data)  # a bad argument fails here, not in a worker
        workflow = code_workflow_sync(spec=spec)
        execution, _ = execution_start(workflow=workflow, input_data=to_jsonable_python(input_data),
                                       idempotency_key=idempotency_key, triggered_by=TriggerSource.PYTHON,
                                       user=user, scheduled_at=scheduled_at)
        self._drain()
        execution.refresh_from_db()
        return Run(execution)

    def signal(self, name: str, payload: dict | None = None, run_id=None) -> list[Run]:
        """Deliver signal `name` to run `run_id`, or to every code run waiting for it; the payload is
        merged into their context. Answers the runs that took it."""
        if run_id is not None:
            ids = [run_id]
        else:
            ids = list(TaskExecution.objects.filter(status="waiting", signal_name=name,
                                                    execution__workflow__kind=WorkflowKind.CODE)
                       .order_by("created_at").values_list("execution_id", flat=True).distinct())
        signalled = []
        for execution in WorkflowExecution.objects.filter(pk__in=ids):
            try:
                execution_signal(execution=execution, name=name, payload=payload or {})
            except Conflict:
                if run_id is not None:
                    raise
                continue  # it stopped waiting meanwhile
            signalled.append(execution)
        self._drain()
        return [Run(WorkflowExecution.objects.get(pk=e.pk)) for e in signalled]

    def emit(self, name: str, payload: dict | None = None, *, at: datetime | None = None):
        """An event happened (triggers.services.emit): event workflows start (at their offset) and
        runs in wait_for_event(name) take its payload."""
        event = triggers.emit(name, payload, at=at)
        self._drain()
        return event

    def cancel(self, run_id) -> Run:
        execution = execution_cancel(execution=WorkflowExecution.objects.get(pk=run_id))
        return Run(execution)

    def process_scheduled(self, now: datetime | None = None):
        """Fire due timers, retries and scheduled starts (what the sweeper does every second), then
        run what they made due. `now` lets a test jump ahead in time."""
        report = sweep(now)
        self._drain()
        return report

    def get_run(self, run_id) -> Run:
        return Run(WorkflowExecution.objects.get(pk=run_id))


engine = Engine()
