"""The Compare page's statistics: the rows of compare_runs and compare_metrics (36_stats_compare.sql),
each number exactly the view's (data-value) and shown in the page's format; "not comparable" notes and
the in-progress warning."""

from __future__ import annotations

import math

from .conftest import screenshot
from .pages import facts, fmt, goto, sql, table

Z = 1.959963984540054
#: compare.js STAT_METRICS: the format of each metric, and the scale it is shown at (success in percent).
KINDS = {"success": ("pct", 100), "tokens": ("num", 1), "duration_ms": ("ms", 1), "cost_usd": ("usd", 1),
         "energy_wh": ("wh", 1)}  # fmt: skip
TESTS = {"mcnemar_exact": "McNemar's exact test", "sign_test_exact": "exact sign test"}


def signed(kind: str, value) -> str:
    """compare.js formatDelta: B − A with its sign (U+2212 for minus), zero at the format's precision."""
    if value is None:
        return "—"
    size = fmt(kind, abs(value))
    if size == fmt(kind, 0):
        return size
    return f"+{size}" if value > 0 else f"−{size}"


def check_stat(cell: dict, metric: str, expected, *, is_signed: bool = False, where: str = "") -> None:
    kind, scale = KINDS[metric]
    shown = None if expected is None else expected * scale
    assert cell["value"] == expected, f"{where}: value {cell['value']!r} != {expected!r}"
    text = signed(kind, shown) if is_signed else fmt(kind, shown)
    assert cell["text"] == text, f"{where}: text {cell['text']!r} != {text!r}"


def test_compare_page_shows_the_success_rate_difference_with_its_interval_and_test(page, web_store):
    a, b = web_store.run_a, web_store.run_b
    goto(page, web_store, f"/compare?a={a}&b={b}")
    screenshot(page, "compare-statistics")
    [summary] = sql(web_store, "SELECT * FROM compare_runs(?, ?)", [a, b])
    # run_a -> run_b, one try per task: weather ✓ -> ✗, calc ✗ -> ✓, the other two unchanged. The paired
    # differences -1, +1, 0, 0: mean 0, sd sqrt(2/3), standard error sqrt(2/3)/2, interval ± z · that;
    # McNemar's exact test on the two flips: min(1, 2 · P(X <= 1 | n = 2)) = 1.
    half = Z * math.sqrt(2 / 3) / 2
    assert (summary["agent_type"], summary["comparable"], summary["in_progress"], summary["notes"]) == (
        "tool",
        True,
        False,
        "",
    )
    assert (summary["a_success_rate"], summary["b_success_rate"], summary["success_rate_diff"]) == (0.5, 0.5, 0.0)
    assert (
        abs(summary["success_rate_diff_ci_low"] + half) < 1e-12
        and abs(summary["success_rate_diff_ci_high"] - half) < 1e-12
    )
    assert (summary["test"], summary["p_value"]) == ("mcnemar_exact", 1.0)

    shown = facts(page, "#compare-summary-tool")
    for column in ("a_success_rate", "b_success_rate", "success_rate_diff_ci_low", "success_rate_diff_ci_high"):
        check_stat(shown[column], "success", summary[column], where=column)
    check_stat(shown["success_rate_diff"], "success", summary["success_rate_diff"], is_signed=True)
    assert (shown["success_rate_diff_ci_low"]["text"], shown["success_rate_diff_ci_high"]["text"]) == (
        "-80.02%",
        "80.02%",
    )
    assert (shown["success_rate_diff"]["text"], shown["p_value"]["text"], shown["p_value"]["value"]) == (
        "0.00%",
        "1.000",
        1.0,
    )
    assert (shown["test"]["value"], shown["test"]["text"]) == ("mcnemar_exact", "McNemar's exact test")
    assert shown["paired_tasks"]["text"] == "4 (B better on 1, worse on 1, same on 2)"
    assert shown["tries"] == {"value": [1, 1, 1, 1], "text": "A 1, B 1"}
    assert page.query_selector_all("#main p.warning") == []  # comparable, and neither run is running

    metrics = sql(web_store, "SELECT * FROM compare_metrics(?, ?)", [a, b])
    rows = table(page, "#compare-stats")
    assert [row["key"] for row in rows] == [f"tool|{m}" for m in KINDS if any(r["metric"] == m for r in metrics)]
    assert [row["key"] for row in rows][:4] == ["tool|success", "tool|tokens", "tool|duration_ms", "tool|cost_usd"]
    by_metric = {row["metric"]: row for row in metrics}
    for row in rows:
        expected = by_metric[row["key"].split("|")[1]]
        metric, where = expected["metric"], row["key"]
        for column in ("a_value", "b_value", "ci_low", "ci_high"):
            check_stat(row["cells"][column], metric, expected[column], where=f"{where} {column}")
        check_stat(row["cells"]["difference"], metric, expected["difference"], is_signed=True, where=where)
        for column in ("tasks", "tasks_up", "tasks_down"):
            assert row["cells"][column] == {"value": expected[column], "text": fmt("int", expected[column]),
                                            "link": None}  # fmt: skip
        assert row["cells"]["test"]["text"] == TESTS[expected["test"]]
        assert row["cells"]["p_value"]["value"] == expected["p_value"]
        assert row["cells"]["p_value"]["text"] == fmt("p", expected["p_value"])
    success = rows[0]["cells"]
    assert (success["ci_low"]["text"], success["ci_high"]["text"], success["test"]["text"]) == (
        "-80.02%",
        "80.02%",
        "McNemar's exact test",
    )


