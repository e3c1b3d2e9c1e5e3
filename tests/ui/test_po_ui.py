"""The PO web UI in headless Chromium against the real gateway (every real part, scripted models).

A PO signs in, writes a story while the coach scores it live, creates it, answers every gate
in the UI and watches the story reach DONE over the live event stream; then the plan, the
council (each proposal with its change and evidence, the ballots, the winner), the final change
and the report. A viewer sees the same screens and can do nothing. Set FLEET_SCREENSHOTS=docs/img
to refresh the documentation's screenshots.
"""

from __future__ import annotations

import json
import os
import re

import httpx
import pytest
from playwright.sync_api import expect

from fleet.coach import score_story
from fleet.contracts import Story
from fleet.orchestrator.sample import SAMPLE_STORY

GATES = ("scope", "design", "acceptance")


@pytest.fixture
def shot(tmp_path):
    where = os.environ.get("FLEET_SCREENSHOTS") or str(tmp_path)

    def take(page, name: str) -> None:
        os.makedirs(where, exist_ok=True)
        page.screenshot(path=os.path.join(where, f"{name}.png"), full_page=True)

    return take


def _events(stack, story_id):
    r = httpx.get(
        f"{stack.base_url}/stories/{story_id}/events",
        params={"follow": "false"},
        headers=stack.headers("viewer"),
        timeout=30,
    )
    return [
        json.loads(frame.split("data: ", 1)[1])
        for frame in r.text.split("\n\n")
        if frame.startswith("id:")
    ]


def _dor(**fields) -> int:
    return score_story(Story(id="x", **fields)).dor


def _write_story(page, repo: str) -> None:
    page.get_by_test_id("nav-new").click()
    page.get_by_test_id("title").fill(SAMPLE_STORY["title"])
    # the coach scores as the PO types, before anything is created
    expect(page.get_by_test_id("dor-score")).to_have_text(str(_dor(title=SAMPLE_STORY["title"])))
    expect(page.get_by_test_id("ready")).to_contain_text("not ready")
    assert page.get_by_test_id("suggestions").locator("li").count() >= 2
    page.get_by_test_id("description").fill(SAMPLE_STORY["description"])
    page.get_by_test_id("criteria").fill("\n".join(SAMPLE_STORY["acceptance_criteria"]))
    page.get_by_test_id("repo").fill(repo)
    full = _dor(
        title=SAMPLE_STORY["title"],
        description=SAMPLE_STORY["description"],
        acceptance_criteria=tuple(SAMPLE_STORY["acceptance_criteria"]),
    )
    expect(page.get_by_test_id("dor-score")).to_have_text(str(full))
    expect(page.get_by_test_id("ready")).to_have_text("ready")


def _approve_every_gate(page, shot) -> list[str]:
    answered = []
    for _ in range(6):
        page.wait_for_selector("[data-testid=gate], [data-testid=outcome]", timeout=240_000)
        if page.get_by_test_id("outcome").count():
            break
        gate = page.get_by_test_id("gate").get_attribute("data-gate")
        assert gate in GATES, f"parked at {gate}: {page.get_by_test_id('gate').inner_text()}"
        if not answered:
            shot(page, "story-gate")
        page.get_by_test_id("gate-comment").fill(f"looks right ({gate})")
        page.get_by_test_id("approve").click()
        page.wait_for_selector(f"[data-testid=gate][data-gate={gate}]", state="detached")
        answered.append(gate)
    return answered


def _check_council(page, events) -> None:
    proposals = [e["payload"] for e in events if e["type"] == "council.proposal"]
    results = [e["payload"] for e in events if e["type"] == "council.result"]
    assert proposals and results
    page.get_by_test_id("tab-council").click()
    cards = page.get_by_test_id("proposal")
    expect(cards).to_have_count(len(proposals))
    winners = page.get_by_test_id("winner")
    expect(winners).to_have_count(len(results))
    won = {r["winner"] for r in results}
    for p in proposals:
        card = page.locator(f'[data-testid=proposal][data-proposal="{p["id"]}"]')
        if (p.get("patch") or {}).get("diff"):
            # a patch is shown as a diff, added lines included
            added = next(
                line
                for line in p["patch"]["diff"].splitlines()
                if line.startswith("+") and not line.startswith("+++") and line.strip("+ ")
            )
            expect(card.get_by_test_id("diff")).to_contain_text(added)
        else:
            expect(card.get_by_test_id("proposal-content")).to_contain_text(p["content"][:40])
        expect(card.get_by_test_id("winner")).to_have_count(1 if p["id"] in won else 0)
    evidence = [e["payload"] for e in events if e["type"] == "council.evidence"]
    for ev in evidence:
        card = page.locator(f'[data-testid=proposal][data-proposal="{ev["proposal_id"]}"]')
        expect(card.get_by_test_id("evidence")).to_contain_text(f"{ev['tests_passed']} passed")
    ballots = sum(len(r["ballots"]) for r in results)
    expect(page.get_by_test_id("ballots").locator("tbody tr")).to_have_count(ballots)
    # where the evidence decided, the card says why no ballot was asked for
    skipped = [
        why
        for e in events
        if e["type"] == "council.round_completed"
        for why in (e.get("data") or {}).get("skipped", [])
    ]
    assert ballots or skipped, "a council decides by ballots or by its evidence"
    expect(page.get_by_test_id("skipped-votes").locator("li")).to_have_count(len(skipped))
    for why in skipped:
        expect(page.get_by_test_id("skipped-votes")).to_contain_text(why)


