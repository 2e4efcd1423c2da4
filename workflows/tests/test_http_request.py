"""The http_request step against a real HTTP server on 127.0.0.1 (allowed by the test's setting)."""

from __future__ import annotations

import base64
import json

import pytest

from workflows.steps import StepContext, StepError, registry
from workflows.tests.http_server import allow_loopback, fresh_circuits, other_server, server  # noqa: F401


SECRETS = {"crm_token": "tok-3f9a1c77e2", "crm_password": "pässword-81b2", "crm_key": "key-5d0e44aa19"}


def secret(name: str) -> str:
    if name not in SECRETS:
        raise StepError(f"credential {name!r} does not exist", retryable=False)
    return SECRETS[name]


def call(config: dict, *, timeout: float = 10) -> dict:
    ctx = StepContext(execution_id="e1", step_key="crm", attempt=1, idempotency_key="e1:crm",
                      timeout_seconds=timeout, input={}, secret=secret)
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


@pytest.mark.parametrize("url", ["file:///etc/passwd", "http://example.com:port/", "http:///path"])
def test_only_http_urls(url, allow_loopback):
    with pytest.raises(StepError, match="must be an http") as error:
        call({"url": url})
    assert not error.value.retryable


def test_a_retry_after_header_sets_the_errors_retry_after(server, allow_loopback):
    with pytest.raises(StepError) as error:
        call({"url": f"{server.url}/status/429?retry_after=7"})
    assert error.value.retryable and error.value.retry_after == 7
    with pytest.raises(StepError) as error:
        call({"url": f"{server.url}/status/400?retry_after=7"})
    assert error.value.retry_after is None


# --- auth from a stored credential -----------------------------------------------------------

def basic(username: str, password: str) -> str:
    return base64.b64encode(f"{username}:{password}".encode()).decode()


def assert_no_secret(value, *secrets: str) -> None:
    text = json.dumps(value, ensure_ascii=False)
    for s in secrets:
        assert s not in text


@pytest.mark.parametrize("auth, header, expected, hidden", [
    ({"type": "bearer", "credential": "crm_token"}, "Authorization", "Bearer tok-3f9a1c77e2", ["tok-3f9a1c77e2"]),
    ({"type": "basic", "credential": "crm_password", "username": "asha"}, "Authorization",
     "Basic " + basic("asha", "pässword-81b2"), ["pässword-81b2", basic("asha", "pässword-81b2")]),
    ({"type": "header", "credential": "crm_key", "header": "X-Api-Key"}, "X-Api-Key", "key-5d0e44aa19",
     ["key-5d0e44aa19"]),
], ids=["bearer", "basic", "header"])
def test_auth_reaches_the_server_and_never_the_output(server, allow_loopback, auth, header, expected, hidden):
    # /echo-headers answers the request's headers in its body and Authorization in a response header.
    out = call({"method": "POST", "url": f"{server.url}/echo-headers", "json": {"a": 1}, "auth": auth})
    sent = server.requests[0]["headers"]
    assert sent[header] == expected and sent["Idempotency-Key"] == "e1:crm"
    assert set(out) == {"status_code", "headers", "body"}
    assert out["body"][header] == {"bearer": "Bearer [redacted]", "basic": "Basic [redacted]",
                                   "header": "[redacted]"}[auth["type"]]
    assert_no_secret(out, *hidden)


def test_the_credential_stays_out_of_errors(server, allow_loopback):
    with pytest.raises(StepError) as error:
        call({"url": f"{server.url}/echo-headers", "success_status": [201],
              "auth": {"type": "bearer", "credential": "crm_token"}})
    assert "answered 200" in error.value.message
    assert_no_secret({"message": error.value.message, "details": error.value.details}, "tok-3f9a1c77e2")
    assert "[redacted]" in error.value.details["body"]


def test_an_unknown_credential_fails_without_a_request(server, allow_loopback):
    with pytest.raises(StepError) as error:
        call({"url": f"{server.url}/json", "auth": {"type": "bearer", "credential": "nope"}})
    assert not error.value.retryable and "nope" in error.value.message
    assert server.requests == []


def test_a_credential_that_cannot_be_a_header_value_is_refused_without_echoing_it(server, allow_loopback):
    SECRETS["broken"] = "line1\r\nX-Injected: yes"
    try:
        with pytest.raises(StepError) as error:
            call({"url": f"{server.url}/json", "auth": {"type": "bearer", "credential": "broken"}})
    finally:
        del SECRETS["broken"]
    assert not error.value.retryable and "Injected" not in error.value.message
    assert server.requests == []


def test_auth_goes_along_same_origin_redirects_but_not_to_another_origin(server, other_server, allow_loopback):
    auth = {"type": "header", "credential": "crm_key", "header": "X-Api-Key"}
    call({"url": f"{server.url}/redirect?to=/json", "auth": auth})
    assert [r["headers"].get("X-Api-Key") for r in server.requests] == ["key-5d0e44aa19"] * 2
    out = call({"url": f"{server.url}/redirect?to={other_server.url}/json", "auth": auth})
    assert out["status_code"] == 200
    assert "X-Api-Key" not in other_server.requests[0]["headers"]
    assert other_server.requests[0]["headers"]["Idempotency-Key"] == "e1:crm"


