"""Derived facts: per-task and per-call rows kept in tables, a pure function of the raw spans.

Reading a run used to walk the span tree of every trace in the store. Instead, the collector queues
each trace that holds a smoltrace task or run span in the transaction that stores its spans
(``traces_to_queue``), its deriver derives their facts soon after (``derive``; collector/deriver.py),
and the views read those small tables (``facts/tables.sql``). The statements are in
``facts/derive.sql``; ``rebuild`` runs the same statements over every trace, so a store's facts can
always be recomputed from ``otel_traces`` alone (``smoltrace-store rebuild``).
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import resources
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pyarrow as pa

#: Span names that make a trace one the facts describe: a task execution, or a run's own spans.
FACT_SPAN_NAMES = ("smoltrace.task", "smoltrace.run.started", "smoltrace.run.heartbeat", "smoltrace.run")

#: Tables of facts derived per trace (each row has the trace_id it came from), and the queue.
DERIVED_TABLES = (
    "smoltrace_task_facts",
    "smoltrace_llm_calls",
    "smoltrace_tool_calls",
    "smoltrace_steps",
    "smoltrace_run_spans",
    "smoltrace_facts_queue",
)
#: One row per run, derived from the run's rows of smoltrace_run_spans (facts/derive_runs.sql).
RUN_FACTS_TABLE = "smoltrace_run_facts"

#: Of some trace ids, those already derived or queued: one more span of such a trace re-derives it.
KNOWN_TRACES_SQL = """
SELECT trace_id FROM smoltrace_task_facts
 WHERE trace_id IN (SELECT unnest($ids::VARCHAR[])) AND trace_id BETWEEN $lo AND $hi
UNION
SELECT trace_id FROM smoltrace_run_spans
 WHERE trace_id IN (SELECT unnest($ids::VARCHAR[])) AND trace_id BETWEEN $lo AND $hi
UNION
SELECT trace_id FROM smoltrace_facts_queue
 WHERE trace_id IN (SELECT unnest($ids::VARCHAR[])) AND trace_id BETWEEN $lo AND $hi
