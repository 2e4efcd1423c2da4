"""Small builders for workflows in tests."""

from __future__ import annotations

from workflows import services
from workflows.engine.executors import CeleryExecutor


def step(key: str, task_type: str = "python", *, depends_on=(), **fields) -> dict:
    data = {"key": key, "task_type": task_type, "depends_on": list(depends_on), "config": {}}
    data.update(fields)
    if task_type == "python" and "function" in data:
        data["config"] = {"function": data.pop("function"), "kwargs": data.pop("kwargs", {})}
    return data


def active_workflow(owner, steps: list[dict], **fields):
    return services.workflow_create(owner=owner, data={"name": fields.pop("name", "wf"), "status": "active",
                                                       **fields}, steps=steps)


def diamond(owner, **fields):
    """a -> (b, c) -> d, all no-ops."""
    return active_workflow(owner, [
        step("a", function="noop"),
        step("b", function="noop", depends_on=["a"]),
        step("c", function="noop", depends_on=["a"]),
        step("d", function="noop", depends_on=["b", "c"]),
    ], **fields)


class SentExecutor(CeleryExecutor):
    """The real executor (following on included); what it would publish is kept in a list."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[str] = []
        self.backlog = False  # what the broker's queue would say: a backlog, or none

    def send(self, ids: list[str]) -> None:
        self.sent.extend(ids)

    def backlogged(self) -> bool:
        return self.backlog
