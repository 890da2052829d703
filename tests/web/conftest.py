"""Fixtures for the web view's tests: Debian's chromium driven through Playwright, and a real
collector holding real scripted runs (seeding.py), queried by the pages through its query API.

Screenshots of every page go to $SMOLTRACE_WEB_SCREENSHOTS (default /tmp/smoltrace-web-screenshots),
outside the repository.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from smoltrace.collector import Collector

from .seeding import TOKEN, seed

#: As FACTS.md says to launch Debian's chromium in a container, as root, offline.
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--no-first-run", "--disable-sync",
]  # fmt: skip
SCREENSHOTS = Path(os.environ.get("SMOLTRACE_WEB_SCREENSHOTS", "/tmp/smoltrace-web-screenshots"))
VIEWPORT = {"width": 1400, "height": 900}


def chromium_path() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="session")
def browser():
    path = chromium_path()
    if path is None:
        pytest.skip("no chromium executable on PATH: install Debian's browser with `apt-get install -y chromium` "
                    "(.ci/run does)")  # fmt: skip
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture(scope="session")
def web_store(tmp_path_factory):
    """One collector (with a token) holding the seeded runs, for every test that only reads."""
    folder = tmp_path_factory.mktemp("web")
    with Collector.embedded(db_path=folder / "web.duckdb", token=TOKEN) as collector:
        yield seed(collector, folder)


def new_page(browser, *, token: str | None = TOKEN):
    """A page in a fresh browser context; with ``token`` it is already in sessionStorage (as after the
    prompt). ``page.problems`` collects uncaught errors and console errors."""
    context = browser.new_context(viewport=VIEWPORT)
    if token is not None:
        # every document of the context, about:blank included (which has no storage)
        context.add_init_script(
            f"try {{ sessionStorage.setItem('smoltrace.token', {json.dumps(token)}) }} catch (e) {{}}"
        )
    page = context.new_page()
    page.problems = []
    page.on("pageerror", lambda error: page.problems.append(f"page error: {error}"))
    page.on("console", lambda msg: msg.type == "error" and page.problems.append(f"console: {msg.text}"))
    return page


@pytest.fixture
def page(browser, web_store):
    page = new_page(browser)
    yield page
    problems = list(page.problems)
    page.context.close()
    assert not problems, problems


def screenshot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
