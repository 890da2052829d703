"""How fast a comparison of two runs answers on a big store: two runs of 150 tasks x 5 repeats, compared
on a store of a million spans (the store bench/query_scale.py builds).

1. Records a template: a real scripted run (the real runner, agents, instrumentation and embedded
   collector) of ``--tasks`` tasks with ``--repeats`` tries each (tool agent), whose answers are right on a
   task-dependent share of the tries, keeping the OTLP trace export requests as the runner sent them.
2. Starts ``smoltrace-collector`` on ``--db`` and sends two clones of the template (query_scale's Cloner:
   new run ids, new time-ordered trace ids, times of now); the second has a quarter of its answers
   swapped right/wrong, so that tasks flip between the runs.
3. Times what ``smoltrace-compare A B`` asks the store (smoltrace.cli.compare.compare: the nine queries
   of one comparison) through the collector's query API, warm, and the one ``compare_runs`` view alone.
4. Stops the collector and times the same on the file (in-process, read-only), and whole
   ``smoltrace-compare`` processes.

    python bench/query_scale.py --db /tmp/scale.duckdb     # once: >= 1,000,000 spans in >= 1,000 runs
    python bench/compare_speed.py --db /tmp/scale.duckdb

Each run adds two runs (about 25,000 spans) to the store. Target: a comparison under 500 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from collector_ingest import CollectorProcess
from query_scale import Cloner, recording_trace_exports, send_runs, summary

TARGET_MS = 500.0
ANSWER = "smoltrace.task.answer"
RIGHT, WRONG = "18°C, Clear", "I do not know"


def record_template(tasks: int, repeats: int) -> list[bytes]:
    """The trace export requests of one real scripted run of ``tasks`` x ``repeats`` tries, as sent."""
    from smoltrace.core import run_evaluation
    from smoltrace.runner.scripted import ScriptedModel, call

    class SometimesRight(ScriptedModel):
        """get_weather, then a final answer that is right on about share(task) of the tries."""

        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.lock, self.tries = threading.Lock(), {}

        def _reply_for(self, messages):
            reply = super()._reply_for(messages)
            if reply.tool_calls and reply.tool_calls[0][0] == "final_answer":
                city = reply.tool_calls[0][1]["answer"]
                with self.lock:
                    count = self.tries[city] = self.tries.get(city, 0) + 1
                share = random.Random(city).random()  # per task: from hard (always fails) to easy
                right = random.Random(f"{city}|{count}").random() < share
                return call("final_answer", answer=RIGHT if right else WRONG)
            return reply

    rows, script = [], {}
    for i in range(tasks):
        city = f"City{i}"
        rows.append(
            {
                "id": f"weather_{i:03d}",
                "prompt": f"What is the weather in {city}?",
                "difficulty": "easy",
                "expected_tool": "get_weather",
                "expected_keywords": ["18°C"],
                "category": "weather",
            }
        )
        script[f"weather in {city}?"] = [call("get_weather", location=city), call("final_answer", answer=city)]
    with tempfile.TemporaryDirectory() as folder, recording_trace_exports() as recorded:
        tasks_file = Path(folder) / "tasks.json"
        tasks_file.write_text(json.dumps(rows))
        run_evaluation(
            "gpt-4o-mini",
            dataset_name=str(tasks_file),
            db_path=Path(folder) / "t.duckdb",
            agent_type="tool",
            model_factory=lambda: SometimesRight(script=script),
            repeats=repeats,
            parallel_workers=4,
            verbose=False,
        )
    return recorded


def swap_answers(cloner: Cloner, share: float, seed: int) -> int:
    """Swap right and wrong answers on about ``share`` of the template's task spans (in place)."""
    rng, swapped = random.Random(seed), 0
    for request in cloner.requests:
        for rs in request.resource_spans:
            for ss in rs.scope_spans:
                for span in ss.spans:
                    if span.name != "smoltrace.task" or rng.random() >= share:
                        continue
                    for attribute in span.attributes:
                        if attribute.key == ANSWER:
                            value = attribute.value.string_value
                            attribute.value.string_value = WRONG if value == RIGHT else RIGHT
                            swapped += 1
    return swapped


