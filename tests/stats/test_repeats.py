"""``--repeats N``: real runs (the real runner, agents, instrumentation and embedded collector; a scripted
model) where every task runs N times, each try its own trace, and the statistics views read them."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import duckdb
import pytest

from smoltrace.core import run_evaluation
from smoltrace.runner.scripted import ScriptedModel, call

BIN = Path(sys.executable).parent
ENV = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True", "HF_HUB_OFFLINE": "1", "NO_COLOR": "1", "COLUMNS": "200"}
TASKS = [
    {
        "id": f"weather_{city.lower()}",
        "prompt": f"What is the weather in {city}?",
        "difficulty": "easy",
        "expected_tool": "get_weather",
        "expected_keywords": ["18°C"],
        "category": "weather",
    }
    for city in ("Tokyo", "Paris")
]


class AlternatingModel(ScriptedModel):
    """Calls get_weather, then answers right on every other final answer of the same task: with an even
    number of tries, each task succeeds on exactly half of them, in whatever order the workers run."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._lock = threading.Lock()
        self._answers: dict[str, int] = {}

    def _reply_for(self, messages):
        reply = super()._reply_for(messages)  # the step count decides: first call the tool, then answer
        prompt = next(task["prompt"] for task in TASKS if any(task["prompt"] in str(m) for m in messages))
        if reply.tool_calls and reply.tool_calls[0][0] == "final_answer":
            with self._lock:
                count = self._answers[prompt] = self._answers.get(prompt, 0) + 1
            return call("final_answer", answer="18°C, Clear" if count % 2 else "I do not know")
        return reply


def store_rows(db, sql, params=()):
    with duckdb.connect(str(db), read_only=True) as conn:
        result = conn.execute(sql, list(params))
        names = [column[0] for column in result.description]
        return [dict(zip(names, row)) for row in result.fetchall()]


def test_every_task_runs_n_times_each_its_own_trace(tmp_path):
    tasks_file = tmp_path / "tasks.json"
    tasks_file.write_text(json.dumps(TASKS))
    script = {task["prompt"]: [call("get_weather", location="x"), call("final_answer", answer="")] for task in TASKS}
    model = AlternatingModel(script=script)
    db = tmp_path / "s.duckdb"
    results, _, _, _, run_id = run_evaluation(
        "gpt-4o-mini",
        agent_type="tool",
        dataset_name=str(tasks_file),
        db_path=db,
        model_factory=lambda: model,
        repeats=4,
        parallel_workers=2,
    )
    assert len(results["tool"]) == 8
    tries = store_rows(
        db,
        "SELECT task_id, list(repeat_index ORDER BY repeat_index) AS repeats, "
        "count(DISTINCT trace_id) AS traces FROM task_spans GROUP BY task_id ORDER BY task_id",
    )
    assert tries == [
        {"task_id": "weather_paris", "repeats": [0, 1, 2, 3], "traces": 4},
        {"task_id": "weather_tokyo", "repeats": [0, 1, 2, 3], "traces": 4},
    ]
    (run,) = store_rows(db, "SELECT planned_tasks, completed_tasks, status FROM runs")
    assert run == {"planned_tasks": 8, "completed_tasks": 8, "status": "completed"}
    (attributes,) = store_rows(
        db,
        "SELECT attributes->>'smoltrace.run.repeats' AS n FROM smoltrace_run_spans WHERE span_name = 'smoltrace.run'",
    )
    assert attributes == {"n": "4"}
    assert store_rows(db, "SELECT task_id, tries, successes FROM task_stats ORDER BY task_id") == [
        {"task_id": "weather_paris", "tries": 4, "successes": 2},
        {"task_id": "weather_tokyo", "tries": 4, "successes": 2},
    ]
    (stats,) = store_rows(db, "SELECT * FROM run_stats WHERE run_id = ?", [run_id])
    assert (stats["tasks"], stats["tries"], stats["min_tries"], stats["max_tries"], stats["successes"]) == (
        2,
        8,
        4,
        4,
        4,
    )
    assert (stats["success_rate"], stats["success_rate_ci_method"], stats["run_status"]) == (
        0.5,
        "wilson_clustered",
        "completed",
    )
    # each task 2 of 4: pass@k = 1 - C(2,k)/C(4,k) = 1/2, 5/6, 1, 1; pass^k = C(2,k)/C(4,k) = 1/2, 1/6, 0, 0
    assert stats["pass_at_k"] == pytest.approx([1 / 2, 5 / 6, 1, 1], abs=1e-12)
    assert stats["pass_hat_k"] == pytest.approx([1 / 2, 1 / 6, 0, 0], abs=1e-12)
    # Both tasks at exactly 1/2: no spread between tasks, so the tries count as independent (deff floor 1).
    assert stats["effective_tries"] == 8.0


