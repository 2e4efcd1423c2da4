"""How a queued step reaches a worker.

CeleryExecutor sends one message per step after the transaction commits (the queued row stays the
outbox: if the send fails, the sweeper re-sends). A worker running a step follows on: of the steps
the step's commit queues, it claims one in that commit to run next itself, without a message
(`following`, bounded in steps and seconds so that a long chain gives the worker back to the queue;
docs/adr/0019, 0040).
SynchronousExecutor runs steps in this process, one after another, for tests and scripts that want
no worker.

Both reach the step runner by its task's name (RUN_STEP), never by importing it: the engine that
dispatches sits below the task module that runs a step (tasks.py -> orchestrator -> executors).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from celery import current_app
from django.conf import settings
from django.db import transaction
from django.utils.module_loading import import_string

from flowpilot import fail_open

log = logging.getLogger(__name__)

RUN_STEP = "workflows.tasks.run_step"  # its one argument: the TaskExecution's id
START_SCHEDULED = "workflows.tasks.start_scheduled"  # its one argument: a pending run's id
# A run waiting for its rate limit's slot at most this long is also woken by a message due at the slot
# (the sweeper's scheduled-start pass, once a sweep interval, is the safety net and the only waker for
# longer waits): starts follow the slots, not the sweeper's ticks.
START_AT_MAX_SECONDS = 300.0


class Following:
    """The step a worker claimed to run next itself (executors: one at a time, claimed in the
    transaction that queued it, its run locked), while it has steps and seconds left."""

    def __init__(self, *, steps: int, seconds: float, worker_id: str = "", celery_task_id: str = ""):
        self.kept: deque = deque()  # claimed attempts (TaskExecution), once their transaction committed
        # (run id, step id) of queued steps left unsent, this worker's to claim and run next (ADR 0041)
        self.deferred: deque[tuple[str, str]] = deque()
        self.claiming = False  # a claim in a transaction not committed yet (rolled back: no more follows)
        self.steps_left = steps
        self.until = time.monotonic() + seconds
        self.worker_id, self.celery_task_id = worker_id, celery_task_id

    def may_claim(self) -> bool:
        return not self.kept and not self.claiming and self.steps_left > 0 and time.monotonic() < self.until

    def claimed(self, task) -> None:
        """In the transaction that claimed `task` for this worker: it is this worker's to run next once
        that transaction commits (a rollback undoes the claim, and this worker claims nothing more)."""
        self.claiming = True
        self.steps_left -= 1

        def keep() -> None:
            self.kept.append(task)
            self.claiming = False

        transaction.on_commit(keep, robust=True)

    def take(self):
        return self.kept.popleft() if self.kept else None

    def defer(self, execution_id, ids: list[str]) -> None:
        """In the transaction that queued `ids` (steps of run `execution_id`): once it commits, this
        worker runs them itself, one after another, instead of sending them (rolled back: they were
        never queued)."""
        run = str(execution_id)
        transaction.on_commit(lambda: self.deferred.extend((run, task_id) for task_id in ids), robust=True)

    def deferred_of(self, execution_id) -> str | None:
        """The first step of that run this worker deferred: a transaction holding the run's lock claims it
        (`claimed`, and `forget` it), so that it needs no claim of its own."""
        run = str(execution_id)
        return next((task_id for of, task_id in self.deferred if of == run), None)

    def forget(self, task_id: str) -> None:
        """Once the current transaction commits, `task_id` is no longer deferred (claimed in it, or not
        claimable); rolled back, it still is."""
        def drop() -> None:
            self.deferred = deque(item for item in self.deferred if item[1] != task_id)
        transaction.on_commit(drop, robust=True)

    def next_deferred(self) -> str | None:
        """The next deferred step to claim and run, while steps and seconds are left; else None (what
        is left is sent when the message ends)."""
        if self.deferred and self.steps_left > 0 and time.monotonic() < self.until:
            self.steps_left -= 1
            return self.deferred.popleft()[1]
        return None

    def unsent(self) -> list[str]:
        return [task_id for _, task_id in self.deferred]


class CeleryExecutor:
    # After the broker failed to say how many messages wait, it is not asked again for this long: the
    # question is asked under a run's lock, and a broker down would hold it for its connect timeout.
    BACKLOG_UNKNOWN_SECONDS = 5.0

    def __init__(self) -> None:
        self._local = threading.local()  # this thread's Following, while it runs a step's message
        self._backlog_unknown_until = 0.0

    def dispatch(self, task_ids: Iterable) -> None:
        ids = [str(i) for i in task_ids]
        if ids:
            transaction.on_commit(lambda: self.send(ids))

    def follower(self) -> Following | None:
        """The Following of the worker running in this thread, when it may claim one of the steps the
        current transaction queues, to run it next itself without a message; else None."""
        following = getattr(self._local, "following", None)
        return following if following is not None and following.may_claim() else None

    @contextmanager
    def following(self, *, worker_id: str = "", celery_task_id: str = "") -> Iterator[Following]:
        """While a worker runs a step's message: it may claim one step its commits queue to run next
        (FLOWPILOT_FOLLOW_STEPS, FLOWPILOT_FOLLOW_SECONDS). A claimed step it does not run (an error
        before it) is running under a lease it does not renew: the sweeper takes it back when the
        lease runs out, as for a worker killed meanwhile."""
        following = Following(steps=settings.FLOWPILOT_FOLLOW_STEPS, seconds=settings.FLOWPILOT_FOLLOW_SECONDS,
                              worker_id=worker_id, celery_task_id=celery_task_id)
        outer, self._local.following = getattr(self._local, "following", None), following
        try:
            yield following
        finally:
            self._local.following = outer
            if following.deferred:  # its steps or seconds ran out (or an error): the others' turn
                self.send(following.unsent())
                following.deferred.clear()
            if following.kept:
                log.warning("claimed step(s) not run: %s; the sweeper takes them back when their lease runs out",
                            ", ".join(str(task.pk) for task in following.kept))

    def backlogged(self) -> bool:
        """The steps' queue holds at least FLOWPILOT_FOLLOW_BACKLOG messages nobody has taken: every
        worker is busy, and a step sent now would wait behind them (0: never; unknown: no)."""
        least = settings.FLOWPILOT_FOLLOW_BACKLOG
        if least <= 0 or time.monotonic() < self._backlog_unknown_until:
            return False
        app = current_app
        queue = (app.conf.task_routes or {}).get(RUN_STEP, {}).get("queue") or app.conf.task_default_queue
        try:
            with app.producer_or_acquire() as producer:  # the sends' own connection
                # kombu's virtual channels (Redis: LLEN of the queue's lists, one round trip); a passive
                # declare asks twice and raises for a queue Redis has emptied away.
                waiting = producer.channel._size(queue)
        except Exception:  # the broker cannot say: send, as without a backlog (and do not ask for a while)
            self._backlog_unknown_until = time.monotonic() + self.BACKLOG_UNKNOWN_SECONDS
            return False
        return waiting >= least

    def after_commit(self, fn) -> None:
        """Run `fn` in this process once the current transaction commits (a lost call is repaired
        by the sweeper)."""
        transaction.on_commit(fn, robust=True)

    def start_at(self, execution_id, at) -> None:
        """After commit, a message due at `at` that starts the pending run then (admission decides again,
        under its locks; early or repeated, it does nothing). Lost (broker down, worker restarted): the
        sweeper starts the run at its next pass after `at`."""
        def send() -> None:
            try:
                current_app.send_task(START_SCHEDULED, args=[str(execution_id)], eta=at)
            except Exception as exc:  # the sweeper starts it instead
                fail_open.dispatch_deferred("start_scheduled", 1, exc)
        transaction.on_commit(send, robust=True)

    def send(self, ids: list[str]) -> None:
        """One message per step (its id the Celery task id), all through one producer: the steps a
        commit queued (a run's first steps, a bulk start's) take one connection from the pool."""
        sent = 0
        try:
            with current_app.producer_or_acquire() as producer:
                for task_id in ids:
                    current_app.send_task(RUN_STEP, args=[task_id], task_id=task_id, producer=producer)
                    sent += 1
        except Exception as exc:  # broker down: the rows stay queued and the sweeper re-sends them
            fail_open.dispatch_deferred("run_step", len(ids) - sent, exc)


class SynchronousExecutor:
    """Runs dispatched steps in this process when `drain()` is called (see workflows.code's engine)."""

    def __init__(self) -> None:
        self.queue: deque = deque()

    def dispatch(self, task_ids: Iterable) -> None:
        self.queue.extend(str(i) for i in task_ids)

    @contextmanager
    def following(self, *, worker_id: str = "", celery_task_id: str = "") -> Iterator[Following]:
        """Nothing to follow: this executor runs every step it is given anyway (drain)."""
        yield Following(steps=0, seconds=0)

    def follower(self) -> Following | None:
        return None

    def backlogged(self) -> bool:
        return False

    def send(self, ids: list[str]) -> None:
        self.queue.extend(ids)

    def start_at(self, execution_id, at) -> None:
        """Nothing: a test moves the clock and sweeps (the sweeper starts a run whose time came)."""

    def after_commit(self, fn) -> None:
        self.queue.append(fn)

    def drain(self, *, limit: int = 10_000) -> int:
        """Run queued steps (and what they queue) until nothing is left; answers how many steps ran."""
        if RUN_STEP not in current_app.tasks:
            current_app.loader.import_default_modules()  # the apps' task modules, as a worker imports them
        run_step = current_app.tasks[RUN_STEP]
        ran = 0
        while self.queue and ran < limit:
            item = self.queue.popleft()
            if callable(item):
                item()
                continue
            run_step.run(item)
            ran += 1
        return ran


_executor = None


def get_executor():
    global _executor
    if _executor is None:
        _executor = import_string(settings.FLOWPILOT_EXECUTOR)()
    return _executor


def set_executor(executor) -> None:
    """Use `executor` from now on in this process (None: back to the FLOWPILOT_EXECUTOR setting)."""
    global _executor
    _executor = executor
