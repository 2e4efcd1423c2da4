"""Request body parsers: DRF's JSON parser, but a body nested deeper than FLOWPILOT_JSON_MAX_DEPTH is
a 400 naming the bound (Python's parser would raise RecursionError, an HTML 500, at ~1,000 levels)."""

from __future__ import annotations

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from .. import json_values


class BoundedJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.FLOWPILOT_JSON_MAX_DEPTH
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(f"JSON parse error - the body {json_values.depth_error(limit)}") from None
        if json_values.depth(data, limit=limit) > limit:
            raise ParseError(f"the body {json_values.depth_error(limit)}")
        return data
