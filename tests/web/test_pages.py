"""Every page shows the numbers the views hold: each cell's exact value (data-value) and its text are
compared with the view's rows, read through the same query API in the test."""

from __future__ import annotations

import pytest

from .conftest import screenshot
from .pages import (
    check_cell,
    check_row,
    facts,
    fmt,
    goto,
    js_columns,
    sql,
    table,
    wait_ready,
)
from .seeding import TASKS


def _by(rows, key):
    return {row[key]: row for row in rows}


def _sum(values):
    present = [v for v in values if v is not None]
    return sum(present) if present else None


def test_runs_page_lists_every_run_newest_first_with_the_views_numbers(page, web_store):
    goto(page, web_store, "/runs")
    screenshot(page, "runs")
    runs = sql(web_store, "SELECT *, CASE WHEN completed_tasks > 0 THEN round(100.0 * successful_tasks / "
                          "completed_tasks, 2) END AS success_rate FROM runs ORDER BY started_at DESC, run_id")  # fmt: skip
    board = sql(
        web_store, "SELECT run_id, total_tokens, total_cost_usd, total_energy_wh FROM leaderboard_by_agent_type"
    )
    shown = table(page, "#runs-table")
    assert [row["key"] for row in shown] == [run["run_id"] for run in runs]
    assert {web_store.run_a, web_store.run_b, web_store.run_code} == {run["run_id"] for run in runs}
    columns = js_columns(page, "/static/pages/runs.js", "COLUMNS")
    for row, run in zip(shown, runs):
        mine = [r for r in board if r["run_id"] == run["run_id"]]
        expected = {
            **run,
            "progress": [run["completed_tasks"], run["planned_tasks"]],
            "total_tokens": _sum(r["total_tokens"] for r in mine),
            "total_cost_usd": _sum(r["total_cost_usd"] for r in mine),
            "total_energy_wh": _sum(r["total_energy_wh"] for r in mine),
        }
        check_row(row, columns, expected, where=f"runs {run['run_id']}")
        assert row["href"] == f"#/run/{run['run_id']}"
    # the numbers the seeded runs must have, so that the comparison above is not vacuous
    a = _by(runs, "run_id")[web_store.run_a]
    assert (a["status"], a["completed_tasks"], a["planned_tasks"], a["success_rate"]) == ("completed", 4, 4, 50.0)
    assert _by(shown, "key")[web_store.run_a]["cells"]["total_energy_wh"]["value"] > 0
    assert _by(shown, "key")[web_store.run_b]["cells"]["total_energy_wh"]["text"] == "—"


def test_leaderboard_shows_the_view_and_sorts_and_filters_from_the_url(page, web_store):
    goto(page, web_store, "/leaderboard")
    screenshot(page, "leaderboard")
    board = sql(web_store, "SELECT * FROM leaderboard_by_agent_type")
    columns = js_columns(page, "/static/pages/leaderboard.js", "COLUMNS")
    shown = table(page, "#leaderboard-table")
    assert len(shown) == len(board) == 3
    expected = {f"{r['run_id']}|{r['agent_type']}": r for r in board}
    for row in shown:
        check_row(row, columns, expected[row["key"]], where=f"leaderboard {row['key']}")
    # default order: success rate, best first
    rates = [row["cells"]["success_rate"]["value"] for row in shown]
    assert rates == sorted(rates, reverse=True)

    # a header press sorts by that column (descending first, then ascending), and the URL keeps it
    page.click("#leaderboard-table th[data-col='avg_duration_ms'] button")
    durations = [row["cells"]["avg_duration_ms"]["value"] for row in table(page, "#leaderboard-table")]
    assert durations == sorted((r["avg_duration_ms"] for r in board), reverse=True)
    page.click("#leaderboard-table th[data-col='avg_duration_ms'] button")
    durations = [row["cells"]["avg_duration_ms"]["value"] for row in table(page, "#leaderboard-table")]
    assert durations == sorted(r["avg_duration_ms"] for r in board)
    assert page.get_attribute("#leaderboard-table th[data-col='avg_duration_ms']", "aria-sort") == "ascending"
    assert "sort=avg_duration_ms" in page.url and "dir=asc" in page.url

    page.select_option("#filter-agent_type", "code")
    shown = table(page, "#leaderboard-table")
    assert [row["key"] for row in shown] == [f"{web_store.run_code}|code"]
    assert page.text_content("#leaderboard-count") == "1 of 3 rows"
    assert "agent_type=code" in page.url

    # the URL alone restores sort and filters
    url = page.url
    page.goto("about:blank")
    page.goto(url)
    page.wait_for_selector("#leaderboard-table")
    assert page.input_value("#filter-agent_type") == "code"
    assert [row["key"] for row in table(page, "#leaderboard-table")] == [f"{web_store.run_code}|code"]
    page.select_option("#filter-agent_type", "")
    page.select_option("#filter-model", "gpt-4o-mini")
    durations = [row["cells"]["avg_duration_ms"]["value"] for row in table(page, "#leaderboard-table")]
    assert durations == sorted(r["avg_duration_ms"] for r in board)


