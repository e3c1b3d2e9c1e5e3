"""Story fields are hostile input: markup in a title, description or criterion is shown as
text on every screen and never runs (React renders text nodes; the page's CSP forbids inline
script besides)."""

from __future__ import annotations

import httpx
from playwright.sync_api import expect

TITLE = '<img src=x onerror="window.__pwned=1">Add a divide operation'
DESCRIPTION = (
    "As a user <script>window.__pwned=2</script> I want calc.divide(a, b) so that I can "
    "divide numbers the same way I add, subtract and multiply them."
)
CRITERION = 'divide(6, 3) returns 2.0 <svg onload="window.__pwned=3"></svg>'


def test_markup_in_story_fields_is_text_and_never_runs(real_stack, page, sign_in, sample_git):
    body = {
        "id": "ui-hostile",
        "title": TITLE,
        "description": DESCRIPTION,
        "acceptance_criteria": [CRITERION],
        "repo": sample_git,
    }
    r = httpx.post(
        f"{real_stack.base_url}/stories", json=body, headers=real_stack.headers(), timeout=30
    )
    assert r.status_code == 201, r.text
    sign_in(page, real_stack.base_url, real_stack.tokens["viewer"])
    card = page.locator('[data-story="ui-hostile"]').first
    expect(card).to_contain_text(TITLE)
    page.goto(f"{real_stack.base_url}/ui/#/story/ui-hostile")
    expect(page.get_by_test_id("story-title")).to_have_text(TITLE)
    expect(page.get_by_test_id("timeline")).to_contain_text("story created: <img src=x")
    page.get_by_test_id("tab-plan").click()
    page.get_by_test_id("tab-report").click()
    expect(page.get_by_test_id("report")).to_contain_text("<img src=x")
    assert page.evaluate("() => window.__pwned") is None
    assert page.locator("img").count() == 0 and page.locator("script:not([src])").count() == 0
