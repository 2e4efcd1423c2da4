"""The http_request step against a real HTTP server on 127.0.0.1 (allowed by the test's setting)."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from workflows.steps import StepContext, StepError, registry


class Server:
    def __init__(self):
        self.requests: list[dict] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _answer(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                server.requests.append({"method": self.command, "path": self.path, "headers": dict(self.headers),
                                        "body": body})
                path = self.path.split("?")[0]
                if path == "/slow":
                    time.sleep(3)
                if path.startswith("/status/"):
                    self.send_response(int(path.rsplit("/", 1)[1]))
                    self.end_headers()
                    return
                if path == "/redirect-private":
                    self.send_response(302)
                    self.send_header("Location", "http://10.0.0.1/secret")
                    self.end_headers()
                    return
                if path == "/redirect-local":
                    self.send_response(303)
                    self.send_header("Location", "/json")
                    self.end_headers()
                    return
                if path == "/big":
                    data = b"x" * 5000
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                    return
                data = json.dumps({"ok": True, "echo": body.decode() or None}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = _answer

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.httpd.handle_error = lambda request, address: None  # a client that gave up (timeout test)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    s = Server()
    yield s
    s.close()


@pytest.fixture
def allow_loopback(settings):
    settings.FLOWPILOT_HTTP_ALLOWED_NETWORKS = ["127.0.0.0/8"]


def call(config: dict, *, timeout: float = 10) -> dict:
    ctx = StepContext(execution_id="e1", step_key="crm", attempt=1, idempotency_key="e1:crm",
                      timeout_seconds=timeout, input={})
    return registry.get("http_request").execute(config, ctx)


def test_sends_json_headers_query_and_the_idempotency_key(server, allow_loopback):
    out = call({"method": "POST", "url": f"{server.url}/json", "json": {"email": "a@b.c"},
                "headers": {"X-Api-Key": "k"}, "query": {"source": "signup"}})
    assert out["status_code"] == 200 and out["body"]["ok"] is True
    sent = server.requests[0]
    assert sent["path"] == "/json?source=signup"
    assert sent["headers"]["Idempotency-Key"] == "e1:crm" and sent["headers"]["X-Api-Key"] == "k"
    assert json.loads(sent["body"]) == {"email": "a@b.c"}
    assert sent["headers"]["Host"] == server.url.removeprefix("http://")


def test_5xx_is_retryable_and_4xx_is_not(server, allow_loopback):
    with pytest.raises(StepError) as five:
        call({"url": f"{server.url}/status/503"})
    assert five.value.retryable and "answered 503" in five.value.message
    with pytest.raises(StepError) as four:
        call({"url": f"{server.url}/status/400"})
    assert not four.value.retryable
    for status in (408, 429):
        with pytest.raises(StepError) as retry:
            call({"url": f"{server.url}/status/{status}"})
        assert retry.value.retryable


def test_success_status_can_be_configured(server, allow_loopback):
    assert call({"url": f"{server.url}/status/404", "success_status": [200, 404]})["status_code"] == 404


def test_a_timeout_is_a_retryable_error(server, allow_loopback):
    with pytest.raises(StepError) as error:
        call({"url": f"{server.url}/slow", "timeout": 0.5})
    assert error.value.retryable and "timed out" in error.value.message


def test_redirects_are_followed_and_each_hop_is_checked(server, allow_loopback):
    assert call({"url": f"{server.url}/redirect-local"})["body"]["ok"] is True
    with pytest.raises(StepError) as error:
        call({"url": f"{server.url}/redirect-private"})
    assert not error.value.retryable and "10.0.0.1" in error.value.message


def test_the_response_size_is_capped(server, allow_loopback, settings):
    settings.FLOWPILOT_HTTP_MAX_RESPONSE_BYTES = 1000
    with pytest.raises(StepError, match="exceeds 1000 bytes"):
        call({"url": f"{server.url}/big"})


@pytest.mark.parametrize("url", ["http://127.0.0.1:9/", "http://10.1.2.3/", "http://192.168.1.1/",
                                 "http://169.254.169.254/latest/meta-data/", "http://[::1]/",
                                 "http://localhost/", "http://0.0.0.0/"])
def test_private_loopback_and_metadata_addresses_are_refused_by_default(url, settings):
    settings.FLOWPILOT_HTTP_ALLOWED_NETWORKS = []
    with pytest.raises(StepError) as error:
        call({"url": url})
    assert not error.value.retryable and "refused" in error.value.message


def test_a_name_resolving_to_loopback_is_refused(server, settings):
    settings.FLOWPILOT_HTTP_ALLOWED_NETWORKS = []
    port = server.url.rsplit(":", 1)[1]
    with pytest.raises(StepError, match=r"localhost resolves to (127\.0\.0\.1|::1)"):
        call({"url": f"http://localhost:{port}/json"})
    assert server.requests == []


def test_only_http_urls(allow_loopback):
    with pytest.raises(StepError, match="http"):
        call({"url": "file:///etc/passwd"})
