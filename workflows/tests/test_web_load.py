"""The web tier under load, tried from outside as users meet it: the real `manage.py serve` (two web
processes), real Celery worker and beat processes, PostgreSQL and Redis, driven over HTTP by many
concurrent clients (benchmarks/httpload.py), never through the test client.

What must hold: no 5xx; every accepted trigger is one run, and it completes; the web's PostgreSQL
sessions stay within its pools (web processes x FLOWPILOT_DB_POOL_MAX) during and after the load,
idle polling included; and a PostgreSQL restart under load costs the clients a few 503s with
Retry-After (which they repeat with their idempotency key), never a 500, a lost run or a duplicate.
The restart uses a PostgreSQL cluster and a Redis of this test's own.
"""

from __future__ import annotations

import contextlib
import json
import re
import subprocess
import sys
import threading
import time
from urllib.parse import urlsplit

import httpx
import psycopg
import pytest
from django.db import connection
from rest_framework.authtoken.models import Token
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect as ws_connect

from benchmarks.httpload import Request, run_load
from triggers.services import sign
from workflows.models import Workflow, WorkflowExecution
from workflows.engine.planner.states import ExecutionStatus as E
from workflows.tests.cluster import (
    ROOT,
    Cluster,
    OwnPostgres,
    OwnRedis,
    Sampler,
    database_url,
    flush_broker,
    pg_connections,
    wait_for,
)
from workflows.tests.factories import active_workflow, step

pytestmark = [pytest.mark.e2e, pytest.mark.services, pytest.mark.django_db(transaction=True),
              pytest.mark.xdist_group("test_web_load")]  # one process runs the module: one worker fixture

WEB_PROCESSES = 2
POOL_MAX = 4  # FLOWPILOT_DB_POOL_MAX for the web processes of these tests
WEB_BOUND = WEB_PROCESSES * POOL_MAX
STACK_ENV = {"FLOWPILOT_DB_POOL_MAX": str(POOL_MAX), "FLOWPILOT_API_RATE_USER": "",
             "FLOWPILOT_WEBHOOK_RATE": "100000",
             # /health sees a worker and the beat within a second or two, and misses them after 6 s
             "FLOWPILOT_PRESENCE_SECONDS": "1", "FLOWPILOT_BEAT_TICK_SECONDS": "1",
             "FLOWPILOT_HEALTH_WORKER_SECONDS": "6", "FLOWPILOT_HEALTH_BEAT_SECONDS": "6"}


@pytest.fixture(scope="module")
def stack(django_db_setup, django_db_blocker):
    """Web, worker and beat against the test database and Redis, for the tests of this module (each
    test's data is flushed after it; the processes keep nothing); answers (cluster, base URL)."""
    flush_broker()
    cluster = Cluster(**STACK_ENV)
    try:
        cluster.start_beat()
        cluster.start_worker("w1", concurrency=2)
        yield cluster, cluster.start_web(workers=WEB_PROCESSES)
    finally:
        cluster.stop()


def web_sessions() -> int:
    """The web processes' sessions on the test database."""
    admin = database_url().rsplit("/", 1)[0] + "/postgres"
    return pg_connections(admin, database=connection.settings_dict["NAME"], application_name="flowpilot-web")


def connection_owners(port: int) -> set[int]:
    """The processes holding the established connections to `port` (ss -tnp)."""
    listed = subprocess.run(["ss", "-Htnp", "state", "established", f"( sport = :{port} )"], capture_output=True,
                            text=True, check=True).stdout
    return {int(pid) for pid in re.findall(r"pid=(\d+)", listed)}


def auth(user) -> dict[str, str]:
    return {"Authorization": f"Token {Token.objects.create(user=user).key}"}


def two_steps(user, name: str):
    return active_workflow(user, [step("welcome", function="noop"),
                                  step("crm", function="noop", depends_on=["welcome"])], name=name)


def all_completed(workflow, total: int) -> bool:
    return WorkflowExecution.objects.filter(workflow=workflow, status=E.COMPLETED).count() == total


