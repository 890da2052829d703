"""What a run produces for people: the console summary and the JSON output folder, in SMOLTRACE's shapes.
Every number is read from the views; nothing is recomputed here."""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from decimal import Decimal
from pathlib import Path

from smoltrace.store import queries
from smoltrace.store.reader import StoreReader


def _json_ready(value):
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _json_ready(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_ready(item) for item in value]
    return value


def _parse_json_text(value):
    if isinstance(value, str) and value[:1] in "{[":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


#: SMOLTRACE's result fields, in its order (utils.flatten_results_for_hf): results.json and the Hub
#: results dataset carry them first, then the results view's other columns.
SMOLTRACE_RESULT_FIELDS = (
    "model", "evaluation_date", "task_id", "agent_type", "difficulty", "prompt", "success", "tool_called",
    "correct_tool", "final_answer_called", "response_correct", "tools_used", "steps", "response", "error",
    "trace_id", "execution_time_ms", "total_tokens", "cost_usd",
)  # fmt: skip
#: Each trace's totals, from the results view (root-span duration, tokens of outermost LLM calls).
TRACE_TOTALS_FOR_RUN = "SELECT trace_id, total_tokens, execution_time_ms, cost_usd FROM results WHERE run_id = ?"
LEADERBOARD_BY_AGENT_TYPE_FOR_RUN = "SELECT * FROM leaderboard_by_agent_type WHERE run_id = ? ORDER BY agent_type"
GPU_POINTS_FOR_RUN = """
SELECT epoch_ns("timestamp") AS time_unix_nano, gpu_index, gpu_name, metric_name, unit, value
FROM gpu_metric_points WHERE run_id = ? ORDER BY gpu_index, "timestamp", metric_name
"""
#: gpu_run_summary's run totals as SMOLTRACE's trace aggregates: (metric name, unit, column).
AGGREGATE_TOTALS = (
    ("gen_ai.co2.emissions", "gCO2e", "total_co2_emissions_gco2e"),
    ("gen_ai.power.cost", "USD", "total_power_cost_usd"),
    ("gen_ai.gpu.energy", "Wh", "total_energy_wh"),
)


def fetch_results(reader: StoreReader, run_id: str) -> dict[str, list[dict]]:
    """SMOLTRACE's shape: {"tool": [rows], "code": [rows]}."""
    grouped: dict[str, list[dict]] = {}
    for row in reader.query(queries.RESULTS_FOR_RUN, [run_id]):
        grouped.setdefault(row["agent_type"], []).append(_json_ready(row))
    return grouped


def flat_results(all_results: dict[str, list[dict]]) -> list[dict]:
    """SMOLTRACE's results.json: one flat list of every agent type's rows, its fields first in its order,
    then every other key of the row (the results view's further columns)."""
    rows = []
    for agent_rows in all_results.values():
        for row in agent_rows:
            ordered = {field: row.get(field) for field in SMOLTRACE_RESULT_FIELDS}
            ordered.update((key, value) for key, value in row.items() if key not in ordered)
            rows.append(ordered)
    return rows


def fetch_traces(reader: StoreReader, run_id: str) -> list[dict]:
    """SMOLTRACE's traces: one entry per trace (task execution) with its spans, attributes parsed, and its
    totals (``total_tokens``, ``total_duration_ms`` = the task's duration, ``total_cost_usd``)."""
    totals = {row["trace_id"]: row for row in reader.query(TRACE_TOTALS_FOR_RUN, [run_id])}
    traces: dict[str, dict] = {}
    for span in reader.query(queries.TRACE_SPANS_FOR_RUN, [run_id]):
        span = _json_ready(span)
        span["attributes"] = _parse_json_text(span["attributes"])
        for event in span.get("events") or []:
            event["Attributes"] = _parse_json_text(event.get("Attributes"))
        trace = traces.get(span["trace_id"])
        if trace is None:
            total = totals.get(span["trace_id"], {})
            trace = traces[span["trace_id"]] = {
                "trace_id": span["trace_id"], "run_id": run_id, "spans": [],
                "total_tokens": total.get("total_tokens"), "total_duration_ms": total.get("execution_time_ms"),
                "total_cost_usd": total.get("cost_usd"),
            }  # fmt: skip
        if span["name"] == "smoltrace.task":
            trace["task_uid"] = span["attributes"].get("smoltrace.task.uid")
            trace["duration_ms"] = span["duration_ns"] / 1e6
        trace["spans"].append(span)
    return list(traces.values())


