"""A workflow's editable graph (its WorkflowStep and StepDependency rows), read and replaced in a few
statements whatever its size.

The ORM's bulk_create prepares every value of every row in Python: about a second for 10,000 steps.
On PostgreSQL the rows go instead as one JSON document that the server unpacks (jsonb_to_recordset),
and the edges are joined to their steps by key in the same database, so no id comes back to Python.
Other databases (SQLite, the embedded default) take the ORM's path. Values absent from a step take
the model fields' defaults, read from the models: they are written down once, there.
"""

from __future__ import annotations

import json

from django.db import connection

from . import dag
from .models import StepDependency, Workflow, WorkflowStep

STEP_FIELDS = ("key", "name", "task_type", "config", "step_order", "timeout_seconds", "when", "position_x",
               "position_y", "max_retries", "retry_base_delay", "retry_backoff_factor", "retry_max_delay")
# PostgreSQL's type for each column, to unpack a JSON document into rows.
_PG_TYPES = {"key": "text", "name": "text", "task_type": "text", "config": "jsonb", "step_order": "integer",
             "timeout_seconds": "integer", "when": "text", "position_x": "double precision",
             "position_y": "double precision", "max_retries": "smallint", "retry_base_delay": "double precision",
             "retry_backoff_factor": "double precision", "retry_max_delay": "double precision"}


def read(workflow: Workflow) -> list[dict]:
    """A workflow's steps as plain data (with "id"), each with its dependencies as written: two
    queries and no model instance per step or edge, so that a big graph reads in O(steps + edges)."""
    refs: dict[int, list[str]] = {}
    for step_id, key, branch in (StepDependency.objects.filter(step__workflow=workflow).order_by("id")
                                 .values_list("step_id", "depends_on__key", "branch")):
        refs.setdefault(step_id, []).append(StepDependency.ref_of(key, branch))
    return [{**row, "depends_on": refs.get(row["id"], [])} for row in workflow.steps.values("id", *STEP_FIELDS)]


def _defaults() -> dict:
    return {f: WorkflowStep._meta.get_field(f).get_default() for f in STEP_FIELDS}


def _edges(steps: list[dict]) -> list[tuple[str, str, str]]:
    """(step key, upstream key, branch) for every dependency written in `steps`."""
    return [(s["key"], key, branch) for s in steps for key, branch in map(dag.parse_ref, s.get("depends_on") or ())]


def replace(workflow: Workflow, steps: list[dict]) -> None:
    """Make `steps` (the API's shape: STEP_FIELDS and depends_on, checked) the workflow's graph."""
    StepDependency.objects.filter(step__workflow=workflow).delete()
    # No row refers to these steps any more: one DELETE, without the ORM loading each step first to
    # look for rows that cascade from it.
    qn = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {qn(WorkflowStep._meta.db_table)} "
                       f"WHERE {qn(WorkflowStep._meta.get_field('workflow').column)} = %s",
                       [Workflow._meta.pk.get_db_prep_value(workflow.pk, connection)])
    defaults = _defaults()
    rows = [{f: s.get(f, defaults[f]) for f in STEP_FIELDS} for s in steps]
    if connection.vendor == "postgresql":
        _insert_postgresql(workflow.pk, rows, _edges(steps))
    else:
        _insert_orm(workflow, rows, _edges(steps))


def _insert_orm(workflow: Workflow, rows: list[dict], edges: list[tuple[str, str, str]]) -> None:
    created = WorkflowStep.objects.bulk_create([WorkflowStep(workflow=workflow, **row) for row in rows])
    by_key = {row.key: row for row in created}
    StepDependency.objects.bulk_create([StepDependency(step=by_key[key], depends_on=by_key[upstream], branch=branch)
                                        for key, upstream, branch in edges])


def _insert_postgresql(workflow_id: int, rows: list[dict], edges: list[tuple[str, str, str]]) -> None:
    qn = connection.ops.quote_name
    step_table, dep_table = qn(WorkflowStep._meta.db_table), qn(StepDependency._meta.db_table)
    columns = [WorkflowStep._meta.get_field(f).column for f in STEP_FIELDS]
    unpacked = ", ".join(f"{qn(f)} {_PG_TYPES[f]}" for f in STEP_FIELDS)
    field = StepDependency._meta.get_field
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {step_table} ({qn(WorkflowStep._meta.get_field('workflow').column)}, "
            f"{', '.join(qn(c) for c in columns)}) "
            f"SELECT %s, {', '.join(f'r.{qn(f)}' for f in STEP_FIELDS)} "
            f"FROM ROWS FROM (jsonb_to_recordset(%s::jsonb) AS ({unpacked})) "
            f"WITH ORDINALITY AS r({', '.join(qn(f) for f in STEP_FIELDS)}, n) ORDER BY r.n",
            [workflow_id, json.dumps(rows)])
        if not edges:
            return
        workflow_column, key_column = (qn(WorkflowStep._meta.get_field(f).column) for f in ("workflow", "key"))
        cursor.execute(
            f"INSERT INTO {dep_table} ({qn(field('step').column)}, {qn(field('depends_on').column)}, "
            f"{qn(field('branch').column)}) "
            f"SELECT s.id, d.id, e.branch FROM jsonb_to_recordset(%s::jsonb) AS e(key text, upstream text, branch text) "
            f"JOIN {step_table} s ON s.{workflow_column} = %s AND s.{key_column} = e.key "
            f"JOIN {step_table} d ON d.{workflow_column} = %s AND d.{key_column} = e.upstream",
            [json.dumps([{"key": k, "upstream": u, "branch": b} for k, u, b in edges]), workflow_id, workflow_id])
