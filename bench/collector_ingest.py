#!/usr/bin/env python
"""Collector ingest benchmark: how many spans/s can ``smoltrace-collector`` store *durably*?

Why it is built this way
------------------------
* The collector runs as its own process (``smoltrace-collector``, started exactly as a user would) so
  its memory can be measured from outside (psutil, every 0.2 s) and it does not share a GIL with the
  load.
* The load comes from separate processes (multiprocessing) that send **pre-serialized**
  ``ExportTraceServiceRequest`` bytes over raw gRPC channels: the OpenTelemetry SDK's exporter cannot
  produce more than ~7k spans/s on a small machine, so it would measure itself, not the collector.
* The collector acknowledges a request once its bytes are fsynced to the request log (its write-ahead
  log), so acknowledged spans/s is the *durable* ingest rate; DuckDB commits behind the log, and the
  ``committed`` figure (``otel_traces`` counted through the query API at both ends of the window, each
  read waiting for the acknowledged spans' commit) checks that the store keeps up.
* The collector drops a byte-identical request as a retry (it digests every body), and caches the JSON
  of every attribute it has seen. Re-sending a small pool of requests would therefore measure neither
  real storage nor real decoding. Each load process pre-generates a pool of distinct requests whose
  trace/span ids and "unique" string attributes carry placeholders; before each send the placeholders
  are replaced (one C-level ``bytes.replace`` each) by a sequence number, so every request sent is
  distinct, every span id is unique and unique attribute values never repeat, while the repeated
  attributes (model, span kind, tool, run id, ...) repeat as they do in real agent traces.

What it prints
--------------
Durable spans/s over a steady-state window (warm-up skipped), p50/p99 export latency, the collector's
peak RSS and CPU use, bytes on disk per span (after a SIGINT stop, which checkpoints), and a check that
the rows in ``otel_traces`` equal the acknowledged span count. RESOURCE_EXHAUSTED refusals (queue full)
are retried after a short sleep and reported separately: they are back-pressure, not failures.

Run ``python bench/collector_ingest.py --help`` for the flags; ``bench/README.md`` has examples.
"""

from __future__ import annotations

import argparse
import itertools
import multiprocessing as mp
import os
import platform
import random
import re
import shlex
import shutil
import signal
import statistics
import string
import struct
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

EXPORT_METHOD = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"

# Placeholders patched before every send (see the module docstring). ID_MARKER opens every trace and
# span id (4 of its 16/8 bytes); TEXT_MARKER sits inside every unique string attribute. Both are
# replaced with the same sequence number, so parent ids keep pointing at their (renamed) parents.
# Attribute strings are ASCII, so they cannot contain ID_MARKER's bytes.
ID_MARKER = b"\xfe\xed\xfa\xce"
TEXT_MARKER = "#SEQ####"  # 8 characters, replaced by 8 hex digits

READY_RE = re.compile(r"OTLP/gRPC (\S+):(\d+)")
READY_HTTP_RE = re.compile(r"OTLP/HTTP (\S+)")
COUNT_SPANS_SQL = "SELECT count(*) AS n FROM otel_traces"
LOG_LINE_RE = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d")  # the collector's log lines begin with the time
STOPPED_RE = re.compile(r"stored (\d+) items in (\d+) commits(?: \(([\d.]+) s deriving facts)?")


# ---------------------------------------------------------------------------------------------------
# Realistic span generation (runs once per load process, before the clock starts)

MODELS = ("Qwen/Qwen2.5-Coder-32B-Instruct", "meta-llama/Llama-3.3-70B-Instruct", "gpt-4o-mini")
TOOLS = ("web_search", "python_interpreter", "final_answer", "visit_webpage", "calculator")
WORDS = (
    "the agent should find compute answer weather tool call result step final value number city list "
    "python code search web page population capital largest river mountain year price convert sum "
    "average table report between first last query document summary"
).split()

