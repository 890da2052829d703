"""``smoltrace-eval``: run ToolCallingAgent / CodeAgent on a task suite, traced into the store."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

import click

from smoltrace.cli.options import SmoltraceCommand, parse_model_args
from smoltrace.runner.agents import AgentConfigError
from smoltrace.runner.config import MCP_TRANSPORTS, PURPOSES, SEARCH_PROVIDERS, EvalConfig
from smoltrace.runner.local_model import LocalModelUnavailable
from smoltrace.runner.models import PROVIDERS, ModelConfigError
from smoltrace.runner.optional_tools import OPTIONAL_TOOLS
from smoltrace.runner.tasks import TaskLoadError
from smoltrace.runner.telemetry import CollectorUnreachableError
from smoltrace.store.database import DB_ENV_VAR
from smoltrace.store.open_errors import StoreOpenError

#: The exit code of an interrupted run (Ctrl-C, SIGTERM): 128 + SIGINT, as shells report it.
INTERRUPTED_EXIT_CODE = 130
#: What --resume may be given with, besides where the store is: how the rest runs, secrets, outputs.
RESUME_FLAGS = ("--parallel-workers", "--task-timeout", "--mcp-server-url and --search-url (the run's own "
                "again, for their query strings)", "--hf-token", "--output-format", "--output-dir",
                "--private/--public", "--quiet", "--debug", "--force")  # fmt: skip
#: The parameters behind them (click names), and the store's.
RESUME_PARAMETERS = frozenset({
    "resume", "force", "db_path", "otlp_endpoint", "otlp_token", "query_url", "hf_token", "parallel_workers",
    "task_timeout", "mcp_server_url", "search_url", "output_format", "output_dir", "private", "quiet", "debug",
    "enable_otel",
})  # fmt: skip


@click.command(
    cls=SmoltraceCommand,
    greedy=("--model-args", "--enable-tools", "--additional-imports"),
    context_settings={"help_option_names": ["-h", "--help"], "show_default": True},
)
@click.option("--model", default=None, help="Model id, e.g. openai/gpt-4o-mini, or smollm2-135m (the bundled "
              "offline model, with --provider transformers). Required, except with --resume.")  # fmt: skip
@click.option("--provider", type=click.Choice(PROVIDERS), default="litellm",
              help="litellm: API models; transformers: local models; ollama: an Ollama server at --api-base; "
                   "inference: Hugging Face inference providers; openai: any OpenAI-compatible server at --api-base.")  # fmt: skip
@click.option("--hf-token", envvar="HF_TOKEN", show_envvar=True, default=None,
              help="Hugging Face token (Hub datasets, inference providers, publishing). Never recorded.")  # fmt: skip
@click.option("--hf-inference-provider", default=None, help="With --provider inference: the Hugging Face inference "
              "provider to route to (e.g. together, fireworks-ai, hf-inference). Default: Hugging Face's choice.")  # fmt: skip
@click.option("--agent-type", type=click.Choice(["tool", "code", "both"]), default="both", help="Agents to evaluate.")
@click.option("--difficulty", type=click.Choice(["easy", "medium", "hard"]), default=None,
              help="Only tasks of this difficulty (default: all).")  # fmt: skip
@click.option("--dataset-name", default=None, help="Tasks: a Hugging Face dataset name, a local .json/.jsonl file or "
              "a saved dataset folder. Default: the bundled suite (works offline).")  # fmt: skip
@click.option("--split", default="train", help="Dataset split.")
@click.option("--dataset-revision", default=None, help="Dataset revision (branch, tag or commit) for Hub datasets.")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="At most this many tasks per agent type.")
@click.option("--quick", is_flag=True, help="Only the suite's quick tasks, with --max-steps 2 (unless given) and, "
              "for transformers models, 96 new tokens per generation: the fast check for a small local model.")  # fmt: skip
@click.option("--max-steps", type=click.IntRange(min=1), default=6,
              help="Agent step limit per task (2 with --quick, or --prompt-yml's max_steps, unless given).")  # fmt: skip
@click.option("--task-timeout", type=click.FloatRange(min=0, min_open=True), default=300.0,
              help="Seconds before a task is stopped and recorded as 'timeout'.")  # fmt: skip
@click.option("--parallel-workers", type=click.IntRange(min=1), default=1,
              help="Tasks run concurrently (API models; local models run one at a time).")  # fmt: skip
@click.option("--repeats", "--epochs", "repeats", type=click.IntRange(min=1), default=1,
              help="Run every task (per agent type) this many times, each try its own trace, to measure how "
                   "reliable the agent is: success rates get confidence intervals, pass@k and pass^k for k up to "
                   "this number (see README, Statistics).")  # fmt: skip
@click.option("--model-args", multiple=True, metavar="KEY=VALUE...", help="Model arguments passed to every "
              "generation call, as in SMOLTRACE: --model-args temperature=0.7 top_p=0.9 max_tokens=2048 (or the flag "
              "repeated, or a JSON object). Values are typed: JSON, numbers, true/false, else text. Default: none.")  # fmt: skip
@click.option("--api-base", default=None, help="Model server URL (ollama default http://localhost:11434; required "
              "for --provider openai).")  # fmt: skip
@click.option("--enable-otel", is_flag=True, help="Accepted for SMOLTRACE compatibility. Telemetry is always "
              "recorded: every result is computed from it.")  # fmt: skip
@click.option("--trace-litellm", is_flag=True, help="Also trace each litellm request (OpenInference litellm "
              "instrumentor): a `completion` span inside every model span, with the request as sent to the "
              "provider. Off by default: it repeats the model span's messages and tokens and was the largest "
              "part of the tracing overhead.")  # fmt: skip
@click.option("--otlp-endpoint", default=None, help="Export to a running smoltrace-collector (host:port, OTLP/gRPC) "
              "instead of the embedded one.")  # fmt: skip
@click.option("--otlp-token", envvar="SMOLTRACE_TOKEN", show_envvar=True, default=None,
              help="Bearer token for --otlp-endpoint.")  # fmt: skip
@click.option("--query-url", default=None, help="HTTP URL of that collector's query API, to read results back "
              "(default: the --otlp-endpoint host on the HTTP port smoltrace-collector names; needed when a "
              "forwarding collector stands in front of it).")  # fmt: skip
@click.option("--db", "db_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help=f"Store for the embedded collector. Default: ${DB_ENV_VAR}, else "
                   "~/.local/share/smoltrace/smoltrace.duckdb.")  # fmt: skip
@click.option("--run-id", default=None, help="Run identifier. Default: a new UUID.")
@click.option("--resume", "resume", default=None, metavar="RUN_ID",
              help="Run, under the same run id, only the task executions of run RUN_ID that did not finish: never "
                   "stored (its runner was killed), interrupted (Ctrl-C), or failed with a transient API error (rate "
                   "limit, lost connection, request timeout, provider 5xx); the results then hold every execution "
                   "once. The run's configuration is read from the store, so besides the store (--db, "
                   "--otlp-endpoint, --otlp-token, --query-url) only " + ", ".join(RESUME_FLAGS) + " may be given "
                   "with it. A run that is still running is refused (see --force). Default: none (a new run).")  # fmt: skip
@click.option("--force", is_flag=True, help="With --resume: resume a run that still shows as running (its runner sent "
              "a heartbeat less than 3 minutes ago) because you know that runner is gone (killed, machine lost); "
              "two runners on one run would run its executions twice.")  # fmt: skip
@click.option("--output-format", type=click.Choice(["hub", "json"]), default="hub",
              help="hub: publish datasets to the Hugging Face Hub; json: write files to --output-dir.")  # fmt: skip
@click.option("--output-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("./smoltrace_results"),
              help="Folder for --output-format json (a timestamped subfolder per run).")  # fmt: skip
@click.option("--private/--public", default=True, help="Visibility of the Hub datasets this run creates "
              "(--output-format hub); what is uploaded goes through the privacy policy (README).")  # fmt: skip
@click.option("--prompt-yml", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Agent settings (YAML), as in SMOLTRACE: system_prompt, max_steps, name, description, "
                   "verbosity_level; for code agents also prompt_templates, additional_authorized_imports, "
                   "planning_interval. An explicit --max-steps wins over its max_steps. Default: none.")  # fmt: skip
@click.option("--additional-imports", multiple=True, metavar="MODULE...", help="Modules the CodeAgent (and "
              "python_interpreter) may import, e.g. --additional-imports pandas numpy. Default: none.")  # fmt: skip
@click.option("--enable-tools", multiple=True, metavar="TOOL...", help="Tools added to the suite's own: "
              + "; ".join(f"{name}: {what}" for name, what in OPTIONAL_TOOLS.items()) + ". Default: none.")  # fmt: skip
@click.option("--search-provider", type=click.Choice(SEARCH_PROVIDERS), default="duckduckgo",
              help="Web search behind google_search: duckduckgo (no key), serper (SERPER_API_KEY) or brave "
                   "(BRAVE_API_KEY).")  # fmt: skip
@click.option("--search-url", default=None, help="The search provider's API URL, for a proxy or a self-hosted "
              "endpoint speaking its protocol. Default: the provider's public URL.")  # fmt: skip
@click.option("--working-directory", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="The folder the file tools (read_file, write_file, list_directory, search_files) are kept "
                   "inside. Default: the current folder.")  # fmt: skip
@click.option("--mcp-server-url", multiple=True, metavar="[NAME=]URL", help="An MCP server whose tools are added "
              "to the agents; repeat for several. NAME=URL prefixes its tool names (NAME_tool) so servers may share "
              "names. Default: none.")  # fmt: skip
@click.option("--mcp-transport", type=click.Choice(MCP_TRANSPORTS), default="auto",
              help="MCP transport; auto: SSE for a URL ending in /sse, streamable HTTP otherwise.")  # fmt: skip
@click.option("--use-case", default=None, help="Use case this run belongs to, recorded on the run for grouping the "
              "leaderboard (lower-case kebab: 'Food Ordering' -> food-ordering). Default: none.")  # fmt: skip
@click.option("--team", default=None, help="Owning team, recorded on the run (lower-case kebab). Default: none.")
@click.option("--purpose", type=click.Choice(PURPOSES), default=None,
              help="Why the run was made, recorded on the run. Default: none.")  # fmt: skip
@click.option("--suite-version", default=None, help="Version of the task suite, recorded on the run (lower-case "
              "kebab). Default: none.")  # fmt: skip
@click.option("--enable-gpu-metrics/--disable-gpu-metrics", default=None,
              help="Sample NVIDIA GPUs during the run. Default: on for local providers, off for API providers.")  # fmt: skip
@click.option(
    "--gpu-sample-interval", type=click.FloatRange(min=0.05), default=1.0, help="Seconds between GPU samples."
)
@click.option("--grid-intensity", type=float, default=None,
              help="Grid carbon intensity in gCO2e/kWh for CO2 figures (default: see README).")  # fmt: skip
@click.option("--electricity-price", type=float, default=None, help="USD per kWh for power cost (default: see README).")
@click.option("--quiet", is_flag=True, help="No progress bar; only the summary and errors.")
@click.option("--debug", is_flag=True, help="Show the agents' own step-by-step logs.")
def main(**flags):
    """Evaluate a model driving smolagents agents on a task suite.

    Every task execution is traced (OpenTelemetry) into the smoltrace store; verdicts, token counts,
    durations and the leaderboard row are SQL views over it. Query past runs with smoltrace-query.
    """
    if flags["resume"]:
        config = _resume_config(flags)
    elif flags["force"]:
        raise click.UsageError("--force only goes with --resume RUN_ID")
    elif not flags["model"]:
        raise click.UsageError("Missing option '--model'.")
    else:
        config = _new_run_config(flags)
    signal.signal(signal.SIGTERM, _interrupt)  # a scheduler's stop is recorded like Ctrl-C
    exit_code = evaluate(config)
    if exit_code == INTERRUPTED_EXIT_CODE:
        # A task stopped part-way may still be running in a worker thread (a local model's generate()
        # cannot be interrupted): a normal exit would wait for it, or abort in its C++ runtime. Everything
        # is stored, printed and written by now.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(exit_code)
    sys.exit(exit_code)


def _resume_config(flags: dict) -> EvalConfig:
    """--resume: refuse a flag that would change the run's configuration; keep the few that may differ."""
    ctx = click.get_current_context()
    given = [param for param in ctx.command.params if ctx.get_parameter_source(param.name)
             not in (None, click.core.ParameterSource.DEFAULT, click.core.ParameterSource.DEFAULT_MAP)]  # fmt: skip
    refused = [param.opts[0] for param in given if param.name not in RESUME_PARAMETERS]
    if refused:
        raise click.UsageError(
            f"--resume takes the run's configuration from the store: {', '.join(refused)} cannot be given with it "
            f"(with --resume only {', '.join(RESUME_FLAGS)} may be given, and where the store is)"
        )
    overrides = {}
    for flag, field in (("parallel_workers", "parallel_workers"), ("task_timeout", "task_timeout_s"),
                        ("search_url", "search_url")):  # fmt: skip
        if _given(flags, flag) is not None:
            overrides[field] = flags[flag]
    if flags["mcp_server_url"]:
        overrides["mcp_server_url"] = list(flags["mcp_server_url"])
    return EvalConfig(
        model="", resume=flags["resume"], force=flags["force"], resume_overrides=overrides,
        hf_token=flags["hf_token"], otlp_endpoint=flags["otlp_endpoint"], otlp_token=flags["otlp_token"],
        query_url=flags["query_url"], db_path=flags["db_path"], output_format=flags["output_format"],
        output_dir=flags["output_dir"], private=flags["private"], quiet=flags["quiet"], debug=flags["debug"],
    )  # fmt: skip


