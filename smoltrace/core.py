"""SMOLTRACE's Python API: ``run_evaluation(...)`` returns
``(results_dict, traces_list, metrics_dict, dataset_used, run_id)``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from smoltrace.runner import run as run_module
from smoltrace.runner.config import EvalConfig
from smoltrace.runner.outputs import fetch_metrics, fetch_results, fetch_traces


def run_evaluation(
    model: str,
    provider: str = "litellm",
    agent_type: str = "both",
    difficulty: str | None = None,
    enable_otel: bool = True,
    enable_gpu_metrics: bool | None = None,
    hf_token: str | None = None,
    dataset_name: str | None = None,
    split: str = "train",
    run_id: str | None = None,
    db_path: str | Path | None = None,
    quiet: bool = True,
    **options: Any,
):
    """Run an evaluation and return SMOLTRACE's 5-tuple, read back from the store's views.

    ``enable_otel`` is accepted for compatibility: telemetry is always recorded, since the store is the
    record every number comes from. Other keyword arguments are ``EvalConfig`` fields (``max_steps``,
    ``limit``, ``parallel_workers``, ``model_args``, ``otlp_endpoint``, ``model_factory``...).
    Publishing is separate: see ``smoltrace.utils.push_results_to_hf``.
    """
    config = EvalConfig(model=model, provider=provider, agent_type=agent_type, difficulty=difficulty,
                        enable_gpu_metrics=enable_gpu_metrics, hf_token=hf_token, dataset_name=dataset_name,
                        split=split, run_id=run_id, db_path=Path(db_path) if db_path else None, quiet=quiet,
                        **options)  # fmt: skip
    report = run_module.run(config, log=(lambda *_: None) if quiet else print)
    try:
        reader = report.reader
        results = fetch_results(reader, report.run_id)
        traces = fetch_traces(reader, report.run_id)
        metrics = fetch_metrics(reader, report.run_id)
    finally:
        run_module.close_reader(report)
    return results, traces, metrics, report.suite.name, report.run_id
