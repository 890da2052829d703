"""A run in progress updates on the Runs page, without a reload, within 2 s of each task's end.

A real evaluation (scripted model, a delay per model call) exports into a running collector while the
page is open; the test samples the page's progress cell every 50 ms and compares the moment each
count first showed with the end of the task span that made it (both on this machine's clock).
"""

from __future__ import annotations

import json
import threading
import time
import uuid

from smoltrace.collector import Collector
from smoltrace.runner.scripted import call

from .conftest import new_page, screenshot
from .pages import wait_ready
from .seeding import TOKEN, evaluate

TASKS = 5
DELAY_S = 0.8  # per model call; one call (final_answer) per task
LAG_LIMIT_MS = 2000

ROW_JS = """(runId) => {
  const tr = document.querySelector(`#runs-table tr[data-key="${runId}"]`);
  if (!tr) return null;
  const cell = (col) => JSON.parse(tr.querySelector(`[data-col=${col}]`).dataset.value);
  return { progress: cell('progress'), status: cell('status'), marker: window.__marker ?? null };
}"""


def test_a_running_run_updates_on_the_runs_page_within_two_seconds(browser, tmp_path):
    tasks = tmp_path / "tasks.json"
    tasks.write_text(json.dumps([{"id": f"t{i}", "prompt": f"task {i}", "difficulty": "easy"} for i in range(TASKS)]))
    run_id = f"live-{uuid.uuid4().hex[:8]}"
    with Collector.embedded(db_path=tmp_path / "live.duckdb", token=TOKEN) as collector:
        page = new_page(browser)
        try:
            page.goto(collector.http_endpoint + "/#/runs")
            wait_ready(page, "#/runs")
            page.evaluate("window.__marker = 'no reload'")
            outcome = {}

            def run():
                try:
                    outcome["run_id"] = evaluate(collector, tasks, {}, run_id=run_id,
                                                 model_options={"default": call("final_answer", answer="done"),
                                                                "delay_s": DELAY_S})  # fmt: skip
                except BaseException as exc:  # noqa: BLE001 - reported below
                    outcome["error"] = exc

            runner = threading.Thread(target=run, daemon=True)
            runner.start()
            first_seen_ms: dict[int, float] = {}  # completed count -> wall clock (ms) it first showed
            statuses = []
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                row = page.evaluate(ROW_JS, run_id)
                seen_ms = time.time() * 1000
                if row:
                    assert row["marker"] == "no reload"
                    first_seen_ms.setdefault(row["progress"][0], seen_ms)
                    if not statuses or statuses[-1] != row["status"]:
                        statuses.append(row["status"])
                    if row["status"] == "running" and row["progress"][0] == 2:
                        screenshot(page, "runs-live")
                    if row["status"] == "completed" and not runner.is_alive():
                        break
                time.sleep(0.05)
            runner.join(timeout=30)
            assert "error" not in outcome, outcome.get("error")
            assert statuses == ["running", "completed"], statuses
            assert page.evaluate(ROW_JS, run_id)["progress"] == [TASKS, TASKS]
            problems = list(page.problems)
        finally:
            page.context.close()
        assert not problems, problems

        reader = collector.reader()
        try:
            ends_ms = [row[0] for row in reader.execute(
                "SELECT epoch_us(start_time) / 1e3 + execution_time_ms FROM results WHERE run_id = ? ORDER BY 1",
                [run_id]).fetchall()]  # fmt: skip
        finally:
            reader.close()
    assert len(ends_ms) == TASKS
    # the k-th task to end shows once the page counts k or more (a poll may see two tasks end at once)
    lags = {
        k: min(ms for count, ms in first_seen_ms.items() if count >= k) - ends_ms[k - 1] for k in range(1, TASKS + 1)
    }
    assert max(lags.values()) < LAG_LIMIT_MS, lags
