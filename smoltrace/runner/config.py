"""Everything one evaluation run needs, as one typed object (the CLI flags and the Python API's
keyword arguments both land here)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

OUTPUT_FORMATS = ("hub", "json")


@dataclass
class EvalConfig:
    model: str
    provider: str = "litellm"
    agent_type: str = "both"  # tool | code | both
    difficulty: str | None = None
    dataset_name: str | None = None  # None: the bundled default suite
    split: str = "train"
    dataset_revision: str | None = None
    limit: int | None = None
    quick: bool = False
    run_id: str | None = None
    max_steps: int = 6
    task_timeout_s: float | None = 300.0
    parallel_workers: int = 1
    model_args: dict[str, Any] = field(default_factory=dict)
    api_base: str | None = None
    api_key: str | None = None
    hf_token: str | None = None
    prompt_yml: Path | None = None
    mcp_server_url: str | None = None
    # where telemetry goes: the embedded collector on `db_path`, or a running collector
    otlp_endpoint: str | None = None
    otlp_token: str | None = None
    query_url: str | None = None  # the remote collector's HTTP base URL, for reading results back
    # also instrument litellm: a `completion` span inside each model span (the provider request as sent)
    trace_litellm: bool = False
    db_path: Path | None = None
    # outputs
    output_format: str = "json"
    output_dir: Path = Path("./smoltrace_results")
    private: bool = False
    quiet: bool = False
    debug: bool = False
    # GPU metrics: None means "on for local providers, off for API providers"
    enable_gpu_metrics: bool | None = None
    gpu_sample_interval_s: float = 1.0
    grid_intensity_gco2_per_kwh: float | None = None
    electricity_price_usd_per_kwh: float | None = None
    # a seam for tests and the Python API: build the smolagents Model yourself
    model_factory: Callable[[], Any] | None = None
    tools_factory: Callable[[], list] | None = None