def test_run_page_shows_its_totals_and_tasks_and_filters_to_failures(page, web_store):
    run_id = web_store.run_a
    goto(page, web_store, f"/run/{run_id}")
    screenshot(page, "run")
    run = sql(web_store, "SELECT *, round(100.0 * successful_tasks / completed_tasks, 2) AS success_rate FROM runs "
                         "WHERE run_id = ?", [run_id])[0]  # fmt: skip
    shown_facts = facts(page, "#run-facts")
    for column, kind in [("model", "text"), ("provider", "text"), ("dataset", "text"), ("agent_types", "text"),
                         ("success_rate", "pct"), ("started_at", "time"), ("duration_ms", "ms"),
                         ("max_steps", "int"), ("smoltrace_version", "text")]:  # fmt: skip
        check_cell(shown_facts[column], kind, run[column], where=f"run facts {column}")
    check_cell(shown_facts["progress"], "progress", [4, 4], where="run facts progress")
    assert page.text_content("#run-status") == "completed"

    board = sql(web_store, "SELECT * FROM leaderboard_by_agent_type WHERE run_id = ?", [run_id])
    summary = table(page, "#run-summary")
    assert [row["key"] for row in summary] == ["tool"]
    check_row(summary[0], js_columns(page, "/static/pages/run.js", "SUMMARY_COLUMNS"), board[0], where="summary")

    results = sql(web_store, "SELECT r.*, e.gpu_energy_wh FROM results AS r LEFT JOIN task_gpu_energy AS e "
                             "USING (run_id, trace_id) WHERE run_id = ? ORDER BY start_time", [run_id])  # fmt: skip
    columns = js_columns(page, "/static/pages/run.js", "TASK_COLUMNS")
    shown = table(page, "#run-tasks")
    assert [row["key"] for row in shown] == [r["trace_id"] for r in results]
    for row, result in zip(shown, results):
        check_row(row, columns, result, where=f"task {result['task_uid']}")
        assert row["cells"]["task_uid"]["link"] == row["href"] == f"#/task/{result['trace_id']}"
    assert all(r["gpu_energy_wh"] > 0 for r in results)
    assert {r["task_uid"]: r["success"] for r in results} == {
        "tool:weather_tokyo": True, "tool:calc_sum": False, "tool:xss_echo": True, "tool:broken_call": False,
    }  # fmt: skip
    assert page.is_visible("#gpu-link")

    page.check("#failures-only")
    failed = [r["trace_id"] for r in results if not r["success"]]
    assert [row["key"] for row in table(page, "#run-tasks")] == failed
    assert page.text_content("#task-count") == "2 of 4 task executions"
    assert page.url.endswith(f"#/run/{run_id}?failures=1")
    screenshot(page, "run-failures")
    page.reload()
    page.wait_for_selector("#run-tasks tbody tr")
    assert page.is_checked("#failures-only")
    assert [row["key"] for row in table(page, "#run-tasks")] == failed


def test_a_run_without_gpu_samples_has_no_gpu_link_and_empty_energy(page, web_store):
    goto(page, web_store, f"/run/{web_store.run_b}")
    assert not page.query_selector("#gpu-link")
    assert {row["cells"]["gpu_energy_wh"]["text"] for row in table(page, "#run-tasks")} == {"—"}


