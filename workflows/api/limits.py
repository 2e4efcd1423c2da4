"""GET /api/v1/limits/: the bounds on every number a workflow can set (workflows/bounds.py), so that
the designer checks the same rule the server does instead of keeping a copy of it."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from .. import bounds


# One bound, written out for the OpenAPI schema (and so for the designer's generated types).
BOUND_SCHEMA = {
    "type": "object",
    "properties": {
        "min": {"type": "number"},
        "max": {"type": "number"},
        "pattern": {"type": "string", "description": "step_key: the pattern a key must match."},
        "message": {"type": "string", "description": "step_key: what a save answers when it does not."},
    },
    "required": ["min", "max"],
}


class LimitsView(APIView):
    @extend_schema(responses={200: {"type": "object", "additionalProperties": BOUND_SCHEMA}}, summary="Bounds on the numbers a workflow can set",
                   description='{"<field>": {"min": ..., "max": ...}}: retry delays and factor, attempts, step '
                               "timeouts, concurrency, waits (seconds), event offsets (minutes).")
    def get(self, request):
        return Response(bounds.limits())
