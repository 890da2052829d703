"""The run loop: validate everything, start (or reach) the collector, run every task execution under
tracing, and close the run. It computes no verdicts: those are views over what it emitted."""

from __future__ import annotations

import contextlib
import json
import signal
import threading
import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path

from opentelemetry.context import Context
from opentelemetry.trace import Status, StatusCode, set_span_in_context

import smoltrace
from smoltrace.collector import Collector
from smoltrace.collector.discovery import running_collector_for
from smoltrace.runner.agents import AgentSetup, build_agent
from smoltrace.runner.config import EvalConfig, agent_options_record, run_labels
from smoltrace.runner.execute import TaskOutcome, execute_task
from smoltrace.runner.heartbeat import Heartbeat
from smoltrace.runner.ids import new_run_id
from smoltrace.runner.mcp import load_mcp_tools
from smoltrace.runner.models import ModelSpec, build_model, check_model, model_pricing
from smoltrace.runner.resume import RESUME_ATTRIBUTE, RUN_STORED, ResumePlan, ResumeRefused, plan_resume, resume_record
from smoltrace.runner.tasks import TaskSuite, load_tasks
from smoltrace.runner.telemetry import (
    RunTelemetry,
    check_collector,
    secrets_from_environment,
)
from smoltrace.store.database import default_db_path
from smoltrace.store.open_errors import StoreOpenError
from smoltrace.store.reader import CollectorReader, ReadError, StoreReader
from smoltrace.web.links import run_page_url, view_url

# --quick is the first run on a small local model, on a laptop's CPU: a few steps, short generations
# (a tool call or a short code block fits), so the whole check stays within a few minutes.
QUICK_MAX_STEPS = 2
QUICK_MAX_NEW_TOKENS = 96
DEFAULT_MAX_STEPS = 6
#: Task executions submitted to the worker pool ahead of the ones running, per worker: enough to keep
#: the workers busy, few enough that Ctrl-C never waits on a queue of 100,000 futures.
SUBMIT_AHEAD_PER_WORKER = 2


class QueryUrlUnknown(ValueError):
    """The collector at --otlp-endpoint did not say where its query API is."""


class RunInterrupted(Exception):
    """Ctrl-C: finished tasks are kept, the run is recorded as interrupted."""

    def __init__(self, report: RunReport):
        super().__init__("run interrupted")
        self.report = report


@dataclass
class RunReport:
    run_id: str
    status: str  # completed | interrupted | failed
    suite: TaskSuite
    agent_types: list[str]
    outcomes: list[TaskOutcome] = field(default_factory=list)
    planned: int = 0
    duration_s: float = 0.0
    db_path: Path | None = None
    reader: StoreReader | None = None
    config: EvalConfig | None = None  # the configuration run (a resumed run's: the one it recorded)
    resumed: ResumePlan | None = None  # --resume: what was left to run

    @property
    def finished_before(self) -> int:
        """Executions of a resumed run that had finished before this runner started."""
        return self.resumed.finished if self.resumed else 0


def agent_types_for(agent_type: str) -> list[str]:
    return ["tool", "code"] if agent_type == "both" else [agent_type]


def select_tasks(config: EvalConfig) -> tuple[TaskSuite, list[tuple]]:
    """Load and validate the suite, then list (task, agent type, repeat) executions in run order.

    Repeat-major: every task runs once before any runs twice, so a run stopped early (Ctrl-C, a crash)
    still covers the whole suite with fewer tries rather than part of it with all of them.
    """
    if config.repeats < 1:
        raise ValueError(f"--repeats must be at least 1 (got {config.repeats})")
    suite = load_tasks(config.dataset_name, split=config.split, revision=config.dataset_revision)
    suite = suite.filter(difficulty=config.difficulty, quick_only=config.quick)
    executions = []
    for repeat in range(config.repeats):
        for agent_type in agent_types_for(config.agent_type):
            tasks = suite.for_agent(agent_type).tasks
            executions += [(task, agent_type, repeat) for task in (tasks[: config.limit] if config.limit else tasks)]
    return suite, executions


