"""A workflow's editable graph (its WorkflowStep and StepDependency rows), read and replaced in a few
statements whatever its size.

The ORM's bulk_create prepares every value of every row in Python: about a second for 10,000 steps.
On PostgreSQL the rows go instead as one JSON document that the server unpacks (jsonb_to_recordset),
answering the steps' ids, and the edges likewise. Other databases (SQLite, the embedded default) take
the ORM's path. Values absent from a step take the model fields' defaults, read from the models:
they are written down once, there.
"""

from __future__ import annotations

import json

from django.db import connection

from .engine.planner import dag
from .models import StepDependency, Workflow, WorkflowStep

STEP_FIELDS = ("key", "name", "task_type", "config", "step_order", "timeout_seconds", "when", "position_x",
               "position_y", "max_retries", "retry_base_delay", "retry_backoff_factor", "retry_max_delay",
               "continue_on_failure", "limits", "compensate_with")
_FLOAT_FIELDS = ("position_x", "position_y", "retry_base_delay", "retry_backoff_factor", "retry_max_delay")
_KEPT = "_graph_rows"  # the instance attribute holding the graph last read or written through it
# PostgreSQL's type for each column, to unpack a JSON document into rows.
_PG_TYPES = {"key": "text", "name": "text", "task_type": "text", "config": "jsonb", "step_order": "integer",
             "timeout_seconds": "integer", "when": "text", "position_x": "double precision",
             "position_y": "double precision", "max_retries": "smallint", "retry_base_delay": "double precision",
             "retry_backoff_factor": "double precision", "retry_max_delay": "double precision",
             "continue_on_failure": "boolean", "limits": "jsonb",
             "compensate_with": "text"}


def read(workflow: Workflow) -> list[dict]:
    """A workflow's steps as plain data (with "id"), each with its dependencies as written, in the
    model's order: two queries and no model instance per step or edge, so that a big graph reads in
    O(steps + edges). Kept on the instance: the answer of a save or an activation, which read or
    wrote the graph moments before in the same request, does not read it again."""
    if (kept := workflow.__dict__.get(_KEPT)) is not None:
        return kept
    refs: dict[int, list[str]] = {}
    for step_id, key, branch in (StepDependency.objects.filter(step__workflow=workflow).order_by("id")
                                 .values_list("step_id", "depends_on__key", "branch")):
        refs.setdefault(step_id, []).append(StepDependency.ref_of(key, branch))
    rows = [{**row, "depends_on": refs.get(row["id"], [])} for row in workflow.steps.values("id", *STEP_FIELDS)]
    workflow.__dict__[_KEPT] = rows
    return rows


def replace(workflow: Workflow, steps: list[dict]) -> None:
    """Make `steps` (the API's shape: STEP_FIELDS and depends_on, checked) the workflow's graph."""
    workflow.__dict__.pop(_KEPT, None)
    StepDependency.objects.filter(step__workflow=workflow).delete()
    # No row refers to these steps any more: one DELETE, without the ORM loading each step first to
    # look for rows that cascade from it.
    qn = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {qn(WorkflowStep._meta.db_table)} "
                       f"WHERE {qn(WorkflowStep._meta.get_field('workflow').column)} = %s",
                       [Workflow._meta.pk.get_db_prep_value(workflow.pk, connection)])
    defaults = {f: WorkflowStep._meta.get_field(f).get_default() for f in STEP_FIELDS}
    rows = [{f: s.get(f, defaults[f]) for f in STEP_FIELDS} for s in steps]
    for row in rows:  # as the columns hold them (and read() answers them): 1 -> 1.0
        for f in _FLOAT_FIELDS:
            if row[f] is not None:
                row[f] = float(row[f])
    ids = _insert_steps_postgresql(workflow.pk, rows) if connection.vendor == "postgresql" \
        else _insert_steps_orm(workflow, rows)
    edges = [(ids[s["key"]], ids[key], branch)
             for s in steps for key, branch in map(dag.parse_ref, s.get("depends_on") or ())]
    if edges and connection.vendor == "postgresql":
        _insert_edges_postgresql(edges)
    elif edges:
        StepDependency.objects.bulk_create([StepDependency(step_id=step, depends_on_id=upstream, branch=branch)
                                            for step, upstream, branch in edges])
    written = [{"id": ids[row["key"]], **row, "depends_on": list(s.get("depends_on") or ())}
               for row, s in zip(rows, steps)]
    workflow.__dict__[_KEPT] = sorted(written, key=lambda row: (row["step_order"], row["id"]))


def _insert_steps_orm(workflow: Workflow, rows: list[dict]) -> dict[str, int]:
    return {step.key: step.pk for step in
            WorkflowStep.objects.bulk_create([WorkflowStep(workflow=workflow, **row) for row in rows])}


def _insert_steps_postgresql(workflow_id, rows: list[dict]) -> dict[str, int]:
    """The rows inserted in their order (ids ascending as written); answers their ids by key."""
    qn = connection.ops.quote_name
    columns = ", ".join(qn(WorkflowStep._meta.get_field(f).column) for f in STEP_FIELDS)
    unpacked = ", ".join(f"{qn(f)} {_PG_TYPES[f]}" for f in STEP_FIELDS)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {qn(WorkflowStep._meta.db_table)} "
            f"({qn(WorkflowStep._meta.get_field('workflow').column)}, {columns}) "
            f"SELECT %s, {', '.join(f'r.{qn(f)}' for f in STEP_FIELDS)} "
            f"FROM ROWS FROM (jsonb_to_recordset(%s::jsonb) AS ({unpacked})) "
            f"WITH ORDINALITY AS r({', '.join(qn(f) for f in STEP_FIELDS)}, n) ORDER BY r.n "
            f"RETURNING {qn(WorkflowStep._meta.pk.column)}, {qn(WorkflowStep._meta.get_field('key').column)}",
            [workflow_id, json.dumps(rows)])
        return {key: pk for pk, key in cursor.fetchall()}


def _insert_edges_postgresql(edges: list[tuple[int, int, str]]) -> None:
    qn = connection.ops.quote_name
    field = StepDependency._meta.get_field
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {qn(StepDependency._meta.db_table)} ({qn(field('step').column)}, "
            f"{qn(field('depends_on').column)}, {qn(field('branch').column)}) "
            f"SELECT e.step, e.upstream, e.branch FROM jsonb_to_recordset(%s::jsonb) AS e(step bigint, upstream bigint, "
            f"branch text)",
            [json.dumps([{"step": step, "upstream": upstream, "branch": branch} for step, upstream, branch in edges])])
