"""ASGI entry point: WebSockets through Channels on the event loop; HTTP through Django's WSGI
handler on a fixed pool of FLOWPILOT_WEB_THREADS threads per process (a2wsgi), on one origin.

Every HTTP view is synchronous. Django's own ASGI handler would run each request on a new thread,
hopping between the event loop and threads at every sync middleware; a fixed pool of threads
serves the same requests at 2-3 times the rate, and bounds the requests a process works on at once
(docs/adr/0011-web-tier.md). Request bodies over FLOWPILOT_MAX_REQUEST_BYTES (a workflow's definition:
FLOWPILOT_MAX_DEFINITION_BYTES) are refused before Django reads them (flowpilot/limits.py).
"""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "flowpilot.settings")
django_wsgi_app = get_wsgi_application()  # sets Django up before the consumers are imported

from a2wsgi import WSGIMiddleware
from channels.auth import AuthMiddlewareStack
from channels.routing import ProtocolTypeRouter, URLRouter
from django.conf import settings

from accounts.websocket_auth import OriginUnlessToken, TokenAuthMiddleware
from flowpilot import gc_tuning
from flowpilot.limits import BodySizeLimit
from workflows.routing import websocket_urlpatterns

application = ProtocolTypeRouter(
    {
        "http": BodySizeLimit(WSGIMiddleware(django_wsgi_app, workers=settings.FLOWPILOT_WEB_THREADS)),
        # Origin checked first (when sent, or when no token is); then the session's user, replaced by an
        # API token's when one is presented.
        "websocket": OriginUnlessToken(
            AuthMiddlewareStack(TokenAuthMiddleware(URLRouter(websocket_urlpatterns)))),
    }
)
gc_tuning.tune()  # last: everything loaded so far lives as long as the process
