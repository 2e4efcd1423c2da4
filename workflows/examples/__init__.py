"""Example workflows shipped with FlowPilot (loaded by `manage.py load_example`, and by `make run`
on first start)."""

from __future__ import annotations

import json
from pathlib import Path

from .. import services
from ..api.serializers import WorkflowInputSerializer
from ..errors import InvalidInput
from ..models import Workflow

HERE = Path(__file__).resolve().parent


def names() -> list[str]:
    return sorted(p.stem for p in HERE.glob("*.json"))


def load(*, owner, name: str = "signup") -> tuple[Workflow, bool]:
    """Create the example (active) for `owner` unless a workflow of that name exists; answers
    (workflow, created)."""
    path = HERE / f"{name}.json"
    if not path.exists():
        raise InvalidInput(f"no example named {name!r}; examples: {', '.join(names())}")
    data = WorkflowInputSerializer(data=json.loads(path.read_text()))
    data.is_valid(raise_exception=True)
    fields = dict(data.validated_data)
    existing = Workflow.objects.filter(owner=owner, name=fields["name"]).first()
    if existing:
        return existing, False
    steps = fields.pop("steps", [])
    return services.workflow_create(owner=owner, data={**fields, "status": "active"}, steps=steps), True
