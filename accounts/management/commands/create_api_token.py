"""manage.py create_api_token <username> [--name N] [--expires-days D]: prints a new key, once."""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from accounts import services


class Command(BaseCommand):
    help = "Create a named personal API token for a user and print its key (only this once)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", default="cli", help="What the token is for (default: cli).")
        parser.add_argument("--expires-days", type=int, default=None, help="Refuse the key after this many days.")

    def handle(self, *args, username: str, name: str, expires_days: int | None, **options):
        User = get_user_model()
        try:
            user = User.objects.get(**{User.USERNAME_FIELD: username})
        except User.DoesNotExist:
            raise CommandError(f"no user {username!r}") from None
        if expires_days is not None and expires_days < 1:
            raise CommandError("--expires-days must be at least 1")
        expires_at = timezone.now() + timedelta(days=expires_days) if expires_days else None
        token, key = services.api_token_create(user=user, name=name, expires_at=expires_at)
        self.stderr.write(f"Created API token {token.name!r} ({token.prefix}…) for {username}; "
                          "the key is printed once and cannot be shown again.")
        self.stdout.write(key)