def timed(function, repeats: int) -> list[float]:
    function()  # warm
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        times.append((time.perf_counter() - started) * 1000)
    return times


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", type=Path, required=True, help="store to add the two runs to (see query_scale.py)")
    parser.add_argument("--tasks", type=int, default=150, help="tasks per run (default 150)")
    parser.add_argument("--repeats", type=int, default=5, help="tries per task (default 5)")
    parser.add_argument("--timed", type=int, default=20, help="timed comparisons per way of reading (default 20)")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    from smoltrace.cli.compare import compare
    from smoltrace.store.reader import CollectorReader, FileReader

    args = parse_args(argv)
    print(f"machine: {os.cpu_count()} CPUs; command: {' '.join(sys.argv)}")
    print(f"recording a template run of {args.tasks} tasks x {args.repeats} tries (tool agent) ...", flush=True)
    started = time.monotonic()
    template = record_template(args.tasks, args.repeats)
    side_a, side_b = Cloner(template), Cloner(template)
    swapped = swap_answers(side_b, 0.25, seed=3)
    print(
        f"  {side_a.spans:,} spans in {len(template)} requests ({time.monotonic() - started:.0f} s); "
        f"B swaps {swapped} answers"
    )

    collector = CollectorProcess(args.db, [])
    target = f"127.0.0.1:{collector.port}"
    now = time.time_ns()
    (run_a,) = send_runs(target, side_a, [now], seed=11)
    (run_b,) = send_runs(target, side_b, [now + side_a.length_ns + 1_000_000_000], seed=12)
    api = CollectorReader(collector.http_url)
    spans = api.query("SELECT count(*) AS n FROM otel_traces")[0]["n"]
    print(f"store: {spans:,} spans; compared: A = {run_a}, B = {run_b}")
    result = compare(api, run_a, run_b)
    (row,) = result.summary
    print(
        f"  {row['paired_tasks']} paired tasks, {row['a_max_tries']} tries each; success "
        f"{100 * row['a_success_rate']:.1f}% -> {100 * row['b_success_rate']:.1f}% "
        f"({row['tasks_up']} up, {row['tasks_down']} down, p = {row['p_value']:.3g}); comparable: {row['comparable']}"
    )

    verdicts = []

    def report(name: str, times: list[float], judge: bool) -> None:
        line = f"  {name:44s} {summary(times)}"
        if judge:
            ok = statistics.median(times) < TARGET_MS
            verdicts.append(ok)
            line += f"  < {TARGET_MS:.0f} ms: {'MET' if ok else 'NOT MET'}"
        print(line, flush=True)

    print("\nthrough the collector's query API (warm):")
    report(
        "compare_runs view alone",
        timed(lambda: api.query("SELECT * FROM compare_runs(?, ?)", [run_a, run_b]), args.timed),
        judge=False,
    )
    report(
        "a whole comparison (smoltrace-compare's 9 reads)",
        timed(lambda: compare(api, run_a, run_b), args.timed),
        judge=True,
    )
    code, stop_s = collector.stop()
    print(f"  collector stopped (exit {code}) in {stop_s:.1f} s")

    print("\non the file, read-only, in this process (warm):")
    reader = FileReader.open(args.db)
    try:
        report(
            "compare_runs view alone",
            timed(lambda: reader.query("SELECT * FROM compare_runs(?, ?)", [run_a, run_b]), args.timed),
            judge=False,
        )
        report(
            "a whole comparison (smoltrace-compare's 9 reads)",
            timed(lambda: compare(reader, run_a, run_b), args.timed),
            judge=True,
        )
    finally:
        reader.close()

    exe = Path(sys.executable).with_name("smoltrace-compare")
    command = [str(exe), run_a, run_b, "--db", str(args.db), "--format", "json"]
    times = []
    for _ in range(max(3, args.timed // 4)):
        started = time.perf_counter()
        completed = subprocess.run(command, capture_output=True, text=True, check=False)
        times.append((time.perf_counter() - started) * 1000)
        if completed.returncode != 0:
            print(completed.stderr)
            return 1
    print("\nwhole smoltrace-compare processes on the file (start, imports, open, 9 reads, print):")
    report("smoltrace-compare --format json", times, judge=False)
    print(f"\n{'ALL MET' if all(verdicts) else 'NOT MET'}")
    return 0 if all(verdicts) else 1


if __name__ == "__main__":
    sys.exit(main())
