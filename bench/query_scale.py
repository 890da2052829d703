"""How fast the store answers as it grows: per-run reads must cost the size of the run, not of the store.

1. Records a template: a real scripted run (the real runner, agents, instrumentation and embedded
   collector; a scripted litellm model) of ``--template-tasks`` tasks with both agent types, keeping the
   OTLP trace export requests exactly as the runner sent them.
2. Starts ``smoltrace-collector`` on a new store and sends ``--runs`` clones of the template over
   OTLP/gRPC, each with a new run id, new trace and span ids and times shifted so that runs follow one
   another (ids made as the runner makes them: time-ordered, see smoltrace/runner/ids.py).
3. Times the reads of the issue, warm, through the collector's query API (``POST /api/query``), while
   the collector keeps ingesting more clones, and samples the collector's RSS meanwhile.
4. Stops the collector and times the same reads as whole ``smoltrace-query`` processes on the file.

    python bench/query_scale.py                       # >= 1,000,000 spans in >= 1,000 runs
    python bench/query_scale.py --runs 12000          # about 10,000,000 spans
    python bench/query_scale.py --db /tmp/big.duckdb --reuse   # read an existing store again

Prints one line per read (median, p90 and max over ``--repeats`` runs picked at random) and the verdicts
against the targets (200 ms per-run reads through the API, 1 s for reads of every run and for smoltrace-query
processes, 500 MB collector RSS).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from collector_ingest import CollectorProcess

TRACE_EXPORT = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"

#: The reads, as a user or the web view makes them ({run} and {trace} are parameters, never spliced).
READS = {
    "results of one run": ("SELECT * FROM results WHERE run_id = ? ORDER BY agent_type, task_id", "run"),
    "leaderboard of one run": ("SELECT * FROM leaderboard WHERE run_id = ? ORDER BY agent_type", "run"),
    "latest 20 runs": ("SELECT * FROM latest_runs(20)", None),
    "one task's spans": ('SELECT * FROM spans WHERE "TraceId" = ? ORDER BY "Timestamp"', "trace"),
    "whole leaderboard": ("SELECT * FROM leaderboard ORDER BY run_id DESC", None),
    # the web view's Leaderboard page (smoltrace/web/static/queries.js): every run's rows, no statistics
    "leaderboard page (web)": (
        "SELECT run_id, model, agent_type, success_rate, total_tests, avg_duration_ms, total_tokens, total_cost_usd, "
        "total_energy_wh, run_status, evaluation_date FROM leaderboard_by_agent_type_totals "
        "ORDER BY evaluation_date DESC NULLS LAST, run_id, agent_type LIMIT 20000",
        None,
    ),
}
#: Reads of every run in the store: under WHOLE_TARGET_MS; the others answer about one run.
WHOLE_STORE_READS = {"whole leaderboard", "leaderboard page (web)"}
PER_RUN_TARGET_MS = 200.0
WHOLE_TARGET_MS = 1000.0
PROCESS_TARGET_MS = 1000.0
RSS_TARGET_MB = 500.0


@contextlib.contextmanager
def recording_trace_exports():
    """Inside the block, every trace export request an in-process collector receives is kept, as sent
    (the runner's embedded collector: its requests are exactly what a real run exports)."""
    from smoltrace.collector import writer as writer_module

    recorded: list[bytes] = []
    original_submit = writer_module.StoreWriter.submit

    def recording_submit(self, request, digest, body):
        if request.signal == "traces":
            recorded.append(bytes(body))
        return original_submit(self, request, digest, body)

    writer_module.StoreWriter.submit = recording_submit
    try:
        yield recorded
    finally:
        writer_module.StoreWriter.submit = original_submit


def record_template(tasks: int) -> list[bytes]:
    """The trace export requests of one real scripted run (both agent types), as sent."""
    from smoltrace.core import run_evaluation
    from smoltrace.runner.scripted import ScriptedModel, call, say

    task_rows, script = [], {}
    for i in range(tasks):
        city = f"City{i}"
        task_rows.append(
            {
                "id": f"weather_{i}",
                "prompt": f"What is the weather in {city}?",
                "difficulty": "easy",
                "expected_tool": "get_weather",
                "expected_keywords": ["18°C"],
                "category": "weather",
            }
        )
        script[f"weather in {city}"] = [
            call("get_weather", location=city),
            call("final_answer", answer=f"{city}: 18°C, Clear" if i % 3 else "I do not know"),
        ]
    code_reply = say('Thought: look it up.\n```py\nprint(get_weather("X"))\nfinal_answer("18°C")\n```')
    with tempfile.TemporaryDirectory() as folder, recording_trace_exports() as recorded:
        tasks_file = Path(folder) / "tasks.json"
        tasks_file.write_text(json.dumps(task_rows))
        run_evaluation(
            "gpt-4o-mini",
            dataset_name=str(tasks_file),
            db_path=Path(folder) / "t.duckdb",
            agent_type="both",
            model_factory=lambda: ScriptedModel(script, default=code_reply),
            trace_litellm=True,
            verbose=False,
        )
    return recorded


class Cloner:
    """Clones of the template's requests: new run id, new ids (time-prefixed trace ids), shifted times."""

    def __init__(self, template: list[bytes]):
        from opentelemetry.proto.collector.trace.v1 import trace_service_pb2

        self.template = template
        self.requests = [trace_service_pb2.ExportTraceServiceRequest.FromString(body) for body in template]
        self.run_id = next(self._run_ids())
        starts = [span.start_time_unix_nano for r in self.requests for rs in r.resource_spans
                  for ss in rs.scope_spans for span in ss.spans]  # fmt: skip
        ends = [span.end_time_unix_nano for r in self.requests for rs in r.resource_spans
                for ss in rs.scope_spans for span in ss.spans]  # fmt: skip
        self.t0, self.length_ns = min(starts), max(ends) - min(starts)
        self.spans = len(starts)

    def _run_ids(self):
        for request in self.requests:
            for rs in request.resource_spans:
                for attribute in rs.resource.attributes:
                    if attribute.key == "smoltrace.run.id":
                        yield attribute.value.string_value

    def clone(self, start_ns: int, rng: random.Random) -> tuple[str, list[bytes]]:
        from smoltrace.runner.ids import new_run_id

        run_id = new_run_id(start_ns)
        shift = start_ns - self.t0
        trace_ids: dict[bytes, bytes] = {}
        span_ids: dict[bytes, bytes] = {b"": b""}

        def trace_id(old: bytes, at_ns: int) -> bytes:
            if old not in trace_ids:
                trace_ids[old] = (at_ns // 1_000_000_000 & 0xFFFFFFFF).to_bytes(4, "big") + rng.randbytes(12)
            return trace_ids[old]

        def span_id(old: bytes) -> bytes:
            if old not in span_ids:
                span_ids[old] = rng.randbytes(8)
            return span_ids[old]

        bodies = []
        for template in self.requests:
            request = type(template)()
            request.CopyFrom(template)
            for rs in request.resource_spans:
                for attribute in rs.resource.attributes:
                    if attribute.value.string_value == self.run_id:
                        attribute.value.string_value = run_id
                for ss in rs.scope_spans:
                    for span in ss.spans:
                        span.start_time_unix_nano += shift
                        span.end_time_unix_nano += shift
                        span.trace_id = trace_id(span.trace_id, span.start_time_unix_nano)
                        span.span_id = span_id(span.span_id)
                        span.parent_span_id = span_id(span.parent_span_id)
                        for event in span.events:
                            event.time_unix_nano += shift
                        for attribute in span.attributes:
                            if attribute.value.string_value == self.run_id:
                                attribute.value.string_value = run_id
            bodies.append(request.SerializeToString())
        return run_id, bodies


def send_runs(
    target: str, cloner: Cloner, starts_ns: list[int], seed: int, progress=None, stop: threading.Event | None = None
) -> list[str]:
    """Send one clone per start time over one gRPC channel; returns their run ids."""
    import grpc

    rng = random.Random(seed)
    channel = grpc.insecure_channel(target)
    export = channel.unary_unary(TRACE_EXPORT)
    run_ids = []
    for k, start_ns in enumerate(starts_ns):
        if stop is not None and stop.is_set():
            break
        run_id, bodies = cloner.clone(start_ns, rng)
        for body in bodies:
            for _attempt in range(100):
                try:
                    export(body, timeout=60)
                    break
                except grpc.RpcError as error:  # RESOURCE_EXHAUSTED: the collector asks to retry
                    if error.code() != grpc.StatusCode.RESOURCE_EXHAUSTED:
                        raise
                    time.sleep(0.05)
        run_ids.append(run_id)
        if progress is not None:
            progress(k + 1)
    channel.close()
    return run_ids


def sender_process(target: str, template: list[bytes], starts_ns: list[int], seed: int, sent) -> None:
    """A load process: clones of the template at ``starts_ns``, counting each run sent in ``sent``."""

    def progress(_done):
        with sent.get_lock():
            sent.value += 1

    send_runs(target, Cloner(template), starts_ns, seed, progress)


def api_query(http_url: str, sql: str, params: list) -> tuple[float, dict]:
    body = json.dumps({"sql": sql, "params": params, "limit": 100_000}).encode()
    request = urllib.request.Request(f"{http_url}/api/query", data=body, headers={"content-type": "application/json"})
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            payload = json.load(response)
    except urllib.error.HTTPError as error:
        raise SystemExit(f"the query API answered {error.code} to {sql!r}: {error.read().decode()[:500]}") from None
    return (time.perf_counter() - started) * 1000, payload


def pick_params(kind, run_ids, trace_ids, rng):
    if kind == "run":
        return [rng.choice(run_ids)]
    if kind == "trace":
        return [rng.choice(trace_ids)]
    return []


def summary(times: list[float]) -> str:
    ordered = sorted(times)
    p90 = ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))]
    return f"median {statistics.median(ordered):7.1f} ms  p90 {p90:7.1f} ms  max {ordered[-1]:7.1f} ms"


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=1_050, help="runs to store (default 1,050)")
    parser.add_argument("--template-tasks", type=int, default=32,
                        help="tasks per run, each with both agent types (default 32)")  # fmt: skip
    parser.add_argument("--repeats", type=int, default=20, help="timed reads per query (default 20)")
    parser.add_argument("--db", type=Path, default=None, help="store file (default: a new temporary file)")
    parser.add_argument("--reuse", action="store_true", help="read --db as it is, without sending runs")
    parser.add_argument("--senders", type=int, default=2, help="parallel gRPC senders while filling (default 2)")
    parser.add_argument("--collector-args", default="", help="extra smoltrace-collector arguments (default none)")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    sys.stdout.reconfigure(line_buffering=True)  # progress shows as it happens, also through a pipe
    rng = random.Random(7)
    folder = tempfile.TemporaryDirectory()
    db_path = args.db or Path(folder.name) / "scale.duckdb"
    print(f"machine: {os.cpu_count()} CPUs; command: {' '.join(sys.argv)}")

    print(f"recording a template run of {args.template_tasks} tasks x 2 agent types ...", flush=True)
    started = time.monotonic()
    cloner = Cloner(record_template(args.template_tasks))
    print(f"  {cloner.spans} spans in {len(cloner.requests)} requests ({time.monotonic() - started:.0f} s)")

    collector = CollectorProcess(db_path, args.collector_args.split())
    try:
        return measure(args, cloner, collector, db_path, rng)
    finally:
        if collector.proc.poll() is None:
            collector.stop()
        folder.cleanup()


