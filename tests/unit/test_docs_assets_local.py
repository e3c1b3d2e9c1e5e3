"""The API docs need nothing from the internet: ReDoc's bundle is served with its CDN logo
replaced by an inline image, and /favicon.ico answers (it was a 404)."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient

from serve_apps.gateway.docs import REDOC_CDN_LOGO, assets_dir, install_offline_docs


def _client() -> TestClient:
    app = FastAPI(title="t")
    install_offline_docs(app)
    return TestClient(app)


def test_redoc_page_loads_a_bundle_without_the_cdn_logo():
    c = _client()
    page = c.get("/redoc").text
    assert "cdn." not in page
    src = page.split('<script src="', 1)[1].split('"', 1)[0]
    js = c.get(src)
    assert js.status_code == 200 and js.headers["content-type"].startswith("text/javascript")
    assert REDOC_CDN_LOGO in (assets_dir() / "redoc.standalone.js").read_text()  # the vendor's
    assert REDOC_CDN_LOGO not in js.text and "https://cdn." not in js.text
    assert len(js.content) > 500_000  # the whole bundle, not a stub


def test_favicon_is_served():
    r = _client().get("/favicon.ico")
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    assert r.content.startswith(b"\x89PNG")


def test_the_signin_hint_says_where_the_tokens_are_without_a_token():
    from fleet.settings import env_name
    from serve_apps.gateway.ui import install_ui

    app = FastAPI()
    install_ui(app)
    hint = TestClient(app).get("/ui/signin-hint.json").json()
    assert hint["tokens_file"] == "<data_dir>/tokens.json"
    assert hint["po_variable"] == env_name("po_token")