def test_compare_page_says_why_runs_are_not_comparable(page, web_store):
    a, b = web_store.run_a, web_store.run_code
    goto(page, web_store, f"/compare?a={a}&b={b}")
    summary = sql(web_store, "SELECT agent_type, comparable, notes FROM compare_runs(?, ?) ORDER BY agent_type", [a, b])
    assert [(r["agent_type"], r["comparable"]) for r in summary] == [("code", False), ("tool", False)]
    assert "A did not evaluate code agents" in summary[0]["notes"]
    assert "B did not evaluate tool agents" in summary[1]["notes"]
    assert all(r["notes"].startswith("different datasets: ") for r in summary)  # tasks.json vs code.json
    warnings = page.eval_on_selector_all(
        "#main p.warning.not-comparable", "ps => ps.map((p) => [p.dataset.agent, p.textContent])"
    )
    assert warnings == [[r["agent_type"], f"Not comparable: {r['notes']}"] for r in summary]
    assert table(page, "#compare-stats") == []  # no task ran on both sides: nothing paired to show
    shown = facts(page, "#compare-summary-tool")
    assert (shown["paired_tasks"]["value"], shown["success_rate_diff"]["text"], shown["p_value"]["text"]) == (
        0,
        "—",
        "—",
    )


def test_compare_page_warns_while_a_run_is_in_progress(page, web_store):
    """A run still running sets compare_runs' in_progress: the section says every number is provisional
    (the view's row as it is, with in_progress as a live run's comparison has it)."""
    a, b = web_store.run_a, web_store.run_b
    goto(page, web_store, f"/compare?a={a}&b={b}")
    [summary] = sql(web_store, "SELECT * FROM compare_runs(?, ?)", [a, b])
    running = {**summary, "in_progress": True, "comparable": False,
               "notes": f"1 task(s) ran only in A (not paired); still running: {b} (every number is provisional)"}  # fmt: skip
    texts = page.evaluate(
        """async (row) => {
            const m = await import("/static/pages/compare.js");
            const parts = m.statisticsSection({ summary: [row], metrics: [] });
            return parts.filter((e) => e.matches && e.matches("p.warning")).map((e) => e.className + ": " + e.textContent);
        }""",
        running,
    )
    assert texts == [
        "warning in-progress: In progress: a run is still running, so every number here is provisional.",
        f"warning not-comparable: Not comparable: {running['notes']}",
    ]


def test_compare_pairs_try_i_of_a_task_in_a_with_try_i_in_b(page, web_store):
    """Runs with --repeats: each execution (task and try) meets the same try in the other run, so a try
    that passed in A and failed in B is 'broken' even when another try of the task passed in both."""
    goto(page, web_store, "/compare")

    def row(run, uid, repeat, success):
        return {"run_id": run, "task_uid": uid, "repeat_index": repeat, "success": success,
                "trace_id": f"{run}-{uid}-{repeat}"}  # fmt: skip

    rows = [row("A", "tool:t", 0, True), row("A", "tool:t", 1, True), row("B", "tool:t", 0, True),
            row("B", "tool:t", 1, False), row("B", "tool:t", 2, True)]  # fmt: skip
    pairs = page.evaluate(
        """async (rows) => (await import("/static/pages/compare.js")).pairTasks(rows, "A", "B")
            .map((p) => [p.key, p.repeat_index, p.a?.trace_id ?? null, p.b?.trace_id ?? null, p.change])""",
        rows,
    )
    assert pairs == [
        ["tool:t#0", 0, "A-tool:t-0", "B-tool:t-0", "same_success"],
        ["tool:t#1", 1, "A-tool:t-1", "B-tool:t-1", "broken"],
        ["tool:t#2", 2, None, "B-tool:t-2", "only_b"],
    ]
