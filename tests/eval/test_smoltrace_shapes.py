"""The JSON files a run writes have SMOLTRACE 0.1.1's shapes (utils.save_results_locally): results.json a
flat list of rows with its fields first, traces.json per trace with totals, metrics.json with run_id,
resourceMetrics and aggregates, leaderboard_row.json SMOLTRACE's one row for the run, metadata.json its
fields. Real agents, a scripted model (litellm mock responses: 10 prompt + 20 completion tokens per call)."""

import json

import pytest

from smoltrace.runner.outputs import SMOLTRACE_RESULT_FIELDS, resource_metrics, write_json_outputs
from smoltrace.runner.scripted import ScriptedModel, call, say
from smoltrace.store.reader import open_reader
from tests.eval.conftest import WEATHER_TASK

#: SMOLTRACE's compute_leaderboard_row keys, in its order.
SMOLTRACE_LEADERBOARD_FIELDS = [
    "run_id", "model", "agent_type", "provider", "timestamp", "submitted_by", "results_dataset", "traces_dataset",
    "metrics_dataset", "dataset_used", "total_tests", "successful_tests", "failed_tests", "success_rate", "avg_steps",
    "avg_duration_ms", "total_duration_ms", "total_tokens", "avg_tokens_per_test", "total_cost_usd",
    "avg_cost_per_test_usd", "co2_emissions_g", "power_cost_total_usd", "gpu_utilization_avg", "gpu_utilization_max",
    "gpu_memory_avg_mib", "gpu_memory_max_mib", "gpu_temperature_avg", "gpu_temperature_max", "gpu_power_avg_w",
    "notes",
]  # fmt: skip
CODE_PROMPT = "Tokyo weather, in code please"
TASKS = [
    {**WEATHER_TASK, "id": "weather_tool", "agent_type": "tool"},
    {**WEATHER_TASK, "id": "weather_code", "agent_type": "code", "prompt": CODE_PROMPT},
]
SCRIPT = {
    WEATHER_TASK["prompt"]: [call("get_weather", location="Tokyo"), call("final_answer", answer="Tokyo: 18°C, Clear")],
    CODE_PROMPT: [say("<code>\nfinal_answer(get_weather(location='Tokyo'))\n</code>")],
}


@pytest.fixture
def files(evaluation, tmp_path):
    *_, run_id = evaluation.run(TASKS, ScriptedModel(SCRIPT), agent_type="both", run_id="shapes-run")
    with open_reader(evaluation.db_path) as reader:
        folder = write_json_outputs(reader, run_id, tmp_path / "out", "gpt-4o-mini", "both")
    return folder, {path.name: json.loads(path.read_text()) for path in folder.iterdir()}


def test_results_json_is_a_flat_list_with_smoltraces_fields_first(files):
    _, documents = files
    results = documents["results.json"]
    assert isinstance(results, list) and len(results) == 2
    for row in results:
        assert list(row)[: len(SMOLTRACE_RESULT_FIELDS)] == list(SMOLTRACE_RESULT_FIELDS)
        assert "run_id" in row and "stop_reason" in row  # the results view's other columns follow
    by_agent = {row["agent_type"]: row for row in results}
    assert {agent: {k: row[k] for k in ("task_id", "success", "tool_called", "correct_tool", "final_answer_called",
                                         "response_correct", "tools_used", "steps", "response", "error",
                                         "total_tokens")}
            for agent, row in by_agent.items()} == {
        "tool": {"task_id": "weather_tool", "success": True, "tool_called": True, "correct_tool": True,
                 "final_answer_called": True, "response_correct": True, "tools_used": ["get_weather"], "steps": 2,
                 "response": "Tokyo: 18°C, Clear", "error": None, "total_tokens": 60},
        "code": {"task_id": "weather_code", "success": True, "tool_called": True, "correct_tool": True,
                 "final_answer_called": True, "response_correct": True, "tools_used": ["get_weather"], "steps": 1,
                 "response": "Tokyo, Japan: 18°C, Clear", "error": None, "total_tokens": 30},
    }  # fmt: skip
    assert all(row["model"] == "gpt-4o-mini" and row["evaluation_date"] and row["trace_id"] for row in results)


def test_traces_json_has_smoltraces_per_trace_totals(files):
    _, documents = files
    results = {row["trace_id"]: row for row in documents["results.json"]}
    traces = documents["traces.json"]
    assert len(traces) == 2
    for trace in traces:
        assert list(trace)[:6] == ["trace_id", "run_id", "spans", "total_tokens", "total_duration_ms", "total_cost_usd"]
        row = results[trace["trace_id"]]
        # totals of the task: its root span's duration (not a sum over its spans), tokens counted once
        assert (trace["run_id"], trace["total_tokens"], trace["total_duration_ms"], trace["total_cost_usd"]) == (
            "shapes-run",
            row["total_tokens"],
            row["execution_time_ms"],
            row["cost_usd"],
        )
        assert trace["spans"][0]["name"] == "smoltrace.task"


