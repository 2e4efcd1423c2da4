"""A run's search values (workflows/search_fields.py), written in the engine's own transactions: with
the run's INSERT when it starts (fields over the input), with a step's result when it completes
(fields reading that step's output). A workflow without search fields costs no query here: which
fields to compute is known from the run's (cached) definition. docs/adr/0028-search-by-business-data.md.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from .. import search_fields
from ..models import ExecutionSearchValue, LogLevel, TaskExecution, WorkflowExecution
from . import definition as definitions
from .definition import Definition
from .events import Events
from .planner.states import TaskStatus as T


def _rows(execution_id, fields: Sequence[search_fields.SearchField], data: dict, events: Events,
          *, step_key: str = "") -> list[ExecutionSearchValue]:
    rows = []
    for field in fields:
        rendered = search_fields.render(field, data)
        if rendered.value is not None:
            rows.append(ExecutionSearchValue(execution_id=execution_id, name=field.name, value=rendered.value))
        elif rendered.problem:
            events.add(execution_id, "search.not_stored", rendered.problem, level=LogLevel.WARNING,
                       step_key=step_key, field=field.name)
    return rows


def at_start(definition: Definition, executions: Iterable[WorkflowExecution], events: Events) -> None:
    """The values of the fields over the input of runs just created, in one INSERT (none: no query)."""
    fields = definition.search_at_start
    if not fields:
        return
    rows = [row for execution in executions
            for row in _rows(execution.pk, fields, {"input": execution.input, "steps": {}}, events)]
    if rows:
        ExecutionSearchValue.objects.bulk_create(rows)


def step_completed(execution: WorkflowExecution, step_key: str, output, events: Events) -> None:
    """The values of the fields reading `step_key`'s output, now that it completed with `output`, in
    the caller's transaction (the run locked): one INSERT ... ON CONFLICT (a later visit or retry of
    the step replaces the value), plus one read when a field also reads other steps' outputs. No
    field reads this step: no query (the run's definition is cached per process)."""
    fields = definitions.for_version(execution.workflow_version_id).search_by_step.get(step_key)
    if not fields:
        return
    steps = {step_key: {"output": output}}
    others = {key for field in fields for key in field.steps} - {step_key}
    if others:
        completed = (TaskExecution.objects.filter(execution_id=execution.pk, status=T.COMPLETED, step_key__in=others)
                     .order_by("visit", "attempt").values_list("step_key", "output"))
        steps.update({key: {"output": value} for key, value in completed})  # the latest visit last: it wins
    rows = _rows(execution.pk, fields, {"input": execution.input, "steps": steps}, events, step_key=step_key)
    if rows:
        ExecutionSearchValue.objects.bulk_create(rows, update_conflicts=True, unique_fields=["execution", "name"],
                                                 update_fields=["value"])
