"""The view works from the keyboard: rows are reached with j/k (or the arrow keys) and opened with
Enter, pages are one key away, filters toggle with f, a span's details close with Escape, sort headers
are buttons."""

from __future__ import annotations

from .pages import goto, sql, wait_ready

FOCUSED_ROW_JS = "() => { const tr = document.activeElement.closest('tr'); return tr ? (tr.dataset.key ?? tr.dataset.spanId) : null; }"


def focused_row(page):
    return page.evaluate(FOCUSED_ROW_JS)


def test_keyboard_alone_goes_from_the_runs_to_a_failed_task_and_its_spans(page, web_store):
    runs = [r["run_id"] for r in sql(web_store, "SELECT run_id FROM runs ORDER BY started_at DESC, run_id")]
    goto(page, web_store, "/runs")
    page.keyboard.press("j")
    assert focused_row(page) == runs[0]
    page.keyboard.press("j")
    page.keyboard.press("ArrowDown")
    assert focused_row(page) == runs[2]
    page.keyboard.press("ArrowDown")  # the last row stays
    assert focused_row(page) == runs[2]
    page.keyboard.press("k")
    page.keyboard.press("ArrowUp")
    assert focused_row(page) == runs[0]
    while focused_row(page) != web_store.run_a:
        page.keyboard.press("j")
    page.keyboard.press("Enter")
    wait_ready(page, f"#/run/{web_store.run_a}")

    page.keyboard.press("f")  # failures only
    page.wait_for_function("() => location.hash.endsWith('?failures=1')")
    failed = sql(web_store, "SELECT trace_id, task_id FROM results WHERE run_id = ? AND NOT success ORDER BY start_time",
                 [web_store.run_a])  # fmt: skip
    page.keyboard.press("j")  # the first table of the page: the totals, one row
    assert focused_row(page) == "tool"
    page.keyboard.press("j")  # then on into the tasks table, where only the failures are left
    assert focused_row(page) == failed[0]["trace_id"]
    page.keyboard.press("j")
    assert focused_row(page) == failed[1]["trace_id"]
    page.keyboard.press("k")
    page.keyboard.press("Enter")
    wait_ready(page, f"#/task/{failed[0]['trace_id']}")

    # the waterfall: j to the first span, down to the second, Enter shows it, Escape closes it
    page.keyboard.press("j")
    spans = page.eval_on_selector_all("#waterfall tbody tr", "trs => trs.map((tr) => tr.dataset.spanId)")
    assert focused_row(page) == spans[0]
    page.keyboard.press("j")
    page.keyboard.press("Enter")
    page.wait_for_selector("#span-attributes")
    assert page.get_attribute(f"#waterfall tr[data-span-id='{spans[1]}']", "aria-selected") == "true"
    assert page.url.endswith(f"span={spans[1]}")
    page.keyboard.press("Escape")
    assert page.query_selector("#span-attributes") is None
    assert "span=" not in page.url

    page.keyboard.press("l")
    wait_ready(page, "#/leaderboard")
    page.keyboard.press("c")
    wait_ready(page, "#/compare")
    page.keyboard.press("r")
    wait_ready(page, "#/runs")


def test_sort_headers_and_filters_are_reached_with_tab(page, web_store):
    goto(page, web_store, "/leaderboard")
    page.keyboard.press("/")  # the first filter
    assert page.evaluate("document.activeElement.id") == "filter-model"
    page.keyboard.press("r")  # typing in a control is not a shortcut
    assert page.evaluate("location.hash") == "#/leaderboard"
    for _ in range(40):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.closest('th')?.dataset.col") == "total_tokens":
            break
    page.keyboard.press("Enter")
    assert page.get_attribute("#leaderboard-table th[data-col='total_tokens']", "aria-sort") == "descending"
    assert page.evaluate("document.activeElement.closest('th')?.dataset.col") == "total_tokens"  # focus kept
    page.keyboard.press("Enter")
    assert page.get_attribute("#leaderboard-table th[data-col='total_tokens']", "aria-sort") == "ascending"


def test_the_first_tab_offers_to_skip_to_the_content(page, web_store):
    goto(page, web_store, "/runs")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "skip-link"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    assert page.evaluate("location.hash") == "#/runs"
