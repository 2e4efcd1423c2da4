"""`manage.py load_example [name] --owner USER`: add a shipped example workflow, active."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from workflows import examples
from workflows.errors import InvalidInput


class Command(BaseCommand):
    help = "Load an example workflow (default: signup) for a user."

    def add_arguments(self, parser):
        parser.add_argument("name", nargs="?", default="signup", choices=examples.names())
        parser.add_argument("--owner", default="admin", help="username (default: admin)")

    def handle(self, *args, name, owner, **options):
        user = get_user_model().objects.filter(username=owner).first()
        if user is None:
            raise CommandError(f"no user {owner!r}; create one with `manage.py createsuperuser`")
        try:
            workflow, created = examples.load(owner=user, name=name)
        except InvalidInput as exc:
            raise CommandError(exc.message) from None
        verb = "Loaded" if created else "Already there:"
        self.stdout.write(self.style.SUCCESS(f"{verb} {workflow.name!r} ({workflow.pk}), owner {owner}"))