def resource_metrics(points: list[dict], run_id: str) -> list[dict]:
    """The GPU samples in OTLP/JSON's shape, as SMOLTRACE's ``metric_data["resourceMetrics"]``: one
    entry per GPU and sample time, each metric with its one data point (``gpu_id``, ``gpu_name``
    attributes), so SMOLTRACE's own aggregate_gpu_metrics and flatten_metrics_for_hf read it."""
    samples: dict[tuple, dict] = {}
    for point in points:
        key = (point["gpu_index"], point["time_unix_nano"])
        sample = samples.get(key)
        if sample is None:
            sample = samples[key] = {
                "resource": {"attributes": [
                    {"key": "service.name", "value": {"stringValue": "smoltrace-eval"}},
                    {"key": "smoltrace.run.id", "value": {"stringValue": run_id}},
                ]},
                "scopeMetrics": [{"scope": {"name": "smoltrace.gpu"}, "metrics": []}],
            }  # fmt: skip
        attributes = [{"key": "gpu_id", "value": {"stringValue": str(point["gpu_index"])}},
                      {"key": "gpu_name", "value": {"stringValue": point["gpu_name"]}}]  # fmt: skip
        at = str(point["time_unix_nano"])
        data_point = {"timeUnixNano": at, "asDouble": point["value"], "attributes": attributes}
        sample["scopeMetrics"][0]["metrics"].append(
            {"name": point["metric_name"], "unit": point["unit"], "gauge": {"dataPoints": [data_point]}}
        )
    return list(samples.values())


def aggregates(summary: dict) -> list[dict]:
    """The run's GPU totals as SMOLTRACE's ``metric_data["aggregates"]`` (one entry per metric)."""
    return [{"name": name, "unit": unit, "data_points": [{"value": {"value": summary[column]}}]}
            for name, unit, column in AGGREGATE_TOTALS if summary.get(column) is not None]  # fmt: skip


def fetch_metrics(reader: StoreReader, run_id: str) -> dict:
    """SMOLTRACE's metrics: ``run_id``, ``resourceMetrics`` (the GPU samples) and ``aggregates`` (the run's
    totals); then the ``gpu_metrics`` rows (one per GPU × sample), the run's ``gpu_run_summary`` row
    (``gpu_summary``) and each task's share of the energy (``task_energy``); empty for API-only runs."""
    summary = next(iter(_json_ready(reader.query(queries.GPU_SUMMARY_FOR_RUN, [run_id]))), {})
    return {
        "run_id": run_id,
        "resourceMetrics": resource_metrics(_json_ready(reader.query(GPU_POINTS_FOR_RUN, [run_id])), run_id),
        "aggregates": aggregates(summary),
        "gpu_metrics": [_json_ready(row) for row in reader.query(queries.GPU_METRICS_FOR_RUN, [run_id])],
        "gpu_summary": summary,
        "task_energy": [_json_ready(row) for row in reader.query(queries.TASK_ENERGY_FOR_RUN, [run_id])],
    }


def fetch_leaderboard_row(reader: StoreReader, run_id: str) -> dict | None:
    """The run's row of the ``leaderboard`` view (SMOLTRACE's leaderboard row), None when it has no tasks."""
    rows = reader.query(queries.LEADERBOARD_FOR_RUN, [run_id])
    return _json_ready(rows[0]) if rows else None


def fetch_agent_type_rows(reader: StoreReader, run_id: str) -> list[dict]:
    """The run's ``leaderboard_by_agent_type`` rows, one per agent type (the console summary)."""
    return [_json_ready(row) for row in reader.query(LEADERBOARD_BY_AGENT_TYPE_FOR_RUN, [run_id])]


#: The console summary's rows (smoltrace-eval calls it by this name).
fetch_leaderboard_rows = fetch_agent_type_rows


#: The statistics views (store/views/35_stats.sql): the run's success-rate interval, pass@k, pass^k and
#: standard errors, one row per agent type.
RUN_STATS_FOR_RUN = "SELECT * EXCLUDE (run_id) FROM run_stats WHERE run_id = ? ORDER BY agent_type"


def fetch_run_stats(reader: StoreReader, run_id: str) -> dict[str, dict]:
    """The run's ``run_stats`` rows by agent type."""
    return {row["agent_type"]: _json_ready(row) for row in reader.query(RUN_STATS_FOR_RUN, [run_id])}


def fetch_run(reader: StoreReader, run_id: str) -> dict:
    rows = reader.query(queries.RUN, [run_id])
    return _json_ready(rows[0]) if rows else {}


def _pct(value) -> str:
    return "n/a" if value is None else f"{value:.1f}%"


