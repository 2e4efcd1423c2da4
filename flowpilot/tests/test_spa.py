"""The single-page app: its files (WhiteNoise), index.html for its client-side routes, a 503 while it
is not built; and JSON 404s and 400s under /api/ where Django would answer its HTML pages."""

from __future__ import annotations

import pytest
from django.test import Client

INDEX = b"<!doctype html><div id=root></div><script src=/assets/app-Bx7dq2Lk.js></script>"
RUN = "6f1c9a1e-8a55-4a51-9c1f-2d4f0f7f2b10"


@pytest.fixture
def dist(tmp_path, settings):
    root = tmp_path / "dist"
    (root / "assets").mkdir(parents=True)
    (root / "index.html").write_bytes(INDEX)
    (root / "assets" / "app-Bx7dq2Lk.js").write_text("console.log('app')")
    (root / "favicon.svg").write_text("<svg/>")
    settings.FLOWPILOT_FRONTEND_DIST = root
    settings.WHITENOISE_ROOT = root
    return root


def is_app(response) -> bool:
    return response.status_code == 200 and b"".join(getattr(response, "streaming_content", [response.content])) \
        == INDEX


def test_client_side_routes_load_the_app_never_cached(dist, client):
    for path in ("/", "/workflows/", f"/workflows/{RUN}", f"/executions/{RUN}", "/executions/x/y?tab=logs"):
        response = client.get(path)
        assert is_app(response), path
        assert response["Cache-Control"] == "no-cache" and response["Content-Type"] == "text/html; charset=utf-8"
    assert "csrftoken" in client.cookies  # for the app's first POST
    assert client.head(f"/workflows/{RUN}").status_code == 200
    assert client.post(f"/workflows/{RUN}").status_code == 405


def test_assets_are_cached_for_ever_and_a_missing_one_is_a_404(dist, client):
    asset = client.get("/assets/app-Bx7dq2Lk.js")
    assert asset.status_code == 200 and "immutable" in asset["Cache-Control"]
    assert b"".join(asset.streaming_content) == b"console.log('app')"
    assert client.get("/favicon.svg").status_code == 200
    assert client.get("/index.html")["Cache-Control"] == "no-cache"
    assert client.get("/assets/app-Gone1234.js").status_code == 404


def test_files_of_a_rebuild_after_start_are_served_too(dist, client):
    assert is_app(client.get("/"))  # WhiteNoise has listed dist/ by now
    (dist / "assets" / "app-N3wBu1ld.js").write_text("console.log('new')")
    late = client.get("/assets/app-N3wBu1ld.js")
    assert late.status_code == 200 and "immutable" in late["Cache-Control"]
    assert client.get("/assets/../../secrets.txt").status_code in (400, 404)  # never outside dist/


@pytest.mark.django_db
def test_the_apis_paths_are_never_the_app(dist, client, django_user_model):
    for path in ("/api/v1/nothing-here/", "/api/v1/executions/0.5/", "/api/v1/workflows/a.b/",
                 "/api/v1/workflows/not-a-uuid/triggers/"):
        response = client.get(path)
        assert response.status_code == 404 and response.json() == {"message": "Not found."}, path
    client.force_login(django_user_model.objects.create_user("u"))  # the API parses bodies after authenticating
    too_many = client.post("/api/v1/executions/retry-failed/", {"execution_ids": ["x"] * 1001})
    assert too_many.status_code == 400 and "DATA_UPLOAD_MAX_NUMBER_FIELDS" in too_many.json()["message"]
    assert client.get("/admin").status_code == 301  # APPEND_SLASH, as before
    assert client.get("/health").json()["status"]
    for path in ("/api-auth/nope", "/hooks/", "/ws/executions/", "/static/nope.css"):
        response = client.get(path)
        assert response.status_code == 404 and b"<!doctype html><div id=root>" not in response.content, path


def test_without_a_build_the_server_says_how_to_build(tmp_path, settings):
    settings.FLOWPILOT_FRONTEND_DIST = tmp_path / "nothing"
    settings.WHITENOISE_ROOT = None
    for path in ("/", f"/executions/{RUN}"):
        response = Client().get(path)
        assert response.status_code == 503 and response["Content-Type"] == "text/plain; charset=utf-8"
        assert response.content.decode() == ("The designer is not built: run `make run` "
                                             "(or `npm --prefix frontend run build`)\n")
