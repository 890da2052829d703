"""Deleting runs from the local DuckDB store, and getting the disk space back.

A run's rows: every trace that holds a span carrying the run id (its task traces and its
``smoltrace.run`` / ``smoltrace.run.started`` spans, in SpanAttributes or in the runner's resource),
its metric points (``smoltrace.run.id`` in Attributes or ResourceAttributes, every metric table) and
its logs (same run id, or in one of the run's traces). Other runs' rows are untouched.

Disk space (measured with duckdb 2.0.1): ``DELETE`` + ``CHECKPOINT`` frees the blocks inside the
file for reuse by later writes, but the file does not shrink, and ``VACUUM`` does not change that.
Shrinking needs a rewrite: ``compact()`` copies the database into a new file (``COPY FROM DATABASE``)
and renames it over the old one. That is only possible when nothing else holds the file, so it is done
when cleaning the file directly, not through a running collector (which only checkpoints).
"""

from __future__ import annotations

import os
from pathlib import Path

from smoltrace.store import facts

RUN_TRACES_SQL = """
CREATE OR REPLACE TEMP TABLE smoltrace_doomed_traces AS
SELECT DISTINCT "TraceId" FROM otel_traces
WHERE "SpanAttributes"->>'smoltrace.run.id' = $run_id OR "ResourceAttributes"->>'smoltrace.run.id' = $run_id
"""
DELETE_SPANS_SQL = 'DELETE FROM otel_traces WHERE "TraceId" IN (SELECT "TraceId" FROM smoltrace_doomed_traces)'
#: The facts derived from those traces go with them (smoltrace/store/facts.py).
DELETE_FACTS_SQL = 'DELETE FROM "{table}" WHERE trace_id IN (SELECT "TraceId" FROM smoltrace_doomed_traces)'
DELETE_LOGS_SQL = """
DELETE FROM otel_logs
WHERE "TraceId" IN (SELECT "TraceId" FROM smoltrace_doomed_traces)
   OR "LogAttributes"->>'smoltrace.run.id' = $run_id OR "ResourceAttributes"->>'smoltrace.run.id' = $run_id
"""
DELETE_METRICS_SQL = """
DELETE FROM "{table}"
WHERE "Attributes"->>'smoltrace.run.id' = $run_id OR "ResourceAttributes"->>'smoltrace.run.id' = $run_id
"""
METRIC_TABLES = ("otel_metrics_gauge", "otel_metrics_sum", "otel_metrics_histogram", "otel_metrics_summary")
LIST_RUNS_SQL = (
    "SELECT run_id, model, status, started_at, finished_at, completed_tasks FROM runs ORDER BY started_at DESC"
)

PARTS = ("traces", "metrics")  # what --only may select locally ("results" are views over the traces)


def delete_run(conn, run_id: str, parts: tuple[str, ...] = PARTS) -> dict[str, int]:
    """Delete one run's rows in one transaction; returns rows deleted per kind. Then CHECKPOINT."""
    counts = {"spans": 0, "logs": 0, "metric_points": 0}
    conn.begin()
    try:
        if "traces" in parts:
            conn.execute(RUN_TRACES_SQL, {"run_id": run_id})
            counts["spans"] = conn.execute(DELETE_SPANS_SQL).fetchone()[0]
            for table in facts.DERIVED_TABLES:
                conn.execute(DELETE_FACTS_SQL.format(table=table))
            facts.derive_runs(conn, [run_id])  # its run spans are gone: so is its row of smoltrace_run_facts
            counts["logs"] = conn.execute(DELETE_LOGS_SQL, {"run_id": run_id}).fetchone()[0]
            conn.execute("DROP TABLE IF EXISTS smoltrace_doomed_traces")
        if "metrics" in parts:
            for table in METRIC_TABLES:
                counts["metric_points"] += conn.execute(DELETE_METRICS_SQL.format(table=table),
                                                        {"run_id": run_id}).fetchone()[0]  # fmt: skip
        conn.commit()
    except BaseException:
        conn.rollback()
        raise
    conn.execute("CHECKPOINT")
    return counts


def list_runs(conn) -> list[dict]:
    result = conn.execute(LIST_RUNS_SQL)
    names = [d[0] for d in result.description]
    return [dict(zip(names, row)) for row in result.fetchall()]


def compact(path: str | os.PathLike) -> tuple[int, int]:
    """Rewrite the store file without its free blocks; returns (bytes before, bytes after).

    Needs exclusive access (no collector on the file). The copy is written next to the store and
    renamed over it only once complete, so an interruption leaves the original intact.
    """
    import duckdb

    path = Path(path)
    before = path.stat().st_size
    tmp = path.with_name(path.name + ".compacting")
    tmp.unlink(missing_ok=True)
    conn = duckdb.connect(str(path))
    try:
        source = conn.execute("SELECT current_database()").fetchone()[0]
        conn.execute("CHECKPOINT")
        conn.execute("ATTACH '{}' AS smoltrace_compacted".format(str(tmp).replace("'", "''")))
        conn.execute(f'COPY FROM DATABASE "{source}" TO smoltrace_compacted')
        conn.execute("DETACH smoltrace_compacted")
    except BaseException:
        conn.close()
        tmp.unlink(missing_ok=True)
        raise
    conn.close()
    os.replace(tmp, path)
    Path(str(tmp) + ".wal").unlink(missing_ok=True)
    return before, path.stat().st_size
