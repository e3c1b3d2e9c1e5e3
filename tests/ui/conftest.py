"""The real gateway (every real part, scripted models) and Debian's Chromium driven by Playwright.

Playwright cannot download its own browsers here: it drives ``/usr/bin/chromium``
(``make install`` installs it). Every request the page makes is checked: anything not
aimed at the gateway on loopback is aborted and recorded, so a test can assert that a
page needed nothing from the internet.
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit

import pytest

CHROMIUM = os.environ.get("FLEET_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
LOCAL = ("127.0.0.1", "localhost", "::1")


@pytest.fixture(scope="package")
def sample_git(tmp_path_factory):
    from cluster.cli.stories import sample_repo

    return str(sample_repo(str(tmp_path_factory.mktemp("data"))))


@pytest.fixture(scope="package")
def real_stack(ray_cluster, redis_url, tmp_path_factory):
    """Council actor + agents, sandbox supervisor, workspace runner, on scripted models; one
    stack for the whole folder (each test uses its own story ids)."""
    from fleet_stack import start_stack, stop_stack

    s = start_stack(
        ray_cluster,
        redis_url,
        factory=None,
        model="scripted",
        data_dir=str(tmp_path_factory.mktemp("fleet")),
        members=("developer-1", "qa-1"),
        rounds=1,
        phase_timeout_s=60.0,
    )
    yield s
    stop_stack(ray_cluster, s)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    assert os.path.exists(CHROMIUM), f"{CHROMIUM} is missing: `make install` installs chromium"
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


class OffsiteLog(list):
    """URLs the page tried to reach beyond loopback (each one aborted)."""


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1440, "height": 1000})
    offsite = OffsiteLog()

    def guard(route):
        host = urlsplit(route.request.url).hostname or ""
        if route.request.url.startswith(("data:", "blob:")) or host in LOCAL:
            route.continue_()
        else:
            offsite.append(route.request.url)
            route.abort()

    context.route("**/*", guard)
    pg = context.new_page()
    pg.set_default_timeout(30_000)
    pg.offsite = offsite  # type: ignore[attr-defined]
    yield pg
    context.close()


@pytest.fixture
def sign_in():
    def go(page, base_url: str, token: str) -> None:
        page.goto(f"{base_url}/ui/")
        page.get_by_test_id("token").fill(token)
        page.get_by_test_id("signin-submit").click()
        page.get_by_test_id("role").wait_for()

    return go