def test_leaderboard_row_json_is_smoltraces_one_row_for_the_run(files):
    folder, documents = files
    row = documents["leaderboard_row.json"]
    assert list(row)[: len(SMOLTRACE_LEADERBOARD_FIELDS)] == SMOLTRACE_LEADERBOARD_FIELDS
    assert {key: row[key] for key in SMOLTRACE_LEADERBOARD_FIELDS if key not in ("timestamp", "dataset_used",
                                                                                  "avg_duration_ms",
                                                                                  "total_duration_ms")} == {
        "run_id": "shapes-run", "model": "gpt-4o-mini", "agent_type": "both", "provider": "litellm",
        "submitted_by": None, "results_dataset": f"local:{folder / 'results.json'}",
        "traces_dataset": f"local:{folder / 'traces.json'}", "metrics_dataset": f"local:{folder / 'metrics.json'}",
        "total_tests": 2, "successful_tests": 2, "failed_tests": 0, "success_rate": 100.0, "avg_steps": 1.5,
        "total_tokens": 90, "avg_tokens_per_test": 45,
        # gpt-4o-mini's prices from litellm's bundled map: 30 prompt x 1.5e-7 + 60 completion x 6e-7 = 4.05e-05,
        # rounded to 6 digits as SMOLTRACE rounds it
        "total_cost_usd": 4e-05, "avg_cost_per_test_usd": 2e-05,
        "co2_emissions_g": None, "power_cost_total_usd": None, "gpu_utilization_avg": None,
        "gpu_utilization_max": None, "gpu_memory_avg_mib": None, "gpu_memory_max_mib": None,
        "gpu_temperature_avg": None, "gpu_temperature_max": None, "gpu_power_avg_w": None,
        "notes": f"Evaluation on {row['timestamp'][:10]}; 2 tests",
    }  # fmt: skip
    assert row["dataset_used"].endswith(".json") and row["run_status"] == "completed"
    assert row["total_duration_ms"] == round(sum(r["execution_time_ms"] for r in documents["results.json"]), 2)
    assert sorted(row["statistics"]) == ["code", "tool"]  # run_stats per agent type of a both-agents run


def test_metrics_and_metadata_json_have_smoltraces_fields(files):
    _, documents = files
    metrics = documents["metrics.json"]
    assert metrics == {"run_id": "shapes-run", "resourceMetrics": [], "aggregates": [], "gpu_metrics": [],
                       "gpu_summary": {}, "task_energy": []}  # an API model: no GPU samples  # fmt: skip
    metadata = documents["metadata.json"]
    assert {key: metadata[key] for key in ("model", "agent_type", "num_results", "num_traces", "num_metrics")} == {
        "model": "gpt-4o-mini",
        "agent_type": "both",
        "num_results": 2,
        "num_traces": 2,
        "num_metrics": 0,
    }
    assert metadata["dataset_used"] == documents["leaderboard_row.json"]["dataset_used"]
    assert len(metadata["timestamp"]) == len("20261130_120000") and metadata["status"] == "completed"


def test_gpu_samples_are_otlp_json_resource_metrics_as_smoltrace_reads_them():
    points = [
        {"time_unix_nano": 1_700_000_000_000_000_000, "gpu_index": 0, "gpu_name": "H200",
         "metric_name": "gen_ai.gpu.utilization", "unit": "%", "value": 50.0},
        {"time_unix_nano": 1_700_000_000_000_000_000, "gpu_index": 0, "gpu_name": "H200",
         "metric_name": "gen_ai.gpu.power", "unit": "W", "value": 120.5},
        {"time_unix_nano": 1_700_000_001_000_000_000, "gpu_index": 0, "gpu_name": "H200",
         "metric_name": "gen_ai.gpu.utilization", "unit": "%", "value": 70.0},
    ]  # fmt: skip
    gpu = [{"key": "gpu_id", "value": {"stringValue": "0"}}, {"key": "gpu_name", "value": {"stringValue": "H200"}}]
    resource = {"attributes": [{"key": "service.name", "value": {"stringValue": "smoltrace-eval"}},
                               {"key": "smoltrace.run.id", "value": {"stringValue": "r"}}]}  # fmt: skip

    def metric(name, unit, at, value):
        return {"name": name, "unit": unit,
                "gauge": {"dataPoints": [{"timeUnixNano": str(at), "asDouble": value, "attributes": gpu}]}}  # fmt: skip

    # one entry per GPU and sample time, each metric with its one data point: SMOLTRACE's
    # flatten_metrics_for_hf reads the first data point of each metric as one sample's row
    assert resource_metrics(points, "r") == [
        {"resource": resource, "scopeMetrics": [{"scope": {"name": "smoltrace.gpu"}, "metrics": [
            metric("gen_ai.gpu.utilization", "%", 1_700_000_000_000_000_000, 50.0),
            metric("gen_ai.gpu.power", "W", 1_700_000_000_000_000_000, 120.5)]}]},
        {"resource": resource, "scopeMetrics": [{"scope": {"name": "smoltrace.gpu"}, "metrics": [
            metric("gen_ai.gpu.utilization", "%", 1_700_000_001_000_000_000, 70.0)]}]},
    ]  # fmt: skip
