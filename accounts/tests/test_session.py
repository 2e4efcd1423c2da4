"""Session login for the single-page app: me, login, logout, the CSRF cookie, throttling."""

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from rest_framework.test import APIClient

from accounts.services import api_token_create
from accounts.tests.conftest import with_key
from accounts.throttling import AnonRateThrottle

ME, LOGIN, LOGOUT = "/api/v1/auth/me/", "/api/v1/auth/login/", "/api/v1/auth/logout/"


@pytest.fixture
def carol(db, settings):
    settings.FLOWPILOT_API_RATE_ANON = ""  # the anonymous counter is per address, shared by the whole run
    return get_user_model().objects.create_user("carol", "carol@example.com", "correct horse battery")


def browser() -> APIClient:
    """A client that checks CSRF like a browser's requests are checked."""
    return APIClient(enforce_csrf_checks=True)


def csrf(client: APIClient) -> dict:
    return {"HTTP_X_CSRFTOKEN": client.cookies["csrftoken"].value}


def test_the_app_signs_in_reads_the_user_and_signs_out(carol):
    client = browser()
    anonymous = client.get(ME)
    assert anonymous.status_code == 401 and set(anonymous.json()) == {"message"}
    assert "csrftoken" in client.cookies  # the first answer gives the app its CSRF cookie

    signed_in = client.post(LOGIN, {"username": "carol", "password": "correct horse battery"}, format="json",
                            **csrf(client))
    assert signed_in.status_code == 200
    assert signed_in.json() == {"id": carol.pk, "username": "carol", "email": "carol@example.com", "is_staff": False}
    assert "sessionid" in client.cookies
    assert client.get(ME).json() == signed_in.json()
    # The session now authenticates the API, CSRF-checked for writes (the token was rotated at login).
    assert client.get("/api/v1/workflows/").status_code == 200
    assert client.post("/api/v1/workflows/", {"name": "w"}, format="json").status_code == 403
    assert client.post("/api/v1/workflows/", {"name": "w"}, format="json", **csrf(client)).status_code == 201

    assert client.post(LOGOUT, **csrf(client)).status_code == 204
    assert client.get(ME).status_code == 401


def test_me_says_whether_the_user_is_staff_so_the_app_links_the_admin(carol):
    """The app's menu shows "Admin" to staff only, as the server says; the admin itself decides."""
    client = APIClient()
    client.force_login(carol)
    assert client.get(ME).json()["is_staff"] is False
    assert client.get("/admin/").status_code == 302  # to the admin's login: not for carol
    carol.is_staff = True
    carol.save()
    assert client.get(ME).json()["is_staff"] is True
    assert client.get("/admin/").status_code == 200


def test_bad_credentials_are_a_400_in_the_error_shape(carol):
    client = browser()
    client.get(ME)
    for body in ({"username": "carol", "password": "wrong"}, {"username": "nobody", "password": "x"}):
        answer = client.post(LOGIN, body, format="json", **csrf(client))
        assert answer.status_code == 400
        assert answer.json() == {"message": "Invalid username or password.",
                                 "fields": {"": ["Invalid username or password."]}}
    carol.is_active = False
    carol.save()
    assert client.post(LOGIN, {"username": "carol", "password": "correct horse battery"}, format="json",
                       **csrf(client)).status_code == 400
    missing = client.post(LOGIN, {"username": "carol"}, format="json", **csrf(client))
    assert missing.status_code == 400 and set(missing.json()["fields"]) == {"password"}
    assert "sessionid" not in client.cookies


def test_login_without_the_csrf_token_is_refused(carol):
    answer = browser().post(LOGIN, {"username": "carol", "password": "correct horse battery"}, format="json")
    assert answer.status_code == 403 and answer.json()["message"].startswith("CSRF Failed")


def test_me_answers_for_an_api_token_too(user):
    _, key = api_token_create(user=user, name="cli")
    assert with_key(key).get(ME).json() == {"id": user.pk, "username": "alice", "email": "", "is_staff": False}


def test_login_is_throttled_like_the_rest(carol, settings):
    settings.FLOWPILOT_API_RATE_ANON = "2/minute"
    key = AnonRateThrottle.cache_format % {"scope": "anon", "ident": "127.0.0.1"}
    cache.delete(key)
    try:
        client = APIClient()
        codes = [client.post(LOGIN, {"username": "carol", "password": "no"}, format="json").status_code
                 for _ in range(3)]
        assert codes == [400, 400, 429]
    finally:
        cache.delete(key)
