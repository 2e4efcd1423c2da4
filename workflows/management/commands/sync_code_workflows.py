"""Store every code workflow (workflows.code) of the installed apps: a row per class, a new version
when its code changed. Runs also do this as they start; the API's list does it too."""

from django.core.management.base import BaseCommand

from workflows.code.sync import code_workflows_sync


class Command(BaseCommand):
    help = "Store the code workflows of the installed apps as workflows (kind code), versioned."

    def handle(self, *args, **options):
        for workflow in code_workflows_sync():
            self.stdout.write(f"{workflow.name}: version {workflow.version}")
