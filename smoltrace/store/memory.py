"""The store's views over rows held in memory, for results that never reached a store.

``smoltrace.utils.compute_leaderboard_row`` is given SMOLTRACE's in-memory shapes (``all_results``,
``metric_data``), possibly rows the caller built or filtered itself. Rather than a second definition of
the leaderboard in Python, those rows are loaded into an in-memory DuckDB database that has the store's
whole schema, in place of the views they were read from, and the ``leaderboard`` view runs as it runs on
a store: one definition of every number (store/views/40_leaderboard.sql).
"""

from __future__ import annotations

import json

import duckdb

from smoltrace.store import database, readonly

#: Views replaced by tables of the given rows (each keeps the view's columns and types).
TYPED_COPY_SQL = "CREATE TABLE {name}__rows AS SELECT * FROM {name} LIMIT 0"
DROP_VIEW_SQL = "DROP VIEW {name}"
RENAME_SQL = "ALTER TABLE {name}__rows RENAME TO {name}"
COLUMNS_SQL = "SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = ? ORDER BY column_index"
#: JSON rows into the table: from_json casts each value to the column's type (ISO text to TIMESTAMP...)
#: and ignores keys the table has no column for.
INSERT_SQL = "INSERT INTO {name} SELECT unnest(from_json(?::JSON, '{structure}'), recursive := true)"
LEADERBOARD_SQL = "SELECT * FROM leaderboard ORDER BY run_id"


def _structure(conn: duckdb.DuckDBPyConnection, name: str) -> str:
    """from_json's structure for a list of the table's rows: ``[{"column": "TYPE", ...}]``."""
    fields = {}
    for column, data_type in conn.execute(COLUMNS_SQL, [name]).fetchall():
        depth = 0
        while data_type.endswith("[]"):
            data_type, depth = data_type[:-2], depth + 1
        structure = data_type
        for _ in range(depth):
            structure = [structure]
        fields[column] = structure
    return json.dumps([fields]).replace("'", "''")


def _replace_view(conn: duckdb.DuckDBPyConnection, name: str, rows: list[dict]) -> None:
    conn.execute(TYPED_COPY_SQL.format(name=name))
    conn.execute(DROP_VIEW_SQL.format(name=name))
    conn.execute(RENAME_SQL.format(name=name))
    if rows:
        document = json.dumps([{key: readonly.json_safe(value) for key, value in row.items()} for row in rows],
                              default=str)  # fmt: skip
        conn.execute(INSERT_SQL.format(name=name, structure=_structure(conn, name)), [document])


def leaderboard_rows(results: list[dict], run: dict | None = None, gpu_summary: dict | None = None) -> list[dict]:
    """The ``leaderboard`` view's rows for ``results`` (rows of the ``results`` view, or SMOLTRACE's
    result dicts: unknown keys are ignored, missing ones are NULL), with ``run`` as the run's
    ``run_info`` row and ``gpu_summary`` as its ``gpu_run_summary`` row. JSON-safe values."""
    with duckdb.connect() as conn:
        database.apply_schema(conn)
        _replace_view(conn, "results", results)
        _replace_view(conn, "run_info", [run] if run else [])
        _replace_view(conn, "gpu_run_summary", [gpu_summary] if gpu_summary else [])
        result = conn.execute(LEADERBOARD_SQL)
        names = [column[0] for column in result.description]
        return [{name: readonly.json_safe(value) for name, value in zip(names, row)} for row in result.fetchall()]
