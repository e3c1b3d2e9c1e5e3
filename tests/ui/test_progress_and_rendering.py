"""The story page in headless Chromium against the real gateway (every real part, scripted
models): the live progress line (what is happening now, time per step, tokens spent and left),
and the council's decision and the report rendered as Markdown with coloured diffs, where
markup from the story stays text; the Context tab showing what each role saw."""

from __future__ import annotations

import time

import httpx
from playwright.sync_api import expect

from fleet.orchestrator.sample import SAMPLE_STORY

STORY = "ui-progress"
MARKUP = '**in bold** <img src=x onerror="window.__pwned=1">'


def _wait_parked(stack, story_id: str, timeout_s: float = 240.0) -> dict:
    """The story once it waits at a gate or has ended."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        r = httpx.get(f"{stack.base_url}/stories/{story_id}", headers=stack.headers(), timeout=30)
        story = r.json()
        if story.get("parked") or story.get("outcome"):
            return story
        time.sleep(0.5)
    raise AssertionError(f"{story_id} neither parked nor ended in {timeout_s} s")


def _approve(stack, story_id: str, gate: str) -> None:
    r = httpx.post(
        f"{stack.base_url}/stories/{story_id}/approvals",
        json={"gate": gate, "approved": True, "comment": "ok"},
        headers=stack.headers(),
        timeout=30,
    )
    assert r.status_code == 202, r.text


def test_live_progress_then_markdown_and_diffs_in_council_and_report(
    real_stack, page, sign_in, sample_git
):
    body = {
        **SAMPLE_STORY,
        "id": STORY,
        "description": f"{SAMPLE_STORY['description']}\n\n{MARKUP}",
        "repo": sample_git,
    }
    r = httpx.post(
        f"{real_stack.base_url}/stories", json=body, headers=real_stack.headers(), timeout=30
    )
    assert r.status_code == 201, r.text
    page.goto(f"{real_stack.base_url}/ui/")  # the sign-in card says where a token is
    expect(page.get_by_test_id("token-hint")).to_contain_text("<data_dir>/tokens.json")
    expect(page.get_by_test_id("token-hint")).to_contain_text("PO_TOKEN")
    sign_in(page, real_stack.base_url, real_stack.tokens["viewer"])
    page.goto(f"{real_stack.base_url}/ui/#/story/{STORY}")

    # waiting at the scope gate: the progress line says so, with the step and its time
    assert _wait_parked(real_stack, STORY)["parked"]["gate"] == "scope"
    now = page.get_by_test_id("progress-now")
    expect(now).to_contain_text("waiting at the scope gate")
    expect(page.locator("[data-testid=progress-step][data-state=DRAFT]")).to_contain_text(" s")
    expect(page.get_by_test_id("progress-tokens")).to_contain_text(" of ")  # budgets.story
    expect(page.get_by_test_id("progress-estimate")).not_to_be_empty()

    # the PO answers elsewhere (HTTP): the open page moves on by itself, no reload
    _approve(real_stack, STORY, "scope")
    expect(now).not_to_contain_text("waiting at the scope gate")
    expect(page.locator("[data-testid=progress-step][data-state=DESIGN]")).to_have_count(1)
    for _ in range(4):
        story = _wait_parked(real_stack, STORY)
        if story.get("outcome"):
            break
        gate = story["parked"]["gate"]
        assert gate in ("design", "acceptance"), story["parked"]
        _approve(real_stack, STORY, gate)
    assert story.get("outcome") == "done", story
    expect(now).to_contain_text("finished: done")
    for state in ("DRAFT", "DESIGN", "BUILD", "TEST", "DOCS"):
        expect(page.locator(f"[data-testid=progress-step][data-state={state}]")).to_have_count(1)
    expect(page.get_by_test_id("progress-estimate")).to_contain_text("nothing left")

    progress = httpx.get(
        f"{real_stack.base_url}/stories/{STORY}/progress",
        headers=real_stack.headers("viewer"),
        timeout=30,
    ).json()
    assert progress["outcome"] == "done" and progress["tokens_limit"] > 0
    assert [s["state"] for s in progress["steps"]][:3] == ["DRAFT", "DESIGN", "BUILD"]

    # the council's decision: its prose as Markdown, its diff as a diff (added lines coloured)
    page.get_by_test_id("tab-council").click()
    decision = page.get_by_test_id("decision").first
    expect(decision.get_by_test_id("decision-what-diff")).to_contain_text("+++ ")
    added = decision.get_by_test_id("decision-what-diff").locator("div.text-emerald-200").first
    expect(added).to_contain_text("+")
    md = decision.get_by_test_id("decision-what-md")
    if md.count():  # the prose part, when the winner wrote one, holds no diff
        assert "diff --git" not in md.inner_text() and "+++ " not in md.inner_text()

    # the report: headings, tables and diffs rendered; the story's markup is text, never HTML
    page.get_by_test_id("tab-report").click()
    report = page.get_by_test_id("report")
    expect(report.locator("h2", has_text="Progress")).to_have_count(1)
    expect(report.get_by_test_id("md-table").first).to_be_visible()
    expect(report.get_by_test_id("md-diff").first).to_contain_text("@@")
    expect(report.locator("strong", has_text="in bold")).to_have_count(1)
    expect(report).to_contain_text('<img src=x onerror="window.__pwned=1">')
    assert page.evaluate("() => window.__pwned") is None
    assert page.locator("img").count() == 0

    # the Context tab: what each role saw, the developer's pack with the code at the base commit
    page.get_by_test_id("tab-context").click()
    packs = page.get_by_test_id("pack")
    expect(packs.first).to_be_visible()
    expect(page.get_by_test_id("no-context")).to_have_count(0)
    expect(page.get_by_test_id("context")).to_contain_text("developer")
    assert page.offsite == []
