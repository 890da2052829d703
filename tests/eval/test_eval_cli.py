"""The installed smoltrace-eval command, run as a user would."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import duckdb

from smoltrace.store.reader import CollectorReader

BIN = Path(sys.executable).parent
ENV = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True", "HF_HUB_OFFLINE": "1", "NO_COLOR": "1",
       "COLUMNS": "200"}  # fmt: skip


def eval_cli(*args, env=None, timeout=180):
    return subprocess.run([str(BIN / "smoltrace-eval"), *args], capture_output=True, text=True, timeout=timeout,
                          env=env or ENV)  # fmt: skip


def store_rows(db, sql, params=()):
    with duckdb.connect(str(db), read_only=True) as conn:
        result = conn.execute(sql, list(params))
        names = [column[0] for column in result.description]
        return [dict(zip(names, row)) for row in result.fetchall()]


def test_json_output_is_read_from_the_views(tmp_path):
    db, out = tmp_path / "s.duckdb", tmp_path / "out"
    result = eval_cli("--model", "gpt-4o-mini", "--model-args", '{"mock_response": "Paris is sunny"}',
                      "--model-args", "temperature=0.25", "--agent-type", "tool", "--limit", "2", "--max-steps", "2",
                      "--output-format", "json", "--output-dir", str(out), "--db", str(db), "--run-id", "cli-run",
                      "--quiet", "--trace-litellm")  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "TOOL AGENT SUMMARY\nTotal: 2, Success: 0/2 (0.0%)" in result.stdout
    (folder,) = out.iterdir()
    assert folder.name.startswith("gpt-4o-mini_tool_")
    assert sorted(p.name for p in folder.iterdir()) == [
        "leaderboard_row.json",
        "metadata.json",
        "metrics.json",
        "results.json",
        "traces.json",
    ]
    results = json.loads((folder / "results.json").read_text())
    stored = store_rows(db, "SELECT task_id, stop_reason, steps, total_tokens FROM results WHERE run_id = 'cli-run' "
                            "ORDER BY task_id")  # fmt: skip
    assert [{k: r[k] for k in ("task_id", "stop_reason", "steps", "total_tokens")} for r in results] == stored
    assert [r["stop_reason"] for r in stored] == ["max_steps", "max_steps"]
    leaderboard = json.loads((folder / "leaderboard_row.json").read_text())
    assert (leaderboard["run_id"], leaderboard["provider"], leaderboard["run_status"], leaderboard["total_tests"]) == (
        "cli-run",
        "litellm",
        "completed",
        2,
    )
    metadata = json.loads((folder / "metadata.json").read_text())
    assert (metadata["status"], metadata["planned_tasks"], metadata["completed_tasks"]) == ("completed", 2, 2)
    traces = json.loads((folder / "traces.json").read_text())
    assert len(traces) == 2 and all(t["spans"][0]["name"] == "smoltrace.task" for t in traces)
    # --model-args reached every completion call
    params = store_rows(db, "SELECT DISTINCT SpanAttributes->>'llm.invocation_parameters' AS p FROM otel_traces "
                            "WHERE SpanName = 'completion'")  # fmt: skip
    assert params and all('"temperature": 0.25' in row["p"] for row in params)


def test_a_bad_task_file_stops_before_anything_runs(tmp_path):
    tasks = tmp_path / "tasks.jsonl"
    tasks.write_text(
        '{"id": "a", "prompt": "p", "difficulty": "easy"}\n{"id": "b", "prompt": "q", "difficulty": "simple"}\n'
    )
    result = eval_cli("--model", "gpt-4o-mini", "--model-args", "mock_response=x", "--dataset-name", str(tasks),
                      "--output-format", "json", "--db", str(tmp_path / "s.duckdb"))  # fmt: skip
    assert result.returncode == 2
    assert f"{tasks}, row 2, field 'difficulty': must be one of easy, medium, hard (got 'simple')" in result.stderr
    assert not (tmp_path / "s.duckdb").exists()  # nothing started


def test_an_unreachable_collector_is_reported_before_any_model_call(tmp_path):
    result = eval_cli("--model", "gpt-4o-mini", "--model-args", "mock_response=x", "--otlp-endpoint", "127.0.0.1:9",
                      "--output-format", "json")  # fmt: skip
    assert result.returncode == 2
    assert "cannot export to the collector at 127.0.0.1:9: UNAVAILABLE" in result.stderr
    assert "Start it with `smoltrace-collector`" in result.stderr


def test_a_missing_api_key_is_named(tmp_path):
    env = {k: v for k, v in ENV.items() if not k.endswith("_API_KEY")}
    result = eval_cli(
        "--model", "openai/gpt-4o", "--output-format", "json", "--db", str(tmp_path / "s.duckdb"), env=env
    )
    assert result.returncode == 2
    assert "openai/gpt-4o needs OPENAI_API_KEY in the environment" in result.stderr


def test_ctrl_c_keeps_finished_tasks_and_records_the_run_as_interrupted(tmp_path):
    db = tmp_path / "s.duckdb"
    tasks = tmp_path / "tasks.json"
    tasks.write_text(json.dumps([{"id": f"t{i}", "prompt": f"task {i}", "difficulty": "easy"} for i in range(20)]))
    script = tmp_path / "run.py"
    script.write_text(
        textwrap.dedent(f"""
        import signal, sys
        # a shell starts background jobs with SIGINT ignored; a user's Ctrl-C reaches a foreground program
        signal.signal(signal.SIGINT, signal.default_int_handler)
        from smoltrace.cli.eval import evaluate
        from smoltrace.runner.config import EvalConfig
        from smoltrace.runner.scripted import ScriptedModel, call
        model = ScriptedModel(default=call("final_answer", answer="done"), delay_s=1.0)
        config = EvalConfig(model="gpt-4o-mini", agent_type="tool", dataset_name={str(tasks)!r}, db_path={str(db)!r},
                            run_id="stopped", quiet=True, output_format="json", output_dir={str(tmp_path / "out")!r},
                            model_factory=lambda: model)
        sys.exit(evaluate(config))
    """)
    )
    process = subprocess.Popen([sys.executable, str(script)], env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)  # fmt: skip
    # Watch the run live through the embedded collector's query API (the file itself is locked) and
    # press Ctrl-C once two tasks are finished.
    discovery = Path(f"{db}.collector.json")
    deadline = time.monotonic() + 90
    finished = 0
    while finished < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
        if discovery.exists():
            try:
                reader = CollectorReader(json.loads(discovery.read_text())["http_endpoint"])
                finished = reader.query("SELECT count(*) AS n FROM task_spans")[0]["n"]
            except (RuntimeError, ValueError, KeyError, OSError):
                pass
    assert finished >= 2, "the run never showed two finished tasks"
    assert process.poll() is None, "the run ended before it could be interrupted"
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert "Run stopped interrupted:" in stderr.replace("\n", " ")
    (run,) = store_rows(db, "SELECT status, planned_tasks, completed_tasks FROM runs WHERE run_id = 'stopped'")
    assert run["status"] == "interrupted" and run["planned_tasks"] == 20
    stops = store_rows(db, "SELECT stop_reason, count(*) AS n FROM results GROUP BY 1 ORDER BY 1")
    finished = {row["stop_reason"]: row["n"] for row in stops}
    assert finished.get("final_answer", 0) >= 2
    assert sum(finished.values()) == run["completed_tasks"] < 20
    assert set(finished) <= {"final_answer", "interrupted"}


def help_entries(command: str) -> dict[str, str]:
    """``--help`` as {flag: its whole (unwrapped) description}."""
    text = subprocess.run([str(BIN / command), "--help"], capture_output=True, text=True, env=ENV).stdout
    entries, current = {}, None
    for line in text.split("Options:", 1)[1].splitlines():
        stripped = line.strip()
        if line.startswith("  -"):  # an option; its wrapped description lines are indented further
            current = stripped.split()[0].rstrip(",")
            entries[current] = stripped
        elif current and stripped:
            entries[current] += " " + stripped
    return entries


def test_help_explains_every_flag_with_its_default():
    entries = help_entries("smoltrace-eval")
    assert len(entries) >= 33
    for flag, default in [("--provider", "litellm"), ("--agent-type", "both"), ("--split", "train"),
                          ("--max-steps", "6"), ("--task-timeout", "300.0"), ("--parallel-workers", "1"),
                          ("--output-format", "hub"), ("--output-dir", "smoltrace_results")]:  # fmt: skip
        assert f"[default: {default}" in entries[flag], entries[flag]
    for flag, description in entries.items():
        assert len(description) > len(flag) + 20, f"{flag} has no explanation"
