"""The new-story form checks the repository as the PO types and the gateway refuses a bad one.

Headless Chromium against the real gateway: the base branch is pre-filled from the
repository's default branch (``develop`` here, not ``main``); a repository path that does not
exist and a branch the repository does not have are refused at submission with git's reason
shown in the form, and no story is created; a bug report is scored as one.
"""

from __future__ import annotations

import subprocess

import httpx
from playwright.sync_api import expect

BUG = {
    "title": "format_delta shows '+-3' for negative changes",
    "description": "I use format_delta to print the change of a stock price. For a drop, "
    "format_delta(-3) returns '+-3' but it should return '-3'. The sign should depend only on "
    "the value.",
    "criteria": "format_delta(-3) returns '-3'\nformat_delta(3) returns '+3'",
}


def _develop_repo(path) -> str:
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@t", "PATH": "/usr/bin:/bin", "HOME": "/nonexistent"}  # fmt: skip
    repo = path / "proj"
    subprocess.run(["git", "init", "-q", "-b", "develop", str(repo)], check=True, env=env)
    (repo / "delta.py").write_text("def format_delta(x):\n    return f'+{x}'\n")
    for args in (["add", "-A"], ["commit", "-q", "-m", "init"], ["branch", "release"]):
        subprocess.run(["git", "-C", str(repo), *args], check=True, env=env)
    return str(repo)


def _story_ids(stack) -> set[str]:
    r = httpx.get(f"{stack.base_url}/stories", headers=stack.headers("viewer"), timeout=30)
    return {s["id"] for s in r.json()["stories"]}


def test_bad_repository_and_branch_are_refused_and_the_default_branch_is_prefilled(
    real_stack, page, sign_in, tmp_path
):
    repo = _develop_repo(tmp_path)
    before = _story_ids(real_stack)
    sign_in(page, real_stack.base_url, real_stack.tokens["po"])
    page.get_by_test_id("nav-new").click()
    page.get_by_test_id("title").fill(BUG["title"])
    page.get_by_test_id("description").fill(BUG["description"])
    page.get_by_test_id("criteria").fill(BUG["criteria"])
    # the coach reads a bug report as one, and finds it ready
    expect(page.get_by_test_id("scored-kind")).to_have_attribute("data-kind", "bug")
    expect(page.get_by_test_id("ready")).to_have_text("ready")

    # the default branch of the repository, not "main", fills the base-branch field
    page.get_by_test_id("repo").fill(repo)
    expect(page.get_by_test_id("branch")).to_have_value("develop")
    expect(page.get_by_test_id("repo-default")).to_contain_text("develop")

    # a path that does not exist: said while typing, and refused at submission
    missing = str(tmp_path / "no-such-repo")
    page.get_by_test_id("repo").fill(missing)
    expect(page.get_by_test_id("repo-error")).to_contain_text("does not exist")
    page.get_by_test_id("submit").click()
    expect(page.get_by_test_id("submit-error")).to_contain_text(f"{missing} does not exist")
    assert "#/story/" not in page.url

    # a branch the repository does not have: refused with its branches named
    page.get_by_test_id("repo").fill(repo)
    expect(page.get_by_test_id("repo-default")).to_contain_text("develop")
    page.get_by_test_id("branch").fill("main")
    page.get_by_test_id("submit").click()
    expect(page.get_by_test_id("submit-error")).to_contain_text("has no branch 'main'")
    expect(page.get_by_test_id("submit-error")).to_contain_text("default: develop")
    assert "#/story/" not in page.url
    assert _story_ids(real_stack) == before  # nothing was created

    # the PO's branch that exists is taken; the story shows it and its kind
    page.get_by_test_id("branch").fill("release")
    page.get_by_test_id("submit").click()
    expect(page.get_by_test_id("story-title")).to_have_text(BUG["title"])
    expect(page.get_by_test_id("work-kind")).to_have_text("bug")
    created = _story_ids(real_stack) - before
    assert len(created) == 1
    story = httpx.get(
        f"{real_stack.base_url}/stories/{created.pop()}", headers=real_stack.headers(), timeout=30
    ).json()
    assert story["repo"] == repo and story["branch"] == "release" and story["work_kind"] == "bug"
