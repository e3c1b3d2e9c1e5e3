"""``/docs`` and ``/redoc`` render the API's operations in a real browser with no internet:
their scripts and styles come from the gateway itself (and the page tries nothing else)."""

from __future__ import annotations


def test_swagger_ui_renders_operations_offline(real_stack, page):
    page.goto(f"{real_stack.base_url}/docs")
    page.locator(".opblock").first.wait_for()
    paths = page.locator(".opblock-summary-path").all_inner_texts()
    assert any("/stories/{story_id}/approvals" in p for p in paths), paths
    assert any(p.strip() == "/stories/score" for p in paths), paths
    assert page.offsite == []


def test_redoc_renders_operations_offline(real_stack, page):
    page.goto(f"{real_stack.base_url}/redoc")
    page.get_by_text("Score a draft story", exact=False).first.wait_for()
    assert page.locator("h1").first.inner_text().startswith("SWE AI Fleet gateway")
    assert page.get_by_text("/stories/{story_id}/approvals").count() >= 1
    assert page.offsite == []


def test_docs_assets_are_served_by_the_gateway(real_stack):
    import httpx

    for page in ("docs", "redoc"):
        r = httpx.get(f"{real_stack.base_url}/{page}", timeout=30)
        assert r.status_code == 200 and "cdn" not in r.text.lower()
        assert "/docs-assets/" in r.text
        # the browser may reach nothing but the gateway from these pages
        assert r.headers["content-security-policy"].startswith("default-src 'self'")
    js = httpx.get(f"{real_stack.base_url}/docs-assets/swagger-ui-bundle.js", timeout=30)
    assert js.status_code == 200 and len(js.content) > 100_000