class _Progress:
    """A rich progress bar on stderr (silent with --quiet)."""

    def __init__(self, total: int, quiet: bool):
        self._bar = None
        if not quiet:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
            )

            self._bar = Progress(
                TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                TextColumn("{task.fields[last]}"), console=Console(stderr=True), transient=False,
            )  # fmt: skip
            self._task = self._bar.add_task("tasks", total=total, last="")

    def __enter__(self):
        if self._bar:
            self._bar.start()
        return self

    def advance(self, outcome: TaskOutcome) -> None:
        if self._bar:
            mark = {"final_answer": "answered"}.get(outcome.stop_reason, outcome.stop_reason)
            try_no = f" #{outcome.repeat + 1}" if outcome.repeat else ""
            self._bar.update(
                self._task,
                advance=1,
                last=f"{outcome.task.uid(outcome.agent_type)}{try_no}: {mark}",
            )

    def __exit__(self, *exc):
        if self._bar:
            self._bar.stop()


def run(config: EvalConfig, log=print) -> RunReport:
    """Run an evaluation, or with ``config.resume`` the unfinished executions of a stored run (see
    runner/resume.py). Raises RunInterrupted on Ctrl-C (after recording what finished)."""
    started = time.monotonic()
    resumed = None
    if config.resume:  # the store first: the run's configuration is there
        store = _open_store(config, config.resume, log)
        try:
            resumed = plan_resume(store.reader, config, store.where, select_tasks)
            config = resumed.config
            prepared = _prepare(config)
        except BaseException:
            store.close()
            raise
        run_id, suite, executions, planned = config.resume, resumed.suite, resumed.executions, resumed.planned
        log(resumed.message())
    else:
        run_id = config.run_id or new_run_id()
        # Everything that can be wrong is checked before the collector starts or a model is called.
        suite, executions = select_tasks(config)
        if not executions:
            raise ValueError("no tasks to run: check --difficulty, --agent-type, --limit and the dataset")
        prepared = _prepare(config)
        store = _open_store(config, run_id, log)
        planned = len(executions)
    spec, agent_setup, max_steps = prepared
    collector, db_path, endpoint, reader = store.collector, store.db_path, store.endpoint, store.reader

    report = RunReport(run_id, "failed", suite, agent_types_for(config.agent_type), planned=planned,
                       db_path=db_path, reader=reader, config=config, resumed=resumed)  # fmt: skip
    telemetry = None
    gpu_sampler = None
    mcp_client = None
    heartbeat = None
    failed = True
    try:
        telemetry = RunTelemetry(endpoint, run_id, token=config.otlp_token,
                                 secrets=secrets_from_environment([config.hf_token, config.api_key, config.otlp_token]))  # fmt: skip
        telemetry.instrument(litellm=config.trace_litellm)
        gpu_sampler = _start_gpu_sampler(config, spec, endpoint, run_id, log)
        model = config.model_factory() if config.model_factory else build_model(spec, log)
        mcp_tools, mcp_client = load_mcp_tools(config.mcp_server_url, config.mcp_transport,
                                               reserved=agent_setup.tool_names)  # fmt: skip
        pricing = model_pricing(spec)
        run_attributes = {"smoltrace.run.id": run_id, "smoltrace.model.id": config.model,
                          "smoltrace.provider": config.provider}  # fmt: skip
        if pricing is not None:
            run_attributes["smoltrace.model.input_cost_per_token"] = pricing[0]
            run_attributes["smoltrace.model.output_cost_per_token"] = pricing[1]
        closing_attributes = _run_attributes(config, suite, report, max_steps)
        if resumed is not None:
            closing_attributes["smoltrace.run.resumed_executions"] = len(executions)
        run_span = telemetry.tracer.start_span("smoltrace.run", context=Context(), attributes=closing_attributes)
        # the first run.started of a run holds its configuration; a resume announces itself with one too
        announced = {**closing_attributes, RESUME_ATTRIBUTE: resume_record(config, max_steps)}
        telemetry.tracer.start_span("smoltrace.run.started", context=set_span_in_context(run_span),
                                    attributes=announced).end()  # fmt: skip
        telemetry.flush()  # the run is visible (status 'running') before its first task ends
        heartbeat = Heartbeat(telemetry.tracer, {"smoltrace.run.id": run_id}).start()

        def make_agent(agent_type: str):
            return build_agent(agent_type, model, agent_setup.tools() + mcp_tools, max_steps=max_steps,
                               options=agent_setup.options, verbose=config.debug)  # fmt: skip

        workers = max(1, config.parallel_workers)
        if spec.is_local and config.model_factory is None and workers > 1:
            log("Note: --parallel-workers is ignored for local models (one model instance, one generation at a time).")
            workers = 1
        cancelled = threading.Event()

        def start(task, agent_type, repeat):
            return pool.submit(execute_task, telemetry.tracer, task, agent_type, make_agent,
                               run_attributes=run_attributes, timeout_s=config.task_timeout_s, cancelled=cancelled,
                               repeat=repeat)  # fmt: skip

        def finished(outcome: TaskOutcome) -> None:
            report.outcomes.append(outcome)
            progress.advance(outcome)

        with _Progress(len(executions), config.quiet) as progress, ThreadPoolExecutor(workers) as pool, \
                _stop_on_signals(cancelled):  # fmt: skip
            _run_executions(
                executions,
                start,
                finished,
                cancelled,
                window=workers * SUBMIT_AHEAD_PER_WORKER,
            )
        status = "interrupted" if cancelled.is_set() else "completed"
        report.status = status
        run_span.set_attribute("smoltrace.run.completed_tasks", report.finished_before + len(report.outcomes))
        run_span.set_attribute("smoltrace.run.status", status)
        if status != "completed":
            run_span.set_status(Status(StatusCode.ERROR, status))
        run_span.end()
        failed = False
    except KeyboardInterrupt:  # Ctrl-C before the tasks began (loading the model, say): no task to keep
        report.status, failed = "interrupted", False
        if "run_span" in locals() and run_span.is_recording():
            run_span.set_attribute("smoltrace.run.status", "interrupted")
            run_span.set_attribute("smoltrace.run.completed_tasks", report.finished_before)
            run_span.set_status(Status(StatusCode.ERROR, "interrupted"))
            run_span.end()
    except BaseException as exc:
        if "run_span" in locals() and run_span.is_recording():
            run_span.set_attribute("smoltrace.run.status", "failed")
            run_span.set_attribute("smoltrace.run.completed_tasks", report.finished_before + len(report.outcomes))
            run_span.set_status(Status(StatusCode.ERROR, f"{type(exc).__name__}: {exc}"))
            run_span.end()
        raise
    finally:
        if heartbeat is not None:
            heartbeat.stop()
        if gpu_sampler is not None:
            gpu_sampler.stop()
        if mcp_client is not None:
            mcp_client.disconnect()
        if telemetry is not None:
            if not telemetry.flush():
                log("Warning: some spans could not be exported to the collector before the timeout.")
            telemetry.shutdown()
        report.duration_s = time.monotonic() - started
        if collector is not None and failed:
            collector.stop()  # nothing reads this run's results: no collector, no discovery file left
        elif collector is not None:
            report.reader = _SnapshotAfterStop(collector)
        elif report.status != "failed" and "run_span" in locals():
            _wait_until_stored(reader, report, _span_id(run_span), log)
    if report.status == "interrupted":
        raise RunInterrupted(report)
    return report


