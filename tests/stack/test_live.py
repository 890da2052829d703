"""A run in progress is visible through the query API before it ends (what the live dashboards show).

A real evaluation (scripted model with a delay per call) exports over OTLP/gRPC into a running
collector, as smoltrace-eval --otlp-endpoint does; meanwhile this test polls the query API the way
Grafana does (POST /api/query?format=objects, SQL as text/plain, bearer token).
"""

from __future__ import annotations

import json
import threading
import time
import uuid

import httpx

from smoltrace.collector import Collector

TOKEN = "live-token"
TASKS = 4
DELAY_S = 0.4  # per model call; a task is one call (final_answer), so a task takes ~0.4 s
POLL_S = 0.05
LAG_LIMIT_MS = 2000


def query(collector, sql, params=None):
    response = httpx.post(f"{collector.http_endpoint}/api/query", params={"format": "objects"},
                          json={"sql": sql, "params": params or []},
                          headers={"authorization": f"Bearer {TOKEN}"}, timeout=10)  # fmt: skip
    assert response.status_code == 200, response.text
    return response.json()


def test_a_running_run_is_visible_and_finished_tasks_appear_within_two_seconds(tmp_path):
    from smoltrace.core import run_evaluation
    from smoltrace.runner.scripted import ScriptedModel, call

    tasks = tmp_path / "tasks.json"
    tasks.write_text(json.dumps([{"id": f"t{i}", "prompt": f"task {i}", "difficulty": "easy"} for i in range(TASKS)]))
    run_id = f"live-{uuid.uuid4().hex[:8]}"
    model = ScriptedModel(default=call("final_answer", answer="done"), delay_s=DELAY_S)
    with Collector.embedded(db_path=tmp_path / "live.duckdb", token=TOKEN) as collector:
        outcome: dict = {}

        def evaluate():
            try:
                outcome["result"] = run_evaluation(
                    "gpt-4o-mini", dataset_name=str(tasks), agent_type="tool", run_id=run_id, parallel_workers=1,
                    otlp_endpoint=collector.grpc_endpoint, otlp_token=TOKEN, query_url=collector.http_endpoint,
                    model_factory=lambda: model)  # fmt: skip
            except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
                outcome["error"] = exc

        runner = threading.Thread(target=evaluate, daemon=True)
        runner.start()
        first_seen_ms: dict[str, float] = {}  # task uid -> wall clock (ms) it first showed in the API
        running_views = []  # runs rows seen while the run was in progress
        deadline = time.monotonic() + 60
        while runner.is_alive() and time.monotonic() < deadline:
            rows = query(collector, "SELECT task_uid FROM task_spans WHERE run_id = ?", [run_id])
            seen_at = time.time() * 1000  # after the answer came: an upper bound on the lag
            for row in rows:
                first_seen_ms.setdefault(row["task_uid"], seen_at)
            for row in query(collector, "SELECT status, planned_tasks, completed_tasks FROM runs WHERE run_id = ?",
                             [run_id]):  # fmt: skip
                if row["status"] == "running":
                    running_views.append(row)
            time.sleep(POLL_S)
        runner.join(timeout=30)
        assert "error" not in outcome, outcome.get("error")
        assert "result" in outcome

        # the run showed as running, with some tasks done and others still to do
        in_progress = [r for r in running_views if 0 < r["completed_tasks"] < r["planned_tasks"]]
        assert in_progress, f"never saw the run in progress: {running_views[-3:]}"
        assert all(r["planned_tasks"] == TASKS for r in running_views)

        # every task that finished while the run went on showed within LAG_LIMIT_MS of its span's end
        ends = {
            row["task_uid"]: row["end_ms"]
            for row in query(collector, """
                SELECT task_uid, epoch_ns(start_time) / 1e6 + execution_time_ms AS end_ms
                  FROM task_spans WHERE run_id = ?""", [run_id])
        }  # fmt: skip
        assert len(ends) == TASKS
        seen_live = {uid: first_seen_ms[uid] - ends[uid] for uid in first_seen_ms}
        assert len(seen_live) >= TASKS - 1, "all but (at most) the last task were seen before the run ended"
        print(f"task visible after its span ended (ms): {sorted(round(v) for v in seen_live.values())}")
        assert max(seen_live.values()) < LAG_LIMIT_MS, seen_live
        final = query(collector, "SELECT status, completed_tasks FROM runs WHERE run_id = ?", [run_id])
        assert final == [{"status": "completed", "completed_tasks": TASKS}]