def measure(args, cloner: Cloner, collector: CollectorProcess, db_path: Path, rng: random.Random) -> int:
    target = f"127.0.0.1:{collector.port}"
    spacing_ns = max(cloner.length_ns, 1_000_000_000) + 5_000_000_000
    first_ns = time.time_ns() - (args.runs + 10) * spacing_ns
    if not args.reuse:
        print(
            f"sending {args.runs} runs ({args.runs * cloner.spans:,} spans) with {args.senders} senders ...", flush=True
        )
        started = time.monotonic()
        # Sender i sends every senders-th run: runs that overlap in time, as concurrent runners' do. Each
        # sender is a process of its own (cloning protobuf messages is Python work: one core each).
        starts = [first_ns + k * spacing_ns for k in range(args.runs)]
        context = multiprocessing.get_context("spawn")
        sent = context.Value("i", 0)
        senders = [
            context.Process(target=sender_process, args=(target, cloner.template, starts[i :: args.senders], 100 + i, sent))
            for i in range(args.senders)
        ]  # fmt: skip
        for sender in senders:
            sender.start()
        while any(sender.is_alive() for sender in senders):
            time.sleep(10)
            rate = sent.value * cloner.spans / (time.monotonic() - started)
            print(f"  {sent.value} runs sent ({rate:,.0f} spans/s)", flush=True)
        if any(sender.exitcode for sender in senders):
            raise SystemExit("a sender failed (see its traceback above)")
        took, payload = api_query(collector.http_url, "SELECT count(*) FROM otel_traces", [])
        print(f"  stored {payload['rows'][0][0]:,} spans in {time.monotonic() - started:.0f} s "
              f"(the count waited {took:.0f} ms for the last commit and facts)")  # fmt: skip

    _, payload = api_query(collector.http_url, "SELECT run_id FROM runs", [])
    run_ids = [row[0] for row in payload["rows"]]
    _, payload = api_query(collector.http_url, "SELECT trace_id FROM results USING SAMPLE 2000 ROWS", [])
    trace_ids = [row[0] for row in payload["rows"]]
    _, payload = api_query(collector.http_url, 'SELECT count(*), count(DISTINCT "TraceId") FROM otel_traces', [])
    spans, traces = payload["rows"][0]
    print(f"store: {spans:,} spans, {traces:,} traces, {len(run_ids):,} runs; {db_path.stat().st_size / 1e6:,.0f} MB")

    def timed_reads(title: str, judge: bool, repeats: int) -> None:
        print(title)
        for name, (sql, kind) in READS.items():
            times, failures, payload = [], [], {"row_count": 0}
            for attempt in range(repeats + 1):  # the first one warms up and is not counted
                try:
                    took, payload = api_query(collector.http_url, sql, pick_params(kind, run_ids, trace_ids, rng))
                except SystemExit as error:  # a read past its time limit, say: count it, go on
                    failures.append(str(error)[:120])
                    continue
                if attempt:
                    times.append(took)
            target_ms = WHOLE_TARGET_MS if name in WHOLE_STORE_READS else PER_RUN_TARGET_MS
            ok = bool(times) and not failures and statistics.median(times) < target_ms
            line = f"  {name:24s} {summary(times) if times else 'no answer':50s}  ({payload['row_count']} rows)"
            if failures:
                line += f"  {len(failures)} failed: {failures[0]}"
            if judge:
                verdicts.append(ok)
                api_medians[name] = round(statistics.median(times), 1) if times else None
                line += f"  < {target_ms:.0f} ms: {'MET' if ok else 'NOT MET'}"
            print(line)

    verdicts: list[bool] = []
    api_medians: dict[str, float] = {}
    timed_reads("\nthrough the query API (warm, no other load):", judge=True, repeats=args.repeats)

    # The same reads while more runs arrive: each read first waits for what was acknowledged before it
    # (committed, facts derived), so these include that wait; the collector's RSS is sampled meanwhile.
    stop_load = threading.Event()
    more = [first_ns + (args.runs + k) * spacing_ns for k in range(10)]  # then: now
    load = threading.Thread(target=send_runs, args=(target, cloner, more + [time.time_ns()] * 10_000, 999),
                            kwargs={"stop": stop_load})  # fmt: skip
    peak_before = collector.peak_rss
    collector.peak_rss = 0
    load.start()
    timed_reads("\nthrough the query API while the collector keeps ingesting (reads wait for acknowledged data):",
                judge=False, repeats=max(3, args.repeats // 4))  # fmt: skip
    stop_load.set()
    load.join()
    rss_mb = collector.peak_rss / 1e6
    print(f"  collector RSS while answering and ingesting: peak {rss_mb:,.0f} MB (while filling: "
          f"{peak_before / 1e6:,.0f} MB) < {RSS_TARGET_MB:.0f} MB: {'MET' if rss_mb < RSS_TARGET_MB else 'NOT MET'}")  # fmt: skip
    verdicts.append(rss_mb < RSS_TARGET_MB)
    code, stop_s = collector.stop()
    print(f"  collector stopped (exit {code}) in {stop_s:.1f} s; its log: {collector.log_summary()}")

    # Whole smoltrace-query processes on the file.
    exe = Path(sys.executable).with_name("smoltrace-query")
    print("\nsmoltrace-query on the file (whole process: start, open, query, print):")
    for name, (sql, kind) in READS.items():
        times = []
        for _ in range(max(3, args.repeats // 4)):
            command = [str(exe), "--db", str(db_path), "--format", "json", sql]
            for value in pick_params(kind, run_ids, trace_ids, rng):
                command[1:1] = ["--param", value]
            started = time.perf_counter()
            result = subprocess.run(command, capture_output=True, text=True)
            times.append((time.perf_counter() - started) * 1000)
            if result.returncode != 0:
                print(f"  {name}: smoltrace-query failed: {result.stderr.strip()[:300]}")
                break
        ok = statistics.median(times) < PROCESS_TARGET_MS
        verdicts.append(ok)
        print(f"  {name:24s} {summary(times)}  < {PROCESS_TARGET_MS:.0f} ms: {'MET' if ok else 'NOT MET'}")
    print(f"\nall targets: {'MET' if all(verdicts) else 'NOT MET'}")
    print("api medians (ms): " + json.dumps(api_medians))
    return 0 if all(verdicts) else 1


if __name__ == "__main__":
    raise SystemExit(main())
