"""The live monitor: WebSocket consumers (auth, ownership, Origin) and the events they forward,
published after each commit; end to end from a real Celery worker process over channels-redis, and
from the embedded server's worker threads over the in-memory layer."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import subprocess
import sys
import time

import httpx
import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.layers import channel_layers, get_channel_layer
from django.test import Client
from rest_framework.authtoken.models import Token
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect as ws_connect

from accounts.services import api_token_create
from flowpilot.asgi import application
from workflows import group_sender, live, services
from workflows.group_sender import GroupSender, sender
from workflows.engine.events import RunLabels
from workflows.models import ExecutionLog, TaskExecution
from workflows.tests.cluster import ROOT, Cluster, flush_broker, wait_for
from workflows.tests.embedded import admin_credentials, free_port
from workflows.tests.factories import active_workflow, step
from workflows.tests.websocket import WebsocketClient

pytestmark = pytest.mark.django_db(transaction=True)  # events are published after commit
ORIGIN = (b"origin", b"http://testserver")
IN_MEMORY = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}


@pytest.fixture(autouse=True)
def sending(monkeypatch):
    """Each test starts with sending on: a pause that an earlier test's Redis restart caused ends here.
    And with a new channel layer: one made before an earlier test restarted Redis keeps connections
    to the old server, and cancelling a receive on them at the end of a test could hang."""
    monkeypatch.setattr(sender, "_paused_until", 0.0)
    channel_layers.backends.clear()


def session_cookie(user) -> tuple[bytes, bytes]:
    client = Client()
    client.force_login(user)
    return b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode()


async def connect(path: str, *headers: tuple[bytes, bytes], origin=ORIGIN) -> WebsocketClient:
    """An accepted connection (which may be closed at once: see close_code)."""
    communicator = WebsocketClient(application, path, headers=[h for h in (origin, *headers) if h])
    connected, _ = await communicator.connect()
    assert connected, f"{path} refused the handshake"
    return communicator


async def close_code(communicator: WebsocketClient) -> int | None:
    """The code the server closed with right after accepting, or None if it keeps the connection."""
    if await communicator.receive_nothing(timeout=0.3):
        await communicator.disconnect()
        return None
    output = await communicator.receive_output()
    assert output["type"] == "websocket.close", output
    # The client answers the close, as a browser does: the consumer ends now, not when the event
    # loop is torn down (cancelling it then could wait on the thread this test runs in: a hang).
    await communicator.disconnect()
    return output["code"]


async def receive_until(communicator: WebsocketClient, event: str, *, timeout: float = 10) -> list[dict]:
    """The events received until (and with) the first `event`."""
    events: list[dict] = []
    deadline = time.monotonic() + timeout
    while not any(e["event"] == event for e in events):
        message = await communicator.receive_json_from(timeout=max(deadline - time.monotonic(), 0.01))
        assert message["type"] == "events" and message["events"], message
        events.extend(message["events"])
    return events


def two_steps(owner, **fields):
    return active_workflow(owner, [step("hello", "log", config={"message": "hi {{ input.name }}"}),
                                   step("add", function="add", kwargs={"a": 1, "b": 2}, depends_on=["hello"])],
                           **fields)


def start_and_run(workflow, sync_executor, **input_data):
    execution, _ = services.execution_start(workflow=workflow, input_data=input_data)
    sync_executor.drain()
    return execution


# --- who may connect --------------------------------------------------------------------------

def test_a_connection_without_a_user_is_closed_with_4401(user):
    workflow = two_steps(user)

    @async_to_sync
    async def scenario():
        for path in ("/ws/executions/", f"/ws/workflows/{workflow.pk}/"):
            assert await close_code(await connect(path)) == 4401

    scenario()


def test_another_users_objects_and_unknown_ids_are_closed_with_4404(user, other_user, sync_executor):
    workflow = two_steps(user)
    execution = start_and_run(workflow, sync_executor)
    mallory = session_cookie(other_user)

    @async_to_sync
    async def scenario():
        for path in (f"/ws/executions/{execution.pk}/", f"/ws/workflows/{workflow.pk}/",
                     "/ws/executions/00000000-0000-0000-0000-000000000000/"):
            assert await close_code(await connect(path, mallory)) == 4404, path

    scenario()


def test_a_foreign_origin_is_refused_at_the_handshake(user):
    alice = session_cookie(user)

    @async_to_sync
    async def scenario():
        for origin in ((b"origin", b"http://evil.example"), None):  # another site; no Origin at all
            communicator = WebsocketClient(application, "/ws/executions/",
                                                 headers=[h for h in (origin, alice) if h])
            connected, _ = await communicator.connect()
            assert not connected
        assert await close_code(await connect("/ws/executions/", alice)) is None  # the same cookie, our origin

    scenario()


def test_api_tokens_authenticate_by_header_or_query_parameter(user):
    _, personal = api_token_create(user=user, name="cli")
    legacy = Token.objects.create(user=user).key
    workflow = two_steps(user)
    path = f"/ws/workflows/{workflow.pk}/"

    @async_to_sync
    async def scenario():
        assert await close_code(await connect(path, (b"authorization", f"Token {personal}".encode()))) is None
        assert await close_code(await connect(path, (b"authorization", f"Token {legacy}".encode()))) is None
        assert await close_code(await connect(f"{path}?token={personal}")) is None
        for bad in (f"{path}?token=fp_nope", f"{path}?token=nope"):
            assert await close_code(await connect(bad)) == 4401
        # A refused key does not fall back on the session.
        session = await sync_to_async(session_cookie)(user)
        assert await close_code(await connect(f"{path}?token=fp_nope", session)) == 4401

    scenario()


# --- what is received ------------------------------------------------------------------------

@pytest.mark.parametrize("layer", ["configured", "in-memory"])
def test_an_execution_streams_its_transitions_and_log_lines_in_order(user, sync_executor, settings, layer):
    """services mode's channels-redis layer, and the embedded mode's in-memory one."""
    if layer == "in-memory":
        settings.CHANNEL_LAYERS = IN_MEMORY
    workflow = two_steps(user)
    execution, _ = services.execution_start(workflow=workflow, input_data={"name": "bo"})  # nothing ran yet
    before = ExecutionLog.objects.filter(execution=execution).latest("id").pk  # published before we connect
    alice = session_cookie(user)

    @async_to_sync
    async def scenario():
        communicator = await connect(f"/ws/executions/{execution.pk}/", alice)
        await sync_to_async(sync_executor.drain)()
        events = await receive_until(communicator, "execution.completed")
        await communicator.disconnect()
        return events

    events = [e for e in scenario() if e["id"] > before]
    assert [(e["event"], e["step_key"], e["status"], e["attempt"]) for e in events] == [
        ("step.started", "hello", "running", 1),
        ("step.log", "hello", None, 1),
        ("step.completed", "hello", "completed", 1),
        ("step.queued", "add", "queued", 1),
        ("step.started", "add", "running", 1),
        ("step.completed", "add", "completed", 1),
        ("execution.completed", "", "completed", None),
    ]
    ids = [e["id"] for e in events]
    assert ids == sorted(ids) and ids == list(ExecutionLog.objects.filter(
        execution=execution, id__gte=ids[0]).values_list("id", flat=True))
    hello = TaskExecution.objects.get(execution=execution, step_key="hello")
    log_line = events[1]
    assert log_line == {
        "id": log_line["id"], "event": "step.log", "level": "info", "message": "hi bo", "step_key": "hello",
        "task_id": str(hello.pk), "execution_id": str(execution.pk), "workflow_id": str(workflow.pk),
        "created_at": log_line["created_at"], "details": {}, "status": None, "attempt": 1,
    }
    assert events[2]["details"] == {"attempt": 1}


def test_the_workflow_and_the_feed_receive_transitions_only(user, other_user, sync_executor):
    workflow = two_steps(user)
    other = two_steps(other_user)
    alice, mallory = session_cookie(user), session_cookie(other_user)

    @async_to_sync
    async def scenario():
        by_workflow = await connect(f"/ws/workflows/{workflow.pk}/", alice)
        feed = await connect("/ws/executions/", alice)
        others_feed = await connect("/ws/executions/", mallory)
        execution = await sync_to_async(start_and_run)(workflow, sync_executor, name="bo")
        received = [await receive_until(c, "execution.completed") for c in (by_workflow, feed)]
        assert await others_feed.receive_nothing(timeout=0.5)  # mallory sees nothing of alice's run...
        await sync_to_async(start_and_run)(other, sync_executor, name="mo")
        mine = await receive_until(others_feed, "execution.completed")  # ...and her own
        for c in (by_workflow, feed, others_feed):
            await c.disconnect()
        return execution, received, mine

    execution, (by_workflow, feed), mine = scenario()
    expected = ["execution.created", "execution.started", "step.queued", "step.started", "step.completed",
                "step.queued", "step.started", "step.completed", "execution.completed"]
    for events in (by_workflow, feed):
        assert [e["event"] for e in events] == expected  # no step.log
        assert {e["execution_id"] for e in events} == {str(execution.pk)}
        assert events[0]["status"] == "pending" and events[1]["status"] == "running"
    assert {e["workflow_id"] for e in mine} == {str(other.pk)}


def test_a_retry_is_announced_with_the_failed_attempt_and_the_step_retrying(user, sync_executor):
    workflow = active_workflow(user, [step("flaky", function="flaky", kwargs={"fail_times": 1},
                                           max_retries=1, retry_base_delay=0)])
    execution, _ = services.execution_start(workflow=workflow, input_data={})
    alice = session_cookie(user)

    @async_to_sync
    async def scenario():
        communicator = await connect(f"/ws/executions/{execution.pk}/", alice)
        await sync_to_async(sync_executor.drain)()
        events = await receive_until(communicator, "step.retry_scheduled")
        await communicator.disconnect()
        return events

    retry = scenario()[-1]
    assert (retry["status"], retry["attempt"], retry["level"]) == ("retrying", 1, "warning")
    assert "next_attempt_at" in retry["details"]


# --- publishing ------------------------------------------------------------------------------

def test_publishing_asks_the_database_at_most_once_per_commit(user, sync_executor, django_assert_num_queries,
                                                              settings, monkeypatch):
    settings.CHANNEL_LAYERS = IN_MEMORY
    runs = [start_and_run(two_steps(user, name=f"wf{i}"), sync_executor) for i in range(2)]
    rows = list(ExecutionLog.objects.filter(execution__in=runs))
    monkeypatch.setattr(live, "owners", live.OwnerCache())
    with django_assert_num_queries(1):
        live.publish(rows)
    with django_assert_num_queries(0):  # an execution's workflow and owner never change: remembered
        live.publish(rows)


def test_a_run_its_writer_labelled_is_remembered_for_its_later_commits(user, sync_executor,
                                                                     django_assert_num_queries, settings, monkeypatch):
    settings.CHANNEL_LAYERS = IN_MEMORY
    run = start_and_run(two_steps(user), sync_executor)
    rows = list(ExecutionLog.objects.filter(execution=run))
    monkeypatch.setattr(live, "owners", live.OwnerCache())
    labelled = ExecutionLog(execution_id=run.pk, event="execution.created", message="m")
    labelled.run_labels = RunLabels(workflow_id=run.workflow_id, workflow_name="wf", owner_id=user.pk)
    with django_assert_num_queries(0):  # the start said whose run it is
        live.publish([labelled])
    with django_assert_num_queries(0):  # and the run's later commits (a claim, a result) need not ask
        live.publish(rows)


def test_messages_go_to_each_group_once_with_the_transitions_beyond_the_execution():
    rows = [ExecutionLog(id=1, execution_id="e1", event="step.started", step_key="a", message="m"),
            ExecutionLog(id=2, execution_id="e1", event="step.log", step_key="a", message="m"),
            ExecutionLog(id=3, execution_id="e2", event="execution.failed", message="m", level="error"),
            ExecutionLog(id=4, execution_id="gone", event="step.started", message="m")]
    rows[0].attempt = 2
    batch = live.messages_for(rows, {"e1": ("w1", 7), "e2": ("w1", 7)})
    ids = {group: [e["id"] for e in events] for group, events in batch.items()}
    assert ids == {"execution_e1": [1, 2], "execution_e2": [3], "workflow_w1": [1, 3], "user_7": [1, 3]}
    started, failed = batch["workflow_w1"]
    assert (started["status"], started["attempt"], failed["status"], failed["attempt"]) == ("running", 2, "failed", None)


def test_commits_made_while_a_send_is_under_way_go_together_in_order(monkeypatch):
    layer = FlakyLayer(failures=0, delay=0.2)
    monkeypatch.setattr(group_sender, "get_channel_layer", lambda: layer)
    publisher = GroupSender()
    publisher.submit({"a": [{"id": 1}]})
    time.sleep(0.05)  # the first send is under way
    for commit in ({"a": [{"id": 2}], "b": [{"id": 2}]}, {"a": [{"id": 3}]}):
        publisher.submit(commit)
    wait_for(lambda: len(layer.messages) == 3, timeout=5, interval=0.01, message="three messages")
    assert [(group, [e["id"] for e in m["events"]]) for group, m in layer.messages] == [
        ("a", [1]), ("a", [2, 3]), ("b", [2])]
    assert {m["type"] for _, m in layer.messages} == {"live.events"}


@pytest.mark.parametrize("layer", ["configured", "in-memory"])
def test_only_groups_with_members_are_sent_to(settings, layer):
    """Nobody watching costs one round trip per send, not one per group."""
    if layer == "in-memory":
        settings.CHANNEL_LAYERS = IN_MEMORY

    @async_to_sync
    async def scenario():
        channel_layer = get_channel_layer()
        channel = await channel_layer.new_channel()
        await channel_layer.group_add("execution_watched", channel)
        try:
            return await group_sender.groups_with_members(channel_layer, ["execution_watched", "execution_alone"])
        finally:
            await channel_layer.group_discard("execution_watched", channel)

    assert scenario() == {"execution_watched"}


class FlakyLayer:
    """A channel layer whose sends fail while `failures` lasts, and take `delay` seconds."""

    def __init__(self, failures: int, delay: float = 0.0):
        self.failures, self.delay, self.messages = failures, delay, []

    async def group_send(self, group: str, message: dict) -> None:
        await asyncio.sleep(self.delay)
        if self.failures:
            self.failures -= 1
            raise ConnectionError("Connection closed by server.")
        self.messages.append((group, message))


def test_a_send_that_fails_once_is_sent_again_and_a_layer_that_keeps_failing_is_paused(monkeypatch):
    stale = FlakyLayer(failures=1)  # a pooled connection from before a Redis restart
    monkeypatch.setattr(group_sender, "get_channel_layer", lambda: stale)
    publisher = GroupSender(pause=60)
    publisher.submit({"a": [{}], "b": [{}]})
    wait_for(lambda: [g for g, _ in stale.messages] == ["a", "b"], timeout=5, interval=0.01, message="both sends")
    assert publisher._paused_until == 0

    down = FlakyLayer(failures=1000)
    monkeypatch.setattr(group_sender, "get_channel_layer", lambda: down)
    publisher.submit({"c": [{}], "d": [{}]})
    wait_for(lambda: publisher._paused_until > 0, timeout=5, interval=0.01, message="the pause")
    publisher.submit({"e": [{}]})
    wait_for(lambda: not publisher._outboxes[publisher._own_loop].draining, timeout=5, interval=0.01,
             message="the outbox to empty")
    assert down.failures == 1000 - 2  # "c" twice; "d" and "e" dropped without a try


def test_a_channel_layer_that_is_down_fails_no_step(user, sync_executor, settings, caplog):
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels_redis.core.RedisChannelLayer",
                                           "CONFIG": {"hosts": ["redis://127.0.0.1:1/0"]}}}
    with caplog.at_level(logging.WARNING, logger="workflows.group_sender"):
        execution = start_and_run(two_steps(user), sync_executor, name="bo")
        execution.refresh_from_db()
        assert execution.status == "completed"
        wait_for(lambda: "the channel layer failed" in caplog.text, timeout=10, interval=0.05,
                 message="the failure to be logged")


# --- services mode, end to end ------------------------------------------------------------------

@pytest.mark.e2e
@pytest.mark.services
def test_a_transition_in_a_worker_process_reaches_a_subscribed_client(user):
    flush_broker()
    cluster = Cluster()
    try:
        cluster.start_worker(concurrency=1)
        workflow = active_workflow(user, [step("nap", function="sleep", kwargs={"seconds": 1})])
        alice = session_cookie(user)

        async def completed(communicator) -> tuple[dict, float]:
            while True:
                for event in (await communicator.receive_json_from(timeout=30))["events"]:
                    if event["event"] == "step.completed":
                        return event, time.time()

        @async_to_sync
        async def scenario():
            feed = await connect("/ws/executions/", alice)
            execution, _ = await sync_to_async(services.execution_start)(workflow=workflow, input_data={})
            watcher = await connect(f"/ws/executions/{execution.pk}/", alice)  # the step sleeps 1 s: in time
            results = [await completed(watcher), await completed(feed)]
            for c in (feed, watcher):
                await c.disconnect()
            return results

        for (event, received_at), where in zip(scenario(), ("execution", "feed")):
            task = TaskExecution.objects.get(pk=event["task_id"])
            assert task.worker_id.startswith("worker@") and event["status"] == "completed"
            delay_ms = (received_at - task.completed_at.timestamp()) * 1000
            print(f"\nworker -> WebSocket client ({where} group): step.completed received "
                  f"{delay_ms:.1f} ms after the step's completed_at")
            assert delay_ms < 5000
    finally:
        cluster.stop()


# --- embedded mode, end to end: uvicorn, the in-memory layer, worker threads ------------------------

@pytest.fixture
def served(tmp_path):
    """`manage.py serve` on SQLite with no Redis (the embedded mode `make run` starts, without its
    frontend build): (port, API token)."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY")}
    env.update(FLOWPILOT_VAR_DIR=str(tmp_path), FLOWPILOT_STEP_MODULES="workflows.tests.functions")
    with open(tmp_path / "serve.log", "w") as log:
        proc = subprocess.Popen([sys.executable, "manage.py", "serve", "--port", str(port)], cwd=ROOT, env=env,
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_for(lambda: (tmp_path / "admin-credentials.txt").exists() and _healthy(port, proc, tmp_path),
                 timeout=120, interval=0.3, message="manage.py serve")
        yield port, admin_credentials(tmp_path)["api token"]
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=15)


