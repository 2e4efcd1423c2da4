"""The API docs (Swagger UI at /api/v1/docs/, ReDoc at /api/v1/redoc/) work offline: the pages name
no other host, and every script, style sheet and icon they load is served by this server, as
`manage.py serve` serves static files (WhiteNoise, from the finders: no collectstatic)."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.contrib.staticfiles import finders
from django.test import Client

DOCS = ["/api/v1/docs/", "/api/v1/redoc/"]
ABSOLUTE = re.compile(r"""(?:https?:)?//[^\s"'<>)]+""")


class Assets(HTMLParser):
    """The URLs a browser fetches for a page: scripts, style sheets, icons, images."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag, attrs) -> None:
        attrs = dict(attrs)
        if tag in ("script", "img") and attrs.get("src"):
            self.urls.append(attrs["src"])
        if tag == "link" and attrs.get("href"):
            self.urls.append(attrs["href"])


def assets(html: str) -> list[str]:
    parser = Assets()
    parser.feed(html)
    return parser.urls


@pytest.fixture
def client(db):
    client = Client()
    client.force_login(get_user_model().objects.create_user("reader"))
    return client


@pytest.mark.parametrize("path", DOCS)
def test_the_docs_page_names_no_other_host_and_its_files_are_served_here(client, path):
    page = client.get(path)
    assert page.status_code == 200
    html = page.content.decode()
    # No http(s):// nor protocol-relative //host anywhere in the page: no CDN, no web fonts, no validator.
    outside = [url for url in ABSOLUTE.findall(html) if not url.split("//", 1)[1].startswith("testserver")]
    assert outside == []

    # And the browser is told to load nothing from elsewhere (ReDoc's bundle asks cdn.redoc.ly for a logo).
    policy = dict(part.strip().split(" ", 1) for part in page["Content-Security-Policy"].split(";"))
    assert policy["default-src"] == "'self'" and policy["img-src"] == "'self' data: blob:"
    assert all("http" not in sources and "*" not in sources for sources in policy.values())

    urls = assets(html)
    assert any(url.endswith(".js") for url in urls)
    assert all(url.startswith("/static/drf_spectacular_sidecar/") for url in urls), urls
    for url in urls:
        served = Client().get(url)  # static files need no login, as in production
        assert served.status_code == 200, url
        body = b"".join(served.streaming_content) if served.streaming else served.content
        found = finders.find(url.removeprefix("/" + django_settings.STATIC_URL.lstrip("/")))
        assert found and body == Path(found).read_bytes(), url  # the sidecar's file itself
        if url.endswith(".css"):
            assert not re.search(rb"url\(\s*['\"]?(https?:)?//", body), url  # a style sheet fetching elsewhere


def test_swagger_ui_loads_its_own_bundle_and_the_schema(client):
    html = client.get("/api/v1/docs/").content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    assert 'url: "/api/v1/schema/"' in html and '"validatorUrl": null' in html
    redoc = client.get("/api/v1/redoc/").content.decode()
    assert "/static/drf_spectacular_sidecar/redoc/bundles/redoc.standalone.js" in redoc
    assert 'spec-url="/api/v1/schema/"' in redoc


def test_redoc_needs_a_login_like_the_other_docs(db, settings):
    settings.FLOWPILOT_API_RATE_ANON = ""
    assert Client().get("/api/v1/redoc/").status_code == 401
    settings.FLOWPILOT_PUBLIC_API_DOCS = True
    assert Client().get("/api/v1/redoc/").status_code == 200
