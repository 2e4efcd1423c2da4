from django.apps import AppConfig


class AccountsConfig(AppConfig):
    """API access: personal API tokens (authentication) and request rates (throttling)."""

    name = "accounts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import schema  # noqa: F401  (tells the OpenAPI schema how ApiTokenAuthentication works)
