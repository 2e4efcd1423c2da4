"""The live monitor's publisher: after each commit, its ExecutionLog rows go to the WebSocket groups
of their execution, workflow and owner (workflows/consumers.py forwards them to the browsers).

Messages carry lists of compact events: at most one message per group per commit (commits made while
a send is under way go together: workflows/group_sender.py). The execution's group gets every event
(transitions and log lines); the workflow's and the owner's groups get the transitions only (the
events that imply a status). Registered as an events subscriber in WorkflowsConfig.ready().
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping

from .group_sender import Batch, sender
from .models import ExecutionLog, WorkflowExecution
from .engine.planner.states import STATUS_OF

log = logging.getLogger(__name__)

OWNERS_CACHED = 10_000


def execution_group(execution_id) -> str:
    return f"execution_{execution_id}"


def workflow_group(workflow_id) -> str:
    return f"workflow_{workflow_id}"


def user_group(user_id) -> str:
    return f"user_{user_id}"


def event_of(row: ExecutionLog, workflow_id) -> dict:
    """A log row as the WebSocket clients see it: plain JSON values only."""
    status = STATUS_OF.get(row.event)
    attempt = getattr(row, "attempt", None) if row.event.startswith("step.") else None
    return {
        "id": row.pk, "event": row.event, "level": row.level, "message": row.message, "step_key": row.step_key,
        "task_id": str(row.task_execution_id) if row.task_execution_id else None,
        "execution_id": str(row.execution_id), "workflow_id": str(workflow_id),
        "created_at": row.timestamp.isoformat() if row.timestamp else None, "details": row.details,
        "status": str(status) if status else None, "attempt": attempt,
    }


def messages_for(rows: Iterable[ExecutionLog], owners: Mapping[str, tuple]) -> Batch:
    """{group: events}, events in commit order. `owners`: execution id (str) -> (workflow id, owner
    id); rows of an execution not in it are left out."""
    by_group: Batch = {}
    for row in rows:
        if str(row.execution_id) not in owners:
            continue
        workflow_id, owner_id = owners[str(row.execution_id)]
        event = event_of(row, workflow_id)
        by_group.setdefault(execution_group(row.execution_id), []).append(event)
        if event["status"] is not None:
            by_group.setdefault(workflow_group(workflow_id), []).append(event)
            by_group.setdefault(user_group(owner_id), []).append(event)
    return by_group


class OwnerCache:
    """execution id -> (workflow id, owner id), the latest OWNERS_CACHED of them. Both never change
    (an execution keeps its workflow; nothing writes a workflow's owner), so entries are never stale;
    the executions not yet known are read in one query."""

    def __init__(self, size: int = OWNERS_CACHED) -> None:
        self.size = size
        self._entries: OrderedDict[str, tuple] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, execution_ids: set) -> dict[str, tuple]:
        wanted = {str(i) for i in execution_ids}
        with self._lock:
            found = {i: self._entries[i] for i in wanted if i in self._entries}
            for i in found:
                self._entries.move_to_end(i)
        if missing := wanted - found.keys():
            read = {str(pk): (workflow_id, owner_id) for pk, workflow_id, owner_id in
                    WorkflowExecution.objects.filter(pk__in=missing).values_list("pk", "workflow_id",
                                                                                  "workflow__owner_id")}
            found.update(read)
            with self._lock:
                self._entries.update(read)
                while len(self._entries) > self.size:
                    self._entries.popitem(last=False)
        return found

    def remember(self, known: dict[str, tuple]) -> None:
        """What a writer told (its labelled rows): the run's next commits need not ask."""
        if not known:
            return
        with self._lock:
            self._entries.update(known)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)


owners = OwnerCache()


def publish(rows: list[ExecutionLog]) -> None:
    """The events subscriber: the rows' workflows and owners (at most one query, none when the
    writer labelled the rows), then hand the events to the sender. Never raises: a failure costs
    live updates, never a step."""
    try:
        known = {str(row.execution_id): (labels.workflow_id, labels.owner_id) for row in rows
                 if (labels := getattr(row, "run_labels", None)) is not None}
        owners.remember(known)
        found = owners.get({row.execution_id for row in rows if str(row.execution_id) not in known})
        sender.submit(messages_for(rows, {**found, **known}))
    except Exception:
        log.warning("live updates for %d events not sent", len(rows), exc_info=True)