@pytest.mark.parametrize("task", [t["id"] for t in TASKS])
def test_task_page_shows_the_result_every_span_and_every_step(page, web_store, task):
    result = sql(web_store, "SELECT * FROM results WHERE run_id = ? AND task_id = ?", [web_store.run_a, task])[0]
    trace_id = result["trace_id"]
    goto(page, web_store, f"/task/{trace_id}")
    screenshot(page, f"task-{task}")

    shown = facts(page, "#task-facts")
    for column, kind in [("success", "bool"), ("tool_called", "bool"), ("correct_tool", "bool"),
                         ("final_answer_called", "bool"), ("response_correct", "bool"), ("stop_reason", "text"),
                         ("agent_type", "text"), ("model", "text"), ("difficulty", "text"), ("expected_tool", "text"),
                         ("expected_keywords", "list"), ("tools_used", "list"), ("steps", "int"), ("llm_calls", "int"),
                         ("prompt_tokens", "int"), ("completion_tokens", "int"), ("total_tokens", "int"),
                         ("execution_time_ms", "ms"), ("cost_usd", "usd")]:  # fmt: skip
        check_cell(shown[column], kind, result[column], where=f"{task} {column}")
    energy = sql(web_store, "SELECT gpu_energy_wh FROM task_gpu_energy WHERE trace_id = ?", [trace_id])[0]
    page.wait_for_function("() => document.getElementById('task-energy').dataset.value !== 'null'")
    check_cell(facts(page, "#task-facts")["gpu_energy_wh"], "wh", energy["gpu_energy_wh"], where="energy")
    assert page.text_content("#task-prompt") == result["prompt"]

    # the waterfall: one row per span of the trace, under its parent, with its duration
    spans = sql(web_store, 'SELECT DISTINCT "SpanId" AS span_id, "ParentSpanId" AS parent, "SpanName" AS name, '
                           '"Duration" / 1e6 AS duration_ms FROM otel_traces WHERE "TraceId" = ?', [trace_id])  # fmt: skip
    rows = page.evaluate("""() => [...document.querySelectorAll('#waterfall tbody tr')].map((tr) => ({
        span_id: tr.dataset.spanId, parent: tr.dataset.parentSpanId, depth: Number(tr.dataset.depth),
        name: tr.querySelector('.name').textContent, duration: JSON.parse(tr.querySelector('[data-col=duration_ms]').dataset.value),
        duration_text: tr.querySelector('[data-col=duration_ms]').textContent,
        bar: tr.querySelector('.bar') !== null }))""")  # fmt: skip
    assert sorted(r["span_id"] for r in rows) == sorted(s["span_id"] for s in spans)
    by_id = _by(spans, "span_id")
    position = {row["span_id"]: i for i, row in enumerate(rows)}
    for row in rows:
        span = by_id[row["span_id"]]
        assert (row["name"], row["parent"], row["duration"]) == (span["name"], span["parent"], span["duration_ms"])
        assert row["duration_text"] == fmt("ms", span["duration_ms"]) and row["bar"]
        if span["parent"]:  # drawn below its parent, one level deeper
            parent_row = rows[position[span["parent"]]]
            assert position[span["parent"]] < position[row["span_id"]] and row["depth"] == parent_row["depth"] + 1
    assert rows[0]["name"] == "smoltrace.task" and rows[0]["depth"] == 0
    assert page.text_content("#trace > h2") == f"Trace: {len(spans)} spans"

    # each step, with its LLM call and tool calls (arguments and results as recorded)
    steps = sql(web_store, "SELECT span_id FROM steps WHERE trace_id = ? ORDER BY start_time", [trace_id])
    shown_steps = page.eval_on_selector_all(
        "#steps article.step[data-span-id]", "els => els.map((e) => e.dataset.spanId)"
    )
    assert shown_steps == [s["span_id"] for s in steps]
    tools = sql(web_store, "SELECT span_id, tool_name, output FROM tool_calls WHERE trace_id = ?", [trace_id])
    for tool in tools:
        block = page.locator(f"#steps .tool[data-span-id='{tool['span_id']}']")
        assert block.locator("h4").text_content().startswith(f"Tool {tool['tool_name']}")
        assert block.locator("pre.result").text_content() == tool["output"]
    llm = sql(web_store, "SELECT span_id FROM llm_calls WHERE trace_id = ?", [trace_id])
    assert page.locator("#steps .llm").count() == len(llm)
    first_user = page.locator(f"#steps .llm[data-span-id='{llm[0]['span_id']}'] details >> nth=1")
    assert first_user.locator("pre").text_content() == f"New task:\n{result['prompt']}"


