"""The derived facts equal their definition over the raw spans, whatever the order and the batches in
which the spans arrived.

Random stores are sent to a real collector over OTLP/gRPC: task traces of random shape (agent, steps,
LLM calls with nested LLM calls, tools, final answers), spans in shuffled order and cut into random
requests (children before parents and after), byte-identical retries, a span id stored twice in two
different requests, tasks cut off half-way (their parents never arrive), a collector restarted mid-way,
and traces from an OTel client that is not smoltrace's runner. Then:

- the tables the collector derived while spans arrived equal a rebuild from otel_traces alone
  (``smoltrace-store rebuild``: the same statements over every trace at once), row for row;
- the main facts equal an independent Python reading of the spans that were sent (the oracle below).
"""

from __future__ import annotations

import json
import random
import time
from dataclasses import dataclass, field

import duckdb
import grpc
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from smoltrace.collector import Collector
from smoltrace.store import facts

T0 = 1_800_000_000_000_000_000
FACT_TABLES_SQL = {
    "smoltrace_task_facts": "SELECT * FROM smoltrace_task_facts ORDER BY trace_id, span_id",
    "smoltrace_llm_calls": "SELECT * FROM smoltrace_llm_calls ORDER BY trace_id, span_id",
    "smoltrace_tool_calls": "SELECT * FROM smoltrace_tool_calls ORDER BY trace_id, span_id",
    "smoltrace_steps": "SELECT * FROM smoltrace_steps ORDER BY trace_id, span_id",
    "smoltrace_run_spans": "SELECT * FROM smoltrace_run_spans ORDER BY trace_id, span_id",
    "smoltrace_run_facts": "SELECT * FROM smoltrace_run_facts ORDER BY run_id",
}


class RawOTLPClient:
    """Sends exact request bytes to the collector's OTLP/gRPC trace service."""

    def __init__(self, endpoint: str):
        self.channel = grpc.insecure_channel(endpoint)
        self.call = self.channel.unary_unary("/opentelemetry.proto.collector.trace.v1.TraceService/Export")

    def export(self, body: bytes) -> None:
        self.call(body, timeout=30)

    def close(self) -> None:
        self.channel.close()


@dataclass
class Span:
    trace_id: bytes
    span_id: bytes
    parent_id: bytes
    name: str
    start: int
    duration: int
    attributes: dict = field(default_factory=dict)
    status_message: str = ""  # set: the span ended with an error status


@dataclass
class Task:
    trace_id: bytes
    spans: list[Span]
    lost: set[bytes]  # span ids never sent (a task cut off: its agent and steps never ended)


def _ids(rng: random.Random, trace_time_s: int) -> tuple[bytes, callable]:
    trace_id = trace_time_s.to_bytes(4, "big") + rng.randbytes(12)
    return trace_id, lambda: rng.randbytes(8)


