"""WSGI entry point (HTTP only; the live updates need ASGI)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "flowpilot.settings")
application = get_wsgi_application()