def test_500_concurrent_triggers_make_500_runs_that_complete(user, stack):
    """The seeds' 11:30: 500 signups sent at once through the API."""
    _, url = stack
    workflow, headers = two_steps(user, "signup"), auth(user)

    def trigger(i: int) -> Request:
        return Request("POST", "/api/v1/executions/", headers=headers, json={
            "workflow_id": str(workflow.pk), "input_data": {"email": f"user{i}@example.com"},
            "idempotency_key": f"signup-{i}"})

    with Sampler(web_sessions) as sessions:
        result = run_load(url, requests=trigger, clients=500, count=500, seconds=300)
    print(f"\n500 clients: {result.summary()}; web sessions peak {sessions.peak} (bound {WEB_BOUND})")
    assert result.server_errors == [], result.server_errors[:3]
    assert result.statuses == {201: 500}
    assert len({a.body["id"] for a in result.answers}) == 500
    wait_for(lambda: all_completed(workflow, 500), timeout=240, interval=0.5, message="all 500 runs to complete")
    assert WorkflowExecution.objects.filter(workflow=workflow).count() == 500
    assert 0 < sessions.peak <= WEB_BOUND
    assert web_sessions() <= WEB_BOUND


def test_100_concurrent_clients_reading_and_listing_get_no_5xx(user, stack):
    """The issue's first finding: 300 triggers and reads from 100 clients gave 234 answers of 500."""
    _, url = stack
    workflow, headers = two_steps(user, "mixed"), auth(user)

    def mixed(i: int) -> Request:
        if i % 3 == 0:
            return Request("POST", "/api/v1/executions/", headers=headers, json={
                "workflow_id": str(workflow.pk), "input_data": {"i": i}, "idempotency_key": f"mixed-{i}"})
        if i % 3 == 1:
            return Request("GET", f"/api/v1/executions/?workflow={workflow.pk}&limit=50", headers=headers)
        return Request("GET", f"/api/v1/workflows/{workflow.pk}/", headers=headers)

    with Sampler(web_sessions) as sessions:
        result = run_load(url, requests=mixed, clients=100, count=600, seconds=300)
    print(f"\nmixed, 100 clients: {result.summary()}; web sessions peak {sessions.peak}")
    assert result.server_errors == [], result.server_errors[:3]
    assert result.statuses == {201: 200, 200: 400}
    ids = [a.body["id"] for a in result.answers if a.status == 201]
    details = run_load(url, clients=100, count=len(ids), requests=iter(
        Request("GET", f"/api/v1/executions/{pk}/", headers=headers) for pk in ids))
    assert details.statuses == {200: 200} and {a.body["id"] for a in details.answers} == set(ids)
    wait_for(lambda: all_completed(workflow, 200), timeout=120, interval=0.5, message="the 200 runs to complete")
    assert 0 < sessions.peak <= WEB_BOUND


def test_100_concurrent_deliveries_of_one_webhook_event_make_one_run(user, stack):
    """A sender that retries one event (one Idempotency-Key) 100 times at once; each try signed anew."""
    _, url = stack
    workflow, headers = two_steps(user, "hooked"), auth(user)
    hook = httpx.post(f"{url}/api/v1/workflows/{workflow.pk}/triggers/", headers=headers,
                      json={"type": "webhook"}).json()
    path, body = urlsplit(hook["url"]).path, json.dumps({"event": "signup", "email": "ada@example.com"}).encode()
    now = int(time.time())

    def delivery(i: int) -> Request:
        return Request("POST", path, body=body, headers={
            "Content-Type": "application/json", "Idempotency-Key": "evt_1",
            "X-FlowPilot-Signature": sign(hook["secret"], body, now - i)})

    with Sampler(web_sessions) as sessions:
        result = run_load(url, requests=delivery, clients=100, count=100, seconds=120)
    print(f"\nwebhook, 100 clients: {result.summary()}; web sessions peak {sessions.peak}")
    assert result.server_errors == [], result.server_errors[:3]
    assert result.statuses == {202: 100}
    assert len({a.body["execution_id"] for a in result.answers}) == 1
    assert sum(a.body["created"] for a in result.answers) == 1
    assert WorkflowExecution.objects.filter(workflow=workflow).count() == 1
    wait_for(lambda: all_completed(workflow, 1), timeout=60, message="the run to complete")
    assert 0 < sessions.peak <= WEB_BOUND


