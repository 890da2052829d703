"""``smoltrace-eval --resume RUN_ID``: run again, under the same run id, the task executions of a run
that did not finish, so that a long API run killed near its end costs the rest of it, not all of it.

- **The configuration** comes from the store: every run records, on its ``smoltrace.run.started`` span,
  the attribute ``smoltrace.run.resume`` (``resume_record``): the ``EvalConfig`` fields that decide which
  tasks run and how (model, provider, agent types, task source, difficulty, limit, repeats, max steps,
  model arguments, tools, agent settings, labels...). Secrets are never in it (they come from the
  environment or the flags again), nor are query strings of MCP or search URLs (they may carry keys:
  such a URL has to be given again). Runs recorded before this attribute existed cannot be resumed.
- **An execution** is (agent type, task id, repeat). It is *finished* when ``results`` holds it with a
  stop reason other than ``interrupted`` and other than an ``error`` whose exception is transient
  (``TRANSIENT_ERROR``: a rate limit, a lost or refused connection, a request timeout, a provider's 5xx).
  Everything else runs again: executions never stored (the runner was killed while they ran, or before
  they started), ``interrupted`` ones (Ctrl-C, SIGTERM) and transient errors. A ``timeout`` (the task
  ran past ``--task-timeout``), ``max_steps`` or a lasting error (a bad request, a tool's own failure)
  is a measurement of the agent and is kept.
- **Results**: the new executions are new traces of the same run; the ``results`` view keeps the newest
  trace of each execution (views/24_results.sql), so every view, the summary and the files cover the
  whole run, one row per execution. The resumed part announces itself with a ``smoltrace.run.started``
  span of its own, sends heartbeats and ends with a ``smoltrace.run`` span carrying the run's new status.
"""

from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import dataclass
from pathlib import Path

from smoltrace.runner.config import EvalConfig
from smoltrace.runner.heartbeat import ABANDONED_AFTER_S

#: The run.started attribute holding the configuration --resume re-creates the run from.
RESUME_ATTRIBUTE = "smoltrace.run.resume"
#: Version of that record; a record of a newer version is refused rather than half read.
RESUME_FORMAT = 1
#: Settings the command line may change when resuming (EvalConfig field names): how fast the rest runs
#: and the URLs whose query strings were not recorded. Everything else would change what is measured.
RESUME_OVERRIDES = ("parallel_workers", "task_timeout_s", "mcp_server_url", "search_url")
#: Fields of the record that are not EvalConfig fields.
_RECORD_ONLY = ("format", "mcp_urls_had_query", "search_url_had_query")

#: A transient failure of the model's API: the exception class the runner recorded in the error text,
#: as the error's own type ("RateLimitError: ..."), as the wrapped cause ("... (caused by
#: litellm.exceptions.RateLimitError)", smoltrace/runner/execute.py) or as litellm names it in its
#: messages ("litellm.RateLimitError: ..."; errors stored before the cause was recorded read the same).
TRANSIENT_ERROR_CLASSES = (
    "RateLimitError", "APIConnectionError", "APITimeoutError", "Timeout", "ServiceUnavailableError",
    "InternalServerError", "BadGatewayError", "ConnectionError", "ConnectionResetError",
    "ConnectionRefusedError", "ConnectionAbortedError", "TimeoutError", "ReadTimeout", "ConnectTimeout",
    "RemoteProtocolError", "ServerDisconnectedError",
)  # fmt: skip
TRANSIENT_ERROR = re.compile(
    r"(?:^|\(caused by |\blitellm\.)(?:[A-Za-z_][\w]*\.)*(?:" + "|".join(TRANSIENT_ERROR_CLASSES) + r")\b"
)

#: The run's own spans: whether it exists and its recorded configuration (first run.started); and its
#: status as run_info decides it (facts/derive_runs.sql: 'running' while a resumed part runs, then
#: 'abandoned' once that runner went silent).
RUN_STATE = """
SELECT
    count(*) AS spans,
    arg_min(attributes->>'smoltrace.run.resume', start_time)
        FILTER (WHERE span_name = 'smoltrace.run.started') AS record,
    arg_min(attributes->>'smoltrace.version', start_time) FILTER (WHERE span_name = 'smoltrace.run.started') AS version,
    arg_min(TRY_CAST(attributes->>'smoltrace.run.planned_tasks' AS INTEGER), start_time)
        FILTER (WHERE span_name = 'smoltrace.run.started') AS planned_tasks,
    (SELECT status FROM run_info WHERE run_id = $run_id) AS status
FROM smoltrace_run_spans
WHERE run_id = $run_id
"""
#: Each execution of the run as results shows it (the newest trace of each).
RUN_EXECUTIONS = """
SELECT agent_type, task_id, repeat_index, stop_reason, error
FROM results
WHERE run_id = ?
ORDER BY agent_type, task_id, repeat_index
"""
#: Task traces stored for the run, superseded ones included (to know when the resumed part has landed).
RUN_TASK_TRACES = "SELECT count(*) AS n FROM smoltrace_task_facts WHERE run_id = ?"
#: Whether a given closing span of the run, and how many of its task traces, are stored.
RUN_STORED = """
SELECT
    (SELECT count(*) FROM smoltrace_run_spans WHERE run_id = ? AND span_id = ?) AS closed,
    (SELECT count(*) FROM smoltrace_task_facts WHERE run_id = ?) AS task_traces
"""
LIST_RUNS_HINT = (
    'list runs with smoltrace-query "SELECT run_id, model, status, completed_tasks, planned_tasks FROM latest_runs(20)"'
)


