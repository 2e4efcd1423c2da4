"""The rows every step reads, by SQL written once per process: the ORM builds and compiles a query
each time it runs one (for the run's lock with its workflow, ~60 columns: a sixth of a worker's
CPU per step, docs/adr/0040), where these statements never change. The instances are the ORM's own
(Model.from_db), their values converted as the ORM converts what it reads (JSON, UUIDs, dates).

    loaded(model, fields, values)   a model instance from a raw row
    lock_run(execution_id, status)  the run's row locked (FOR UPDATE OF the run), its workflow loaded
    attempts_near(...)              the attempts of some steps of a run, and its failed ones
"""

from __future__ import annotations

import functools

from django.db import connection

from ..models import TaskExecution, Workflow, WorkflowExecution

RUN_FIELDS = tuple(WorkflowExecution._meta.concrete_fields)
WORKFLOW_FIELDS = tuple(Workflow._meta.concrete_fields)


def loaded(model, fields, values):
    """A model instance from a raw row, converted as the ORM converts what it reads (JSON, UUIDs)."""
    converted = [value if not convert else _convert(value, field, convert)
                 for field, value, convert in zip(fields, values, _converters(model, tuple(fields)))]
    return model.from_db(connection.alias, [f.attname for f in fields], converted)


def _convert(value, field, converters):
    for convert in converters:
        value = convert(value, field, connection)
    return value


@functools.cache
def _converters(model, fields: tuple) -> list[list]:
    """Each field's converters on this database, as the ORM's compiler finds them (the backend's,
    then the field's), found once per process."""
    columns = [field.get_col(model._meta.db_table) for field in fields]
    return [connection.ops.get_db_converters(col) + col.get_db_converters(connection) for col in columns]


@functools.cache
def _lock_run_sql(vendor: str, with_status: bool) -> str:
    quote = connection.ops.quote_name
    columns = ", ".join([*(f"e.{quote(f.column)}" for f in RUN_FIELDS), *(f"w.{quote(f.column)}" for f in WORKFLOW_FIELDS)])
    status = f" AND e.{quote('status')} = %s" if with_status else ""
    lock = " FOR UPDATE OF e" if connection.features.has_select_for_update_of else ""
    return (f"SELECT {columns} FROM {quote(WorkflowExecution._meta.db_table)} e "
            f"INNER JOIN {quote(Workflow._meta.db_table)} w ON w.{quote('id')} = e.{quote('workflow_id')} "
            f"WHERE e.{quote('id')} = %s{status}{lock}")


def lock_run(execution_id, status: str | None = None) -> WorkflowExecution | None:
    """The run `execution_id` (in `status`, if given), its row locked until the transaction ends, with
    its workflow loaded (execution.workflow); None when there is no such run."""
    key = WorkflowExecution._meta.pk.get_db_prep_value(execution_id, connection)
    with connection.cursor() as cursor:
        cursor.execute(_lock_run_sql(connection.vendor, status is not None),
                       [key] if status is None else [key, status])
        found = cursor.fetchone()
    if found is None:
        return None
    execution = loaded(WorkflowExecution, RUN_FIELDS, found[:len(RUN_FIELDS)])
    execution.workflow = loaded(Workflow, WORKFLOW_FIELDS, found[len(RUN_FIELDS):])
    return execution


@functools.cache
def _near_sql(vendor: str, columns: tuple[str, ...], count: int) -> str:
    quote = connection.ops.quote_name
    keys = "= ANY(%s)" if vendor == "postgresql" else f"IN ({', '.join(['%s'] * count)})"
    return (f"SELECT {', '.join(quote(c) for c in columns)} FROM {quote(TaskExecution._meta.db_table)} "
            f"WHERE {quote('execution_id')} = %s AND ({quote('step_key')} {keys} OR {quote('status')} = %s) "
            f"ORDER BY {quote('step_key')}")


@functools.cache
def _only(fields: tuple[str, ...]) -> tuple:
    """The concrete fields named (and the primary key), in the model's order (Model.from_db's)."""
    return tuple(f for f in TaskExecution._meta.concrete_fields if f.primary_key or f.name in fields)


def attempts_near(execution_id, keys: list[str], fields: tuple[str, ...], failed: str) -> list[TaskExecution]:
    """The attempts of a run's steps `keys`, and its attempts in status `failed`, by step key; each with
    only `fields` loaded (the others deferred, as QuerySet.only does)."""
    concrete = _only(fields)
    run = TaskExecution._meta.get_field("execution").get_db_prep_value(execution_id, connection)
    postgresql = connection.vendor == "postgresql"
    sql = _near_sql(connection.vendor, tuple(f.column for f in concrete), 0 if postgresql else len(keys))
    with connection.cursor() as cursor:
        cursor.execute(sql, [run, list(keys), failed] if postgresql else [run, *keys, failed])
        return [loaded(TaskExecution, concrete, row) for row in cursor.fetchall()]
