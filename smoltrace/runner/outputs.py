"""What a run produces for people: the console summary and the JSON output folder. Every number is
read from the views; nothing is recomputed here."""

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


def fetch_results(reader: StoreReader, run_id: str) -> dict[str, list[dict]]:
    """SMOLTRACE's shape: {"tool": [rows], "code": [rows]}."""
    grouped: dict[str, list[dict]] = {}
    for row in reader.query(queries.RESULTS_FOR_RUN, [run_id]):
        grouped.setdefault(row["agent_type"], []).append(_json_ready(row))
    return grouped


def fetch_traces(reader: StoreReader, run_id: str) -> list[dict]:
    """One entry per trace (task execution) with its spans, attributes parsed."""
    traces: dict[str, dict] = {}
    for span in reader.query(queries.TRACE_SPANS_FOR_RUN, [run_id]):
        span = _json_ready(span)
        span["attributes"] = _parse_json_text(span["attributes"])
        for event in span.get("events") or []:
            event["Attributes"] = _parse_json_text(event.get("Attributes"))
        trace = traces.setdefault(span["trace_id"], {"trace_id": span["trace_id"], "run_id": run_id, "spans": []})
        if span["name"] == "smoltrace.task":
            trace["task_uid"] = span["attributes"].get("smoltrace.task.uid")
            trace["duration_ms"] = span["duration_ns"] / 1e6
        trace["spans"].append(span)
    return list(traces.values())


def fetch_metrics(reader: StoreReader, run_id: str) -> dict:
    """GPU time series (one row per GPU × sample), the run's aggregates, and each task's share of the
    energy (``task_energy``, task_gpu_energy rows); all empty for API-only runs."""
    return {
        "run_id": run_id,
        "gpu_metrics": [_json_ready(row) for row in reader.query(queries.GPU_METRICS_FOR_RUN, [run_id])],
        "aggregates": next(iter(_json_ready(reader.query(queries.GPU_SUMMARY_FOR_RUN, [run_id]))), {}),
        "task_energy": [_json_ready(row) for row in reader.query(queries.TASK_ENERGY_FOR_RUN, [run_id])],
    }


def fetch_leaderboard_rows(reader: StoreReader, run_id: str) -> list[dict]:
    return [_json_ready(row) for row in reader.query(queries.LEADERBOARD_FOR_RUN, [run_id])]


#: The statistics views (store/views/50_stats.sql): the run's success-rate interval, pass@k, pass^k and
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


def write_json_outputs(reader: StoreReader, run_id: str, output_dir: Path, model: str, agent_type: str,
                       extra_metadata: dict | None = None) -> Path:  # fmt: skip
    """SMOLTRACE's 5 files in a timestamped folder: results, traces, metrics, leaderboard_row, metadata."""
    stamp = dt.datetime.now().strftime("%Y%m%d_%H%M%S")
    folder = Path(output_dir) / f"{_slug(model)}_{agent_type}_{stamp}"
    folder.mkdir(parents=True, exist_ok=True)
    leaderboard_rows = fetch_leaderboard_rows(reader, run_id)
    stats = fetch_run_stats(reader, run_id)
    for row in leaderboard_rows:  # the run_stats columns, kept apart: they are fractions, the row's rates percents
        row["statistics"] = {k: v for k, v in stats.get(row["agent_type"], {}).items() if k != "agent_type"}
    documents = {
        "results.json": fetch_results(reader, run_id),
        "traces.json": fetch_traces(reader, run_id),
        "metrics.json": fetch_metrics(reader, run_id),
        "leaderboard_row.json": leaderboard_rows[0] if len(leaderboard_rows) == 1 else leaderboard_rows,
        "metadata.json": {**fetch_run(reader, run_id), **(extra_metadata or {})},
    }
    for name, document in documents.items():
        (folder / name).write_text(json.dumps(document, indent=2, ensure_ascii=False, default=str), encoding="utf-8")
    return folder
