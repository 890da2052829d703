"""Untrusted text shows as text, and the token is asked for once, kept in the tab's sessionStorage and
sent only in the Authorization header: never in a URL, a page, or a log line."""

from __future__ import annotations

import json
import logging

import httpx

from .conftest import new_page, screenshot
from .pages import goto, sql, wait_ready
from .seeding import TOKEN, XSS, XSS_TEXT

HOSTILE_DOM_JS = """() => ({
  xss: window.__xss ?? null,
  scripts: [...document.scripts].map((s) => s.getAttribute('src')),
  images: document.images.length,
  onerror: document.querySelectorAll('[onerror]').length,
})"""


def test_html_in_span_attributes_is_shown_as_text_on_every_page_that_shows_it(page, web_store):
    trace_id = sql(web_store, "SELECT trace_id FROM results WHERE run_id = ? AND task_id = ?",
                   [web_store.run_a, XSS["id"]])[0]["trace_id"]  # fmt: skip
    tool_span = sql(web_store, "SELECT span_id FROM tool_calls WHERE trace_id = ? AND tool_name = 'get_weather'",
                    [trace_id])[0]["span_id"]  # fmt: skip
    goto(page, web_store, f"/task/{trace_id}?span={tool_span}")
    screenshot(page, "task-xss")
    # the characters themselves, where the prompt, the answer, the tool call and its span are shown
    assert page.text_content("#task-prompt") == XSS["prompt"]
    assert page.text_content("#task-response") == XSS_TEXT
    assert page.text_content("#steps .tool .arguments") == json.dumps({"location": XSS_TEXT}, indent=2)
    assert XSS_TEXT in page.text_content("#steps .tool .result")
    assert XSS_TEXT in page.text_content("#verdict")
    attributes = dict(page.eval_on_selector_all("#span-attributes tr", "trs => trs.map((tr) => [tr.cells[0].textContent, "
                                                "tr.cells[1].textContent])"))  # fmt: skip
    assert json.dumps(XSS_TEXT)[1:-1] in attributes["input.value"] and XSS_TEXT in attributes["output.value"]
    page.click("#steps .llm >> nth=0 >> details >> nth=1 >> summary")
    assert XSS_TEXT in page.text_content("#steps .llm >> nth=0")
    # ... and nothing of it became an element or ran
    dom = page.evaluate(HOSTILE_DOM_JS)
    assert dom == {"xss": None, "scripts": ["/static/app.js"], "images": 0, "onerror": 0}

    goto(page, web_store, "/runs")  # a page of tables: the XSS run's dataset row, with no harm done either
    goto(page, web_store, f"/run/{web_store.run_a}")
    assert page.evaluate(HOSTILE_DOM_JS) == dom


def test_pages_are_served_with_a_policy_that_allows_only_their_own_scripts(web_store):
    response = httpx.get(web_store.url, timeout=10)
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "default-src 'none'" in policy and "connect-src 'self'" in policy
    assert response.headers["x-content-type-options"] == "nosniff"


def test_the_token_is_asked_for_once_and_kept_for_the_session_only(browser, web_store, caplog):
    caplog.set_level(logging.DEBUG)
    page = new_page(browser, token=None)
    requests = []
    page.on("request", lambda request: requests.append((request.url, request.headers.get("authorization"))))
    try:
        page.goto(web_store.url + "#/runs")
        page.wait_for_selector("#token-dialog[open]")
        assert page.is_visible("#token-input") and not page.is_visible("#token-error")
        assert page.evaluate("document.activeElement.id") == "token-input"
        screenshot(page, "token-prompt")

        page.fill("#token-input", "not-the-token")
        page.press("#token-input", "Enter")
        page.wait_for_selector("#token-error:not([hidden])")
        assert page.text_content("#token-error") == "That token was refused. Try again."
        assert page.input_value("#token-input") == ""

        page.keyboard.press("Escape")  # the page has nothing to show without it: the prompt stays
        assert page.is_visible("#token-dialog")
        page.fill("#token-input", TOKEN)
        page.press("#token-input", "Enter")
        wait_ready(page, "#/runs")
        assert not page.is_visible("#token-dialog")
        assert len(page.query_selector_all("#runs-table tbody tr")) == 3
        assert page.evaluate("sessionStorage.getItem('smoltrace.token')") == TOKEN
        assert page.evaluate("localStorage.length") == 0 and page.evaluate("document.cookie") == ""

        # later pages and reloads in this tab do not ask again
        page.goto(web_store.url + f"#/run/{web_store.run_a}")
        wait_ready(page, f"#/run/{web_store.run_a}")
        page.reload()
        wait_ready(page, f"#/run/{web_store.run_a}")
        assert not page.is_visible("#token-dialog")

        # the token travels in the header of query requests only
        assert requests
        for url, authorization in requests:
            assert TOKEN not in url and "not-the-token" not in url
            if authorization:
                assert url == web_store.url + "api/query" and authorization in (
                    f"Bearer {TOKEN}",
                    "Bearer not-the-token",
                )
        assert TOKEN not in page.url and TOKEN not in page.content()

        # "Forget token" drops it: the next query asks again
        page.click("#forget-token")
        page.wait_for_selector("#token-dialog[open]")
        assert page.evaluate("sessionStorage.getItem('smoltrace.token')") is None
    finally:
        page.context.close()
    # another session (a new tab context) starts without it
    other = new_page(browser, token=None)
    try:
        other.goto(web_store.url)
        other.wait_for_selector("#token-dialog[open]")
    finally:
        other.context.close()
    assert not [r for r in caplog.records if TOKEN in r.getMessage()]


def test_the_pages_need_no_token_but_every_query_does(web_store):
    for path in ("", "static/app.js", "static/queries.js"):
        assert httpx.get(web_store.url + path, timeout=10).status_code == 200
    refused = httpx.post(web_store.url + "api/query", json={"sql": "SELECT 1"}, timeout=10)
    assert refused.status_code == 401
