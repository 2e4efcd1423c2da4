"""Replay a finished run as a dry run (docs/adr/0026-replay-as-a-dry-run.md): a new run of the chosen
version with the original's input, flagged as a replay (`replay_of`), whose steps with side effects
answer from the user's mocks or the original's recorded outputs (workflows/engine/replay.py) and
never run for real."""

from __future__ import annotations

import json

from django.conf import settings
from django.db import transaction

from .. import bounds
from ..engine import definition as definitions
from ..engine.planner.states import check_action
from ..errors import InvalidInput
from ..models import TriggerSource, WorkflowExecution, WorkflowVersion
from .definitions import check_storable
from .executions import runs_create

REPLAY_VERSIONS = ("original", "latest")


def _refuse(field: str, message: str) -> InvalidInput:
    return InvalidInput(f"{field}: {message}", fields={field: [message]})


def replay_version(execution: WorkflowExecution, version) -> int:
    """The number of the version a replay of `execution` runs: "original" (the run's), "latest" (its
    workflow's current), or a number of one of its workflow's versions (InvalidInput otherwise)."""
    if version == "original":
        return definitions.for_version(execution.workflow_version_id).number
    if version == "latest":
        return execution.workflow.version
    if isinstance(version, bool) or not isinstance(version, int) or not 1 <= version <= 2**31 - 1:
        raise _refuse("version", 'must be "original", "latest" or a version number')
    if not WorkflowVersion.objects.filter(workflow_id=execution.workflow_id, number=version).exists():
        raise _refuse("version", f"the workflow has no version {version} (latest: {execution.workflow.version})")
    return version


def check_mocks(mocks, *, steps) -> dict:
    """The mocks as a replay keeps them, or InvalidInput: a JSON object of at most REPLAY_MAX_MOCKS
    outputs (each a JSON object) by the key of a step of the replayed version, within the payload limit."""
    if mocks is None:
        return {}
    if not isinstance(mocks, dict):
        raise _refuse("mocks", "must be a JSON object: {\"<step key>\": <output>}")
    if len(mocks) > bounds.REPLAY_MAX_MOCKS:
        raise _refuse("mocks", f"at most {bounds.REPLAY_MAX_MOCKS} mocks; {len(mocks)} given")
    unknown = sorted(key for key in mocks if key not in steps)
    if unknown:
        shown = ", ".join(repr(key[:100]) for key in unknown[:10])
        raise _refuse("mocks", f"not steps of the replayed version: {shown}")
    for key, output in mocks.items():
        if not isinstance(output, dict):
            raise _refuse(f"mocks.{key}", "a step's output is a JSON object")
    check_storable(mocks, field="mocks")
    size = len(json.dumps(mocks, default=str))
    if size > settings.FLOWPILOT_MAX_PAYLOAD_BYTES:
        raise _refuse("mocks", f"{size} bytes; the limit is {settings.FLOWPILOT_MAX_PAYLOAD_BYTES}")
    return mocks


def execution_replay(*, execution: WorkflowExecution, version="original", mocks: dict | None = None,
                     user=None) -> WorkflowExecution:
    """Start a dry run of a finished run (Conflict while it is not): the chosen version with the
    original's input; answers the new run. The original is left as it is. A replay of a replay
    replays that replay (its recordings are what it answered, mocks included)."""
    check_action(execution.status, "replay")
    number = replay_version(execution, version)
    steps = definitions.for_version(definitions.version_id(execution.workflow_id, number)).steps
    mocks = check_mocks(mocks, steps=steps)
    with transaction.atomic():
        [(_, replay, _)] = runs_create(
            execution.workflow, [(0, execution.input, None, "")], triggered_by=TriggerSource.REPLAY, user=user,
            parent=None, scheduled_at=None, max_retries=execution.max_retries, version=number,
            fields={"replay_of": execution, "replay_mocks": mocks},
            said=f" of {execution.pk} on v{number}" + (f", {len(mocks)} mocked" if mocks else ""))
    return replay
