"""Where a run sits in its tree of child runs: its ancestors (for the depth and cycle rules) and its
unfinished descendants (for cancel), each read with one recursive query, never walked in Python.

A child run points at the step that started it (`parent_task`), and that step at its run. The rule
a new child must pass, `child_refusal`, is a pure function of the ancestor chain (ADR 00NN-b).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import connection

from ..models import TaskExecution, Workflow, WorkflowExecution
from .planner.states import ExecutionStatus as E

_RUNS = WorkflowExecution._meta.db_table
_TASKS = TaskExecution._meta.db_table
_WORKFLOWS = Workflow._meta.db_table


@dataclass(frozen=True)
class Ancestor:
    """One run of a chain, from the run itself (depth 0 of the chain) up to its root."""

    workflow_id: uuid.UUID
    workflow_name: str


def _param(value) -> object:
    return WorkflowExecution._meta.pk.get_db_prep_value(value, connection)


def _uuid(value) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


def ancestors(execution_id, *, limit: int) -> list[Ancestor]:
    """The run and the runs above it, nearest first, at most `limit` + 1 of them: enough to decide
    the rules for a bound of `limit`, however deep an older tree went."""
    sql = f"""
        WITH RECURSIVE chain(id, workflow_id, parent_task_id, depth) AS (
            SELECT id, workflow_id, parent_task_id, 0 FROM {_RUNS} WHERE id = %s
            UNION ALL
            SELECT run.id, run.workflow_id, run.parent_task_id, chain.depth + 1
            FROM chain
            JOIN {_TASKS} task ON task.id = chain.parent_task_id
            JOIN {_RUNS} run ON run.id = task.execution_id
            WHERE chain.depth < %s
        )
        SELECT chain.workflow_id, workflow.name FROM chain
        JOIN {_WORKFLOWS} workflow ON workflow.id = chain.workflow_id
        ORDER BY chain.depth"""
    with connection.cursor() as cursor:
        cursor.execute(sql, [_param(execution_id), limit])
        return [Ancestor(_uuid(workflow_id), name) for workflow_id, name in cursor.fetchall()]


def child_refusal(chain: list[Ancestor], *, child_id, child_name: str, max_depth: int) -> str | None:
    """Why a run whose chain (itself first, then its ancestors) is `chain` may not start a child run
    of workflow `child_id`; None if it may. A workflow already in the chain would run inside itself
    (a cycle); a child deeper than `max_depth` (the root is depth 0) is past the bound."""
    child_id = _uuid(child_id)
    for index, ancestor in enumerate(chain):
        if ancestor.workflow_id == child_id:
            path = [a.workflow_name for a in reversed(chain[:index + 1])] + [child_name]
            return ("workflow cycle: " + " -> ".join(repr(name) for name in path)
                    + ": a workflow cannot run inside itself, directly or through other workflows")
    if len(chain) > max_depth:
        return (f"sub-workflow depth limit: a child run here would be at depth {len(chain)}, past the "
                f"maximum of {max_depth} (FLOWPILOT_MAX_WORKFLOW_DEPTH)")
    return None


def unfinished_descendants(execution_ids: Iterable) -> list[uuid.UUID]:
    """Every pending or running run below the given runs, at any depth (finished runs are walked
    through: a failed run may still have children running)."""
    ids = [_param(pk) for pk in execution_ids]
    if not ids:
        return []
    marks = ", ".join(["%s"] * len(ids))
    sql = f"""
        WITH RECURSIVE tree(id) AS (
            SELECT run.id FROM {_TASKS} task JOIN {_RUNS} run ON run.parent_task_id = task.id
            WHERE task.execution_id IN ({marks})
            UNION
            SELECT run.id FROM tree
            JOIN {_TASKS} task ON task.execution_id = tree.id
            JOIN {_RUNS} run ON run.parent_task_id = task.id
        )
        SELECT run.id FROM tree JOIN {_RUNS} run ON run.id = tree.id
        WHERE run.status IN (%s, %s)"""
    with connection.cursor() as cursor:
        cursor.execute(sql, [*ids, E.PENDING.value, E.RUNNING.value])
        return [_uuid(pk) for (pk,) in cursor.fetchall()]