def test_po_writes_a_story_and_drives_it_to_done_in_the_browser(
    real_stack, page, sign_in, sample_git, shot
):
    sign_in(page, real_stack.base_url, real_stack.tokens["po"])
    expect(page.get_by_test_id("role")).to_have_text("po")
    _write_story(page, sample_git)
    shot(page, "new-story")
    page.get_by_test_id("submit").click()
    expect(page.get_by_test_id("story-title")).to_have_text(SAMPLE_STORY["title"])
    story_id = re.search(r"#/story/([^/]+)", page.url).group(1)

    answered = _approve_every_gate(page, shot)
    assert answered == list(GATES)
    # DONE arrived over the live stream: the page was never reloaded
    expect(page.get_by_test_id("state")).to_have_text("DONE")
    expect(page.get_by_test_id("outcome")).to_have_text("done")
    expect(page.get_by_test_id("live")).to_have_text("finished")
    expect(page.locator('[data-testid=timeline] [data-type="story.done"]')).to_have_count(1)
    expect(page.get_by_test_id("timeline")).to_contain_text("approved acceptance by po")
    expect(page.locator('[data-testid=lifecycle] [data-current="true"]')).to_have_attribute(
        "data-state", "DONE"
    )
    shot(page, "story")

    events = _events(real_stack, story_id)
    approvals = [e["data"] for e in events if e["type"] == "story.approved"]
    assert [(a["gate"], a["comment"]) for a in approvals] == [
        (g, f"looks right ({g})") for g in GATES
    ]
    _check_council(page, events)
    shot(page, "council")

    page.get_by_test_id("tab-plan").click()
    tasks = {e["payload"]["id"] for e in events if e["type"] == "task.planned"}
    expect(page.locator("[data-testid=plan-dag] [data-task]")).to_have_count(len(tasks))
    shot(page, "plan")

    page.get_by_test_id("tab-diff").click()
    expect(page.get_by_test_id("delivered-diff")).to_contain_text("+def divide(")
    expect(page.get_by_test_id("delivered")).to_contain_text(f"fleet/{story_id}")
    expect(page.get_by_test_id("final-change")).to_have_count(1)
    expect(page.get_by_test_id("verification")).to_contain_text("build ok")
    expect(page.get_by_test_id("delivery")).to_contain_text(f"fleet/{story_id}")
    shot(page, "diff")

    page.get_by_test_id("tab-usage").click()
    calls = sum(1 for e in events if e["type"] == "model.usage")
    expect(page.get_by_test_id("usage-total").locator("td").nth(1)).to_have_text(str(calls))

    page.get_by_test_id("tab-report").click()
    expect(page.get_by_test_id("report")).to_contain_text(SAMPLE_STORY["title"])

    page.get_by_test_id("tab-context").click()
    expect(page.get_by_test_id("context")).to_be_visible()
    shot(page, "context")

    page.goto(f"{real_stack.base_url}/ui/#/")
    done = page.get_by_test_id("column-DONE")
    expect(done.locator(f'[data-story="{story_id}"]')).to_have_count(1)
    shot(page, "board")
    assert page.offsite == [], "the UI reached beyond the gateway"


def test_viewer_sees_everything_and_can_act_on_nothing(real_stack, page, sign_in, sample_git):
    body = {**SAMPLE_STORY, "repo": sample_git, "id": "ui-viewer"}
    r = httpx.post(
        f"{real_stack.base_url}/stories", json=body, headers=real_stack.headers(), timeout=30
    )
    assert r.status_code == 201, r.text
    urls: list[str] = []
    page.on("request", lambda req: urls.append(req.url))

    sign_in(page, real_stack.base_url, real_stack.tokens["viewer"])
    expect(page.get_by_test_id("role")).to_have_text("viewer")
    page.get_by_test_id("nav-new").click()
    page.get_by_test_id("title").fill("A viewer may draft and see the score")
    expect(page.get_by_test_id("dor-score")).to_have_text(
        str(_dor(title="A viewer may draft and see the score"))
    )
    expect(page.get_by_test_id("submit")).to_be_disabled()

    page.goto(f"{real_stack.base_url}/ui/#/story/ui-viewer")
    gate = page.get_by_test_id("gate")
    expect(gate).to_have_attribute("data-gate", "scope", timeout=60_000)
    expect(page.get_by_test_id("approve")).to_be_disabled()
    expect(page.get_by_test_id("reject")).to_be_disabled()
    # and the API refuses the same request from this page's token
    status = page.evaluate(
        """async () => (await fetch(location.pathname.replace(/\\/ui\\/.*$/, '') +
            '/stories/ui-viewer/approvals', {method: 'POST', headers: {
            'Content-Type': 'application/json',
            Authorization: 'Bearer ' + sessionStorage.getItem('fleet.token')},
            body: JSON.stringify({gate: 'scope', approved: true})})).status"""
    )
    assert status == 403
    story = httpx.get(
        f"{real_stack.base_url}/stories/ui-viewer", headers=real_stack.headers("viewer"), timeout=30
    ).json()
    assert story["parked"]["gate"] == "scope" and story["state"] == "DRAFT"
    # the token travelled in headers only
    assert urls and not any(real_stack.tokens["viewer"] in u for u in urls)


def test_ui_page_is_locked_to_the_gateway(real_stack):
    r = httpx.get(f"{real_stack.base_url}/ui", timeout=30, follow_redirects=True)
    assert r.status_code == 200 and '<div id="root">' in r.text
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "connect-src 'self'" in csp
    assert "http" not in r.text.split("<body", 1)[0].replace("http-equiv", "")
