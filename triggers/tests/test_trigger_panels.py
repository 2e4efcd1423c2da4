"""The API behind the designer's trigger panels: a schedule previewed in words with its DST changes,
a webhook's secret revealed, its next delivery captured ("listen"), its recent deliveries listed."""

import json
from datetime import datetime, timezone as dt_timezone

import pytest
from django.test import Client

from triggers import cron, deliveries, services
from triggers.models import RefusedDelivery, Trigger
from triggers.tests.conftest import create
from workflows.models import WorkflowExecution

UTC = dt_timezone.utc


def deliver(hook, body: bytes, *, secret=None, **headers):
    if secret:
        headers["HTTP_X_FLOWPILOT_SIGNATURE"] = services.sign(secret, body)
    return Client().post(hook["url"], body, content_type="application/json", **headers)


# --- schedules ---------------------------------------------------------------------------------------

def test_the_preview_marks_the_spring_dst_change_and_the_skipped_wall_time():
    after = datetime(2026, 3, 27, 12, 0, tzinfo=UTC)
    fires = cron.preview("30 2 * * *", "Europe/Paris", after, 4)
    assert [f["at"] for f in fires] == ["2026-03-28T02:30:00+01:00", "2026-03-29T03:30:00+02:00",
                                        "2026-03-30T02:30:00+02:00", "2026-03-31T02:30:00+02:00"]
    assert [f["dst_change"] for f in fires] == [None, "clocks changed from UTC+01:00 to UTC+02:00", None, None]
    assert [f["skipped_wall_time"] for f in fires] == [False, True, False, False]
    autumn = cron.preview("0 9 * * *", "Europe/Paris", datetime(2026, 10, 24, 12, 0, tzinfo=UTC), 2)
    assert [f["utc"] for f in autumn] == ["2026-10-25T08:00:00+00:00", "2026-10-26T08:00:00+00:00"]
    assert autumn[0]["dst_change"] == "clocks changed from UTC+02:00 to UTC+01:00"


def test_the_preview_endpoint_answers_words_and_fire_times_in_the_zone(api):
    response = api.post("/api/v1/triggers/preview/", {"cron": "0 9 * * 1-5", "timezone": "America/New_York",
                                                      "count": 7}, format="json")
    assert response.status_code == 200, response.data
    assert response.data["description"] == "At 09:00, Monday through Friday"
    assert len(response.data["next"]) == 7
    for fire in response.data["next"]:
        at = datetime.fromisoformat(fire["at"])
        assert (at.hour, at.minute) == (9, 0) and at.isoweekday() <= 5
        assert fire["offset"] in ("UTC-05:00", "UTC-04:00")


@pytest.mark.parametrize("body, field", [
    ({"cron": "61 * * * *"}, "cron"),
    ({"cron": "* * *"}, "cron"),
    ({"cron": "0 9 * * *", "timezone": "Mars/Olympus"}, "timezone"),
    ({"cron": "0 9 * * *", "count": 51}, "count"),
    ({"cron": "0 9 * * *", "count": 0}, "count"),
    ({"cron": "x" * 201}, "cron"),
])
def test_a_bad_preview_is_a_400_naming_the_field(api, body, field):
    response = api.post("/api/v1/triggers/preview/", body, format="json")
    assert response.status_code == 400, response.data
    assert field in json.dumps(response.data)


# --- webhooks: the secret, listening, deliveries ------------------------------------------------------

def test_the_owner_can_reveal_the_secret_and_others_cannot(api, workflow, other_user):
    hook = create(api, workflow, type="webhook")
    assert api.post(f"/api/v1/triggers/{hook['id']}/reveal-secret/").data == {"secret": hook["secret"]}
    api.force_authenticate(other_user)
    assert api.post(f"/api/v1/triggers/{hook['id']}/reveal-secret/").status_code == 404
    assert api.post(f"/api/v1/triggers/{hook['id']}/listen/").status_code == 404
    assert api.get(f"/api/v1/triggers/{hook['id']}/deliveries/").status_code == 404