def test_idle_polling_leaves_the_web_sessions_flat(stack):
    """An hour of a monitor polling /health every 2 s, compressed: 2,000 requests from 4 clients."""
    _, url = stack
    # The worker and the beat are seen again (each test's data, their heartbeats too, is flushed after it).
    wait_for(lambda: httpx.get(f"{url}/health").status_code == 200, timeout=30, message="workers and beat seen")
    run_load(url, clients=4, count=100, requests=lambda i: Request("GET", "/health"))  # warm: pools at work size
    before = web_sessions()
    with Sampler(web_sessions) as sessions:
        result = run_load(url, clients=4, count=2000, seconds=300, requests=lambda i: Request("GET", "/health"))
    after = web_sessions()
    print(f"\nidle polling: {result.summary()}; web sessions {before} before, peak {sessions.peak}, {after} after")
    assert result.server_errors == [] and set(result.statuses) == {200}
    assert len(result.answers) == 2000
    assert sessions.peak <= WEB_BOUND and after <= WEB_BOUND
    assert after <= max(before, WEB_PROCESSES * 4)  # at most the 4 clients' worth per process: no growth


def test_the_health_routes_answer_as_orchestrators_expect(stack):
    cluster, url = stack
    assert httpx.get(f"{url}/health/live").json() == {"status": "live"}
    ready = httpx.get(f"{url}/health/ready")
    assert ready.status_code == 200 and ready.json() == {"status": "ready", "database": "ok", "broker": "ok",
                                                                "redis": "ok"}  # redis: the broker, as seed 002 names it
    wait_for(lambda: httpx.get(f"{url}/health").status_code == 200, timeout=30, message="workers and beat seen")
    cluster.kill("beat")  # a missing beat is for monitoring to see; the web still serves
    try:
        wait_for(lambda: httpx.get(f"{url}/health").status_code == 503, timeout=60, interval=1,
                 message="/health to miss the beat")
        assert httpx.get(f"{url}/health/ready").status_code == 200
    finally:
        cluster.start_beat()  # for the tests after this one


def test_live_updates_reach_websockets_on_every_web_process(user, stack):
    """Eight feeds on a two-process web land on both processes; a run started over HTTP and run
    by a worker process reaches each of them through Redis. (Which process accepts a connection is the
    kernel's choice: on a busy machine the one that is awake can take a burst of eight, so more feeds
    are opened, up to 64, until both processes hold some.)"""
    _, url = stack
    workflow, headers = two_steps(user, "live"), auth(user)
    port = urlsplit(url).port
    with contextlib.ExitStack() as open_feeds:
        feeds: list = []
        while len(feeds) < 8 or (len(connection_owners(port)) < WEB_PROCESSES and len(feeds) < 64):
            feeds.append(open_feeds.enter_context(ws_connect(url.replace("http", "ws") + "/ws/executions/",
                                                             origin=url, additional_headers=headers, proxy=None)))
        assert len(connection_owners(port)) == WEB_PROCESSES  # the feeds are on both processes
        started = httpx.post(f"{url}/api/v1/executions/", headers=headers,
                             json={"workflow_id": str(workflow.pk), "input_data": {}}).json()
        for feed in feeds:
            events: list[dict] = []
            while not any(e["event"] == "execution.completed" for e in events):
                events.extend(json.loads(feed.recv(timeout=30))["events"])
            assert {e["execution_id"] for e in events} == {started["id"]}