# Attributes whose values repeat across spans (as in real agent traces): (key, kind of value).
# The catalogue is cycled when more repeated attributes are asked for than it holds.
REPEATED = (
    ("openinference.span.kind", "role"),
    ("smoltrace.run.id", "run"),
    ("llm.model_name", "model"),
    ("llm.provider", ("litellm", "hf-inference")),
    ("tool.name", "tool"),
    ("smoltrace.agent.type", ("tool", "code")),
    ("smoltrace.task.difficulty", ("easy", "medium", "hard")),
    ("smoltrace.task.category", ("search", "math", "code", "general")),
    ("llm.token_count.prompt", range(200, 240)),
    ("llm.token_count.completion", range(20, 60)),
    ("llm.invocation_parameters.temperature", (0.0, 0.2, 0.7)),
    ("llm.invocation_parameters.top_p", (0.9, 0.95, 1.0)),
    ("smoltrace.step.number", range(0, 10)),
    ("smoltrace.task.success", (True, False)),
    ("gen_ai.operation.name", ("chat", "execute_tool", "invoke_agent")),
    ("smoltrace.retry", (False, False, False, True)),
    ("gen_ai.request.max_tokens", (512, 1024, 2048)),
    ("smoltrace.agent.max_steps", (6, 10)),
    ("smoltrace.cost.usd", (0.0001, 0.0002, 0.0005)),
    ("gen_ai.system", ("openai", "huggingface")),
)

# Attributes unique to each span (ids, prompts of a few hundred bytes): (key, approximate size in bytes).
UNIQUE = (
    ("smoltrace.span.uid", 0),
    ("input.value", 320),
    ("output.value", 160),
    ("llm.request.id", 0),
)

# Span roles within one trace: a task root, an agent run, then steps each with an LLM call and a tool.
TRACE_SHAPE = ("CHAIN", "AGENT") + ("CHAIN", "LLM", "TOOL") * 3  # 11 spans per trace


def _sentence(rng: random.Random, size: int) -> str:
    words = []
    while sum(len(w) + 1 for w in words) < size:
        words.append(rng.choice(WORDS))
    return " ".join(words)


def _any_value(value):
    from opentelemetry.proto.common.v1 import common_pb2

    if isinstance(value, bool):
        return common_pb2.AnyValue(bool_value=value)
    if isinstance(value, int):
        return common_pb2.AnyValue(int_value=value)
    if isinstance(value, float):
        return common_pb2.AnyValue(double_value=value)
    return common_pb2.AnyValue(string_value=value)


def _repeated_value(kind, role: str, run_id: str, rng: random.Random):
    if kind == "role":
        return role
    if kind == "run":
        return run_id
    if kind == "model":
        return rng.choice(MODELS)
    if kind == "tool":
        return rng.choice(TOOLS)
    return rng.choice(kind)


def _unique_value(key: str, size: int, rng: random.Random) -> str:
    tag = f"{TEXT_MARKER}-{rng.getrandbits(64):016x}"  # unique within the pool, and per send
    if size:
        return f"[{tag}] {_sentence(rng, size)}"
    return tag