def test_task_page_says_why_a_task_failed(page, web_store):
    trace_id = sql(web_store, "SELECT trace_id FROM results WHERE run_id = ? AND task_id = 'broken_call'",
                   [web_store.run_a])[0]["trace_id"]  # fmt: skip
    goto(page, web_store, f"/task/{trace_id}")
    reasons = page.eval_on_selector_all("#verdict > ul:not(.span-errors) > li", "els => els.map((e) => e.textContent)")
    assert reasons == [
        "It stopped without a final answer (stop reason: max_steps).",
        "The answer lacks the expected keyword: °C.",
        "Expected tool get_weather; tools called: none.",
        "Error: reached max_steps without a final answer",
    ]
    errors = sql(web_store, 'SELECT "SpanName" AS name, "StatusMessage" AS message FROM otel_traces '
                            "WHERE \"TraceId\" = ? AND \"StatusCode\" = 'Error' ORDER BY \"Timestamp\"", [trace_id])  # fmt: skip
    shown = page.eval_on_selector_all("#verdict ul.span-errors > li", "els => els.map((e) => e.textContent)")
    assert shown == [f"{e['name']}: {e['message']}" for e in errors] and len(errors) == 2
    assert "Argument location is required" in errors[0]["message"]
    # the failing step is marked, with its error
    assert page.locator("#steps article.step.error").count() == 2


def test_a_selected_span_shows_all_its_attributes_and_is_kept_in_the_url(page, web_store):
    trace_id = sql(web_store, "SELECT trace_id FROM results WHERE run_id = ? AND task_id = 'weather_tokyo'",
                   [web_store.run_a])[0]["trace_id"]  # fmt: skip
    tool_span = sql(web_store, "SELECT span_id FROM tool_calls WHERE trace_id = ? AND tool_name = 'get_weather'",
                    [trace_id])[0]["span_id"]  # fmt: skip
    attributes = sql(web_store, 'SELECT "SpanAttributes" AS a FROM otel_traces WHERE "SpanId" = ?', [tool_span])[0]["a"]
    goto(page, web_store, f"/task/{trace_id}")
    page.click(f"#waterfall tr[data-span-id='{tool_span}']")
    assert page.url.endswith(f"?span={tool_span}")
    shown = page.eval_on_selector_all("#span-attributes tr", "trs => trs.map((tr) => [tr.cells[0].textContent, "
                                      "tr.cells[1].textContent])")  # fmt: skip
    assert dict(shown) == {
        k: v if isinstance(v, str) else __import__("json").dumps(v, indent=2) for k, v in attributes.items()
    }
    assert page.evaluate("[...document.getElementById('span-detail').childNodes].filter((n) => n.nodeType === 3)"
                         ".map((n) => n.textContent)") == []  # fmt: skip
    screenshot(page, "task-span-selected")
    page.reload()
    page.wait_for_selector("#span-attributes")
    assert page.get_attribute(f"#waterfall tr[data-span-id='{tool_span}']", "aria-selected") == "true"