def test_a_script_opens_a_websocket_with_a_token_and_no_origin(user, stack):
    """Issue 12, finding 9: a client that sent no Origin was refused even with a valid token. Scripts
    send none; a browser always does, and its Origin is still checked (another site's page, with the
    visitor's credentials, is refused at the handshake)."""
    _, url = stack
    workflow, headers = two_steps(user, "scripted"), auth(user)
    feed_url = url.replace("http", "ws") + "/ws/executions/"
    with ws_connect(feed_url, additional_headers=headers, proxy=None) as feed:  # no Origin header
        started = httpx.post(f"{url}/api/v1/executions/", headers=headers,
                             json={"workflow_id": str(workflow.pk), "input_data": {}}).json()
        events: list[dict] = []
        while not any(e["event"] == "execution.completed" for e in events):
            events.extend(json.loads(feed.recv(timeout=30))["events"])
        assert {e["execution_id"] for e in events} == {started["id"]}
    key = headers["Authorization"].split()[1]
    with ws_connect(f"{feed_url}?token={key}", proxy=None) as feed:  # the query parameter, no Origin
        feed.ping().wait(timeout=10)

    for refused in ({"origin": "http://evil.example", "additional_headers": headers},  # another site
                    {}):  # no Origin and no token: a cookie alone needs our Origin
        with pytest.raises(InvalidStatus) as denied:
            ws_connect(feed_url, proxy=None, **refused)
        assert denied.value.response.status_code == 403
    with ws_connect(feed_url, additional_headers={"Authorization": "Token not-a-key"}, proxy=None) as feed, \
            pytest.raises(ConnectionClosed) as closed:  # a wrong token: anonymous, refused
        feed.recv(timeout=10)
    assert closed.value.rcvd.code == 4401


def test_the_api_docs_and_schema_need_a_login(user, stack):
    """Issue 12, finding 9: they answered anyone, though the README said only /health was open."""
    _, url = stack
    headers = auth(user)
    for path in ("/api/v1/docs/", "/api/v1/schema/"):
        assert httpx.get(f"{url}{path}").status_code == 401, path
        assert httpx.get(f"{url}{path}", headers=headers).status_code == 200, path


def test_a_body_over_the_limit_is_413_before_the_database(user, stack):
    _, url = stack
    headers = auth(user)
    huge = b'{"workflow_id": "x", "input_data": {"pad": "' + b"x" * (2 * 1024 * 1024) + b'"}}'
    answer = httpx.post(f"{url}/api/v1/executions/", content=huge,
                        headers={**headers, "Content-Type": "application/json"})
    assert answer.status_code == 413 and "larger than 1048576 bytes" in answer.json()["message"]

    def chunks():  # no Content-Length: counted as it arrives
        for _ in range(40):
            yield b"x" * 65536

    streamed = httpx.post(f"{url}/api/v1/executions/", content=chunks(),
                          headers={**headers, "Content-Type": "application/json"})
    assert streamed.status_code == 413
    assert not WorkflowExecution.objects.exists()


def test_a_workflow_definition_has_a_larger_limit_of_its_own(user, stack):
    """A definition may hold up to FLOWPILOT_MAX_WORKFLOW_STEPS steps with their configs and positions,
    which the designer saves whole: its routes take FLOWPILOT_MAX_DEFINITION_BYTES (16 MiB), every other
    route keeps FLOWPILOT_MAX_REQUEST_BYTES (1 MiB)."""
    _, url = stack
    headers = {**auth(user), "Content-Type": "application/json"}
    steps = [{"key": f"s{i}", "task_type": "log", "config": {"message": "x" * 1000},
              "depends_on": [f"s{i - 1}"] if i else [], "position": {"x": i * 250, "y": 0}} for i in range(2000)]
    body = json.dumps({"name": "big", "steps": steps}).encode()
    assert 1024 * 1024 < len(body) < 16 * 1024 * 1024
    made = httpx.post(f"{url}/api/v1/workflows/", content=body, headers=headers, timeout=60)
    assert made.status_code == 201, made.text[:500]
    saved = httpx.put(f"{url}/api/v1/workflows/{made.json()['id']}/", content=body, headers=headers, timeout=60)
    assert saved.status_code == 200, saved.text[:500]
    assert Workflow.objects.get(pk=made.json()["id"]).steps.count() == 2000
    huge = b'{"name": "huge", "description": "' + b"x" * (16 * 1024 * 1024) + b'"}'
    refused = httpx.post(f"{url}/api/v1/workflows/", content=huge, headers=headers, timeout=60)
    assert refused.status_code == 413 and "larger than 16777216 bytes" in refused.json()["message"]
    assert not Workflow.objects.filter(name="huge").exists()


# --- PostgreSQL restarted under load ----------------------------------------------------------------

def manage(env: dict, *args: str) -> str:
    done = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=180)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


