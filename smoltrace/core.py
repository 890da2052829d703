"""SMOLTRACE's Python API: ``run_evaluation(...)`` returns
``(results_dict, traces_list, metrics_dict, dataset_used, run_id)``.

Both of SMOLTRACE's call forms work: its positional signature, ``run_evaluation(model_name,
agent_types, test_subset, dataset_name, split, enable_otel, verbose, debug, provider, prompt_config,
mcp_server_url, run_id, enable_gpu_metrics, additional_authorized_imports, search_provider,
hf_inference_provider, parallel_workers, enabled_smolagents_tools, working_directory, model_args,
mcp_transport)``, and its README's keywords (``model=``, ``agent_type=``, ``difficulty=``...).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from smoltrace.runner import run as run_module
from smoltrace.runner.agents import names
from smoltrace.runner.config import EvalConfig
from smoltrace.runner.outputs import fetch_metrics, fetch_results, fetch_traces


def run_evaluation(
    model_name: str | None = None,
    agent_types: Sequence[str] | str | None = None,
    test_subset: str | None = None,
    dataset_name: str | None = None,
    split: str = "train",
    enable_otel: bool = True,
    verbose: bool = False,
    debug: bool = False,
    provider: str = "litellm",
    prompt_config: dict | None = None,
    mcp_server_url: str | Sequence[str] | None = None,
    run_id: str | None = None,
    enable_gpu_metrics: bool | None = None,
    additional_authorized_imports: Sequence[str] | None = None,
    search_provider: str = "duckduckgo",
    hf_inference_provider: str | None = None,
    parallel_workers: int = 1,
    enabled_smolagents_tools: Sequence[str] | None = None,
    working_directory: str | Path | None = None,
    model_args: dict | None = None,
    mcp_transport: str = "auto",
    *,
    model: str | None = None,
    agent_type: str | None = None,
    difficulty: str | None = None,
    hf_token: str | None = None,
    db_path: str | Path | None = None,
    **options: Any,
):
    """Run an evaluation and return SMOLTRACE's 5-tuple, read back from the store's views.

    ``all_results`` is ``{"tool": [rows], "code": [rows]}``; each row has the ``results`` view's
    columns plus SMOLTRACE's own names for them (``test_id``, ``test_case_uid``, ``span_id``,
    ``test_index``, ``enhanced_trace_info``). ``enable_otel`` is accepted for compatibility: telemetry is
    always recorded, since the store is the record every number comes from. ``verbose`` shows progress.
    Other keyword arguments are ``EvalConfig`` fields (``max_steps``, ``limit``, ``use_case``,
    ``otlp_endpoint``, ``model_factory``...). Publishing is separate: ``smoltrace.utils.push_results_to_hf``.
    """
    model = _one_of("model_name", model_name, "model", model)
    if model is None:
        raise TypeError("run_evaluation() needs a model: run_evaluation('openai/gpt-4o-mini', ...) or model=...")
    agent_type = _one_of("agent_types", _agent_type(agent_types), "agent_type", agent_type) or "both"
    enable_tools = _one_of(
        "enabled_smolagents_tools", enabled_smolagents_tools, "enable_tools", options.pop("enable_tools", None)
    )
    additional_imports = _one_of(
        "additional_authorized_imports",
        additional_authorized_imports,
        "additional_imports",
        options.pop("additional_imports", None),
    )
    quiet = options.pop("quiet", not verbose)
    config = EvalConfig(
        model=model,
        provider=provider,
        agent_type=agent_type,
        difficulty=_one_of("test_subset", test_subset, "difficulty", difficulty),
        dataset_name=dataset_name,
        split=split,
        run_id=run_id,
        enable_gpu_metrics=enable_gpu_metrics,
        hf_token=hf_token,
        db_path=Path(db_path) if db_path else None,
        quiet=quiet,
        debug=debug,
        prompt_config=prompt_config,
        mcp_server_url=mcp_server_url,
        mcp_transport=mcp_transport,
        search_provider=search_provider,
        hf_inference_provider=hf_inference_provider,
        parallel_workers=parallel_workers,
        enable_tools=names(enable_tools),
        additional_imports=names(additional_imports),
        working_directory=Path(working_directory) if working_directory else None,
        model_args=dict(model_args or {}),
        **options,
    )
    report = run_module.run(config, log=(lambda *_: None) if quiet else print)
    try:
        reader = report.reader
        results = fetch_results(reader, report.run_id)
        traces = fetch_traces(reader, report.run_id)
        metrics = fetch_metrics(reader, report.run_id)
    finally:
        run_module.close_reader(report)
    return smoltrace_rows(results, traces), traces, metrics, report.suite.name, report.run_id


def smoltrace_rows(results: dict[str, list[dict]], traces: list[dict]) -> dict[str, list[dict]]:
    """The view's rows with the fields SMOLTRACE's ``run_evaluation`` gives each result, under its names;
    ``{"tool": [...], "code": [...]}`` with both keys always present, as SMOLTRACE returns it."""
    roots, span_counts = {}, {}
    for trace in traces:
        spans = trace.get("spans") or []
        span_counts[trace.get("trace_id")] = len(spans)
        roots[trace.get("trace_id")] = next(
            (s.get("span_id") for s in spans if s.get("name") == "smoltrace.task"), None
        )
    grouped: dict[str, list[dict]] = {"tool": [], "code": []}
    index = 0
    for agent_type in ("tool", "code", *sorted(set(results) - {"tool", "code"})):
        for row in results.get(agent_type, []):
            row = dict(row)
            test_id = row.get("test_id", row.get("task_id"))
            trace_id = row.get("trace_id")
            row.setdefault("test_id", test_id)
            row.setdefault("test_case_uid", f"{row.get('agent_type', agent_type)}:{test_id}")
            row.setdefault("span_id", roots.get(trace_id))
            row.setdefault("test_index", index)
            row.setdefault(
                "enhanced_trace_info",
                {
                    "trace_id": trace_id,
                    "root_span_id": roots.get(trace_id),
                    "total_tokens": row.get("total_tokens"),
                    "duration_ms": row.get("execution_time_ms"),
                    "cost_usd": row.get("cost_usd"),
                    "span_count": span_counts.get(trace_id, 0),
                },
            )
            grouped.setdefault(agent_type, []).append(row)
            index += 1
    return grouped


def _agent_type(agent_types: Sequence[str] | str | None) -> str | None:
    """SMOLTRACE's ``agent_types`` list (``["tool", "code"]``) as an ``--agent-type`` value."""
    if agent_types is None or isinstance(agent_types, str):
        return agent_types
    chosen = set(agent_types)
    if not chosen or not chosen <= {"tool", "code"}:
        raise ValueError(f"agent_types must list 'tool' and/or 'code' (got {list(agent_types)!r})")
    return "both" if chosen == {"tool", "code"} else chosen.pop()


def _one_of(name_a: str, a, name_b: str, b):
    if a is not None and b is not None:
        raise TypeError(f"run_evaluation() got both {name_a} and {name_b}; give one of them")
    return a if a is not None else b
