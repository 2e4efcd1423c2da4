"""Which workflows a workflow starts as child runs (sub_workflow, for_each), and the cycles among
them, checked when a workflow is saved or activated.

Only a workflow id written out literally is knowable then; an id from a template is checked when
the step runs (lineage.child_refusal), which catches every cycle. ADR 00NN-b.
"""

from __future__ import annotations

import uuid
from collections import deque
from collections.abc import Mapping

from .errors import InvalidInput
from .models import Workflow, WorkflowStep
from .templating import is_template

CHILD_STEP_TYPES = ("sub_workflow", "for_each")


def literal_callee(task_type: str, config: dict) -> uuid.UUID | None:
    """The workflow a step starts child runs of, when its config names it literally."""
    value = (config or {}).get("workflow_id") if task_type in CHILD_STEP_TYPES else None
    if not isinstance(value, str) or is_template(value):
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def path_back(start: uuid.UUID, via: uuid.UUID, calls: Mapping[uuid.UUID, set[uuid.UUID]]) -> list | None:
    """The shortest chain start -> via -> ... -> start along `calls`, or None: breadth first, no
    recursion, each workflow visited once."""
    came_from = {via: start}
    queue = deque([via])
    while queue:
        node = queue.popleft()
        if node == start:
            chain = [start]
            node = came_from[start]
            while node != start:
                chain.append(node)
                node = came_from[node]
            return [start, *reversed(chain[1:]), start]
        for nxt in calls.get(node, ()):
            if nxt not in came_from:
                came_from[nxt] = node
                queue.append(nxt)
    return None


def check_acyclic(*, workflow: Workflow, steps: list[dict]) -> None:
    """Refuse (400, naming the step and the cycle) a definition whose steps start, through literal
    workflow ids, a chain of child runs that comes back to `workflow`."""
    mine = [(s["key"], callee) for s in steps
            if (callee := literal_callee(s.get("task_type") or "", s.get("config") or {})) is not None]
    if not mine:
        return
    calls: dict[uuid.UUID, set[uuid.UUID]] = {workflow.pk: {callee for _, callee in mine}}
    others = WorkflowStep.objects.filter(workflow__owner_id=workflow.owner_id, task_type__in=CHILD_STEP_TYPES) \
        .exclude(workflow_id=workflow.pk).values_list("workflow_id", "task_type", "config")
    for caller, task_type, config in others:
        callee = literal_callee(task_type, config)
        if callee is not None:
            calls.setdefault(caller, set()).add(callee)
    found = {key: chain for key, callee in mine if (chain := path_back(workflow.pk, callee, calls))}
    if not found:
        return
    names = dict(Workflow.objects.filter(pk__in={pk for chain in found.values() for pk in chain})
                 .values_list("pk", "name"))
    names[workflow.pk] = workflow.name
    fields = {}
    for key, chain in found.items():
        fields[f"steps.{key}.config.workflow_id"] = [
            "workflow cycle: " + " -> ".join(repr(names.get(pk, str(pk))) for pk in chain)
            + ": a workflow cannot run inside itself, directly or through other workflows"]
    raise InvalidInput("; ".join(f"step {key!r}: config.workflow_id: {messages[0]}"
                                 for key, messages in zip(found, fields.values())), fields=fields)