def test_compare_page_counts_flips_and_shows_both_runs_totals(page, web_store):
    a, b = web_store.run_a, web_store.run_b
    goto(page, web_store, f"/compare?a={a}&b={b}")
    screenshot(page, "compare")
    board = sql(web_store, "SELECT * FROM leaderboard_by_agent_type WHERE run_id IN (?, ?)", [a, b])
    cells = page.eval_on_selector_all("#compare-totals td[data-run]", """tds => tds.map((td) => ({
        col: td.dataset.col, run: td.dataset.run, agent: td.dataset.agent, text: td.textContent,
        value: td.dataset.value === undefined ? undefined : JSON.parse(td.dataset.value) }))""")  # fmt: skip
    metrics = js_columns(page, "/static/pages/compare.js", "TOTAL_METRICS")
    assert len(cells) == 3 * len(metrics)
    for cell in cells:
        kind = dict(metrics)[cell["col"]]
        if cell["run"] == "delta":
            continue
        row = next(
            r for r in board if r["run_id"] == (a if cell["run"] == "a" else b) and r["agent_type"] == cell["agent"]
        )
        check_cell(cell, kind, row[cell["col"]], where=f"totals {cell['run']} {cell['col']}")
    deltas = {c["col"]: c["text"] for c in cells if c["run"] == "delta"}
    assert deltas["successful_tests"] == "0" and deltas["total_energy_wh"] == "—"

    results = sql(web_store, "SELECT run_id, task_uid, success, trace_id FROM results WHERE run_id IN (?, ?)", [a, b])
    before = {r["task_uid"]: r for r in results if r["run_id"] == a}
    after = {r["task_uid"]: r for r in results if r["run_id"] == b}
    expected_changes = {
        uid: ("fixed" if after[uid]["success"] else "broken") if before[uid]["success"] != after[uid]["success"]
        else ("same_success" if before[uid]["success"] else "same_failure")
        for uid in before
    }  # fmt: skip
    assert expected_changes == {"tool:weather_tokyo": "broken", "tool:calc_sum": "fixed", "tool:xss_echo": "same_success",
                                "tool:broken_call": "same_failure"}  # fmt: skip
    counts = page.eval_on_selector_all(
        "#compare-changes dd", "dds => dds.map((d) => [d.dataset.col, Number(d.dataset.value)])"
    )
    assert dict(counts) == {"fixed": 1, "broken": 1, "same_success": 1, "same_failure": 1, "only_a": 0, "only_b": 0}
    shown = table(page, "#compare-tasks")
    # one row per execution (task and try): these runs ran each task once, try 0
    assert sorted(row["key"] for row in shown) == sorted(f"{uid}#0" for uid in before)
    for row in shown:
        uid = row["key"].removesuffix("#0")
        check_cell(row["cells"]["repeat_index"], "int", 0, where=f"{uid} try")
        check_cell(row["cells"]["success_a"], "bool", before[uid]["success"], where=f"{uid} A")
        check_cell(row["cells"]["success_b"], "bool", after[uid]["success"], where=f"{uid} B")
        assert row["cells"]["success_a"]["link"] == f"#/task/{before[uid]['trace_id']}"
        assert row["cells"]["success_b"]["link"] == f"#/task/{after[uid]['trace_id']}"
    page.check("#only-flips")
    assert sorted(row["key"] for row in table(page, "#compare-tasks")) == ["tool:calc_sum#0", "tool:weather_tokyo#0"]
    assert "only=flips" in page.url
    page.click("#swap-runs")
    wait_ready(page, f"#/compare?a={b}&b={a}&only=flips")
    counts = page.eval_on_selector_all(
        "#compare-changes dd", "dds => dds.map((d) => [d.dataset.col, Number(d.dataset.value)])"
    )
    assert dict(counts)["fixed"] == 1 and dict(counts)["broken"] == 1
    assert page.is_checked("#only-flips")


def test_compare_page_without_two_runs_offers_the_pickers(page, web_store):
    goto(page, web_store, f"/compare?a={web_store.run_a}")
    options = page.eval_on_selector_all("#run-b option", "os => os.map((o) => o.value)")
    assert set(options) == {"", web_store.run_a, web_store.run_b, web_store.run_code}
    assert page.text_content("#main p.note") == "Pick two runs to compare."
    page.select_option("#run-b", web_store.run_code)
    wait_ready(page, f"#/compare?a={web_store.run_a}&b={web_store.run_code}")
    uids = sorted(row["key"].removesuffix("#0") for row in table(page, "#compare-tasks"))
    assert uids == ["code:weather_tokyo", "tool:broken_call", "tool:calc_sum", "tool:weather_tokyo", "tool:xss_echo"]
    changes = {row["key"].removesuffix("#0"): row["cells"]["change"]["value"] for row in table(page, "#compare-tasks")}
    assert changes["code:weather_tokyo"] == "only in B" and changes["tool:calc_sum"] == "only in A"