def _new_run_config(flags: dict) -> EvalConfig:
    return EvalConfig(
        model=flags["model"], provider=flags["provider"], agent_type=flags["agent_type"],
        difficulty=flags["difficulty"], dataset_name=flags["dataset_name"], split=flags["split"],
        dataset_revision=flags["dataset_revision"], limit=flags["limit"], quick=flags["quick"],
        run_id=flags["run_id"], max_steps=_given(flags, "max_steps"), task_timeout_s=flags["task_timeout"],
        parallel_workers=flags["parallel_workers"], model_args=parse_model_args(flags["model_args"]),
        repeats=flags["repeats"],
        api_base=flags["api_base"], hf_token=flags["hf_token"], prompt_yml=flags["prompt_yml"],
        hf_inference_provider=flags["hf_inference_provider"], additional_imports=flags["additional_imports"],
        enable_tools=flags["enable_tools"], search_provider=flags["search_provider"], search_url=flags["search_url"],
        working_directory=flags["working_directory"], mcp_server_url=flags["mcp_server_url"] or None,
        mcp_transport=flags["mcp_transport"], use_case=flags["use_case"], team=flags["team"],
        purpose=flags["purpose"], suite_version=flags["suite_version"], otlp_endpoint=flags["otlp_endpoint"],
        otlp_token=flags["otlp_token"], query_url=flags["query_url"], trace_litellm=flags["trace_litellm"],
        db_path=flags["db_path"],
        output_format=flags["output_format"], output_dir=flags["output_dir"], private=flags["private"],
        quiet=flags["quiet"], debug=flags["debug"], enable_gpu_metrics=flags["enable_gpu_metrics"],
        gpu_sample_interval_s=flags["gpu_sample_interval"], grid_intensity_gco2_per_kwh=flags["grid_intensity"],
        electricity_price_usd_per_kwh=flags["electricity_price"],
    )  # fmt: skip