class ResumeRefused(ValueError):
    """--resume cannot go on; the message says why, in one line."""


class NothingToResume(Exception):
    """Every execution of the run finished and the run is completed: nothing to do (exit code 0)."""


@dataclass
class ResumePlan:
    config: EvalConfig  # the run's configuration, with this command's overrides, secrets and outputs
    suite: object  # TaskSuite
    executions: list  # (task, agent type, repeat) still to run, in the run's order
    planned: int
    finished: int
    never_finished: int
    interrupted: int
    transient: int
    status_before: str
    task_traces_before: int

    def message(self) -> str:
        run_id = self.config.run_id
        head = f"Resuming run {run_id}: {self.finished} of {self.planned} task executions finished; "
        if not self.executions:
            return head + f"nothing left to run: the run ({self.status_before}) is recorded as completed"
        return head + (
            f"running {len(self.executions)} ({self.never_finished} never finished, {self.interrupted} "
            f"interrupted, {self.transient} failed with a transient error)"
        )


def is_transient(stop_reason: str | None, error: str | None) -> bool:
    return stop_reason == "error" and bool(error) and TRANSIENT_ERROR.search(error) is not None


def _without_query(url: str) -> str:
    return url.split("?", 1)[0]


def _servers(value) -> list[str]:
    return [value] if isinstance(value, str) else list(value or [])


def _absolute_if_local(source: str | Path | None) -> str | None:
    """A task source that is a local file or folder, as an absolute path (the resume may start from
    another folder); a Hub dataset name as given."""
    if source is None:
        return None
    path = Path(source).expanduser()
    return str(path.resolve()) if path.exists() else str(source)


def resume_record(config: EvalConfig, max_steps: int) -> str:
    """The ``smoltrace.run.resume`` attribute: what re-creates the run's configuration (JSON)."""
    servers = _servers(config.mcp_server_url)
    record = {
        "format": RESUME_FORMAT,
        "model": config.model, "provider": config.provider, "agent_type": config.agent_type,
        "difficulty": config.difficulty, "dataset_name": _absolute_if_local(config.dataset_name),
        "split": config.split, "dataset_revision": config.dataset_revision, "limit": config.limit,
        "quick": config.quick, "max_steps": max_steps, "task_timeout_s": config.task_timeout_s,
        "parallel_workers": config.parallel_workers, "repeats": config.repeats,
        "model_args": config.model_args, "api_base": config.api_base,
        "hf_inference_provider": config.hf_inference_provider,
        "prompt_yml": str(Path(config.prompt_yml).resolve()) if config.prompt_yml else None,
        "prompt_config": config.prompt_config,
        "additional_imports": list(config.additional_imports), "enable_tools": list(config.enable_tools),
        "search_provider": config.search_provider,
        "search_url": _without_query(config.search_url) if config.search_url else None,
        "search_url_had_query": bool(config.search_url and "?" in config.search_url),
        "working_directory": str(Path(config.working_directory).resolve()) if config.working_directory else None,
        "mcp_server_url": [_without_query(server) for server in servers],
        "mcp_urls_had_query": any("?" in server for server in servers),
        "mcp_transport": config.mcp_transport,
        "use_case": config.use_case, "team": config.team, "purpose": config.purpose,
        "suite_version": config.suite_version, "trace_litellm": config.trace_litellm,
        "enable_gpu_metrics": config.enable_gpu_metrics, "gpu_sample_interval_s": config.gpu_sample_interval_s,
        "grid_intensity_gco2_per_kwh": config.grid_intensity_gco2_per_kwh,
        "electricity_price_usd_per_kwh": config.electricity_price_usd_per_kwh,
    }  # fmt: skip
    return json.dumps(record, default=str)


