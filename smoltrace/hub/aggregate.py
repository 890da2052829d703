"""The ``leaderboard`` view's row, computed in Python from ``results`` rows already in memory.

``smoltrace.utils.compute_leaderboard_row`` reads the view when the run is in the store; this is its
fallback (results given without a store, or ``agent_type="both"``, which the view has no row for).
It follows smoltrace/store/views/40_leaderboard.sql expression by expression, including DuckDB's
``round`` (half away from zero) and SQL's NULL handling (aggregates skip NULLs; a sum of nothing is
NULL); tests/hub checks both give the same row for real runs.
"""

from __future__ import annotations

import math

#: gpu_run_summary column -> leaderboard column (the view's ``any_value(g.x) AS y``).
GPU_COLUMNS = {
    "gpu_count": "gpu_count",
    "avg_gpu_utilization_percent": "avg_gpu_utilization_percent",
    "max_gpu_utilization_percent": "max_gpu_utilization_percent",
    "avg_gpu_memory_used_mib": "avg_gpu_memory_used_mib",
    "max_gpu_memory_used_mib": "max_gpu_memory_used_mib",
    "avg_gpu_temperature_celsius": "avg_gpu_temperature_celsius",
    "max_gpu_temperature_celsius": "max_gpu_temperature_celsius",
    "avg_gpu_power_watts": "avg_gpu_power_watts",
    "max_gpu_power_watts": "max_gpu_power_watts",
}
#: task_gpu_energy column (a task's share of the GPU energy) -> leaderboard column (``sum(e.x) AS y``).
TASK_ENERGY_COLUMNS = {
    "gpu_energy_wh": "total_energy_wh",
    "co2_emissions_gco2e": "co2_emissions_gco2e",
    "power_cost_usd": "power_cost_usd",
}


def sql_round(value, digits: int):
    """DuckDB's ``round(DOUBLE, n)``: half away from zero on ``value * 10**n``."""
    if value is None:
        return None
    power = 10.0**digits
    scaled = abs(value) * power
    return math.copysign(math.floor(scaled + 0.5) / power, value)


def _sum(values):
    present = [v for v in values if v is not None]
    return sum(present) if present else None


def _fsum(values):
    """Sum of floats independent of their order, as the view's fsum (rounding must agree to the digit)."""
    present = [v for v in values if v is not None]
    return math.fsum(present) if present else None


def _avg(values):
    """Mean independent of the values' order, as the view's favg (and exact for integers, as its avg)."""
    present = [v for v in values if v is not None]
    return math.fsum(present) / len(present) if present else None


def _rate(rows, key):
    return sql_round(100.0 * sum(1 for r in rows if r.get(key)) / len(rows), 2)


def leaderboard_row(results: list[dict], agent_type: str, run: dict | None = None, gpu_summary: dict | None = None,
                    task_energy: list[dict] | None = None) -> dict:
    """One leaderboard row for ``results`` (all of one run), labelled ``agent_type``.

    ``gpu_summary`` is the run's gpu_run_summary row; ``task_energy`` its task_gpu_energy rows (only
    those of the given results' tasks count, matched by trace id).
    """
    if not results:
        raise ValueError("no results to aggregate")
    run, gpu_summary = run or {}, gpu_summary or {}
    traces = {r.get("trace_id") for r in results}
    energies = [e for e in task_energy or [] if e.get("trace_id") in traces]
    first = results[0]
    n = len(results)
    tokens = _sum(r.get("total_tokens") for r in results)
    stops = [r.get("stop_reason") for r in results]
    row = {
        "run_id": first.get("run_id"),
        "model": first.get("model"),
        "agent_type": agent_type,
        "provider": first.get("provider"),
        "dataset": run.get("dataset"),
        "dataset_revision": run.get("dataset_revision"),
        "total_tests": n,
        "successful_tests": sum(1 for r in results if r.get("success")),
        "failed_tests": sum(1 for r in results if r.get("success") is False),
        "success_rate": _rate(results, "success"),
        "tool_called_rate": _rate(results, "tool_called"),
        "correct_tool_rate": _rate(results, "correct_tool"),
        "final_answer_rate": _rate(results, "final_answer_called"),
        "avg_steps": sql_round(_avg(r.get("steps") for r in results), 2),
        "avg_duration_ms": sql_round(_avg(r.get("execution_time_ms") for r in results), 3),
        "total_duration_ms": sql_round(_fsum(r.get("execution_time_ms") for r in results), 3),
        "prompt_tokens": _sum(r.get("prompt_tokens") for r in results),
        "completion_tokens": _sum(r.get("completion_tokens") for r in results),
        "total_tokens": tokens,
        "avg_tokens_per_test": sql_round(tokens / n, 2) if tokens is not None else None,
        "total_cost_usd": _sum(r.get("cost_usd") for r in results),
        "max_steps_reached": stops.count("max_steps"),
        "timeouts": stops.count("timeout"),
        "errors": stops.count("error"),
        "interrupted": stops.count("interrupted"),
        "run_status": run.get("status"),
        "evaluation_date": run.get("started_at"),
        "smoltrace_version": run.get("smoltrace_version"),
    }
    for source, target in GPU_COLUMNS.items():
        row[target] = gpu_summary.get(source)
    for source, target in TASK_ENERGY_COLUMNS.items():
        row[target] = _sum(e.get(source) for e in energies)
    return row
