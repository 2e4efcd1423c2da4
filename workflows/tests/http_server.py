"""A real HTTP server on 127.0.0.1 for the tests of the outbound HTTP step types, and its fixtures.

Paths: /status/<code>[?retry_after=s&body=text], /slow[?seconds=s], /redirect?to=<url>[&status=307],
/redirect-private, /redirect-local, /big, /slack... (answers "ok" like Slack), /echo-headers (the
request's headers as JSON), /flaky/<name>?fail=N (500 for the first N requests to that name, then as
anything else); anything else answers {"ok": true, "echo": <request body>}.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.cache import cache


class Server:
    def __init__(self):
        self.requests: list[dict] = []
        self.hits: dict[str, int] = {}
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _send(self, status: int, data: bytes = b"", *, content_type: str = "", headers: dict | None = None):
                self.send_response(status)
                for name, value in {**({"Content-Type": content_type} if content_type else {}),
                                    **(headers or {})}.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _answer(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                server.requests.append({"method": self.command, "path": self.path, "headers": dict(self.headers),
                                        "body": body, "at": time.monotonic()})
                parts = urlsplit(self.path)
                path, query = parts.path, {k: v[0] for k, v in parse_qs(parts.query).items()}
                if path.startswith("/flaky/"):
                    server.hits[path] = server.hits.get(path, 0) + 1
                    if server.hits[path] <= int(query.get("fail", 1)):
                        return self._send(500, b"the CRM is down", content_type="text/plain")
                if path == "/slow":
                    time.sleep(float(query.get("seconds", 3)))
                if path.startswith("/status/"):
                    headers = {"Retry-After": query["retry_after"]} if "retry_after" in query else {}
                    return self._send(int(path.rsplit("/", 1)[1]), query.get("body", "").encode(),
                                      content_type="text/plain" if "body" in query else "", headers=headers)
                if path == "/redirect":
                    return self._send(int(query.get("status", 302)), headers={"Location": query["to"]})
                if path == "/redirect-private":
                    return self._send(302, headers={"Location": "http://10.0.0.1/secret"})
                if path == "/redirect-local":
                    return self._send(303, headers={"Location": "/json"})
                if path == "/big":
                    return self._send(200, b"x" * 5000)
                if path.startswith("/slack"):
                    return self._send(200, b"ok", content_type="text/html")
                if path == "/echo-headers":
                    return self._send(200, json.dumps(dict(self.headers)).encode(), content_type="application/json",
                                      headers={"X-Echo-Authorization": self.headers.get("Authorization", "")})
                data = json.dumps({"ok": True, "echo": body.decode() or None}).encode()
                self._send(200, data, content_type="application/json")

            do_GET = do_POST = do_PUT = do_DELETE = _answer

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.httpd.handle_error = lambda request, address: None  # a client that gave up (timeout test)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    s = Server()
    yield s
    s.close()


@pytest.fixture
def other_server():
    s = Server()
    yield s
    s.close()


@pytest.fixture
def allow_loopback(settings):
    settings.FLOWPILOT_HTTP_ALLOWED_NETWORKS = ["127.0.0.0/8"]


@pytest.fixture(autouse=True)
def fresh_circuits():
    """Circuit breaker state lives in the cache: each test starts with every circuit closed."""
    cache.clear()
    yield
    cache.clear()