def _stats_lines(stats: dict) -> list[str]:
    """The run_stats row in words: the success rate's 95% interval, and with repeats pass@k and pass^k."""
    low, high = stats.get("success_rate_ci_low"), stats.get("success_rate_ci_high")
    if low is None or high is None:
        return []
    method = "Wilson" if stats["success_rate_ci_method"] == "wilson" else "Wilson, clustered by task"
    lines = [f"Success rate 95% CI: {100 * low:.1f}% to {100 * high:.1f}% ({method})"]
    if stats["max_tries"] > 1:
        k = len(stats["pass_at_k"])
        lines.append(f"Tries per task: {stats['min_tries']}-{stats['max_tries']}; pass@1 {100 * stats['pass_at_1']:.1f}%, "
                     f"pass@{k} {100 * stats['pass_at_k'][-1]:.1f}%, pass^{k} {100 * stats['pass_hat_k'][-1]:.1f}%")  # fmt: skip
    return lines


def print_summary(leaderboard_rows: list[dict], console=None, stats: dict[str, dict] | None = None) -> None:
    """SMOLTRACE's console summary, one block per agent type, plus tokens, time and cost, and from
    ``stats`` (fetch_run_stats) the success rate's confidence interval."""
    from rich.console import Console
    from rich.table import Table

    console = console or Console()
    for row in leaderboard_rows:
        console.print(f"\n[bold]{row['agent_type'].upper()} AGENT SUMMARY[/bold]")
        console.print(
            f"Total: {row['total_tests']}, Success: {row['successful_tests']}/{row['total_tests']} "
            f"({_pct(row['success_rate'])})"
        )
        for line in _stats_lines((stats or {}).get(row["agent_type"], {})):
            console.print(line, markup=False, highlight=False)
        console.print(
            f"Tool called: {_pct(row['tool_called_rate'])}, Correct tool: {_pct(row['correct_tool_rate'])}, "
            f"Avg steps: {row['avg_steps']}"
        )
        table = Table(show_header=True, header_style="bold")
        for column in ("tokens", "avg duration (ms)", "total duration (ms)", "cost (USD)", "stops"):
            table.add_column(column)
        cost = row.get("total_cost_usd")
        stops = ", ".join(
            f"{label}: {row[key]}" for key, label in
            (("max_steps_reached", "max_steps"), ("timeouts", "timeout"), ("errors", "error"),
             ("interrupted", "interrupted")) if row.get(key)
        ) or "all answered"  # fmt: skip
        table.add_row(str(row["total_tokens"]), f"{row['avg_duration_ms']:.1f}", f"{row['total_duration_ms']:.1f}",
                      "n/a" if cost is None else f"{cost:.6f}", stops)  # fmt: skip
        console.print(table)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_") or "model"


def run_statistics(stats: dict[str, dict], agent_type: str | None) -> dict:
    """The run_stats columns for the leaderboard row, kept apart (they are fractions, the row's rates are
    percents): the one agent type's row, or for a ``both`` run a row per agent type."""

    def without_agent_type(values: dict) -> dict:
        return {key: value for key, value in values.items() if key != "agent_type"}

    if agent_type in stats:
        return without_agent_type(stats[agent_type])
    return {agent: without_agent_type(values) for agent, values in stats.items()}


def write_json_outputs(reader: StoreReader, run_id: str, output_dir: Path, model: str, agent_type: str,
                       extra_metadata: dict | None = None) -> Path:  # fmt: skip
    """SMOLTRACE's 5 files in a timestamped folder, in its shapes: results (a flat list of rows), traces
    (per trace, with totals), metrics, leaderboard_row (SMOLTRACE's one row for the run, naming the
    local files as its datasets) and metadata."""
    stamp = dt.datetime.now().strftime("%Y%m%d_%H%M%S")
    folder = Path(output_dir) / f"{_slug(model)}_{agent_type}_{stamp}"
    folder.mkdir(parents=True, exist_ok=True)
    results = flat_results(fetch_results(reader, run_id))
    traces = fetch_traces(reader, run_id)
    metrics = fetch_metrics(reader, run_id)
    row = fetch_leaderboard_row(reader, run_id) or {}
    row.update({f"{kind}_dataset": f"local:{folder / f'{kind}.json'}" for kind in ("results", "traces", "metrics")})
    row["statistics"] = run_statistics(fetch_run_stats(reader, run_id), row.get("agent_type"))
    metadata = {
        "model": model, "agent_type": agent_type, "dataset_used": row.get("dataset_used"), "timestamp": stamp,
        "num_results": len(results), "num_traces": len(traces), "num_metrics": len(metrics["gpu_metrics"]),
        **fetch_run(reader, run_id), **(extra_metadata or {}),
    }  # fmt: skip
    documents = {
        "results.json": results,
        "traces.json": traces,
        "metrics.json": metrics,
        "leaderboard_row.json": row,
        "metadata.json": metadata,
    }
    for name, document in documents.items():
        (folder / name).write_text(json.dumps(document, indent=2, ensure_ascii=False, default=str), encoding="utf-8")
    return folder
