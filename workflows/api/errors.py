"""One exception handler: every error is JSON {"message": ..., "fields": {path: [messages]}}."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from ..errors import DomainError


def flatten(detail, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested error detail as {"steps[1].key": ["..."]}."""
    out: dict[str, list[str]] = {}
    if isinstance(detail, dict):
        for key, value in detail.items():
            if isinstance(key, int):  # DRF reports list items by index
                path = f"{prefix}[{key}]"
            else:
                name = key if key != "non_field_errors" else ""
                path = f"{prefix}.{name}" if prefix and name else (prefix or name)
            for k, v in flatten(value, path).items():
                out.setdefault(k, []).extend(v)
    elif isinstance(detail, list):
        if all(not isinstance(item, (dict, list)) for item in detail):
            out.setdefault(prefix, []).extend(str(item) for item in detail)
        else:
            for index, item in enumerate(detail):
                for k, v in flatten(item, f"{prefix}[{index}]").items():
                    out.setdefault(k, []).extend(v)
    else:
        out.setdefault(prefix, []).append(str(detail))
    return out


def field_errors(detail) -> dict[str, list[str]]:
    """A refused input's messages by field path, as a 400 answers them in "fields"."""
    return {k: v for k, v in flatten(detail).items() if v}


def exception_handler(exc, context):
    if isinstance(exc, DomainError):
        return Response({"message": exc.message, **exc.extra}, status=exc.status_code)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    if isinstance(exc, exceptions.ValidationError):
        fields = field_errors(exc.detail)
        summary = "; ".join(f"{k}: {' '.join(v)}" if k else " ".join(v) for k, v in fields.items())
        return Response({"message": f"Invalid input: {summary}", "fields": fields},
                        status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, RecursionError):  # whatever nesting the bounds missed: still the house shape
        return Response({"message": "Invalid input: it nests too deeply to be processed"},
                        status=status.HTTP_400_BAD_REQUEST)
    response = drf_exception_handler(exc, context)
    if response is not None and isinstance(response.data, dict) and "detail" in response.data:
        response.data = {"message": str(response.data["detail"])}
    return response
