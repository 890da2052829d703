"""Runner benchmarks (not tests): the cost of tracing, and what --parallel-workers buys.

1. Tracing overhead: the same tasks through the same code path (`execute_task`) with a scripted,
   zero-latency model, once with full tracing (smoltrace-eval's default OpenInference instrumentation,
   smolagents; --trace-litellm adds litellm's; batch export over OTLP/gRPC
   to an embedded collector) and once with a no-op tracer and no instrumentation. Reports mean wall time
   per task and the relative overhead (target: under 10 %). A third mode instruments the same way but
   drops the finished spans (after redaction), which splits the overhead into the instrumentation's
   (OpenInference and the OpenTelemetry SDK, in the agent's thread) and the export's (encoding, gRPC,
   the collector).
2. Concurrency: a scripted model that sleeps 0.5 s per call, the same suite with --parallel-workers 1
   and 8 through `run_evaluation` (target: 8 workers at least 6x faster).

    python bench/eval_overhead.py [--tasks 40] [--rounds 3] [--concurrency-tasks 16]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult  # noqa: E402
from opentelemetry.trace import NoOpTracer  # noqa: E402

from smoltrace.collector import Collector  # noqa: E402
from smoltrace.core import run_evaluation  # noqa: E402
from smoltrace.runner.agents import build_agent  # noqa: E402
from smoltrace.runner.execute import execute_task  # noqa: E402
from smoltrace.runner.scripted import ScriptedModel, call  # noqa: E402
from smoltrace.runner.tasks import tasks_from_rows  # noqa: E402
from smoltrace.runner.telemetry import RunTelemetry  # noqa: E402
from smoltrace.runner.tools import default_tools  # noqa: E402

SCRIPT = [call("get_weather", location="Tokyo"), call("final_answer", answer="Tokyo: 18°C, Clear")]


def weather_tasks(n: int):
    return tasks_from_rows([{"id": f"t{i}", "prompt": f"Weather in Tokyo? (#{i})", "difficulty": "easy",
                             "expected_tool": "get_weather"} for i in range(n)])  # fmt: skip


def time_tasks(tracer, tasks, model) -> list[float]:
    make_agent = lambda agent_type: build_agent(agent_type, model, default_tools(), max_steps=4)  # noqa: E731
    durations = []
    for task in tasks:
        started = time.perf_counter()
        outcome = execute_task(tracer, task, "tool", make_agent, run_attributes={"smoltrace.run.id": "bench"},
                               timeout_s=60, cancelled=threading.Event())  # fmt: skip
        durations.append(time.perf_counter() - started)
        assert outcome.stop_reason == "final_answer", outcome
    return durations


class DroppingExporter(SpanExporter):
    """Accepts finished spans and does nothing with them."""

    def export(self, spans) -> SpanExportResult:
        return SpanExportResult.SUCCESS


def tracing_overhead(n_tasks: int, rounds: int, trace_litellm: bool = False) -> dict:
    tasks = weather_tasks(n_tasks)
    model = ScriptedModel({"Weather in Tokyo": SCRIPT})
    time_tasks(NoOpTracer(), tasks[:3], model)  # warm up imports and litellm
    plain, traced, flushes, dropped = [], [], [], []
    with tempfile.TemporaryDirectory() as folder, Collector.embedded(db_path=Path(folder) / "b.duckdb") as collector:
        for _ in range(rounds):
            plain += time_tasks(NoOpTracer(), tasks, model)
            telemetry = RunTelemetry(collector.grpc_endpoint, "bench", exporter=DroppingExporter())
            telemetry.instrument(litellm=trace_litellm)
            dropped += time_tasks(telemetry.tracer, tasks, model)
            telemetry.shutdown()
            telemetry = RunTelemetry(collector.grpc_endpoint, "bench")
            telemetry.instrument(litellm=trace_litellm)
            traced += time_tasks(telemetry.tracer, tasks, model)
            started = time.perf_counter()
            telemetry.flush()
            flushes.append(time.perf_counter() - started)
            telemetry.shutdown()
        stored = collector.reader().execute("SELECT count(*) FROM otel_traces").fetchone()[0]
    plain_ms, traced_ms = statistics.mean(plain) * 1e3, statistics.mean(traced) * 1e3
    dropped_ms = statistics.mean(dropped) * 1e3
    return {"tasks_per_mode": len(plain), "plain_ms_per_task": round(plain_ms, 2),
            "traced_ms_per_task": round(traced_ms, 2), "overhead_percent": round(100 * (traced_ms / plain_ms - 1), 1),
            "instrumented_spans_dropped_ms_per_task": round(dropped_ms, 2),
            "instrumentation_overhead_percent": round(100 * (dropped_ms / plain_ms - 1), 1),
            "plain_p50_ms": round(statistics.median(plain) * 1e3, 2),
            "traced_p50_ms": round(statistics.median(traced) * 1e3, 2),
            "final_flush_ms_mean": round(statistics.mean(flushes) * 1e3, 1), "spans_stored": stored}  # fmt: skip


def concurrency(n_tasks: int) -> dict:
    rows = [{"id": f"c{i}", "prompt": f"Weather in Tokyo? (#{i})", "difficulty": "easy"} for i in range(n_tasks)]
    timings = {}
    with tempfile.TemporaryDirectory() as folder:
        tasks_file = Path(folder) / "tasks.json"
        tasks_file.write_text(json.dumps(rows))
        for workers in (1, 8):
            model = ScriptedModel({"Weather in Tokyo": SCRIPT}, delay_s=0.5)
            started = time.perf_counter()
            results, *_ = run_evaluation("gpt-4o-mini", agent_type="tool", dataset_name=str(tasks_file),
                                         db_path=Path(folder) / f"w{workers}.duckdb", parallel_workers=workers,
                                         model_factory=lambda model=model: model)  # fmt: skip
            timings[workers] = time.perf_counter() - started
            assert sum(r["success"] for r in results["tool"]) == n_tasks
    return {"tasks": n_tasks, "model_calls_per_task": 2, "seconds_per_call": 0.5,
            "wall_s_1_worker": round(timings[1], 2), "wall_s_8_workers": round(timings[8], 2),
            "speedup": round(timings[1] / timings[8], 2)}  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", type=int, default=40, help="tasks per round for the overhead benchmark")
    parser.add_argument("--rounds", type=int, default=3, help="rounds (plain then traced) for the overhead benchmark")
    parser.add_argument(
        "--trace-litellm",
        action="store_true",
        help="traced mode also instruments litellm (smoltrace-eval --trace-litellm)",
    )
    parser.add_argument("--concurrency-tasks", type=int, default=32, help="tasks for the concurrency benchmark")
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} CPUs, {platform.machine()}, Python {platform.python_version()}")
    print(f"command: {' '.join([sys.executable, *sys.argv])}")
    overhead = tracing_overhead(args.tasks, args.rounds, args.trace_litellm)
    print("tracing overhead:", json.dumps(overhead, indent=2))
    print(
        f"  -> {overhead['overhead_percent']}% extra wall time per task (target < 10%); "
        f"{overhead['instrumentation_overhead_percent']}% with the same instrumentation and redaction but the "
        "spans dropped instead of exported to the collector"
    )
    speed = concurrency(args.concurrency_tasks)
    print("concurrency:", json.dumps(speed, indent=2))
    print(f"  -> 8 workers {speed['speedup']}x faster than 1 (target >= 6x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
