"""The rows each published dataset holds, from the store's views or from SMOLTRACE's in-memory shapes.

Both ways go through the same functions, so a run published with ``smoltrace-publish`` (read from the
store) and one pushed with ``smoltrace.utils.push_results_to_hf`` (what ``run_evaluation`` returned,
which was itself read from the views) give identical datasets, with the columns of the JSON files
``smoltrace-eval --output-format json`` writes:

- results: results.json's rows: one per task execution, SMOLTRACE's fields first, then the ``results``
  view's other columns.
- traces: traces.json's entries: one row per trace (task execution) with SMOLTRACE's totals
  (``total_tokens``, ``total_duration_ms``, ``total_cost_usd``) and ``spans`` as JSON text (a list of
  spans, their attributes and events inside), so the schema never depends on the attribute keys a run
  happened to emit.
- metrics: the ``gpu_metrics`` rows of the run (one per GPU × sample time). A run without GPU samples
  (an API model) gets one summary row instead, ``{"run_id", "gpu_count": 0, "sample_count": 0}``
  (names of the ``gpu_run_summary`` view), so the dataset always exists and loads.
- leaderboard: the ``leaderboard`` view's row (SMOLTRACE's leaderboard row, one per run).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from smoltrace.runner.outputs import (
    fetch_leaderboard_row,
    fetch_metrics,
    fetch_results,
    fetch_run,
    fetch_traces,
    flat_results,
)
from smoltrace.store.reader import StoreReader

#: Columns of the traces dataset written as JSON text: each trace's spans.
SPAN_JSON_COLUMNS = ("spans",)


class RunNotFound(LookupError):
    """The store has no run with this id (or none of its task results)."""


@dataclass
class RunData:
    run_id: str
    run: dict
    results: list[dict]
    spans: list[dict]  # the traces dataset's rows: one per trace, its spans inside
    metrics: list[dict]
    metrics_kind: str  # "gpu_metrics" | "run_summary"
    leaderboard: list[dict] = field(default_factory=list)

    @property
    def model(self) -> str | None:
        return self.run.get("model") or next((r.get("model") for r in self.results), None)


def trace_rows(trace_data: list[dict]) -> list[dict]:
    """traces.json's entries as rows (copies: the policy and the tables never change the caller's)."""
    return [dict(trace) for trace in trace_data]


def metrics_rows(metric_data: dict, run_id: str) -> tuple[list[dict], str]:
    samples = [dict(row) for row in (metric_data or {}).get("gpu_metrics") or []]
    if samples:
        return samples, "gpu_metrics"
    return [{"run_id": run_id, "gpu_count": 0, "sample_count": 0}], "run_summary"


def from_memory(
    all_results: dict, trace_data: list, metric_data: dict, run_id: str, run: dict | None = None
) -> RunData:
    metrics, kind = metrics_rows(metric_data, run_id)
    return RunData(run_id, run or {}, flat_results(all_results), trace_rows(trace_data), metrics, kind)


def read_run(reader: StoreReader, run_id: str) -> RunData:
    """Everything a publish needs about one run, from the views (through any reader)."""
    run = fetch_run(reader, run_id)
    all_results = fetch_results(reader, run_id)
    if not run and not all_results:
        raise RunNotFound(f"run {run_id!r} is not in the store")
    if not all_results:
        raise RunNotFound(f"run {run_id!r} has no task results in the store (status: {run.get('status')})")
    data = from_memory(all_results, fetch_traces(reader, run_id), fetch_metrics(reader, run_id), run_id, run)
    row = fetch_leaderboard_row(reader, run_id)
    data.leaderboard = [row] if row else []
    return data
