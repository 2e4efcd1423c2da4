from django.apps import AppConfig


class BareApiConfig(AppConfig):
    name = "benchmarks.bare_api"
    label = "bare_api"
    default_auto_field = "django.db.models.BigAutoField"