def build_request(rng: random.Random, spans: int, attributes: int, unique: int, run_id: str) -> bytes:
    """One serialized ExportTraceServiceRequest of ``spans`` spans in traces of TRACE_SHAPE."""
    from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
    from opentelemetry.proto.common.v1 import common_pb2
    from opentelemetry.proto.trace.v1 import trace_pb2

    kv = common_pb2.KeyValue
    n_repeated = max(0, attributes - unique)
    repeated = [REPEATED[i % len(REPEATED)] for i in range(n_repeated)]
    repeated = [
        (key if i < len(REPEATED) else f"{key}.{i // len(REPEATED)}", kind) for i, (key, kind) in enumerate(repeated)
    ]
    uniques = [UNIQUE[i % len(UNIQUE)] for i in range(unique)]
    uniques = [(key if i < len(UNIQUE) else f"{key}.{i // len(UNIQUE)}", size) for i, (key, size) in enumerate(uniques)]

    request = trace_service_pb2.ExportTraceServiceRequest()
    resource_spans = request.resource_spans.add()
    resource_spans.resource.attributes.extend([
        kv(key="service.name", value=_any_value("smoltrace-eval")),
        kv(key="smoltrace.run.id", value=_any_value(run_id)),
        kv(key="host.name", value=_any_value("bench-host")),
        kv(key="os.type", value=_any_value("linux")),
        kv(key="process.pid", value=_any_value(4242)),
        kv(key="telemetry.sdk.language", value=_any_value("python")),
        kv(key="telemetry.sdk.version", value=_any_value("1.45.2")),
    ])  # fmt: skip
    scope_spans = resource_spans.scope_spans.add()
    scope_spans.scope.name = "openinference.instrumentation.smolagents"
    scope_spans.scope.version = "0.1.20"

    now = time.time_ns()
    trace_id = span_ids = None
    for i in range(spans):
        position = i % len(TRACE_SHAPE)
        role = TRACE_SHAPE[position]
        if position == 0:  # a new trace: new id, the task span is its root
            trace_id = ID_MARKER + rng.randbytes(12)
            span_ids = []
        span_id = ID_MARKER + rng.randbytes(4)
        # Parent: the root for the agent span, the agent for step spans, the step for LLM/TOOL spans.
        if position == 0:
            parent = b""
        elif position == 1 or role == "CHAIN":
            parent = span_ids[0] if position == 1 else span_ids[1]
        else:
            parent = span_ids[-1] if role == "LLM" else span_ids[-2]
        span_ids.append(span_id)
        start = now + i * 1_000_000
        span = scope_spans.spans.add(
            trace_id=trace_id,
            span_id=span_id,
            parent_span_id=parent,
            name="smoltrace.task" if position == 0 else {"AGENT": "ToolCallingAgent.run", "CHAIN": "Step",
                                                          "LLM": "LiteLLMModel.generate", "TOOL": "ToolCall"}[role],
            kind=trace_pb2.Span.SPAN_KIND_INTERNAL if role != "LLM" else trace_pb2.Span.SPAN_KIND_CLIENT,
            start_time_unix_nano=start,
            end_time_unix_nano=start + rng.randrange(1_000_000, 900_000_000),
        )  # fmt: skip
        span.attributes.extend(
            kv(key=key, value=_any_value(_repeated_value(kind, role, run_id, rng))) for key, kind in repeated
        )
        span.attributes.extend(kv(key=key, value=_any_value(_unique_value(key, size, rng))) for key, size in uniques)
        event = span.events.add(time_unix_nano=start + 500_000, name="smoltrace.step.log")
        event.attributes.extend([
            kv(key="log.severity", value=_any_value("INFO")),
            kv(key="log.message", value=_any_value(_unique_value("log.message", 60, rng))),
        ])  # fmt: skip
        span.status.code = (
            trace_pb2.Status.STATUS_CODE_OK if rng.random() > 0.05 else trace_pb2.Status.STATUS_CODE_ERROR
        )
    return request.SerializeToString()


def split_at_placeholders(template: bytes) -> list[list[bytes]]:
    """The template cut at its placeholders, once per template: filling the pieces in is ~5x cheaper
    than two bytes.replace scans of ~730 KB per request, CPU the load generator takes from the collector
    on a small machine."""
    return [piece.split(TEXT_MARKER.encode()) for piece in template.split(ID_MARKER)]


def fill_placeholders(pieces: list[list[bytes]], seq: int) -> bytes:
    """The template with its placeholders replaced by ``seq``: a distinct request with distinct ids."""
    text = b"%08x" % seq
    return struct.pack(">I", seq).join([text.join(parts) for parts in pieces])


# ---------------------------------------------------------------------------------------------------
# Load process