def _given(flags: dict, name: str):
    """The flag's value when given on the command line, else None (so that --quick or --prompt-yml may
    choose): an explicit --max-steps 6 must win over --quick's 2."""
    source = click.get_current_context().get_parameter_source(name)
    return flags[name] if source is not click.core.ParameterSource.DEFAULT else None


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def evaluate(config: EvalConfig) -> int:
    """Run, summarise, write outputs; returns the process exit code."""
    from rich.console import Console

    from smoltrace.runner import run as run_module
    from smoltrace.runner.outputs import fetch_leaderboard_rows, fetch_run_stats, print_summary, write_json_outputs
    from smoltrace.runner.resume import NothingToResume

    console = Console()
    err = Console(stderr=True)
    log = (lambda *_: None) if config.quiet else (lambda message: err.print(message, markup=False, highlight=False,
                                                                             soft_wrap=True))  # fmt: skip
    exit_code = 0
    try:
        report = run_module.run(config, log=log)
    except run_module.RunInterrupted as interrupted:
        report = interrupted.report
        kept = report.finished_before + len(report.outcomes)
        stopped = sum(1 for outcome in report.outcomes if outcome.stop_reason == "interrupted")
        of_them = f" ({stopped} of them stopped part-way, recorded as interrupted)" if stopped else ""
        err.print(f"[yellow]Run {report.run_id} interrupted: {kept} of {report.planned} task executions are kept "
                  f"in the store{of_them}; the run is recorded as interrupted (smoltrace-eval --resume "
                  f"{report.run_id} runs the rest).[/yellow]")  # fmt: skip
        exit_code = INTERRUPTED_EXIT_CODE
    except NothingToResume as done:
        console.print(str(done), markup=False, highlight=False, soft_wrap=True)
        return 0
    except (TaskLoadError, ModelConfigError, AgentConfigError, CollectorUnreachableError, ValueError,
            LocalModelUnavailable, StoreOpenError) as exc:  # fmt: skip
        err.print(f"Error: {exc}", markup=False, highlight=False, soft_wrap=True)  # one line, however narrow
        return 2
    config = report.config or config  # a resumed run's outputs name the model and agents it recorded
    try:
        rows = fetch_leaderboard_rows(report.reader, report.run_id)
        print_summary(rows, console, stats=fetch_run_stats(report.reader, report.run_id))
        if config.output_format == "hub":
            exit_code = _publish(report, config, console, err) or exit_code
        if config.output_format == "json":
            folder = write_json_outputs(report.reader, report.run_id, config.output_dir, config.model,
                                        config.agent_type, {"duration_s": round(report.duration_s, 3)})  # fmt: skip
            console.print(f"\n[green]Results written to {folder}[/green]")
        where = f"store {report.db_path}" if report.db_path else f"collector {config.otlp_endpoint}"
        console.print(f"Run {report.run_id} ({report.status}) is in the {where}; "
                      f"e.g. smoltrace-query \"SELECT * FROM results WHERE run_id = '{report.run_id}'\"")  # fmt: skip
        _print_run_page(report, console)
    finally:
        run_module.close_reader(report)
    return exit_code


