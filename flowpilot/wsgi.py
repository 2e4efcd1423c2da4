"""WSGI entry point (HTTP only; the live updates need ASGI)."""

import os

from django.core.wsgi import get_wsgi_application

from flowpilot import gc_tuning

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "flowpilot.settings")
application = get_wsgi_application()
gc_tuning.tune()  # last: everything loaded so far lives as long as the process
