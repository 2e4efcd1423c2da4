"""`manage.py export_workflow <id> [-o file.json]`: a workflow as a versioned JSON document (no secrets)."""

from __future__ import annotations

import json
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from workflows import portability
from workflows.models import Workflow


class Command(BaseCommand):
    help = "Export a workflow (its steps and triggers, without secrets) as JSON, to stdout or a file."

    def add_arguments(self, parser):
        parser.add_argument("workflow_id", help="the workflow's id")
        parser.add_argument("-o", "--output", help="write to this file instead of stdout")

    def handle(self, *args, workflow_id, output, **options):
        try:
            workflow = Workflow.objects.get(pk=workflow_id)
        except (Workflow.DoesNotExist, ValidationError, ValueError):
            raise CommandError(f"no workflow with id {workflow_id!r}") from None
        text = json.dumps(portability.export_workflow(workflow), indent=2, ensure_ascii=False) + "\n"
        if not output:
            self.stdout.write(text, ending="")
            return
        Path(output).write_text(text, encoding="utf-8")
        self.stdout.write(self.style.SUCCESS(f"Exported {workflow.name!r} ({workflow.pk}) to {output}"))