def _prepare(config: EvalConfig) -> tuple[ModelSpec, AgentSetup, int]:
    """Check the model and the agents' settings (before a model is called); the model spec, the agent
    setup and the step limit."""
    spec = ModelSpec(config.provider, config.model, api_base=config.api_base, api_key=config.api_key,
                     hf_token=config.hf_token, model_args=dict(config.model_args),
                     inference_provider=config.hf_inference_provider)  # fmt: skip
    if config.quick and spec.provider == "transformers":
        spec.model_args.setdefault("max_new_tokens", QUICK_MAX_NEW_TOKENS)
    if config.model_factory is None:
        check_model(spec)
    max_steps = config.max_steps  # an explicit value wins over --quick and the prompt config
    # --prompt-yml, --additional-imports, --enable-tools, --use-case...: checked before anything starts
    agent_setup = AgentSetup.from_config(config)
    run_labels(config)
    if max_steps is None:
        max_steps = agent_setup.options.max_steps  # the prompt config's, else --quick's, else the default
    if max_steps is None:
        max_steps = QUICK_MAX_STEPS if config.quick else DEFAULT_MAX_STEPS
    return spec, agent_setup, max_steps


@dataclass
class _Store:
    """Where the run goes and is read back from: the embedded collector started on ``db_path``, or a
    running collector (``endpoint``, read through ``reader``)."""

    collector: Collector | None
    db_path: Path | None
    endpoint: str
    reader: StoreReader
    where: str  # "store PATH" or "collector ENDPOINT", for messages

    def close(self) -> None:
        if self.collector is not None:
            self.collector.stop()