def _healthy(port: int, proc, tmp_path) -> bool:
    assert proc.poll() is None, (tmp_path / "serve.log").read_text()
    try:
        return httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def test_the_embedded_server_streams_what_its_worker_threads_do(served):
    port, key = served
    origin, auth = f"http://127.0.0.1:{port}", {"Authorization": f"Token {key}"}
    url = f"ws://127.0.0.1:{port}/ws/executions/"
    with pytest.raises(InvalidStatus):  # the browser of another site
        ws_connect(url, origin="http://evil.example", additional_headers=auth, proxy=None)
    with ws_connect(url, origin=origin, proxy=None) as anonymous, pytest.raises(ConnectionClosed) as closed:
        anonymous.recv(timeout=5)
    assert closed.value.rcvd.code == 4401

    api = httpx.Client(base_url=f"{origin}/api/v1", headers=auth, timeout=10)
    workflow = api.post("/workflows/", json={"name": "live", "status": "active", "steps": [
        {"key": "add", "task_type": "python", "config": {"function": "add", "kwargs": {"a": 1}}}]}).json()
    with ws_connect(url, origin=origin, additional_headers=auth, proxy=None) as feed:
        execution = api.post(f"/workflows/{workflow['id']}/run/", json={"input_data": {}}).json()
        events: list[dict] = []
        while not any(e["event"] == "execution.completed" for e in events):
            events.extend(json.loads(feed.recv(timeout=20))["events"])
    assert {e["execution_id"] for e in events} == {execution["id"]}
    assert [e["event"] for e in events if e["event"].startswith("step.")] == [
        "step.queued", "step.started", "step.completed"]