def recorded_config(run_id: str, state: dict, config: EvalConfig) -> EvalConfig:
    """The run's configuration from its record, with this command's store, secrets, outputs and
    overrides."""
    if state["record"] is None:
        by = f"smoltrace {state['version']}" if state["version"] else "an older smoltrace"
        raise ResumeRefused(
            f"run {run_id} cannot be resumed: it was recorded by {by}, which did not store the configuration "
            f"needed to run it again; start a new run with the same flags"
        )
    try:
        record = json.loads(state["record"])
    except ValueError:
        raise ResumeRefused(f"run {run_id} cannot be resumed: its recorded configuration is not valid JSON") from None
    names = {f.name for f in dataclasses.fields(EvalConfig)}
    fields = {key: value for key, value in record.items() if key not in _RECORD_ONLY}
    if not isinstance(record.get("format"), int) or record["format"] > RESUME_FORMAT or set(fields) - names:
        raise ResumeRefused(
            f"run {run_id} cannot be resumed by this smoltrace ({_version()}): its configuration was "
            f"recorded by a newer one (format {record.get('format')!r}); resume it with that version"
        )
    overrides = dict(config.resume_overrides)
    if "mcp_server_url" in overrides:
        given = [_without_query(server) for server in _servers(overrides["mcp_server_url"])]
        if given != fields["mcp_server_url"]:
            raise ResumeRefused(
                f"--mcp-server-url differs from run {run_id}'s ({', '.join(fields['mcp_server_url']) or 'none'}): "
                f"with --resume it may only give the same servers again (their query strings were not recorded)"
            )
    elif record.get("mcp_urls_had_query"):
        raise ResumeRefused(
            f"run {run_id}'s MCP server URLs had query strings, which are not recorded (they may hold keys): "
            f"pass the same --mcp-server-url again with --resume"
        )
    if "search_url" in overrides:
        if _without_query(overrides["search_url"]) != fields["search_url"]:
            raise ResumeRefused(
                f"--search-url differs from run {run_id}'s ({fields['search_url'] or 'none'}): with --resume "
                f"it may only give the same URL again (its query string was not recorded)"
            )
    elif record.get("search_url_had_query"):
        raise ResumeRefused(
            f"run {run_id}'s --search-url had a query string, which is not recorded (it may hold a key): "
            f"pass the same --search-url again with --resume"
        )
    for name in ("prompt_yml", "working_directory"):
        if fields.get(name) is not None:
            fields[name] = Path(fields[name])
    fields.update(overrides)
    kept = {name: getattr(config, name) for name in (
        "api_key", "hf_token", "otlp_endpoint", "otlp_token", "query_url", "db_path", "output_format",
        "output_dir", "private", "quiet", "debug", "model_factory", "tools_factory", "force",
    )}  # fmt: skip
    return EvalConfig(**fields, **kept, run_id=run_id, resume=run_id, resume_overrides=overrides)


def plan_resume(reader, config: EvalConfig, where: str, select_tasks) -> ResumePlan:
    """Read run ``config.resume`` from the store and decide what is left to run. ``where`` names the
    store in messages; ``select_tasks`` lists a configuration's executions (runner/run.py)."""
    run_id = config.resume
    state = reader.query(RUN_STATE, {"run_id": run_id})[0]
    if not state["spans"]:
        raise ResumeRefused(f"no run {run_id} in {where}; {LIST_RUNS_HINT}")
    status = state["status"]
    if status == "running" and not config.force:
        raise ResumeRefused(
            f"run {run_id} is running: its runner sent a heartbeat less than {ABANDONED_AFTER_S / 60:g} minutes ago, "
            f"so another smoltrace-eval may still be running it; resume it once it shows as abandoned, or pass "
            f"--force if you know its runner is gone"
        )
    resumed = recorded_config(run_id, state, config)
    suite, executions = select_tasks(resumed)
    planned = state["planned_tasks"]
    if planned is not None and len(executions) != planned:
        raise ResumeRefused(
            f"the tasks of run {run_id} changed since it started: its configuration now gives {len(executions)} "
            f"task executions, the run planned {planned} (check its task source {suite.name})"
        )
    stored = {(row["agent_type"], row["task_id"], row["repeat_index"]): row
              for row in reader.query(RUN_EXECUTIONS, [run_id])}  # fmt: skip
    keys = {(agent_type, task.id, repeat) for task, agent_type, repeat in executions}
    strangers = len(set(stored) - keys)
    if strangers:
        raise ResumeRefused(
            f"the tasks of run {run_id} changed since it started: {strangers} of its stored task executions are "
            f"not in its task source {suite.name} any more"
        )
    todo, counts = [], {"never": 0, "interrupted": 0, "transient": 0}
    for execution in executions:
        task, agent_type, repeat = execution
        row = stored.get((agent_type, task.id, repeat))
        if row is None:
            counts["never"] += 1
        elif row["stop_reason"] == "interrupted":
            counts["interrupted"] += 1
        elif is_transient(row["stop_reason"], row["error"]):
            counts["transient"] += 1
        else:
            continue
        todo.append(execution)
    if not todo and status == "completed":
        raise NothingToResume(
            f"Run {run_id} is completed and all {len(executions)} of its task executions finished: nothing to resume."
        )
    traces_before = reader.query(RUN_TASK_TRACES, [run_id])[0]["n"]
    return ResumePlan(resumed, suite, todo, len(executions), len(executions) - len(todo), counts["never"],
                      counts["interrupted"], counts["transient"], status, traces_before)  # fmt: skip


def _version() -> str:
    import smoltrace

    return smoltrace.__version__