def _open_store(config: EvalConfig, run_id: str, log) -> _Store:
    db_path = None if config.otlp_endpoint else Path(config.db_path) if config.db_path else default_db_path()
    endpoint, query_url = config.otlp_endpoint, config.query_url
    where = f"store {db_path}" if db_path is not None else f"collector {endpoint}"
    if db_path is not None:  # a collector that holds the store takes the run, as smoltrace-query reads through it
        endpoint, query_url = _collector_holding(db_path, config.otlp_token, log)
    if endpoint:
        http_port = check_collector(endpoint, config.otlp_token)
        query_url = query_url or _query_url(endpoint, http_port)
        reader: StoreReader = CollectorReader(query_url, config.otlp_token)
        view = view_url(query_url)  # the collector's web view, where the run shows live
        if view:
            log(f"Watch the run live: {run_page_url(view, run_id)}")
        return _Store(None, db_path, endpoint, reader, where)
    if config.resume and not db_path.exists():
        raise ResumeRefused(f"no run {run_id} in {where}: there is no store at that path (pass --db)")
    collector = Collector.embedded(db_path=db_path).start()
    return _Store(collector, db_path, collector.grpc_endpoint, CollectorReader(collector.http_endpoint), where)


def _span_id(span) -> str:
    return format(span.get_span_context().span_id, "016x")


class _SnapshotAfterStop(CollectorReader):
    """Reads through the embedded collector's query API, stopping the collector when closed."""

    stops_with_the_run = True  # its web view goes with it: point users at smoltrace-view instead

    def __init__(self, collector: Collector):
        super().__init__(collector.http_endpoint)
        self.collector = collector

    def close(self) -> None:
        self.collector.stop()


def _wait_until_stored(reader: StoreReader, report: RunReport, closing_span_id: str, log,
                       timeout_s: float = 60.0) -> None:  # fmt: skip
    """A remote store may sit behind a forwarding collector (the OpenTelemetry Collector in the compose
    stack acknowledges on receipt, not on storage): read results only once the run's closing span (this
    runner's: a resumed run has older ones) and every task it finished have landed."""
    before = report.resumed.task_traces_before if report.resumed else 0
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            rows = reader.query(RUN_STORED, [report.run_id, closing_span_id, report.run_id])
        except ReadError:
            rows = []
        if rows and rows[0]["closed"] and rows[0]["task_traces"] >= before + len(report.outcomes):
            return
        time.sleep(0.25)
    log(f"Warning: the store has not shown all of run {report.run_id} after {timeout_s:g}s; results may be partial.")


def close_reader(report: RunReport) -> None:
    close = getattr(report.reader, "close", None)
    if close:
        close()


def _run_executions(executions, start, finished, cancelled: threading.Event, window: int) -> None:
    """Run every (task, agent type, repeat) through ``start`` (which submits it to the pool), at most ``window``
    submitted and unfinished at once, handing each outcome to ``finished``. Once ``cancelled`` is set,
    nothing more is submitted, what waits in the pool is cancelled, and what runs ends at once (the
    tasks watch the same flag) and is kept."""
    remaining = iter(executions)
    pending: set = set()
    while True:
        while not cancelled.is_set() and len(pending) < window:
            execution = next(remaining, None)
            if execution is None:
                break
            pending.add(start(*execution))
        if cancelled.is_set():
            pending = {future for future in pending if not future.cancel()}
        if not pending:
            return
        done, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
        for future in done:
            finished(future.result())


