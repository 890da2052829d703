"""The rows each published dataset holds, from the store's views or from SMOLTRACE's in-memory shapes.

Both ways go through the same functions, so a run published with ``smoltrace-publish`` (read from the
store) and one pushed with ``smoltrace.utils.push_results_to_hf`` (what ``run_evaluation`` returned,
which was itself read from the views) give identical datasets.

- results: one row per task execution, the ``results`` view's columns.
- traces: one row per span of the run's task traces (``fetch_traces``), with the trace's ``run_id``
  and ``task_uid``; ``attributes`` and ``events`` are JSON text, so the schema never depends on which
  attribute keys a run happened to emit.
- metrics: the ``gpu_metrics`` rows of the run (one per GPU × sample time). A run without GPU samples
  (an API model) gets one summary row instead, ``{"run_id", "gpu_count": 0, "sample_count": 0}``
  (names of the ``gpu_run_summary`` view), so the dataset always exists and loads.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from smoltrace.runner.outputs import fetch_leaderboard_rows, fetch_metrics, fetch_results, fetch_run, fetch_traces
from smoltrace.store.reader import StoreReader

SPAN_JSON_COLUMNS = ("attributes", "events")


class RunNotFound(LookupError):
    """The store has no run with this id (or none of its task results)."""


@dataclass
class RunData:
    run_id: str
    run: dict
    results: list[dict]
    spans: list[dict]
    metrics: list[dict]
    metrics_kind: str  # "gpu_metrics" | "run_summary"
    leaderboard: list[dict] = field(default_factory=list)

    @property
    def model(self) -> str | None:
        return self.run.get("model") or next((r.get("model") for r in self.results), None)


def results_rows(all_results: dict[str, list[dict]]) -> list[dict]:
    """``{"tool": [...], "code": [...]}`` flattened, in the order given (the views order by agent, task)."""
    return [dict(row) for rows in all_results.values() for row in rows]


def span_rows(trace_data: list[dict]) -> list[dict]:
    rows = []
    for trace in trace_data:
        for span in trace.get("spans", []):
            rows.append({
                "run_id": trace.get("run_id"),
                "trace_id": span.get("trace_id", trace.get("trace_id")),
                "task_uid": trace.get("task_uid"),
                "span_id": span.get("span_id"),
                "parent_span_id": span.get("parent_span_id"),
                "name": span.get("name"),
                "kind": span.get("kind"),
                "start_time": span.get("start_time"),
                "duration_ns": span.get("duration_ns"),
                "status_code": span.get("status_code"),
                "status_message": span.get("status_message"),
                "attributes": span.get("attributes"),
                "events": span.get("events"),
            })  # fmt: skip
    return rows


def metrics_rows(metric_data: dict, run_id: str) -> tuple[list[dict], str]:
    samples = [dict(row) for row in (metric_data or {}).get("gpu_metrics") or []]
    if samples:
        return samples, "gpu_metrics"
    return [{"run_id": run_id, "gpu_count": 0, "sample_count": 0}], "run_summary"


def from_memory(all_results: dict, trace_data: list, metric_data: dict, run_id: str, run: dict | None = None) -> RunData:
    metrics, kind = metrics_rows(metric_data, run_id)
    return RunData(run_id, run or {}, results_rows(all_results), span_rows(trace_data), metrics, kind)


def read_run(reader: StoreReader, run_id: str) -> RunData:
    """Everything a publish needs about one run, from the views (through any reader)."""
    run = fetch_run(reader, run_id)
    all_results = fetch_results(reader, run_id)
    if not run and not all_results:
        raise RunNotFound(f"run {run_id!r} is not in the store")
    if not all_results:
        raise RunNotFound(f"run {run_id!r} has no task results in the store (status: {run.get('status')})")
    data = from_memory(all_results, fetch_traces(reader, run_id), fetch_metrics(reader, run_id), run_id, run)
    data.leaderboard = fetch_leaderboard_rows(reader, run_id)
    return data
