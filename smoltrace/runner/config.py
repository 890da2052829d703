"""Everything one evaluation run needs, as one typed object (the CLI flags and the Python API's
keyword arguments both land here)."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

OUTPUT_FORMATS = ("hub", "json")
PURPOSES = ("selection", "regression", "monitoring")
SEARCH_PROVIDERS = ("duckduckgo", "serper", "brave")
MCP_TRANSPORTS = ("auto", "streamable-http", "sse")


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
    max_steps: int | None = None  # None: the prompt config's, else 2 with quick, else 6
    task_timeout_s: float | None = 300.0
    parallel_workers: int = 1
    # each task x agent type runs this many times, each its own trace (smoltrace.task.repeat = 0..N-1)
    repeats: int = 1
    model_args: dict[str, Any] = field(default_factory=dict)
    api_base: str | None = None
    api_key: str | None = None
    hf_token: str | None = None
    hf_inference_provider: str | None = None  # --provider inference: together, fireworks-ai, ...
    # agents: SMOLTRACE's prompt config (a YAML file, or the dict itself from the Python API)
    prompt_yml: Path | None = None
    prompt_config: dict | None = None
    additional_imports: Sequence[str] = ()  # CodeAgent and python_interpreter
    # tools beyond the suite's own: smolagents' and SMOLTRACE's, by name (see runner/tools.py)
    enable_tools: Sequence[str] = ()
    search_provider: str = "duckduckgo"
    search_url: str | None = None  # the search API's URL; None: the provider's public one
    working_directory: Path | None = None  # the file tools' sandbox; None: the current folder
    # MCP servers: "URL" or "name=URL" (tool names get the "name_" prefix), one string or several
    mcp_server_url: str | Sequence[str] | None = None
    mcp_transport: str = "auto"  # auto: a URL ending in /sse uses SSE, others streamable HTTP
    # recorded on the run for the leaderboard (never inferred): SMOLTRACE's grouping fields
    use_case: str | None = None
    team: str | None = None
    purpose: str | None = None
    suite_version: str | None = None
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
    # --resume RUN_ID: run the executions of that run that did not finish, with the configuration the run
    # recorded (smoltrace/runner/resume.py); the configuration fields above are then not read, except
    # where the store is, the secrets, the outputs, --quiet/--debug and the factories. resume_overrides
    # holds the few settings the command line may change for the resumed part (RESUME_OVERRIDES).
    resume: str | None = None
    resume_overrides: dict[str, Any] = field(default_factory=dict)
    force: bool = False  # resume a run that still looks `running` (its runner is known to be gone)


def normalize_label(value: str | None) -> str | None:
    """SMOLTRACE's leaderboard grouping: trimmed lower-case kebab (``"Swiggy MCP Ordering"`` ->
    ``"swiggy-mcp-ordering"``), so one use case does not become two buckets; blank means not given."""
    if value is None:
        return None
    text = re.sub(r"[\s_]+", "-", value.strip().lower()).strip("-")
    return text or None


def run_labels(config: EvalConfig) -> dict[str, str]:
    """``--use-case``, ``--team``, ``--purpose``, ``--suite-version`` as run span attributes; only the
    ones given (an absent value stays absent: nothing is inferred from the dataset or the user)."""
    if config.purpose is not None and config.purpose not in PURPOSES:
        raise ValueError(f"purpose must be one of {', '.join(PURPOSES)} (got {config.purpose!r})")
    labels = {
        "smoltrace.run.use_case": normalize_label(config.use_case),
        "smoltrace.run.team": normalize_label(config.team),
        "smoltrace.run.purpose": config.purpose,
        "smoltrace.run.suite_version": normalize_label(config.suite_version),
    }
    return {key: value for key, value in labels.items() if value is not None}


def agent_options_record(config: EvalConfig) -> dict:
    """What the agents were given beyond the suite, for the run's recorded configuration (MCP URLs
    without their query strings, which may carry keys)."""
    servers = [config.mcp_server_url] if isinstance(config.mcp_server_url, str) else list(config.mcp_server_url or [])
    return {
        "enable_tools": list(config.enable_tools),
        "search_provider": config.search_provider,
        "additional_imports": list(config.additional_imports),
        "working_directory": str(Path(config.working_directory).resolve()) if config.working_directory else None,
        "mcp_servers": [server.split("?", 1)[0] for server in servers],
        "mcp_transport": config.mcp_transport,
        "prompt_yml": str(config.prompt_yml) if config.prompt_yml else None,
        "hf_inference_provider": config.hf_inference_provider,
    }
