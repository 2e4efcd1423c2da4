"""`manage.py serve`: the web server (HTTP + WebSocket, ASGI via uvicorn).

In the embedded mode (no REDIS_URL) the Celery worker (threads) and the scheduler (beat, which
runs the sweeper) start inside this process over the in-memory broker, so one command gives the
whole product. In services mode it serves the web only, in WEB_CONCURRENCY processes (default: one
per CPU) behind one socket, each with its own database pool (flowpilot/database.py); uvicorn starts
them and starts again any that dies. Run `celery worker` and `celery beat` beside it (make worker,
make beat). WebSockets work across the web processes: their groups live in Redis (channels-redis).
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connections

from flowpilot import database, public_url

log = logging.getLogger(__name__)


def web_concurrency(requested: int | None) -> int:
    """--workers, else WEB_CONCURRENCY (gunicorn's and uvicorn's name for it), else one per CPU."""
    value = requested or settings.WEB_CONCURRENCY or os.cpu_count() or 1
    if not 1 <= value <= 64:
        raise CommandError(f"the web processes (--workers, WEB_CONCURRENCY) must be 1 to 64, got {value}")
    return value


class Command(BaseCommand):
    help = "Serve FlowPilot (embedded mode: with the worker and the scheduler in this process)."

    def add_arguments(self, parser):
        parser.add_argument("--host", default=os.environ.get("HOST", public_url.DEFAULT_HOST))
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "") or public_url.DEFAULT_PORT))
        parser.add_argument("--no-worker", action="store_true", help="Do not start the in-process worker and beat.")
        parser.add_argument("--no-migrate", action="store_true")
        parser.add_argument("--workers", type=int, default=None,
                            help="Web processes in services mode (default: WEB_CONCURRENCY, else one per CPU). "
                                 "The embedded mode always has one: its worker and scheduler live in it.")

    def handle(self, *args, host, port, no_worker, no_migrate, workers, **options):
        import uvicorn

        if not no_migrate:
            call_command("migrate", interactive=False, verbosity=0)
        embedded = not settings.SERVICES_MODE and not no_worker
        if not settings.SERVICES_MODE:
            self._first_user()
            workers = 1
        else:
            workers = web_concurrency(workers)
        connections.close_all()
        # The web's sessions are named flowpilot-web: in this process, and in the processes uvicorn
        # starts (they read the environment anew).
        os.environ["FLOWPILOT_PROCESS_ROLE"] = "web"
        # Links sent out (alerts) without FLOWPILOT_PUBLIC_URL nor a request point here (flowpilot/public_url.py).
        os.environ[public_url.SERVED_URL_ENV] = public_url.served_url(host, port)
        database.use_role("web")
        stop = self._start_worker_and_beat() if embedded else (lambda: None)
        mode = ("embedded (worker and scheduler in this process)" if embedded
                else f"web only, {workers} process{'es' if workers > 1 else ''}")
        self.stdout.write(f"FlowPilot on http://{host}:{port}/  mode: {mode}")
        self.stdout.flush()
        try:
            # uvicorn's own multi-process supervisor when workers > 1 (it needs the app as an import string).
            uvicorn.run("flowpilot.asgi:application", host=host, port=port, lifespan="off", log_level="warning",
                        workers=workers, proxy_headers=True, forwarded_allow_ips=settings.FLOWPILOT_FORWARDED_ALLOW_IPS,
                        timeout_graceful_shutdown=settings.FLOWPILOT_WEB_GRACEFUL_SECONDS,
                        backlog=settings.FLOWPILOT_WEB_BACKLOG)
        finally:
            stop()

    def _first_user(self) -> None:
        """On a fresh embedded install, make an admin and say how to log in."""
        User = get_user_model()
        if User.objects.exists():
            return
        from rest_framework.authtoken.models import Token

        password = secrets.token_urlsafe(12)
        user = User.objects.create_superuser("admin", "admin@localhost", password)
        token = Token.objects.create(user=user)
        from workflows import examples

        workflow, _ = examples.load(owner=user)
        credentials = settings.VAR_DIR / "admin-credentials.txt"
        credentials.write_text(f"username: admin\npassword: {password}\napi token: {token.key}\n")
        credentials.chmod(0o600)
        self.stdout.write(self.style.SUCCESS(
            f"Created user 'admin' with password {password} and API token {token.key}\n"
            f"(saved in {credentials}; change the password at /admin/password_change/)\n"
            f"Loaded the example workflow {workflow.name!r} ({workflow.pk})"))

    def _start_worker_and_beat(self):
        from celery.beat import EmbeddedService

        from flowpilot.celery import app

        worker = app.WorkController(
            app=app, pool="threads", concurrency=settings.FLOWPILOT_EMBEDDED_WORKER_CONCURRENCY,
            hostname=f"embedded@{socket.gethostname()}", queues=["flowpilot.steps", "flowpilot.control"],
            without_heartbeat=True, without_mingle=True, without_gossip=True, loglevel="WARNING")
        threading.Thread(target=worker.start, name="celery-worker", daemon=True).start()
        # The beat schedule lives in the database (django-celery-beat), as in services mode; without
        # scheduler_cls, EmbeddedService would fall back to a shelve file in the working directory.
        beat = EmbeddedService(app, thread=True, scheduler_cls=app.conf.beat_scheduler)
        beat.start()

        def stop() -> None:
            beat.stop()
            worker.stop(in_sighandler=False)

        return stop