def test_gpu_page_plots_every_gpu_with_the_task_bands_and_lists_every_sample(page, web_store):
    run_id = web_store.run_a
    goto(page, web_store, f"/gpu/{run_id}")
    samples = sql(web_store, 'SELECT * FROM gpu_metrics WHERE run_id = ? ORDER BY "timestamp", gpu_index', [run_id])
    assert len(samples) == 16

    # per GPU: count, averages and maxima of its samples, and its last cumulative energy
    summary = _by(
        [row | {"gpu_index": row["cells"]["gpu_index"]["value"]} for row in table(page, "#gpu-summary")], "gpu_index"
    )
    assert sorted(summary) == [0, 1]
    for index, row in summary.items():
        mine = [s for s in samples if s["gpu_index"] == index]
        cells = row["cells"]
        check_cell(cells["gpu_name"], "text", mine[0]["gpu_name"])
        check_cell(cells["samples"], "int", len(mine))
        for column, metric, kind in [("max_gpu_utilization_percent", "gpu_utilization_percent", "pct"),
                                     ("max_gpu_memory_used_mib", "gpu_memory_used_mib", "mib"),
                                     ("gpu_memory_total_mib", "gpu_memory_total_mib", "mib"),
                                     ("max_gpu_temperature_celsius", "gpu_temperature_celsius", "celsius"),
                                     ("max_gpu_power_watts", "gpu_power_watts", "watts")]:  # fmt: skip
            check_cell(cells[column], kind, _max(s[metric] for s in mine), where=f"GPU {index} {column}")
        for column, metric in [("avg_gpu_utilization_percent", "gpu_utilization_percent"),
                               ("avg_gpu_power_watts", "gpu_power_watts")]:  # fmt: skip
            values = [s[metric] for s in mine if s[metric] is not None]
            if not values:
                check_cell(cells[column], "watts", None, where=f"GPU {index} {column}")
                continue
            assert cells[column]["value"] == pytest.approx(sum(values) / len(values), rel=1e-12), (index, column)
        energies = [s["gpu_energy_wh"] for s in mine if s["gpu_energy_wh"] is not None]
        check_cell(cells["gpu_energy_wh"], "wh", energies[-1] if energies else None, where=f"GPU {index} energy")

    # four charts, a line per GPU with a mark per reading, and a band per task
    tasks = sql(web_store, "SELECT task_uid, success FROM results WHERE run_id = ?", [run_id])
    for chart_id, metric in [("chart-utilization", "gpu_utilization_percent"), ("chart-memory", "gpu_memory_used_mib"),
                             ("chart-power", "gpu_power_watts"), ("chart-temperature", "gpu_temperature_celsius")]:  # fmt: skip
        marks = page.eval_on_selector_all(f"#{chart_id} g.series", "gs => gs.map((g) => [g.dataset.series, "
                                          "g.querySelectorAll('circle').length])")  # fmt: skip
        assert dict(marks) == {f"GPU {i}": sum(1 for s in samples if s["gpu_index"] == i and s[metric] is not None)
                               for i in (0, 1)}, chart_id  # fmt: skip
        bands = page.eval_on_selector_all(f"#{chart_id} rect.band", "rs => rs.map((r) => [r.dataset.task, "
                                          "r.classList.contains('ok')])")  # fmt: skip
        assert sorted(map(tuple, bands)) == sorted((t["task_uid"], t["success"]) for t in tasks), chart_id
    assert dict(page.eval_on_selector_all("#chart-power g.series", "gs => gs.map((g) => [g.dataset.series, "
                                          "g.querySelectorAll('path').length])")) == {"GPU 0": 1, "GPU 1": 0}  # fmt: skip
    page.hover("#chart-utilization svg", position={"x": 300, "y": 80})
    assert page.text_content("#chart-utilization p.readout").count("GPU") == 2
    screenshot(page, "gpu")

    # every sample, value by value, once the list is opened
    page.click("#gpu-samples summary")
    columns = js_columns(page, "/static/pages/gpu.js", "SAMPLE_COLUMNS")
    shown = table(page, "#gpu-samples-table")
    assert len(shown) == len(samples)
    for row, sample in zip(shown, samples):
        check_row(row, columns, sample, where=f"sample {sample['timestamp']} GPU {sample['gpu_index']}")


def test_gpu_page_of_a_run_without_samples_says_so(page, web_store):
    goto(page, web_store, f"/gpu/{web_store.run_b}")
    assert "No GPU samples for this run" in page.text_content("#main")


def test_unknown_pages_runs_and_tasks_say_so(page, web_store):
    goto(page, web_store, "/nothing-here")
    assert page.text_content("#main h1") == "Not found"
    goto(page, web_store, "/run/no-such-run")
    assert page.text_content("#main h1") == "Run not found"
    goto(page, web_store, "/task/0123456789abcdef0123456789abcdef")
    assert page.text_content("#main h1") == "Task not found"


def _max(values):
    present = [v for v in values if v is not None]
    return max(present) if present else None