"""
QUEUE_SQL = "INSERT INTO smoltrace_facts_queue SELECT $seq, unnest($ids::VARCHAR[])"
LAST_QUEUED_SQL = "SELECT coalesce(max(seq), 0) FROM smoltrace_facts_queue"
#: What a deriver takes from the queue: the entries of the oldest commits, about as many as the limit
#: given (whole commits, at least one), as the last sequence number taken and the distinct trace ids,
#: sorted (a chunk of neighbouring ids reads few row groups).
TAKE_QUEUE_SQL = """
WITH oldest AS (SELECT max(seq) AS last_seq FROM (SELECT seq FROM smoltrace_facts_queue ORDER BY seq LIMIT ?))
SELECT any_value(last_seq), list(DISTINCT trace_id ORDER BY trace_id)
FROM smoltrace_facts_queue, oldest WHERE seq <= last_seq
"""
FORGET_QUEUE_SQL = "DELETE FROM smoltrace_facts_queue WHERE seq <= ?"
SET_TRACE_IDS_SQL = "CREATE OR REPLACE TEMP TABLE derive_trace_ids AS SELECT unnest($ids::VARCHAR[]) AS trace_id"
SET_RUN_IDS_SQL = "CREATE OR REPLACE TEMP TABLE derive_runs AS SELECT unnest($ids::VARCHAR[]) AS run_id"
ALL_RUN_IDS_SQL = "SELECT DISTINCT run_id FROM smoltrace_run_spans WHERE run_id IS NOT NULL ORDER BY run_id"
#: Every trace the facts describe, in the order its first span was stored (so rebuilt rows keep the
#: store's time order, which the row-group statistics rely on).
FACT_TRACES_SQL = """
SELECT "TraceId" FROM otel_traces WHERE "SpanName" IN (SELECT unnest($names::VARCHAR[]))
GROUP BY "TraceId" ORDER BY min(rowid)
"""
DROP_TEMP_SQL = "DROP TABLE IF EXISTS {name}"
TEMP_TABLES = (
    "derive_trace_ids", "derive_spans", "derive_tree", "derive_tasks", "derive_llm", "derive_tools", "derive_runs",
)  # fmt: skip
EMPTY_SQL = "DELETE FROM {table}"

STEP_MARKER = "-- step:"


def _load_steps(name: str) -> list[str]:
    text = resources.files("smoltrace.store").joinpath(name).read_text(encoding="utf-8")
    chunks = text.split("\n" + STEP_MARKER)[1:]  # the first chunk is the file's header comment
    return [chunk.split("\n", 1)[1].strip() for chunk in chunks]


#: The statements that derive traces' facts, then those that derive the rows of the runs they touch.
DERIVE_STEPS = _load_steps("facts/derive.sql")
DERIVE_RUN_STEPS = _load_steps("facts/derive_runs.sql")


def tables_sql() -> str:
    return resources.files("smoltrace.store").joinpath("facts/tables.sql").read_text(encoding="utf-8")


def _params(sql: str, values: dict) -> dict:
    return {name: value for name, value in values.items() if f"${name}" in sql}


def traces_to_derive(conn, spans: pa.Table) -> list[str]:
    """The traces of a batch of otel_traces rows whose facts must be (re)derived: those holding a task
    or run span, and those already derived or queued (one more of their spans arrived)."""
    import pyarrow as pa  # here: readers of the store never load it (~0.3 s of a CLI's start)
    import pyarrow.compute as pc

    if spans.num_rows == 0:
        return []
    trace_ids = spans.column("TraceId")
    wanted = set(pc.unique(pc.filter(trace_ids, pc.is_in(spans.column("SpanName"), pa.array(FACT_SPAN_NAMES))))
                 .to_pylist())  # fmt: skip
    others = [trace_id for trace_id in pc.unique(trace_ids).to_pylist() if trace_id not in wanted]
    if others:
        known = conn.execute(KNOWN_TRACES_SQL, {"ids": others, "lo": min(others), "hi": max(others)}).fetchall()
        wanted.update(row[0] for row in known)
    return sorted(wanted)


def queue(conn, spans: pa.Table, seq: int) -> int:
    """Queue the traces of a batch of otel_traces rows that need (re)deriving, as entry ``seq``, inside
    the transaction that stores the rows; returns how many were queued."""
    trace_ids = traces_to_derive(conn, spans)
    if trace_ids:
        conn.execute(QUEUE_SQL, {"seq": seq, "ids": trace_ids})
    return len(trace_ids)


def derive(conn, trace_ids: list[str]) -> None:
    """(Re)derive the facts of ``trace_ids`` from their stored spans, inside the caller's transaction."""
    if not trace_ids:
        return
    values = {"ids": trace_ids, "lo": min(trace_ids), "hi": max(trace_ids)}
    conn.execute(SET_TRACE_IDS_SQL, {"ids": trace_ids})
    for step in DERIVE_STEPS + DERIVE_RUN_STEPS:
        conn.execute(step, _params(step, values))
    for name in TEMP_TABLES:  # their memory is not needed until the next commit
        conn.execute(DROP_TEMP_SQL.format(name=name))


def derive_runs(conn, run_ids: list[str] | None = None) -> None:
    """(Re)derive the rows of smoltrace_run_facts of ``run_ids`` (default: every run with run spans)
    from their run spans, inside the caller's transaction. ``derive`` does it for the runs it touches;
    this serves the migration that created the table and the deletion of a run."""
    if run_ids is None:
        run_ids = [row[0] for row in conn.execute(ALL_RUN_IDS_SQL).fetchall()]
    conn.execute(SET_RUN_IDS_SQL, {"ids": run_ids})
    for step in DERIVE_RUN_STEPS:
        conn.execute(step)
    conn.execute(DROP_TEMP_SQL.format(name="derive_runs"))


def derive_all(conn, *, chunk_traces: int = 1_000, progress: Callable[[int, int], None] | None = None) -> int:
    """Empty the derived tables and derive them again from otel_traces, inside the caller's transaction;
    returns the number of traces derived. ``progress(done, total)`` is called after each chunk."""
    trace_ids = [row[0] for row in conn.execute(FACT_TRACES_SQL, {"names": list(FACT_SPAN_NAMES)}).fetchall()]
    for table in (*DERIVED_TABLES, RUN_FACTS_TABLE):
        conn.execute(EMPTY_SQL.format(table=table))
    for start in range(0, len(trace_ids), chunk_traces):
        derive(conn, trace_ids[start : start + chunk_traces])
        if progress is not None:
            progress(min(start + chunk_traces, len(trace_ids)), len(trace_ids))
    return len(trace_ids)


def rebuild(conn, *, chunk_traces: int = 1_000, progress: Callable[[int, int], None] | None = None) -> int:
    """``derive_all`` in a transaction of its own (the store keeps its old facts if it fails)."""
    conn.begin()
    try:
        traces = derive_all(conn, chunk_traces=chunk_traces, progress=progress)
        conn.commit()
    except BaseException:
        conn.rollback()
        raise
    return traces