def load_process(index: int, args, target: str, ready, go, start_at, results) -> None:
    """Pre-generate a pool, wait for the common start, then run one sender thread per connection."""
    import grpc

    rng = random.Random(1000 + index)
    run_id = f"run-{index}-" + "".join(rng.choices(string.hexdigits.lower(), k=12))
    pool = [
        build_request(rng, args.spans_per_request, args.attributes, args.unique_attributes, run_id)
        for _ in range(args.pool_size)
    ]
    # seq: 8 bits of process index, 24 of a counter; never 0xfeedface, so no id can keep the marker.
    next_seq = iter(range(index << 24, (index + 1) << 24)).__next__
    seq_lock = threading.Lock()
    pieces = [split_at_placeholders(template) for template in pool]
    ready.put((index, sum(map(len, pool)) / len(pool)))
    go.wait()
    deadline = start_at.value + args.duration

    def sender(connection: int, out: dict) -> None:
        # A separate subchannel pool gives every connection its own TCP connection / HTTP2 session.
        channel = grpc.insecure_channel(
            target,
            options=[("grpc.use_local_subchannel_pool", 1), ("grpc.max_send_message_length", 256 << 20),
                     ("grpc.max_receive_message_length", 256 << 20)],
        )  # fmt: skip
        from opentelemetry.proto.collector.trace.v1 import trace_service_pb2

        export = channel.unary_unary(
            EXPORT_METHOD,
            request_serializer=None,  # the body is already bytes
            response_deserializer=trace_service_pb2.ExportTraceServiceResponse.FromString,
        )
        k = connection
        while time.monotonic() < deadline:
            with seq_lock:
                seq = next_seq()
            body = fill_placeholders(pieces[k % len(pieces)], seq)
            k += args.connections
            while True:  # retry refusals (back-pressure) and transient errors until acknowledged
                t0 = time.monotonic()
                try:
                    export(body, timeout=120)
                except grpc.RpcError as exc:
                    code = exc.code()
                    if code == grpc.StatusCode.RESOURCE_EXHAUSTED:
                        out["refused"] += 1
                        time.sleep(0.02)
                        continue
                    out["failed"] += 1
                    out["errors"].append(f"{code.name}: {exc.details()}"[:200])
                    if code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
                        time.sleep(0.1)
                        continue
                    break  # not retryable: the request is lost, reported as a failure
                t1 = time.monotonic()
                out["acks"].append((t1, t1 - t0, args.spans_per_request))
                break
        channel.close()

    outs = [{"acks": [], "refused": 0, "failed": 0, "errors": []} for _ in range(args.connections)]
    threads = [threading.Thread(target=sender, args=(c, outs[c])) for c in range(args.connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    results.put(outs)


# ---------------------------------------------------------------------------------------------------
# The collector under test


class CollectorProcess:
    """``smoltrace-collector`` as a subprocess, its stderr drained, its RSS and CPU sampled."""

    def __init__(self, db_path: Path, extra_args: list[str]):
        import psutil

        exe = Path(sys.executable).with_name("smoltrace-collector")
        command = [str(exe) if exe.exists() else "smoltrace-collector", "--db", str(db_path),
                   "--grpc-port", "0", "--http-port", "0", "--log-level", "warning", *extra_args]  # fmt: skip
        self.command = command
        self.proc = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
        self.stderr_lines: list[str] = []
        self.port = None
        ready = threading.Event()

        def drain():  # keep reading, or a full pipe would block the collector
            for line in self.proc.stderr:
                self.stderr_lines.append(line.rstrip())
                match = READY_RE.search(line)
                if match and self.port is None:
                    self.port = int(match.group(2))
                    self.http_url = READY_HTTP_RE.search(line).group(1)
                    ready.set()
            ready.set()

        threading.Thread(target=drain, daemon=True).start()
        if not ready.wait(60) or self.port is None:
            self.proc.kill()
            raise SystemExit("collector did not start:\n" + "\n".join(self.stderr_lines))
        self.ps = psutil.Process(self.proc.pid)
        self.peak_rss = 0
        self.samples: list[tuple[float, int]] = []
        self._stop_sampling = threading.Event()
        threading.Thread(target=self._sample, daemon=True).start()

    def committed_spans(self) -> tuple[float, float, int]:
        """(asked at, answered at, spans in otel_traces) through the collector's query API. A read waits
        until every request acknowledged before it is committed, so the count covers every span
        acknowledged before ``asked at``."""
        import json
        import urllib.request

        asked = time.monotonic()
        request = urllib.request.Request(f"{self.http_url}/api/query", data=json.dumps({"sql": COUNT_SPANS_SQL}).encode(),
                                         headers={"content-type": "application/json"})  # fmt: skip
        with urllib.request.urlopen(request, timeout=60) as response:
            count = json.load(response)["rows"][0][0]
        return asked, time.monotonic(), count

    def _sample(self) -> None:
        import psutil

        while not self._stop_sampling.is_set():
            try:
                rss = self.ps.memory_info().rss
                rss += sum(child.memory_info().rss for child in self.ps.children(recursive=True))
            except psutil.Error:
                return
            self.samples.append((time.monotonic(), rss))
            self.peak_rss = max(self.peak_rss, rss)
            self._stop_sampling.wait(0.2)

    def cpu_seconds(self) -> float:
        times = self.ps.cpu_times()
        return times.user + times.system

    def thread_cpu_seconds(self) -> dict[str, float]:
        """CPU seconds per OS thread name (the collector names its writer, request-log, gRPC-handler and
        HTTP threads ``st-*``; DuckDB's workers keep the process's name). Linux /proc only; {} elsewhere."""
        ticks = os.sysconf("SC_CLK_TCK")
        totals: dict[str, float] = {}
        for task in Path(f"/proc/{self.proc.pid}/task").glob("*"):
            try:
                name = (task / "comm").read_text().strip()
                fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            totals[name] = totals.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / ticks
        return totals

    def log_summary(self) -> str:
        """How many warning and error lines the collector logged, and the first, with the last line of
        its traceback (the exception) if it has one."""
        complaints = [line for line in self.stderr_lines if " WARNING " in line or " ERROR " in line]
        if not complaints:
            return "0 warning/error lines"
        first = self.stderr_lines.index(complaints[0])
        following = list(itertools.takewhile(lambda line: not LOG_LINE_RE.match(line), self.stderr_lines[first + 1 :]))
        exception = f" ({following[-1].strip()})" if following else ""
        return f"{len(complaints)} warning/error line(s), the first: {complaints[0]}{exception}"

    def stop(self) -> tuple[int, float]:
        """SIGINT (the collector commits, checkpoints and closes); returns (exit code, seconds taken)."""
        t0 = time.monotonic()
        self.proc.send_signal(signal.SIGINT)
        try:
            code = self.proc.wait(120)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait()
        self._stop_sampling.set()
        return code, time.monotonic() - t0


# ---------------------------------------------------------------------------------------------------
# Main


def _processes_cpu_seconds(processes) -> float:
    import psutil

    total = 0.0
    for process in processes:
        try:
            times = psutil.Process(process.pid).cpu_times()
        except psutil.Error:
            continue
        total += times.user + times.system
    return total


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    parser.add_argument("--duration", type=float, default=20.0, help="seconds of load (warm-up included)")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds at the start left out of the figures")
    parser.add_argument("--spans-per-request", type=int, default=500)
    parser.add_argument("--connections", type=int, default=4, help="gRPC connections per load process")
    parser.add_argument("--processes", type=int, default=1, help="load processes (leave a core for the collector)")
    parser.add_argument("--attributes", type=int, default=20, help="attributes per span")
    parser.add_argument("--unique-attributes", type=int, default=4, help="of those, unique per span")
    parser.add_argument("--pool-size", type=int, default=16, help="distinct pre-generated requests per load process")
    parser.add_argument("--db", type=Path, default=None, help="store file (default: a temporary file, deleted)")
    parser.add_argument(
        "--collector-args", default="", help="extra smoltrace-collector flags, e.g. '--max-pending-items 50000'"
    )
    parser.add_argument("--profile", type=Path, default=None,
                        help="run py-spy on the collector over the steady window, write raw folded stacks here")  # fmt: skip
    parser.add_argument("--target-spans", type=float, default=50_000, help="target durable spans/s (for the verdict)")
    parser.add_argument("--target-rss-mb", type=float, default=500, help="target peak RSS in MB (for the verdict)")
    args = parser.parse_args(argv)
    if args.unique_attributes > args.attributes:
        parser.error("--unique-attributes cannot exceed --attributes")
    if args.warmup >= args.duration:
        parser.error("--warmup must be shorter than --duration")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    import duckdb

    tmpdir = None
    if args.db is None:
        tmpdir = tempfile.mkdtemp(prefix="smoltrace-bench-")
        db_path = Path(tmpdir) / "bench.duckdb"
    else:
        db_path = args.db
    for leftover in (db_path, db_path.with_name(db_path.name + ".wal")):
        leftover.unlink(missing_ok=True)

    collector = CollectorProcess(db_path, shlex.split(args.collector_args))
    target = f"127.0.0.1:{collector.port}"
    ctx = mp.get_context("spawn")  # no fork: grpc and threads do not survive fork
    ready, results, go = ctx.Queue(), ctx.Queue(), ctx.Event()
    start_at = ctx.Value("d", 0.0)
    loaders = [ctx.Process(target=load_process, args=(i, args, target, ready, go, start_at, results), daemon=True)
               for i in range(args.processes)]  # fmt: skip
    for loader in loaders:
        loader.start()
    t_gen = time.monotonic()
    request_sizes = [ready.get(timeout=600)[1] for _ in loaders]
    gen_s = time.monotonic() - t_gen

    # Go. The steady window is [start + warmup, start + duration]; CPU is measured over the same window.
    start_at.value = time.monotonic()
    go.set()
    window_start, window_end = start_at.value + args.warmup, start_at.value + args.duration
    time.sleep(max(0.0, window_start - time.monotonic()))
    committed0 = collector.committed_spans()
    cpu0, t_cpu0 = collector.cpu_seconds(), time.monotonic()
    threads0 = collector.thread_cpu_seconds()
    load_cpu0 = _processes_cpu_seconds(loaders)
    profiler = None
    if args.profile:
        py_spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
        profiler = subprocess.Popen(
            [py_spy, "record", "--pid", str(collector.proc.pid), "--duration", str(int(args.duration - args.warmup)),
             "--format", "raw", "--threads", "--nonblocking", "--output", str(args.profile)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
    time.sleep(max(0.0, window_end - time.monotonic()))
    committed1 = collector.committed_spans()
    cpu1, t_cpu1 = collector.cpu_seconds(), time.monotonic()
    threads1 = collector.thread_cpu_seconds()
    load_cpu1 = _processes_cpu_seconds(loaders)
    rss_at_end = collector.samples[-1][1] if collector.samples else 0

    outs = [out for _ in loaders for out in results.get(timeout=300)]
    for loader in loaders:
        loader.join(30)
    if profiler is not None:
        profiler.wait(60)
    exit_code, stop_s = collector.stop()

    # Figures.
    acks = [ack for out in outs for ack in out["acks"]]
    acked_spans = sum(spans for _, _, spans in acks)
    in_window = [(t, lat, spans) for t, lat, spans in acks if window_start <= t <= window_end]
    window_s = window_end - window_start
    durable_rate = sum(spans for _, _, spans in in_window) / window_s
    latencies_ms = [lat * 1000 for _, lat, _ in in_window]
    committed_rate = (committed1[2] - committed0[2]) / (committed1[0] - committed0[0])
    barrier_ms = [(answered - asked) * 1000 for asked, answered, _ in (committed0, committed1)]
    refused = sum(out["refused"] for out in outs)
    failed = sum(out["failed"] for out in outs)
    errors = sorted({e for out in outs for e in out["errors"]})

    wal = db_path.with_name(db_path.name + ".wal")
    db_bytes = db_path.stat().st_size if db_path.exists() else 0
    wal_bytes = wal.stat().st_size if wal.exists() else 0
    with duckdb.connect(str(db_path), read_only=True) as conn:
        stored = conn.execute("SELECT count(*) FROM otel_traces").fetchone()[0]
        distinct_spans = conn.execute("SELECT count(DISTINCT (TraceId, SpanId)) FROM otel_traces").fetchone()[0]
    commits = derive_s = None
    for line in collector.stderr_lines:
        match = STOPPED_RE.search(line)
        if match:
            commits = int(match.group(2))
            derive_s = float(match.group(3)) if match.group(3) else None

    thread_cores = {name: (seconds - threads0.get(name, 0.0)) / (t_cpu1 - t_cpu0) for name, seconds in threads1.items()}
    thread_text = ", ".join(f"{name} {cores:.2f}" for name, cores in sorted(thread_cores.items(), key=lambda kv: -kv[1])
                            if cores >= 0.005) or "n/a (no /proc)"  # fmt: skip
    rss_mb = collector.peak_rss / 1e6
    # RSS every ~2 s from the start of the load: shows whether memory plateaus or keeps growing.
    timeline = [rss for t, rss in collector.samples[::10] if t >= start_at.value]
    timeline_text = " ".join(f"{rss / 1e6:.0f}" for rss in timeline[:16])
    rows_ok = stored == acked_spans
    verdict_rate = durable_rate >= args.target_spans
    verdict_rss = rss_mb < args.target_rss_mb
    command_line = " ".join(shlex.quote(a) for a in [sys.executable, *sys.argv])
    print(
        f"""
==================== smoltrace collector ingest benchmark ====================
command          : {command_line}
collector        : {" ".join(collector.command)}
machine          : {os.cpu_count()} CPUs, {platform.machine()}, {platform.system()} {platform.release()}
python           : {platform.python_version()} ({platform.python_implementation()})
load             : {args.processes} process(es) x {args.connections} gRPC connection(s), {args.spans_per_request} spans/request,
                   {args.attributes} attributes/span ({args.unique_attributes} unique) + 1 event/span,
                   pool of {args.pool_size} distinct requests/process, ~{statistics.mean(request_sizes) / 1024:.0f} KiB/request
                   ({statistics.mean(request_sizes) / args.spans_per_request:.0f} B/span on the wire), generated in {gen_s:.1f} s
duration         : {args.duration:g} s, warm-up {args.warmup:g} s left out; steady window {window_s:.1f} s
------------------------------------------------------------------------------
durable ingest   : {durable_rate:,.0f} spans/s  ({durable_rate / args.spans_per_request:,.1f} requests/s acked in the window)
committed        : {committed_rate:,.0f} spans/s  (otel_traces counted through the query API at both ends of the window;
                   a read first waits for the acknowledged spans' commit: {barrier_ms[0]:.0f} and {barrier_ms[1]:.0f} ms here)
export latency   : p50 {percentile(latencies_ms, 0.50):.1f} ms, p99 {percentile(latencies_ms, 0.99):.1f} ms, max {max(latencies_ms, default=float("nan")):.1f} ms (acked attempt)
refusals         : {refused} RESOURCE_EXHAUSTED (retried), {failed} other errors{(" " + "; ".join(errors[:3])) if errors else ""}
collector CPU    : {(cpu1 - cpu0) / (t_cpu1 - t_cpu0):.2f} cores busy over the window ({(cpu1 - cpu0) / max(durable_rate * window_s, 1) * 1e6:.1f} us/span)
collector threads: {thread_text} cores (st-*: the collector's threads; the process's own name: DuckDB's workers, main, gRPC polling)
load CPU         : {(load_cpu1 - load_cpu0) / (t_cpu1 - t_cpu0):.2f} cores busy (the load processes share this machine's {os.cpu_count()} CPUs)
collector RSS    : peak {rss_mb:,.0f} MB (sampled every 0.2 s), {rss_at_end / 1e6:,.0f} MB at the end of the load
RSS every 2 s MB : {timeline_text}
commits          : {commits if commits is not None else "?"} ({acked_spans / commits if commits else float("nan"):,.0f} spans/commit on average)
facts derivation : {f"{derive_s:.1f} s of the deriver's time in all ({derive_s / max(acked_spans, 1) * 1e6:.1f} us/span, thread st-deriver)" if derive_s is not None else "?"}
stop (SIGINT)    : exit code {exit_code}, {stop_s:.1f} s to flush, checkpoint and close
collector log    : {collector.log_summary()}
on disk          : {db_bytes / 1e6:,.1f} MB store + {wal_bytes / 1e6:,.1f} MB WAL = {(db_bytes + wal_bytes) / max(stored, 1):,.0f} bytes/span
rows             : {stored:,} in otel_traces ({distinct_spans:,} distinct ids) vs {acked_spans:,} spans acked -> {"OK" if rows_ok else "MISMATCH"}
target           : >= {args.target_spans:,.0f} spans/s: {"MET" if verdict_rate else "NOT MET"}; peak RSS < {args.target_rss_mb:,.0f} MB: {"MET" if verdict_rss else "NOT MET"}
=============================================================================="""
    )
    if args.profile:
        print(f"profile          : {args.profile} (py-spy raw folded stacks, per thread)")
    if tmpdir:
        shutil.rmtree(tmpdir, ignore_errors=True)
    return 0 if rows_ok and exit_code == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