@contextlib.contextmanager
def _stop_on_signals(cancelled: threading.Event):
    """Ctrl-C (and SIGTERM) set ``cancelled`` instead of raising KeyboardInterrupt wherever the main
    thread happens to be: raised inside ``concurrent.futures.wait`` it could leave the run hung. Outside
    the main thread (the Python API from a thread) signals cannot be handled there: nothing changes."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    for signum in previous:
        signal.signal(signum, lambda *_: cancelled.set())
    try:
        yield
    except KeyboardInterrupt:  # one that arrived before the handlers were in place
        cancelled.set()
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _collector_holding(db_path: Path, token: str | None, log) -> tuple[str | None, str | None]:
    """(gRPC endpoint, query URL) of a running smoltrace-collector that holds the store, else (None,
    None): DuckDB lets one process write a file, so a run on a store a collector holds goes to it.
    A store held by another run's embedded collector is refused with a one-line reason."""
    holder = running_collector_for(db_path)
    if holder is None:
        return None, None
    if holder.get("embedded"):
        raise StoreOpenError(
            f"the store {db_path} is in use by another smoltrace-eval (PID {holder['pid']}): wait for it to "
            f"finish, pass another --db, or run smoltrace-collector on the store and export to it"
        )
    if holder.get("token_required") and not token:
        raise StoreOpenError(
            f"the store {db_path} is held by smoltrace-collector (PID {holder['pid']}), which requires a token: "
            f"set SMOLTRACE_TOKEN or pass --otlp-token"
        )
    log(f"smoltrace-collector (PID {holder['pid']}) holds {db_path}: exporting the run to it at "
        f"{holder['grpc_endpoint']}")  # fmt: skip
    return holder["grpc_endpoint"], holder["http_endpoint"]


def _query_url(otlp_endpoint: str, http_port: int | None) -> str:
    """The query API of the collector at ``otlp_endpoint``, on the HTTP port it advertised."""
    if http_port is None:
        raise QueryUrlUnknown(
            f"the collector at {otlp_endpoint} did not say where its query API is (an OpenTelemetry Collector "
            f"in front of smoltrace-collector?): pass --query-url, e.g. http://host:8318"
        )
    host = otlp_endpoint.split("://")[-1].rsplit(":", 1)[0]
    return f"http://{host}:{http_port}"


def _run_attributes(config: EvalConfig, suite: TaskSuite, report: RunReport, max_steps: int) -> dict:
    attributes = {
        "smoltrace.run.id": report.run_id,
        "smoltrace.model.id": config.model,
        "smoltrace.provider": config.provider,
        "smoltrace.run.agent_types": ",".join(report.agent_types),
        "smoltrace.dataset.name": suite.name,
        "smoltrace.dataset.split": suite.split or "",
        "smoltrace.run.planned_tasks": report.planned,
        "smoltrace.run.repeats": config.repeats,
        "smoltrace.run.max_steps": max_steps,
        "smoltrace.version": smoltrace.__version__,
        "smoltrace.run.config": json.dumps({
            "difficulty": config.difficulty, "limit": config.limit, "quick": config.quick,
            "task_timeout_s": config.task_timeout_s, "parallel_workers": config.parallel_workers,
            "repeats": config.repeats,
            "model_args": config.model_args, "api_base": config.api_base, **agent_options_record(config),
        }, default=str),
    }  # fmt: skip
    if suite.revision:
        attributes["smoltrace.dataset.revision"] = suite.revision
    attributes.update(run_labels(config))  # --use-case, --team, --purpose, --suite-version
    return attributes


def _start_gpu_sampler(config: EvalConfig, spec: ModelSpec, endpoint: str, run_id: str, log):
    enabled = config.enable_gpu_metrics if config.enable_gpu_metrics is not None else spec.is_local
    if not enabled:
        return None
    from smoltrace.gpu import GpuSampler, GpuUnavailableError, gpu_metrics_available

    available, reason = gpu_metrics_available()
    if not available:
        log(f"GPU metrics are off: {reason}")
        return None
    from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import (
        OTLPMetricExporter,
    )

    headers = (("authorization", f"Bearer {config.otlp_token}"),) if config.otlp_token else None
    options = {}
    if config.grid_intensity_gco2_per_kwh is not None:
        options["grid_intensity_gco2_per_kwh"] = config.grid_intensity_gco2_per_kwh
    if config.electricity_price_usd_per_kwh is not None:
        options["price_usd_per_kwh"] = config.electricity_price_usd_per_kwh
    sampler = GpuSampler(OTLPMetricExporter(endpoint=endpoint, insecure=True, headers=headers), run_id,
                         interval_s=config.gpu_sample_interval_s, **options)  # fmt: skip
    try:
        sampler.start()
    except GpuUnavailableError as exc:
        log(f"GPU metrics are off: {exc}")
        return None
    return sampler
