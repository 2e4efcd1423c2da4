"""Personal API tokens: created with a key answered once, stored as a hash, several per user,
revoked, expired, a user's own only; DRF's authtoken keys keep working beside them."""

import hashlib
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from accounts import services
from accounts.models import ApiToken
from accounts.tests.conftest import with_key


def create(api, **data):
    response = api.post("/api/v1/tokens/", {"name": "ci", **data}, format="json")
    assert response.status_code == 201, response.data
    return response.data


def test_the_key_is_answered_once_and_only_its_hash_is_stored(api, user):
    created = create(api, name="ci")
    key = created["key"]
    assert key.startswith("fp_") and created["prefix"] == key[:11] and created["active"] is True
    token = ApiToken.objects.get(pk=created["id"])
    assert token.user == user and token.name == "ci"
    assert token.key_hash == hashlib.sha256(key.encode()).hexdigest()
    assert not any(key in str(getattr(token, f.attname)) for f in ApiToken._meta.fields)
    listed = api.get("/api/v1/tokens/").data["results"]
    assert [t["id"] for t in listed] == [created["id"]] and "key" not in listed[0]
    assert "key" not in api.get(f"/api/v1/tokens/{created['id']}/").data

    response = with_key(key).get("/api/v1/workflows/")
    assert response.status_code == 200


def test_several_named_tokens_per_user_each_revoked_alone(api):
    ci, laptop = create(api, name="ci"), create(api, name="laptop")
    assert [t["name"] for t in api.get("/api/v1/tokens/").data["results"]] == ["laptop", "ci"]

    assert api.delete(f"/api/v1/tokens/{ci['id']}/").status_code == 204
    refused = with_key(ci["key"]).get("/api/v1/workflows/")
    assert refused.status_code == 401 and refused.json() == {"message": "Token revoked."}
    assert with_key(laptop["key"]).get("/api/v1/workflows/").status_code == 200

    revoked_at = ApiToken.objects.get(pk=ci["id"]).revoked_at
    assert api.delete(f"/api/v1/tokens/{ci['id']}/").status_code == 204  # again: no change
    assert ApiToken.objects.get(pk=ci["id"]).revoked_at == revoked_at
    shown = {t["name"]: t for t in api.get("/api/v1/tokens/").data["results"]}
    assert shown["ci"]["active"] is False and shown["ci"]["revoked_at"] and shown["laptop"]["active"] is True


def test_a_user_sees_and_revokes_only_their_own_tokens_even_as_staff(api, other_user):
    theirs, _ = services.api_token_create(user=other_user, name="theirs")
    other_user.is_staff = True
    other_user.save()
    mine = create(api, name="mine")
    assert [t["name"] for t in api.get("/api/v1/tokens/").data["results"]] == ["mine"]
    assert api.get(f"/api/v1/tokens/{theirs.pk}/").status_code == 404
    assert api.delete(f"/api/v1/tokens/{theirs.pk}/").status_code == 404
    assert ApiToken.objects.get(pk=theirs.pk).revoked_at is None

    staff = APIClient()
    staff.force_authenticate(other_user)
    assert [t["name"] for t in staff.get("/api/v1/tokens/").data["results"]] == ["theirs"]
    assert staff.delete(f"/api/v1/tokens/{mine['id']}/").status_code == 404


def test_an_expired_token_is_refused_and_expiry_must_be_in_the_future(api, user):
    response = api.post("/api/v1/tokens/", {"name": "old", "expires_at": "2000-01-01T00:00:00Z"}, format="json")
    assert response.status_code == 400 and list(response.json()["fields"]) == ["expires_at"]

    soon = create(api, name="soon", expires_at=(timezone.now() + timedelta(hours=1)).isoformat())
    assert with_key(soon["key"]).get("/api/v1/workflows/").status_code == 200
    ApiToken.objects.filter(pk=soon["id"]).update(expires_at=timezone.now() - timedelta(seconds=1))
    refused = with_key(soon["key"]).get("/api/v1/workflows/")
    assert refused.status_code == 401 and refused.json() == {"message": "Token expired."}


def test_unknown_keys_and_inactive_users_are_refused(api, user):
    assert with_key("fp_not-a-real-key").get("/api/v1/workflows/").status_code == 401
    key = create(api)["key"]
    user.is_active = False
    user.save()
    assert with_key(key).get("/api/v1/workflows/").status_code == 401


def test_drf_authtoken_keys_work_beside_personal_tokens(api, user):
    legacy = Token.objects.create(user=user)
    personal = create(api)["key"]
    assert with_key(legacy.key).get("/api/v1/workflows/").status_code == 200
    assert with_key(personal).get("/api/v1/workflows/").status_code == 200
    assert APIClient().get("/api/v1/tokens/").status_code == 401


def test_last_used_at_is_written_at_most_once_a_minute(api):
    created = create(api)
    assert created["last_used_at"] is None
    client = with_key(created["key"])

    def updates_during_a_request() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get("/api/v1/tokens/").status_code == 200
        return sum(1 for q in queries if q["sql"].startswith("UPDATE") and "accounts_apitoken" in q["sql"])

    assert updates_during_a_request() == 1
    first = ApiToken.objects.get(pk=created["id"]).last_used_at
    assert first is not None
    assert updates_during_a_request() == 0 and updates_during_a_request() == 0
    assert ApiToken.objects.get(pk=created["id"]).last_used_at == first

    ApiToken.objects.filter(pk=created["id"]).update(last_used_at=first - timedelta(seconds=61))
    assert updates_during_a_request() == 1
    assert ApiToken.objects.get(pk=created["id"]).last_used_at > first


def test_touch_is_a_conditional_update(user):
    token, _ = services.api_token_create(user=user, name="x")
    now = timezone.now()
    stale_copy = ApiToken.objects.get(pk=token.pk)
    assert services.api_token_touch(token=token, now=now) is True
    # A concurrent request that read the row before the first write does not write again.
    assert services.api_token_touch(token=stale_copy, now=now + timedelta(seconds=1)) is False


def test_create_api_token_command_prints_the_key(user, capsys):
    call_command("create_api_token", "alice", "--name", "deploy", "--expires-days", "30")
    key = capsys.readouterr().out.strip()
    token = ApiToken.objects.get(key_hash=services.hash_key(key))
    assert token.name == "deploy" and token.user == user
    assert timedelta(days=29) < token.expires_at - timezone.now() <= timedelta(days=30)
    assert with_key(key).get("/api/v1/workflows/").status_code == 200

    with pytest.raises(CommandError, match="no user 'nobody'"):
        call_command("create_api_token", "nobody")


def test_the_openapi_schema_documents_tokens(api):
    schema = api.get("/api/v1/schema/?format=json").json()
    assert {"/api/v1/tokens/", "/api/v1/tokens/{id}/"} <= set(schema["paths"])
    assert "key" in schema["components"]["schemas"]["ApiTokenCreated"]["properties"]


def test_ops_see_and_revoke_tokens_in_the_admin(admin_client, user):
    token, key = services.api_token_create(user=user, name="zapier")
    changelist = "/admin/accounts/apitoken/"
    page = admin_client.get(changelist)
    assert page.status_code == 200 and token.prefix in page.content.decode() and key not in page.content.decode()
    assert admin_client.get(f"{changelist}{token.pk}/change/").status_code == 200
    assert admin_client.get(f"{changelist}add/").status_code == 403
    admin_client.post(changelist, {"action": "revoke", "index": 0, "_selected_action": [token.pk]})
    assert ApiToken.objects.get(pk=token.pk).revoked_at is not None
    assert with_key(key).get("/api/v1/workflows/").status_code == 401