def test_cli_repeats_alias_summary_and_json(tmp_path):
    db, out = tmp_path / "s.duckdb", tmp_path / "out"
    help_text = subprocess.run(
        [str(BIN / "smoltrace-eval"), "--help"], capture_output=True, text=True, env=ENV, check=False
    ).stdout
    assert "--repeats, --epochs INTEGER RANGE" in help_text
    assert "[default: 1; x>=1]" in " ".join(help_text.split("--repeats", 1)[1].split("--model-args")[0].split())
    result = subprocess.run(
        [
            str(BIN / "smoltrace-eval"),
            "--model",
            "gpt-4o-mini",
            "--model-args",
            '{"mock_response": "Paris is sunny"}',
            "--agent-type",
            "tool",
            "--limit",
            "2",
            "--max-steps",
            "1",
            "--epochs",
            "2",
            "--output-format",
            "json",
            "--output-dir",
            str(out),
            "--db",
            str(db),
            "--run-id",
            "twice",
            "--quiet",
        ],
        capture_output=True,
        text=True,
        env=ENV,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    # 4 tries, all failed: nothing varies, so each of the 2 tasks counts once: Wilson at 0/2 -> 0% to z²/(2 + z²).
    assert (
        "Total: 4, Success: 0/4 (0.0%)\nSuccess rate 95% CI: 0.0% to 65.8% (Wilson, clustered by task)\n"
        "Tries per task: 2-2; pass@1 0.0%, pass@2 0.0%, pass^2 0.0%" in result.stdout
    )
    (folder,) = out.iterdir()
    leaderboard = json.loads((folder / "leaderboard_row.json").read_text())
    statistics = leaderboard["statistics"]
    assert (statistics["tasks"], statistics["tries"], statistics["max_tries"], statistics["run_status"]) == (
        2,
        4,
        2,
        "completed",
    )
    assert statistics["success_rate_ci_high"] == pytest.approx(1.959963984540054**2 / (2 + 1.959963984540054**2))
    assert statistics["pass_at_k"] == [0.0, 0.0]
    bad = subprocess.run(
        [str(BIN / "smoltrace-eval"), "--model", "gpt-4o-mini", "--repeats", "0"],
        capture_output=True,
        text=True,
        env=ENV,
        check=False,
    )
    assert (
        bad.returncode == 2 and "Invalid value for '--repeats' / '--epochs': 0 is not in the range x>=1" in bad.stderr
    )
    assert "Traceback" not in bad.stderr


def test_each_try_has_its_own_time_limit(tmp_path):
    tasks_file = tmp_path / "tasks.json"
    tasks_file.write_text(json.dumps(TASKS))
    model = ScriptedModel(default=call("final_answer", answer="18°C"), delay_s=1.0)
    db = tmp_path / "s.duckdb"
    run_evaluation(
        "gpt-4o-mini",
        agent_type="tool",
        dataset_name=str(tasks_file),
        db_path=db,
        model_factory=lambda: model,
        repeats=2,
        parallel_workers=4,
        task_timeout_s=0.2,
    )
    rows = store_rows(db, "SELECT task_id, repeat_index, stop_reason FROM task_spans ORDER BY 1, 2")
    assert [(r["task_id"], r["repeat_index"], r["stop_reason"]) for r in rows] == [
        ("weather_paris", 0, "timeout"),
        ("weather_paris", 1, "timeout"),
        ("weather_tokyo", 0, "timeout"),
        ("weather_tokyo", 1, "timeout"),
    ]
    (stats,) = store_rows(db, "SELECT tries, successes FROM run_stats")
    assert stats == {"tries": 4, "successes": 0}  # a timeout is a failed try


def test_ctrl_c_keeps_the_finished_tries_first_tries_first(tmp_path):
    db = tmp_path / "s.duckdb"
    tasks = tmp_path / "tasks.json"
    tasks.write_text(json.dumps([{"id": f"t{i}", "prompt": f"task {i}", "difficulty": "easy"} for i in range(6)]))
    script = tmp_path / "run.py"
    script.write_text(
        textwrap.dedent(f"""
        import signal, sys
        signal.signal(signal.SIGINT, signal.default_int_handler)
        from smoltrace.cli.eval import evaluate
        from smoltrace.runner.config import EvalConfig
        from smoltrace.runner.scripted import ScriptedModel, call
        model = ScriptedModel(default=call("final_answer", answer="done"), delay_s=0.5)
        config = EvalConfig(model="gpt-4o-mini", agent_type="tool", dataset_name={str(tasks)!r}, db_path={str(db)!r},
                            run_id="stopped", quiet=True, output_format="json", output_dir={str(tmp_path / "out")!r},
                            model_factory=lambda: model, repeats=3)
        sys.exit(evaluate(config))
    """)
    )
    process = subprocess.Popen(
        [sys.executable, str(script)], env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    discovery = Path(f"{db}.collector.json")
    deadline, finished = time.monotonic() + 90, 0
    while finished < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
        if discovery.exists():
            try:
                endpoint = json.loads(discovery.read_text())["http_endpoint"]
                import httpx

                answer = httpx.post(f"{endpoint}/api/query", json={"sql": "SELECT count(*) FROM task_spans"}, timeout=5)
                finished = answer.json()["rows"][0][0]
            except (ValueError, KeyError, OSError, httpx.HTTPError):
                pass
    assert finished >= 2, "the run never showed two finished tries"
    assert process.poll() is None, "the run ended before it could be interrupted"
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    rows = store_rows(db, "SELECT repeat_index, stop_reason FROM task_spans")
    done = [r for r in rows if r["stop_reason"] == "final_answer"]
    assert len(done) >= 2 and {r["repeat_index"] for r in done} == {0}  # every task's first try comes first
    (stats,) = store_rows(db, "SELECT run_status, tries, max_tries FROM run_stats")
    assert stats == {"run_status": "interrupted", "tries": len(done), "max_tries": 1}  # interrupted tries left out
    assert "Success rate 95% CI:" in stdout