def test_a_literal_authorization_header_is_not_sent_to_another_origin(server, other_server, allow_loopback):
    call({"url": f"{server.url}/redirect?to={other_server.url}/json", "headers": {"Authorization": "Bearer x"}})
    assert server.requests[0]["headers"]["Authorization"] == "Bearer x"
    assert "Authorization" not in other_server.requests[0]["headers"]


@pytest.mark.parametrize("auth, field", [
    ({"type": "header", "credential": "k"}, "auth.header"),
    ({"type": "basic", "credential": "k"}, "auth.username"),
    ({"type": "bearer"}, "auth.credential"),
    ({"type": "digest", "credential": "k"}, "auth.type"),
    ({"type": "header", "credential": "k", "header": "X Bad"}, "auth.header"),
    ({"type": "basic", "credential": "k", "username": "a:b"}, "auth.username"),
    ({"type": "bearer", "credential": "{{ input.which }}"}, "auth.credential"),
])
def test_auth_config_is_checked_when_saved(auth, field):
    errors = registry.config_errors("http_request", {"url": "https://x.example", "auth": auth}, rendered=False)
    assert field in [path for path, _ in errors], errors


def test_auth_and_a_header_of_the_same_name_conflict():
    errors = registry.config_errors("http_request", {"url": "https://x.example", "headers": {"authorization": "x"},
                                                     "auth": {"type": "bearer", "credential": "k"}}, rendered=False)
    assert errors == [("headers.authorization", "is set by auth; remove it from headers")]
    assert registry.config_errors("http_request", {"url": "https://x.example",
                                                   "auth": {"type": "basic", "credential": "k", "username": "u"}}) == []


def test_a_307_redirect_keeps_method_and_body_and_does_not_repeat_the_query(server, allow_loopback):
    call({"method": "POST", "url": f"{server.url}/redirect?status=307&to=/json%3Fpage%3D2", "json": {"a": 1},
          "query": {"source": "signup"}})
    first, second = server.requests
    assert first["path"] == "/redirect?status=307&to=/json%3Fpage%3D2&source=signup"
    assert (second["method"], second["path"], json.loads(second["body"])) == ("POST", "/json?page=2", {"a": 1})


def test_query_is_added_to_the_urls_own_query(server, allow_loopback):
    call({"url": f"{server.url}/json?page=2&sig=a%2Fb", "query": {"source": "sign up", "n": 3, "all": True}})
    assert server.requests[0]["path"] == "/json?page=2&sig=a%2Fb&source=sign+up&n=3&all=true"


@pytest.mark.django_db(transaction=True)
def test_through_the_engine_a_stored_credential_authenticates_and_is_stored_nowhere(user, server, allow_loopback,
                                                                                    sync_executor):
    from workflows import credentials, services
    from workflows.models import ExecutionLog, TaskExecution
    from workflows.tests.factories import active_workflow, step

    credentials.credential_save(owner=user, name="crm_password", value="pässword-81b2")
    wf = active_workflow(user, [step("crm", "http_request", config={
        "method": "POST", "url": f"{server.url}/echo-headers", "json": {"a": 1},
        "auth": {"type": "basic", "credential": "crm_password", "username": "asha"}})])
    execution, _ = services.execution_start(workflow=wf, input_data={})
    sync_executor.drain()
    assert server.requests[0]["headers"]["Authorization"] == "Basic " + basic("asha", "pässword-81b2")
    task = TaskExecution.objects.get(execution=execution)
    assert task.status == "completed" and task.output["body"]["Authorization"] == "Basic [redacted]"
    stored = json.dumps([list(TaskExecution.objects.filter(execution=execution).values()),
                         list(ExecutionLog.objects.filter(execution=execution).values())], default=str,
                        ensure_ascii=False)
    assert_no_secret(stored, "pässword-81b2", basic("asha", "pässword-81b2"))


@pytest.mark.parametrize("body", [{"order_id": "12345"}, [1, 2], 3.5, True, None])
def test_a_body_that_is_not_a_string_is_sent_as_json(server, allow_loopback, body):
    call({"method": "POST", "url": f"{server.url}/json", "body": body})
    assert json.loads(server.requests[0]["body"]) == body
    assert server.requests[0]["headers"]["Content-Type"] == "application/json"


def test_a_string_body_is_sent_as_it_is_and_a_set_content_type_is_kept(server, allow_loopback):
    call({"method": "POST", "url": f"{server.url}/json", "body": '{"raw": true}'})
    assert server.requests[0]["body"] == b'{"raw": true}' and "Content-Type" not in server.requests[0]["headers"]
    call({"method": "POST", "url": f"{server.url}/json", "body": {"a": 1},
          "headers": {"content-type": "application/vnd.api+json"}})
    sent = {name.lower(): value for name, value in server.requests[1]["headers"].items()}
    assert sent["content-type"] == "application/vnd.api+json"


def test_json_and_body_together_are_refused():
    assert registry.config_errors("http_request", {"url": "https://x.example", "json": {}, "body": {}})