def test_listen_captures_the_next_delivery_which_still_runs(api, workflow):
    hook = create(api, workflow, type="webhook", include_headers=["X-Source"])
    url = f"/api/v1/triggers/{hook['id']}/listen/"
    assert api.get(url).data == {"listening": False, "expires_at": None, "capture": None}
    armed = api.post(url).data
    assert armed["listening"] is True and armed["capture"] is None
    assert api.get(url).data["listening"] is True
    first = deliver(hook, b'{"name": "Ada"}', secret=hook["secret"], HTTP_X_SOURCE="shop",
                    HTTP_AUTHORIZATION="Bearer private")
    assert first.status_code == 202
    deliver(hook, b'{"name": "Bob"}', secret=hook["secret"])  # the capture keeps the first
    state = api.get(url).data
    assert state["listening"] is False
    capture = state["capture"]
    assert capture["status_code"] == 202 and capture["message"] == ""
    assert capture["input"]["name"] == "Ada" and capture["input"]["_webhook"]["headers"] == {"X-Source": "shop"}
    assert capture["headers"]["Authorization"] == "[redacted]"
    assert WorkflowExecution.objects.get(pk=first.json()["execution_id"]).input["name"] == "Ada"  # it ran
    assert WorkflowExecution.objects.count() == 2
    assert api.delete(url).status_code == 204
    assert api.get(url).data["capture"] is None


def test_listen_captures_a_refused_delivery_with_its_reason_and_raw_body(api, workflow):
    hook = create(api, workflow, type="webhook")
    api.post(f"/api/v1/triggers/{hook['id']}/listen/")
    assert deliver(hook, b'{"name": "Eve"}', secret="not-the-secret").status_code == 401
    capture = api.get(f"/api/v1/triggers/{hook['id']}/listen/").data["capture"]
    assert capture["status_code"] == 401 and "signature does not match" in capture["message"]
    assert capture["input"] is None and capture["body_text"] == '{"name": "Eve"}'
    assert not WorkflowExecution.objects.exists()


def test_a_delivery_while_nobody_listens_is_not_captured(api, workflow):
    hook = create(api, workflow, type="webhook")
    deliver(hook, b"{}", secret=hook["secret"])
    api.post(f"/api/v1/triggers/{hook['id']}/listen/")
    assert api.get(f"/api/v1/triggers/{hook['id']}/listen/").data["capture"] is None


def test_only_a_webhook_listens_or_has_deliveries_or_a_secret(api, workflow):
    schedule = create(api, workflow, type="schedule", cron="0 9 * * *")
    for method, path in [("post", "listen/"), ("get", "listen/"), ("get", "deliveries/"), ("post", "reveal-secret/")]:
        response = getattr(api, method)(f"/api/v1/triggers/{schedule['id']}/{path}")
        assert response.status_code == 409, (path, response.data)


def test_deliveries_list_runs_and_refusals_newest_first(api, workflow):
    hook = create(api, workflow, type="webhook")
    other = create(api, workflow, type="webhook")
    ok = deliver(hook, b'{"n": 1}', secret=hook["secret"]).json()
    assert deliver(hook, b'{"n": 2}').status_code == 401
    assert deliver(hook, b"not json", secret=hook["secret"]).status_code == 400
    deliver(other, b'{"n": 3}', secret=other["secret"])  # another webhook's run: not listed
    rows = api.get(f"/api/v1/triggers/{hook['id']}/deliveries/").data
    assert [(r["accepted"], r["status_code"]) for r in rows] == [(False, 400), (False, 401), (True, 202)]
    assert rows[2]["execution_id"] == ok["execution_id"] and rows[2]["execution_status"]
    assert "missing X-FlowPilot-Signature" in rows[1]["message"]
    assert len(api.get(f"/api/v1/triggers/{hook['id']}/deliveries/?limit=2").data) == 2
    for bad in ("0", "51", "x", "-1"):
        assert api.get(f"/api/v1/triggers/{hook['id']}/deliveries/?limit={bad}").status_code == 400


def test_refused_deliveries_are_kept_to_a_bound_and_rate_limited_ones_not_at_all(api, workflow, settings):
    hook = create(api, workflow, type="webhook")
    trigger = Trigger.objects.get(pk=hook["id"])
    for _ in range(deliveries.KEEP_REFUSED + 5):
        deliveries.refusal_record(trigger=trigger, status_code=401, message="bad signature")
    assert RefusedDelivery.objects.filter(trigger=trigger).count() == deliveries.KEEP_REFUSED
    RefusedDelivery.objects.all().delete()
    settings.FLOWPILOT_WEBHOOK_RATE = 2
    codes = [deliver(hook, b"{}").status_code for _ in range(5)]
    assert codes == [401, 401, 429, 429, 429]
    assert RefusedDelivery.objects.count() == 2


def test_with_the_cache_down_listening_is_a_503_and_deliveries_go_on_uncaptured(api, workflow, settings):
    hook = create(api, workflow, type="webhook")
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                   "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens there
                                   "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2}}}
    response = api.post(f"/api/v1/triggers/{hook['id']}/listen/")
    assert response.status_code == 503 and "cache is unavailable" in response.data["message"]
    assert api.get(f"/api/v1/triggers/{hook['id']}/listen/").status_code == 503
    assert deliver(hook, b'{"name": "Ada"}', secret=hook["secret"]).status_code == 202