def _print_run_page(report, console) -> None:
    """The run's page in the collector's web view, when the run went to a collector that serves one (an
    embedded collector stops with the run: its store is browsed with smoltrace-view)."""
    from smoltrace.web.links import run_page_url, view_url

    if getattr(report.reader, "stops_with_the_run", False):
        db = f" --db {report.db_path}" if report.db_path else ""
        console.print(f"Browse it: smoltrace-view{db} --open", markup=False, highlight=False, soft_wrap=True)
        return
    base_url = getattr(report.reader, "base_url", None)
    view = view_url(base_url) if base_url else None
    if view:
        console.print(f"Run page: {run_page_url(view, report.run_id)}", markup=False, highlight=False, soft_wrap=True)


def _publish(report, config: EvalConfig, console, err) -> int:
    """Publish the run's datasets; a failure loses nothing (the run stays in the store) and says how to retry."""
    from smoltrace.hub.errors import PublishError
    from smoltrace.hub.publish import publish_run

    try:
        published = publish_run(report.reader, report.run_id, token=config.hf_token or os.environ.get("HF_TOKEN"),
                                private=config.private)  # fmt: skip
    except PublishError as exc:
        err.print(f"Error: {exc}", markup=False)
        return 1
    for line in published.console_lines():
        console.print(line, markup=False)
    return 0


if __name__ == "__main__":
    main()
