"""`manage.py import_workflow <file.json> --owner USER [--activate|--no-activate] [--replace ID]`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.management.base import BaseCommand, CommandError
from rest_framework.exceptions import ValidationError

from workflows import portability
from workflows.api.errors import flatten
from workflows.errors import InvalidInput
from workflows.models import Workflow


class Command(BaseCommand):
    help = ("Import a workflow from an export document (validated as the API validates it); "
            "a webhook trigger gets a fresh token and secret.")

    def add_arguments(self, parser):
        parser.add_argument("path", help='the JSON document ("-" for stdin)')
        parser.add_argument("--owner", required=True, help="username of the new workflow's owner")
        parser.add_argument("--activate", action=argparse.BooleanOptionalAction, default=None,
                            help="activate it (--no-activate: keep it a draft); default: the document's status")
        parser.add_argument("--replace", metavar="ID",
                            help="replace this workflow's definition instead of creating one")

    def handle(self, *args, path, owner, activate, replace, **options):
        user = get_user_model().objects.filter(username=owner).first()
        if user is None:
            raise CommandError(f"no user {owner!r}")
        document = self._read(path)
        target = None
        if replace:
            try:
                target = Workflow.objects.get(pk=replace)
            except (Workflow.DoesNotExist, DjangoValidationError, ValueError):
                raise CommandError(f"no workflow with id {replace!r} to replace") from None
        try:
            workflow = portability.import_workflow(owner=user, document=document, activate=activate, replace=target)
        except InvalidInput as exc:
            raise CommandError(_describe(exc.message, exc.fields)) from None
        except ValidationError as exc:
            raise CommandError(_describe("Invalid input", flatten(exc.detail))) from None
        verb = "Replaced" if target else "Imported"
        self.stdout.write(self.style.SUCCESS(
            f"{verb} {workflow.name!r} ({workflow.pk}): {workflow.status}, version {workflow.version}, "
            f"{workflow.steps.count()} steps, owner {owner}"))

    def _read(self, path: str):
        try:
            text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise CommandError(f"cannot read {path}: {exc.strerror}") from None
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise CommandError(f"{path} is not JSON: {exc}") from None


def _describe(message: str, fields: dict[str, list[str]]) -> str:
    """The error with one line per field, named as the API names them."""
    lines = [f"  {name or '(document)'}: {' '.join(messages)}" for name, messages in fields.items() if messages]
    return "\n".join([message, *lines])