def make_task(rng: random.Random, run_id: str, index: int, clock: list[int]) -> Task:
    """One task execution in OpenInference's shape, with random steps, tools and token counts."""
    trace_id, new_id = _ids(rng, clock[0] // 1_000_000_000)
    agent_type = rng.choice(["tool", "code"])
    spans: list[Span] = []

    def add(name, parent, attributes, duration=1_000_000):
        clock[0] += rng.randrange(1_000, 1_000_000)
        span = Span(trace_id, new_id(), parent, name, clock[0], duration, attributes)
        spans.append(span)
        return span

    expected_tool = rng.choice([None, "get_weather", "calculator"])
    task_attributes = {
        "smoltrace.run.id": run_id, "smoltrace.task.id": f"t{index}", "smoltrace.task.uid": f"{agent_type}:t{index}",
        "smoltrace.agent.type": agent_type, "smoltrace.model.id": "m", "smoltrace.provider": "litellm",
        "smoltrace.task.prompt": f"prompt {index}", "smoltrace.task.expected_keywords": ["18°C", "Clear"],
        "smoltrace.task.answer": rng.choice(["18°C, clear", "no idea", ""]),
        "smoltrace.task.stop_reason": rng.choice(["final_answer", "max_steps", "timeout"]),
        "smoltrace.model.input_cost_per_token": 0.5, "smoltrace.model.output_cost_per_token": 2.0,
    }  # fmt: skip
    if expected_tool:
        task_attributes["smoltrace.task.expected_tool"] = expected_tool
    root = add("smoltrace.task", b"", task_attributes, duration=rng.randrange(10**6, 10**9))
    agent = add("ToolCallingAgent.run", root.span_id, {"openinference.span.kind": "AGENT",
                                                       "llm.token_count.prompt": 99_999})  # fmt: skip
    lost: set[bytes] = set()
    for step_number in range(1, rng.randrange(1, 5)):
        if rng.random() < 0.3:  # a planning step: the model called beside the steps, before this one
            add("Model.generate", agent.span_id, {"openinference.span.kind": "LLM", "llm.model_name": "m",
                "llm.token_count.prompt": rng.randrange(1, 500), "llm.token_count.completion": 7})  # fmt: skip
        step = add(f"Step {step_number}", agent.span_id, {"openinference.span.kind": "CHAIN"})
        outcome = rng.choice(["ran", "ran", "failed while running", "not parsed", "tool step"])
        if outcome == "ran":  # a CodeAgent step's observations
            step.attributes["output.value"] = "Execution logs:\nhi\nLast output from code snippet:\nNone"
        elif outcome == "failed while running":
            step.status_message = "AgentExecutionError: Code execution failed at line 'x = 1/0'"
        elif outcome == "not parsed":
            step.status_message = "AgentParsingError: Error in code parsing"
        else:
            step.attributes["output.value"] = "Observation: 18°C"
        for _ in range(rng.randrange(0, 3)):
            counts = rng.choice([True, True, False])
            llm = add("Model.generate", step.span_id, {"openinference.span.kind": "LLM", "llm.model_name": "m",
                      **({"llm.token_count.prompt": rng.randrange(1, 500),
                          "llm.token_count.completion": rng.randrange(1, 50)} if counts else {})})  # fmt: skip
            if rng.random() < 0.6:  # litellm's own span inside: its tokens must not count twice
                add("completion", llm.span_id, {"gen_ai.operation.name": "chat",
                    "gen_ai.usage.input_tokens": rng.randrange(1, 500),
                    "gen_ai.usage.output_tokens": rng.randrange(1, 50)})  # fmt: skip
        for _ in range(rng.randrange(0, 3)):
            tool = rng.choice(["get_weather", "calculator", "final_answer"])
            add(tool, step.span_id, {"openinference.span.kind": "TOOL", "tool.name": tool,
                                     "input.value": json.dumps({"x": rng.random()}), "output.value": "ok"})  # fmt: skip
        if rng.random() < 0.15:  # the task timed out here: this step (and the agent) never ended
            lost.update({step.span_id, agent.span_id})
    if rng.random() < 0.3:  # the answer smolagents forces after max_steps: beside the steps, after them
        add("Model.generate", agent.span_id, {"openinference.span.kind": "LLM", "llm.model_name": "m",
                                              "llm.token_count.prompt": 3, "llm.token_count.completion": 4})  # fmt: skip
    if rng.random() < 0.1:  # a malformed value: NULL in its row, never a failed view
        root.attributes["smoltrace.task.expected_tool_calls"] = "abc"
    return Task(trace_id, spans, lost)


def make_run_spans(rng: random.Random, run_id: str, clock: list[int]) -> list[Span]:
    spans = []
    for name, status in (("smoltrace.run.started", None), ("smoltrace.run", rng.choice(["completed", "interrupted"]))):
        trace_id, new_id = _ids(rng, clock[0] // 1_000_000_000)
        clock[0] += 1_000_000
        attributes = {"smoltrace.run.id": run_id, "smoltrace.model.id": "m", "smoltrace.run.planned_tasks": 3}
        if status:
            attributes["smoltrace.run.status"] = status
        spans.append(Span(trace_id, new_id(), b"", name, clock[0], 5_000_000, attributes))
    return spans


def foreign_spans(rng: random.Random, clock: list[int]) -> list[Span]:
    """A trace from some other OpenTelemetry client: random ids, no smoltrace spans."""
    trace_id = rng.randbytes(16)
    root = Span(trace_id, rng.randbytes(8), b"", "GET /", clock[0], 1000, {"http.method": "GET"})
    child = Span(trace_id, rng.randbytes(8), root.span_id, "db", clock[0] + 1, 10, {"openinference.span.kind": "LLM"})
    return [root, child]


def to_request(spans: list[Span], run_id: str = "") -> bytes:
    request = ExportTraceServiceRequest()
    resource_spans = request.resource_spans.add()
    resource_spans.resource.attributes.add(key="service.name").value.string_value = "smoltrace-eval"
    if run_id:
        resource_spans.resource.attributes.add(key="smoltrace.run.id").value.string_value = run_id
    scope = resource_spans.scope_spans.add()
    for s in spans:
        span = scope.spans.add(trace_id=s.trace_id, span_id=s.span_id, parent_span_id=s.parent_id, name=s.name,
                               start_time_unix_nano=s.start, end_time_unix_nano=s.start + s.duration)  # fmt: skip
        if s.status_message:
            span.status.code = span.status.STATUS_CODE_ERROR
            span.status.message = s.status_message
        for key, value in s.attributes.items():
            attribute = span.attributes.add(key=key)
            if isinstance(value, bool):
                attribute.value.bool_value = value
            elif isinstance(value, int):
                attribute.value.int_value = value
            elif isinstance(value, float):
                attribute.value.double_value = value
            elif isinstance(value, list):
                for item in value:
                    attribute.value.array_value.values.add().string_value = item
            else:
                attribute.value.string_value = value
    return request.SerializeToString()


def random_store(seed: int) -> tuple[list[Task], list[list[Span]]]:
    """Tasks of two runs and the requests that carry their spans, shuffled and cut at random."""
    rng = random.Random(seed)
    clock = [T0 + seed * 10**12]
    tasks, others = [], []
    for run in range(2):
        run_id = f"run-{seed}-{run}"
        tasks += [make_task(rng, run_id, index, clock) for index in range(rng.randrange(2, 8))]
        others += make_run_spans(rng, run_id, clock)
    others += foreign_spans(rng, clock)
    spans = [s for task in tasks for s in task.spans if s.span_id not in task.lost] + others
    rng.shuffle(spans)
    requests, start = [], 0
    while start < len(spans):
        size = rng.randrange(1, 12)
        requests.append(spans[start : start + size])
        start += size
    return tasks, requests


def derived_rows(conn) -> dict[str, list[tuple]]:
    return {table: conn.execute(sql).fetchall() for table, sql in FACT_TABLES_SQL.items()}


def oracle(tasks: list[Task]) -> dict[str, tuple]:
    """Per trace: (steps, llm calls, total tokens, tools used other than final_answer, final answers,
    code runs, planning steps), read from the spans that were sent, in plain Python."""
    expected = {}
    for task in tasks:
        sent = {s.span_id: s for s in task.spans if s.span_id not in task.lost}

        def inside_llm(span, sent=sent):  # is some ancestor that was sent an LLM span?
            parent = sent.get(span.parent_id)
            while parent is not None:
                if parent.attributes.get("openinference.span.kind") == "LLM":
                    return True
                parent = sent.get(parent.parent_id)
            return False

        steps = sum(1 for s in sent.values() if s.name.startswith("Step "))
        outer_llm = [s for s in sent.values() if s.attributes.get("openinference.span.kind") == "LLM"
                     and not inside_llm(s)]  # fmt: skip
        tokens = 0
        for llm in outer_llm:
            if "llm.token_count.prompt" in llm.attributes:
                tokens += llm.attributes["llm.token_count.prompt"] + llm.attributes["llm.token_count.completion"]
            else:  # the largest count among the LLM spans inside it
                nested = [
                    s
                    for s in sent.values()
                    if s.parent_id == llm.span_id and "gen_ai.usage.input_tokens" in s.attributes
                ]
                tokens += max((s.attributes["gen_ai.usage.input_tokens"] for s in nested), default=0)
                tokens += max((s.attributes["gen_ai.usage.output_tokens"] for s in nested), default=0)
        tools = sorted((s for s in sent.values() if s.attributes.get("openinference.span.kind") == "TOOL"),
                       key=lambda s: (s.start, s.span_id.hex()))  # fmt: skip
        used = [s.name for s in tools if s.name != "final_answer"]
        step_spans = [s for s in sent.values() if s.name.startswith("Step ")]
        code_runs = 0
        if task.spans[0].attributes["smoltrace.agent.type"] == "code":
            code_runs = sum(1 for s in step_spans if s.attributes.get("output.value", "").startswith("Execution logs:")
                            or s.status_message.startswith("AgentExecutionError"))  # fmt: skip
        last_step = {}  # parent span id -> start of the last step under it
        for s in step_spans:
            last_step[s.parent_id] = max(last_step.get(s.parent_id, 0), s.start)
        planning = sum(1 for s in outer_llm if s.start < last_step.get(s.parent_id, 0))
        expected[task.trace_id.hex()] = (steps, len(outer_llm), tokens, used, len(tools) - len(used), code_runs,
                                         planning)  # fmt: skip
    return expected


def export_then_read(collector, client, spans, sql) -> list[tuple]:
    """Export spans over OTLP/gRPC, then read through the collector (a read waits for what it acknowledged)."""
    client.export(to_request(spans))
    with collector.writer.cursor() as cursor:
        return cursor.execute(sql).fetchall()


def send_all(collector, requests, rng, run_id="") -> None:
    client = RawOTLPClient(collector.grpc_endpoint)
    try:
        for spans in requests:
            body = to_request(spans, run_id)
            client.export(body)
            if rng.random() < 0.2:  # a byte-identical retry
                client.export(body)
            if rng.random() < 0.1:  # one of its spans again, in a request of other bytes
                client.export(to_request(spans[:1], run_id="again"))
    finally:
        client.close()


@pytest.mark.parametrize("seed", range(6))
def test_derived_facts_equal_a_rebuild_and_the_oracle(tmp_path, seed):
    tasks, requests = random_store(seed)
    rng = random.Random(1000 + seed)
    db = tmp_path / "store.duckdb"
    half = len(requests) // 2
    with Collector.embedded(db_path=db) as collector:
        send_all(collector, requests[:half], rng)
    with Collector.embedded(db_path=db) as collector:  # restarted mid-run
        send_all(collector, requests[half:], rng)
        with collector.writer.cursor() as cursor:  # waits for the facts of everything acknowledged
            cursor.execute("SELECT 1").fetchall()

    with duckdb.connect(str(db)) as conn:
        incremental = derived_rows(conn)
        assert conn.execute("SELECT count(*) FROM smoltrace_facts_queue").fetchone()[0] == 0
        traces = facts.rebuild(conn)
        rebuilt = derived_rows(conn)
        got = {
            row[0]: tuple(row[1:])
            for row in conn.execute(
                "SELECT trace_id, steps, llm_calls, total_tokens, tools_used, final_answer_calls, code_runs, "
                "planning_steps FROM smoltrace_task_facts"
            ).fetchall()
        }
        runs = conn.execute("SELECT run_id, completed_tasks, status FROM runs ORDER BY run_id").fetchall()

    assert traces == len(tasks) + 4  # every task trace and the runs' 4 run spans; never the foreign trace
    for table in FACT_TABLES_SQL:
        assert incremental[table] == rebuilt[table], table
    assert got == oracle(tasks)
    run_tasks = {f"run-{seed}-{run}": sum(1 for t in tasks if t.spans[0].attributes["smoltrace.run.id"] == f"run-{seed}-{run}")
                 for run in range(2)}  # fmt: skip
    assert [(run_id, completed) for run_id, completed, _ in runs] == sorted(run_tasks.items())


def test_a_child_after_its_task_is_derived_again(tmp_path):
    """A span arriving after its task was derived (a slow exporter) re-derives the whole trace."""
    rng = random.Random(3)
    clock = [T0]
    task = make_task(rng, "run-late", 0, clock)
    task.lost.clear()
    root, rest = task.spans[0], task.spans[1:]
    late = Span(task.trace_id, rng.randbytes(8), root.span_id, "late_tool", clock[0] + 10, 1000,
                {"openinference.span.kind": "TOOL", "tool.name": "get_weather"})  # fmt: skip
    with Collector.embedded(db_path=tmp_path / "s.duckdb") as collector:
        client = RawOTLPClient(collector.grpc_endpoint)
        before = export_then_read(collector, client, [root] + rest, "SELECT tools_used FROM results")[0][0]
        after = export_then_read(collector, client, [late], "SELECT tools_used, tool_called FROM results")[0]
        client.close()
    assert after[0] == before + ["get_weather"]
    assert after[1] is True


def test_deleting_a_run_deletes_its_facts_and_nothing_else(tmp_path):
    from smoltrace.store.run_deletion import delete_run

    tasks, requests = random_store(11)
    db = tmp_path / "store.duckdb"
    with Collector.embedded(db_path=db) as collector:
        send_all(collector, requests, random.Random(0))
    kept_before = None
    with duckdb.connect(str(db)) as conn:
        kept_before = conn.execute("SELECT * FROM results WHERE run_id = 'run-11-1' ORDER BY trace_id").fetchall()
        delete_run(conn, "run-11-0")
        left = {table: conn.execute(f"SELECT count(*) FROM {table} WHERE run_id = 'run-11-0'").fetchone()[0]
                for table in (*facts.DERIVED_TABLES, facts.RUN_FACTS_TABLE) if table != "smoltrace_facts_queue"}  # fmt: skip
        assert left == dict.fromkeys(left, 0)
        assert conn.execute("SELECT run_id FROM runs").fetchall() == [("run-11-1",)]
        assert (
            conn.execute("SELECT * FROM results WHERE run_id = 'run-11-1' ORDER BY trace_id").fetchall() == kept_before
        )
        facts.rebuild(conn)  # and what is left is still exactly what the spans give
        assert conn.execute("SELECT * FROM results ORDER BY trace_id").fetchall() == kept_before


def test_latest_runs_and_runs_between_are_rows_of_the_runs_view(tmp_path):
    requests = []
    for seed in (21, 22, 23):  # six runs, at different times
        requests += random_store(seed)[1]
    db = tmp_path / "store.duckdb"
    with Collector.embedded(db_path=db) as collector:
        send_all(collector, requests, random.Random(0))
    order = "ORDER BY started_at DESC NULLS LAST, run_id DESC"
    with duckdb.connect(str(db)) as conn:
        for n in (1, 4, 6, 10):
            expected = conn.execute(f"SELECT * FROM runs {order} LIMIT {n}").fetchall()
            assert conn.execute("SELECT * FROM latest_runs(?)", [n]).fetchall() == expected
        assert len(conn.execute("SELECT * FROM latest_runs(10)").fetchall()) == 6
        run_ids = [row[0] for row in conn.execute("SELECT run_id FROM runs ORDER BY run_id").fetchall()]
        for lo, hi in [(run_ids[0], run_ids[0]), (run_ids[1], run_ids[4]), (run_ids[0], run_ids[-1])]:
            sql = "SELECT * FROM runs WHERE run_id BETWEEN ? AND ? ORDER BY run_id"
            expected = conn.execute(sql, [lo, hi]).fetchall()
            bounded = conn.execute("SELECT * FROM runs_between(?, ?) ORDER BY run_id", [lo, hi]).fetchall()
            assert bounded == expected != []


def run_span_maker(rng: random.Random):
    """run_span(name, run_id, at, duration, status): a run-level span of the runner, a trace of its own."""

    def run_span(name, run_id, at, duration=1_000_000, status=None):
        attributes = {"smoltrace.run.id": run_id, **({"smoltrace.run.status": status} if status else {})}
        return Span(rng.randbytes(16), rng.randbytes(8), b"", name, at, duration, attributes)

    return run_span


def test_a_run_whose_runner_stopped_sending_is_abandoned(tmp_path):
    """'running' while its heartbeat is recent, 'abandoned' after 3 minutes of silence, and a closing
    smoltrace.run span's status whatever its heartbeats."""
    now = time.time_ns()
    minute = 60 * 1_000_000_000
    run_span = run_span_maker(random.Random(5))
    spans = [
        run_span("smoltrace.run.started", "alive", now - 10 * minute),
        run_span("smoltrace.run.heartbeat", "alive", now - minute // 6),
        run_span("smoltrace.run.started", "dead", now - 10 * minute),
        run_span("smoltrace.run.heartbeat", "dead", now - 5 * minute),
        run_span("smoltrace.run.started", "done", now - 10 * minute),
        run_span("smoltrace.run.heartbeat", "done", now - 9 * minute),
        run_span("smoltrace.run", "done", now - 10 * minute, status="completed"),
    ]
    with Collector.embedded(db_path=tmp_path / "s.duckdb") as collector:
        client = RawOTLPClient(collector.grpc_endpoint)
        rows = export_then_read(collector, client, spans, "SELECT run_id, status FROM runs ORDER BY run_id")
        client.close()
    assert rows == [("alive", "running"), ("dead", "abandoned"), ("done", "completed")]


def test_a_resumed_run_is_running_until_its_last_part_closes(tmp_path):
    """A run resumed with smoltrace-eval --resume has parts, each with its run.started and closing span:
    while a part started after the last closing span runs, the run is 'running' (then 'abandoned' if its
    heartbeats stop), not the status the previous part closed with; once it closes, the run has the last
    part's status, its first part's start and the sum of the parts' durations."""
    now = time.time_ns()
    minute = 60 * 1_000_000_000
    run_span = run_span_maker(random.Random(6))
    first_part = [
        run_span("smoltrace.run.started", run_id, now - 60 * minute) for run_id in ("resuming", "gave-up", "resumed")
    ] + [
        run_span("smoltrace.run", run_id, now - 60 * minute, 20 * minute, status="interrupted")
        for run_id in ("resuming", "gave-up", "resumed")
    ]
    second_part = [
        run_span("smoltrace.run.started", "resuming", now - 2 * minute),
        run_span("smoltrace.run.heartbeat", "resuming", now - minute // 6),
        run_span("smoltrace.run.started", "gave-up", now - 10 * minute),
        run_span("smoltrace.run.heartbeat", "gave-up", now - 9 * minute),
        run_span("smoltrace.run.started", "resumed", now - 10 * minute),
        run_span("smoltrace.run", "resumed", now - 10 * minute, 5 * minute, status="completed"),
    ]
    query = "SELECT run_id, status, started_at, duration_ms FROM runs ORDER BY run_id"
    with Collector.embedded(db_path=tmp_path / "s.duckdb") as collector:
        client = RawOTLPClient(collector.grpc_endpoint)
        before = export_then_read(
            collector, client, first_part, "SELECT run_id, status, duration_ms FROM runs ORDER BY run_id"
        )
        after = export_then_read(collector, client, second_part, query)
        client.close()
    assert before == [(run_id, "interrupted", 20 * 60_000.0) for run_id in ("gave-up", "resumed", "resuming")]
    started = after[0][2]
    assert [(run_id, status, duration) for run_id, status, _, duration in after] == [
        ("gave-up", "abandoned", None),
        ("resumed", "completed", 25 * 60_000.0),
        ("resuming", "running", None),
    ]
    assert {row[2] for row in after} == {started}  # each run started with its first part