SETUP = """
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token
from websockets.sync.client import connect as ws_connect
user = get_user_model().objects.create_user("ops")
print(Token.objects.create(user=user).key)
"""


@pytest.fixture
def own_services():
    postgres, redis = OwnPostgres(), OwnRedis()
    try:
        yield postgres, redis
    finally:
        redis.stop()
        postgres.drop()


def test_a_postgresql_restart_under_load_loses_and_duplicates_nothing(own_services):
    postgres, redis = own_services
    database = postgres.create_database("flowpilot")
    cluster = Cluster(DATABASE_URL=database, REDIS_URL=redis.url, FLOWPILOT_LEASE_SECONDS="3", **STACK_ENV)
    manage(cluster.env, "migrate", "--noinput")
    token = manage(cluster.env, "shell", "-c", SETUP).strip().splitlines()[-1]
    headers = {"Authorization": f"Token {token}"}
    try:
        cluster.start_beat()
        cluster.start_worker("w1", concurrency=2)
        url = cluster.start_web(workers=WEB_PROCESSES)
        created = httpx.post(f"{url}/api/v1/workflows/", headers=headers, json={
            "name": "restart", "status": "active", "steps": [
                {"key": "one", "task_type": "python", "config": {"function": "noop"}},
                {"key": "two", "task_type": "python", "config": {"function": "noop"}, "depends_on": ["one"]}]})
        assert created.status_code == 201, created.text
        workflow_id = created.json()["id"]

        def trigger(i: int) -> Request:
            return Request("POST", "/api/v1/executions/", headers=headers, json={
                "workflow_id": workflow_id, "input_data": {"i": i}, "idempotency_key": f"run-{i}"})

        def runs_started() -> int:
            try:
                with psycopg.connect(database, connect_timeout=2) as conn:
                    return conn.execute("SELECT count(*) FROM workflows_workflowexecution").fetchone()[0]
            except psycopg.OperationalError:
                return 0

        # 600 triggers from 50 clients; PostgreSQL restarts (every session cut) while they arrive.
        begin, outcome = time.monotonic(), {}
        load = threading.Thread(target=lambda: outcome.update(result=run_load(
            url, clients=50, count=600, seconds=240, requests=trigger)))
        load.start()
        wait_for(lambda: runs_started() >= 150, timeout=120, interval=0.1, message="150 runs before the restart")
        postgres.restart()
        load.join(timeout=300)
        answers = outcome["result"].answers
        statuses = {a.status for a in answers}
        print(f"\nrestart under load: {len(answers)} triggers in {time.monotonic() - begin:.1f} s, "
              f"answers {sorted(statuses)}; 503s {sum(a.status == 503 for a in answers)}")
        assert 500 not in statuses and 0 not in statuses, [a for a in answers if a.status in (0, 500)][:3]
        for answer in answers:
            if answer.status == 503:
                assert answer.body["message"].startswith("The database is busy or unavailable")

        # A careful client repeats what was refused, with the same idempotency key.
        refused = [a.request for a in answers if a.status not in (200, 201)]
        for _ in range(30):
            if not refused:
                break
            time.sleep(1)
            again = run_load(url, clients=20, count=len(refused), requests=iter(refused))
            assert not [a for a in again.answers if a.status in (0, 500)]
            refused = [a.request for a in again.answers if a.status not in (200, 201)]
        assert refused == [], f"{len(refused)} triggers still refused after 30 s"

        with psycopg.connect(database) as conn:
            def counts() -> dict:
                return dict(conn.execute("SELECT status, count(*) FROM workflows_workflowexecution "
                                         "GROUP BY status").fetchall())

            wait_for(lambda: counts() == {"completed": 600}, timeout=180, interval=1,
                     message="all 600 runs to complete after the restart")
            duplicate_keys = conn.execute("SELECT count(*) - count(DISTINCT idempotency_key) "
                                          "FROM workflows_workflowexecution").fetchone()[0]
            steps_done = conn.execute("SELECT count(*) FROM workflows_taskexecution "
                                      "WHERE status = 'completed'").fetchone()[0]
        assert duplicate_keys == 0
        assert steps_done == 1200  # each run's two steps completed once
        assert httpx.get(f"{url}/health/ready").status_code == 200
    finally:
        cluster.stop()
