"""Read-only SQL on the store: the guard, the bounded runner and the JSON-safe encoding of results.

Shared by the collector's query API (``smoltrace.collector.query_api``) and ``smoltrace-query`` opening
the file itself, so that both refuse exactly the same statements and return exactly the same values.

Why several layers: a single check is one bug away from letting a client write to the store or read
``/etc/passwd``. Each layer below is enough on its own against the attacks it names; together they
leave no single point of failure.

1. **Statement type** (``check_query``). DuckDB parses the text itself (``extract_statements``):
   exactly one statement, of type SELECT (which includes ``WITH``, ``VALUES``, ``FROM x``, ``DESCRIBE``,
   ``SUMMARIZE``, ``SHOW``), or ``EXPLAIN`` of such a statement (never ``EXPLAIN ANALYZE``, which runs
   its statement). Everything else is refused: INSERT/UPDATE/DELETE, CREATE/DROP/ALTER, ATTACH/DETACH,
   COPY, EXPORT/IMPORT, INSTALL/LOAD, SET/RESET/PRAGMA/CALL (CHECKPOINT is a CALL), transactions,
   PIVOT statements (type MULTI: they create enum types), and any text holding two statements.
2. **What the SELECT reads** (``check_query``). DuckDB serialises the parse tree
   (``json_serialize_sql``) and every relation in it is checked: a table or view name must be one of the
   store's own tables or views (``main`` schema), ``information_schema``, or a CTE in scope, so
   ``FROM '/etc/passwd'``, ``FROM 'https://...'`` and Python replacement scans never bind; a table
   function must be on a short allow-list (``range``, ``unnest``, catalog functions, the store's own
   table macros), so ``read_csv``/``read_parquet``/``read_json``/``read_text``/``read_blob``/``glob``/
   ``query``/``checkpoint()`` are refused; scalar functions that change state (``nextval``, ``setval``,
   ``write_log``) are refused.
3. **DuckDB refuses it anyway** (``run_readonly`` and ``harden_database``). The statement runs inside
   ``BEGIN TRANSACTION READ ONLY``, so DuckDB itself rejects any write that slipped through, and the
   database has ``enable_external_access = false``, so DuckDB itself refuses any file, network or
   extension access. That setting is database-wide and cannot be turned back on while the database is
   open; it was checked that the collector's writer still appends registered Arrow tables, creates
   views, commits and checkpoints with it (its own database file and WAL are not "external"), and a
   test sends spans after queries to prove it. It does stop anything else *in the collector's
   process* from reading files through the store's connection (``COPY ... TO``, ``read_parquet``):
   such work must use its own DuckDB connection (e.g. an in-memory one) and fetch rows through a
   cursor or the query API. Outside the collector (``smoltrace-query`` on a file) the configuration is
   also locked.

Limits: a time limit (``conn.interrupt()`` from a timer; default 10 s), a row limit (default 10,000;
one extra row is fetched to tell whether the result was ``truncated``) and a byte limit (default
32 MiB of values). Execution streams, so a huge result is never materialised to answer a small limit.
DuckDB's memory limit is per database, not per query, and some scalar functions build one value
outside it, in a single step no interrupt reaches (``repeat``, ``lpad``, ``range`` ...): their size
arguments must be small constants (``_check_generated_size``).
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import decimal
import functools
import io
import json
import math
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import duckdb

DEFAULT_TIMEOUT_S = 10.0
DEFAULT_MAX_ROWS = 10_000
#: Bytes of values a result may hold (strings and blobs by their length, other values 8 bytes each):
#: a row limit alone let 10,000 rows of 50 KB take 2-2.5 GB of the collector's memory as CSV.
DEFAULT_MAX_BYTES = 32 * 1024 * 1024
#: Rows fetched from DuckDB at a time, so that the byte limit stops the fetch early.
FETCH_ROWS = 1_000
#: The largest row limit a client may ask for; bulk exports should page or filter beyond it.
MAX_ROW_LIMIT = 1_000_000

#: Table functions a query may call: pure generators and read-only views of DuckDB's own catalog.
#: Everything else (every reader of files or URLs, ``query``/``query_table``, ``checkpoint``, logging
#: and profiling switches, ``duckdb_secrets``, ``duckdb_settings`` ...) is refused.
ALLOWED_TABLE_FUNCTIONS = frozenset({
    "range", "generate_series", "unnest", "json_each", "json_tree", "repeat", "test_all_types",
    "duckdb_tables", "duckdb_views", "duckdb_columns", "duckdb_schemas", "duckdb_types",
    "duckdb_constraints", "duckdb_indexes", "duckdb_functions", "duckdb_keywords",
    "pragma_table_info", "table_info", "show", "show_tables", "show_tables_expanded", "summary",
})  # fmt: skip

#: Scalar functions refused even inside a SELECT, with the reason given to the client.
REFUSED_SCALAR_FUNCTIONS = {
    "nextval": "it advances a sequence (a write)",
    "setval": "it sets a sequence (a write)",
    "write_log": "it writes to DuckDB's log",
    "query": "it runs SQL text that this guard cannot check",
    "query_table": "it reads tables named at run time",
    "json_execute_serialized_sql": "it runs SQL that this guard cannot check",
}

#: Scalar functions whose result grows with one of their arguments (positions listed): that argument
#: must be a constant small enough (see ``_check_generated_size``).
SIZED_FUNCTIONS = {
    "repeat": (1,), "lpad": (1,), "rpad": (1,), "list_resize": (1,), "array_resize": (1,),
    "range": (0, 1), "generate_series": (0, 1), "printf": (), "format": (),
}  # fmt: skip
#: The largest value (bytes of a string, elements of a list) such a call may build.
MAX_GENERATED_SIZE = 1_000_000
#: Bytes assumed per element when repeat() repeats something that is not a string constant.
NON_CONSTANT_SIZE = 1_000

#: Schemas other than the store's ``main`` whose views may be read (SQL-standard catalog views).
ALLOWED_SYSTEM_SCHEMAS = frozenset({"information_schema"})

#: SHOW forms that list the catalog (``SHOW TABLES``, ``SHOW ALL TABLES``, ``SHOW DATABASES``).
ALLOWED_SHOW_SPECIAL = frozenset({'"tables"', '"all_tables"', '"databases"'})

STORE_RELATIONS_SQL = """
SELECT table_name FROM duckdb_tables()
 WHERE database_name = current_database() AND schema_name = 'main' AND NOT temporary
UNION ALL
SELECT view_name FROM duckdb_views()
 WHERE database_name = current_database() AND schema_name = 'main' AND NOT internal AND NOT temporary
"""
SYSTEM_VIEWS_SQL = "SELECT schema_name, view_name FROM duckdb_views() WHERE internal"
STORE_TABLE_MACROS_SQL = """
SELECT function_name FROM duckdb_functions()
 WHERE function_type = 'table_macro' AND database_name = current_database() AND schema_name = 'main'
   AND NOT internal
"""
SERIALIZE_SQL = "SELECT json_serialize_sql(?::VARCHAR)"
CURRENT_DATABASE_SQL = "SELECT current_database()"
BEGIN_READ_ONLY_SQL = "BEGIN TRANSACTION READ ONLY"
ROLLBACK_SQL = "ROLLBACK"
#: Database-wide, and one-way while the database is open (DuckDB refuses to re-enable them).
HARDEN_DATABASE_SQL = ("SET enable_external_access = false",)
LOCK_CONFIGURATION_SQL = "SET lock_configuration = true"
SINGLE_THREAD_SQL = "SET threads = 1"

_EXPLAIN = re.compile(r"^\s*EXPLAIN\s+(?P<inner>.*)$", re.IGNORECASE | re.DOTALL)
_EXPLAIN_ANALYZE = re.compile(r"^\s*EXPLAIN\s+ANALY[SZ]E\b", re.IGNORECASE)


class RefusedQuery(ValueError):
    """The statement is not a read-only query of the store; the message says what and why."""


class BadArgument(ValueError):
    """A request argument is wrong (unknown column, bad limit); the message says which."""


class UnknownView(BadArgument):
    """No view of that name in the store."""


class QueryTimeout(Exception):
    """The statement ran past its time limit and was interrupted."""

    def __init__(self, timeout_s: float):
        super().__init__(f"query exceeded the time limit of {timeout_s:g} s and was interrupted")
        self.timeout_s = timeout_s


# -- layer 3: the database --------------------------------------------------------------------------


def harden_database(conn: duckdb.DuckDBPyConnection, *, lock_configuration: bool = False) -> None:
    """Switch off file, network and extension access for the whole database ``conn`` belongs to.

    DuckDB has no per-connection switch for this: it holds for every connection of the database, and
    it cannot be switched back on until the database is closed. ``lock_configuration`` also freezes
    every other setting; the collector does not lock (its writer may still need settings), while a
    read-only ``smoltrace-query`` does.
    """
    for statement in HARDEN_DATABASE_SQL:
        conn.execute(statement)
    if lock_configuration:
        conn.execute(LOCK_CONFIGURATION_SQL)


def open_readonly(path) -> duckdb.DuckDBPyConnection:
    """Open a store file read-only and hardened (no external access, configuration locked)."""
    from smoltrace.store.database import connect

    conn = connect(path, read_only=True)
    # One thread, as in the collector (writer.WRITER_SETTINGS): the same plan then sums floats in the same
    # order, so a number read from the file equals the one the query API gives, to the last bit.
    conn.execute(SINGLE_THREAD_SQL)
    harden_database(conn, lock_configuration=True)
    return conn


# -- layers 1 and 2: the statement ------------------------------------------------------------------


class _Catalog:
    """The names a query may read, looked up lazily on the connection that will run it (listing
    functions costs ~100 ms, so it happens only for a query that calls an unlisted table function)."""

    def __init__(self, conn: duckdb.DuckDBPyConnection):
        self._conn = conn

    @functools.cached_property
    def relations(self) -> set[str]:
        return {row[0].lower() for row in self._conn.execute(STORE_RELATIONS_SQL).fetchall()}

    @functools.cached_property
    def system_relations(self) -> set[tuple[str, str]]:
        return {(s.lower(), v.lower()) for s, v in self._conn.execute(SYSTEM_VIEWS_SQL).fetchall()}

    @functools.cached_property
    def table_macros(self) -> set[str]:
        return {row[0].lower() for row in self._conn.execute(STORE_TABLE_MACROS_SQL).fetchall()}

    @functools.cached_property
    def database(self) -> str:
        return self._conn.execute(CURRENT_DATABASE_SQL).fetchone()[0].lower()


def check_query(conn: duckdb.DuckDBPyConnection, sql: str) -> str:
    """Return the one statement in ``sql`` if it only reads the store; raise RefusedQuery otherwise.

    A syntax error is raised as DuckDB's own ``duckdb.ParserException``.
    """
    if not isinstance(sql, str) or not sql.strip():
        raise RefusedQuery("no SQL given")
    statements = conn.extract_statements(sql)
    if len(statements) != 1:
        raise RefusedQuery(f"exactly one statement is allowed, got {len(statements)}: send one SELECT per request")
    statement = statements[0]
    inner = statement
    if statement.type == duckdb.StatementType.EXPLAIN:
        if _EXPLAIN_ANALYZE.match(statement.query):
            raise RefusedQuery("EXPLAIN ANALYZE is not allowed: it runs the statement it explains")
        match = _EXPLAIN.match(statement.query)
        inner_statements = conn.extract_statements(match.group("inner")) if match else []
        if len(inner_statements) != 1:
            raise RefusedQuery("only EXPLAIN <SELECT statement> is allowed")
        inner = inner_statements[0]
    if inner.type != duckdb.StatementType.SELECT:
        kind = inner.type.name
        raise RefusedQuery(
            f"{kind} statements are not allowed: the query API is read-only and accepts only SELECT "
            f"(WITH, VALUES, DESCRIBE, SUMMARIZE, SHOW) or EXPLAIN of one"
        )
    tree = json.loads(conn.execute(SERIALIZE_SQL, [inner.query]).fetchone()[0])
    if tree.get("error"):
        raise RefusedQuery(f"statement could not be analysed: {tree.get('error_message', 'unknown error')}")
    _TreeCheck(_Catalog(conn)).visit(tree["statements"], scope=frozenset())
    return statement.query


class _TreeCheck:
    """Walks DuckDB's serialised parse tree and refuses anything that reads outside the store."""

    def __init__(self, catalog: _Catalog):
        self.catalog = catalog

    def visit(self, node: Any, scope: frozenset[str]) -> None:
        if isinstance(node, list):
            for item in node:
                self.visit(item, scope)
            return
        if not isinstance(node, dict):
            return
        cte_map = node.get("cte_map")
        if isinstance(cte_map, dict) and cte_map.get("map"):
            scope = self._visit_ctes(cte_map["map"], scope)
        node_type = node.get("type")
        if node_type == "BASE_TABLE":
            self._check_relation(node.get("catalog_name", ""), node.get("schema_name", ""), node["table_name"], scope)
        elif node_type == "SHOW_REF" and node.get("query") is None:
            self._check_show(node, scope)
        elif node_type == "TABLE_FUNCTION":
            function = node.get("function") or {}
            self._check_table_function(function)
            self.visit(function.get("arguments", []), scope)
            self.visit([value for key, value in node.items() if key != "function"], scope)
            return
        elif node.get("class") == "FUNCTION":
            self._check_scalar_function(node)
        for key, value in node.items():
            if key != "cte_map" and isinstance(value, (dict, list)):
                self.visit(value, scope)

    def _visit_ctes(self, entries: list, scope: frozenset[str]) -> frozenset[str]:
        """A CTE sees the CTEs defined before it and itself (WITH RECURSIVE), never later ones."""
        for entry in entries:
            name = str(entry["key"]).lower()
            scope = scope | {name}
            self.visit(entry.get("value"), scope)
        return scope

    def _check_relation(self, catalog: str, schema: str, name: str, scope: frozenset[str]) -> None:
        catalog, schema, lowered = catalog.lower(), schema.lower(), name.lower()
        if not catalog and not schema and lowered in scope:
            return
        if schema in ALLOWED_SYSTEM_SCHEMAS and catalog in ("", "system"):
            if (schema, lowered) in self.catalog.system_relations:
                return
        in_store = catalog in ("", self.catalog.database) and (
            schema in ("", "main") or (not catalog and schema == self.catalog.database)
        )
        if in_store and lowered in self.catalog.relations:
            return
        qualified = ".".join(part for part in (catalog, schema, name) if part)
        raise RefusedQuery(
            f"relation {qualified!r} is not allowed: only the store's tables and views can be read "
            f"(files, URLs and other databases cannot)"
        )

    def _check_show(self, node: dict, scope: frozenset[str]) -> None:
        name = node.get("table_name", "")
        if node.get("show_type") == "SHOW_SPECIAL":
            if name.lower() in ALLOWED_SHOW_SPECIAL:
                return
            raise RefusedQuery(f"SHOW {name} is not allowed")
        self._check_relation(node.get("catalog_name", ""), node.get("schema_name", ""), name, scope)

    def _check_table_function(self, function: dict) -> None:
        name = str(function.get("function_name", "")).lower()
        catalog, schema = str(function.get("catalog", "")).lower(), str(function.get("schema", "")).lower()
        if not catalog and not schema and name in ALLOWED_TABLE_FUNCTIONS:
            return
        if schema in ("", "main") and name in self.catalog.table_macros and catalog in ("", self.catalog.database):
            return
        raise RefusedQuery(
            f"table function {name!r} is not allowed: only generators (range, generate_series, unnest, "
            f"json_each, json_tree), DuckDB catalog functions and the store's table macros may be called, "
            f"never one that reads files, URLs or database state"
        )

    def _check_scalar_function(self, function: dict) -> None:
        name = str(function.get("function_name", "")).lower()
        if name in REFUSED_SCALAR_FUNCTIONS:
            raise RefusedQuery(f"function {name!r} is not allowed: {REFUSED_SCALAR_FUNCTIONS[name]}")
        if name in SIZED_FUNCTIONS:
            _check_generated_size(name, [argument.get("expression") for argument in function.get("arguments", [])])


def _literal(expression) -> tuple[str, str] | None:
    """(kind, text) of a constant in the parse tree (``-5`` included), else None."""
    if isinstance(expression, dict) and expression.get("class") == "CONSTANT":
        literal = expression.get("literal") or {}
        return str(literal.get("kind", "")), str(literal.get("text", ""))
    return None


def _check_generated_size(name: str, arguments: list) -> None:
    """Refuse a call that could build one value larger than MAX_GENERATED_SIZE: DuckDB builds such a
    value in one piece, outside its memory limit and out of reach of the time limit (``SELECT
    repeat('x', 2000000000)`` took 4 GB and 13 s of RSS and CPU before it could be interrupted)."""
    positions = SIZED_FUNCTIONS[name]
    if name in ("printf", "format"):  # the width is in the format string: '%2000000000d'
        form = _literal(arguments[0]) if arguments else None
        if not form or form[0] != "STRING" or any(int(d) > MAX_GENERATED_SIZE for d in re.findall(r"\d+", form[1])):
            raise RefusedQuery(
                f"{name}(): the format must be a string constant whose widths keep the result within "
                f"{MAX_GENERATED_SIZE:,} bytes"
            )
    factor = 1
    if name == "repeat" and arguments:
        first = _literal(arguments[0])
        factor = max(1, len(first[1])) if first and first[0] == "STRING" else NON_CONSTANT_SIZE
    for position in positions:
        if position >= len(arguments):
            continue
        literal = _literal(arguments[position])
        try:
            value = abs(int(literal[1])) if literal and literal[0] == "INTEGER" else None
        except ValueError:
            value = None
        if value is None or value * factor > MAX_GENERATED_SIZE:
            raise RefusedQuery(
                f"{name}(): its size argument must be a whole-number constant that keeps the result "
                f"within {MAX_GENERATED_SIZE:,} elements or bytes (a larger value would be built outside "
                f"the query's memory and time limits)"
            )


@dataclass
class Column:
    name: str
    type: str


# -- named views ----------------------------------------------------------------------------------

LIST_VIEWS_SQL = """
SELECT v.view_name, c.column_name, c.data_type
  FROM duckdb_views() v
  JOIN duckdb_columns() c
    ON c.database_name = v.database_name AND c.schema_name = v.schema_name AND c.table_name = v.view_name
 WHERE v.database_name = current_database() AND v.schema_name = 'main' AND NOT v.internal AND NOT v.temporary
 ORDER BY v.view_name, c.column_index
"""
VIEW_ROWS_SQL = "SELECT * FROM main.{view}{where}{order_by}"

_ORDER_ITEM = re.compile(r"^(?P<minus>-)?(?P<column>\S+?)(?:\s+(?P<direction>asc|desc))?$", re.IGNORECASE)


def quote_identifier(name: str) -> str:
    """``name`` as a DuckDB quoted identifier (only ever applied to names read from the catalog)."""
    return '"' + name.replace('"', '""') + '"'


def list_views(conn: duckdb.DuckDBPyConnection) -> dict[str, list[Column]]:
    """The store's named views (``main`` schema) and their columns, in column order."""
    views: dict[str, list[Column]] = {}
    for view, column, data_type in conn.execute(LIST_VIEWS_SQL).fetchall():
        views.setdefault(view, []).append(Column(column, data_type))
    return views


def view_query(
    views: dict[str, list[Column]], name: str, filters: Iterable[tuple[str, str]] = (), order_by: str | None = None
) -> tuple[str, list]:
    """``SELECT`` of view ``name`` with ``column = value`` filters (a repeated column means IN) and
    ``order_by`` (``col``, ``-col`` or ``col desc``, comma-separated).

    Every name is checked against the view's columns from the catalog and quoted; every value is a
    bound parameter, so nothing the client sends becomes SQL text.
    """
    lowered = {view.lower(): view for view in views}
    if name.lower() not in lowered:
        raise UnknownView(f"no view named {name!r}; views: {', '.join(sorted(views)) or '(none)'}")
    view = lowered[name.lower()]
    columns = {column.name.lower(): column.name for column in views[view]}
    known = ", ".join(columns.values())
    grouped: dict[str, list[str]] = {}
    for key, value in filters:
        if key.lower() not in columns:
            raise BadArgument(f"unknown column {key!r} in filter; {view} has: {known}")
        grouped.setdefault(columns[key.lower()], []).append(value)
    clauses, params = [], []
    for column, values in grouped.items():
        placeholder = "= ?" if len(values) == 1 else f"IN ({', '.join('?' for _ in values)})"
        clauses.append(f"{quote_identifier(column)} {placeholder}")
        params.extend(values)
    order_items = []
    for item in (order_by or "").split(","):
        if not item.strip():
            continue
        match = _ORDER_ITEM.match(item.strip())
        column = match.group("column") if match else item.strip()
        if not match or column.lower() not in columns:
            raise BadArgument(f"order_by: unknown column {column!r}; {view} has: {known}")
        descending = bool(match.group("minus")) or (match.group("direction") or "").lower() == "desc"
        order_items.append(f"{quote_identifier(columns[column.lower()])} {'DESC' if descending else 'ASC'}")
    sql = VIEW_ROWS_SQL.format(
        view=quote_identifier(view),
        where=f" WHERE {' AND '.join(clauses)}" if clauses else "",
        order_by=f" ORDER BY {', '.join(order_items)}" if order_items else "",
    )
    return sql, params


# -- running --------------------------------------------------------------------------------------


@dataclass
class QueryResult:
    """Rows as DuckDB's Python values (``rows``) or as an Arrow table (``arrow``), never both."""

    columns: list[Column]
    rows: list[tuple] | None
    truncated: bool
    elapsed_ms: float
    arrow: Any = None
    converters: list[Callable] = field(default_factory=list, repr=False)

    @property
    def row_count(self) -> int:
        return self.arrow.num_rows if self.arrow is not None else len(self.rows)

    def json_rows(self) -> list[list]:
        """Rows with JSON-safe values (see ``json_safe``), JSON columns parsed."""
        return [[convert(value) for convert, value in zip(self.converters, row)] for row in self.rows]

    def to_objects(self) -> list[dict]:
        """Rows as JSON objects keyed by column name (the query API's ``format=objects``)."""
        names = [c.name for c in self.columns]
        return [dict(zip(names, row)) for row in self.json_rows()]

    def to_json(self) -> dict:
        """The query API's JSON body."""
        return {
            "columns": [{"name": c.name, "type": c.type} for c in self.columns],
            "rows": self.json_rows(),
            "row_count": self.row_count,
            "truncated": self.truncated,
            "elapsed_ms": round(self.elapsed_ms, 3),
        }


def _normalise_params(params) -> list | dict | None:
    if params is None or params == [] or params == {}:
        return None
    if isinstance(params, (list, tuple)):
        return list(params)
    if isinstance(params, dict):
        return {str(key).lstrip("$"): value for key, value in params.items()}
    raise BadArgument("params must be a list (for ? or $1 placeholders) or an object (for $name placeholders)")


def run_readonly(
    conn: duckdb.DuckDBPyConnection,
    sql: str,
    params=None,
    *,
    max_rows: int = DEFAULT_MAX_ROWS,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    as_arrow: bool = False,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> QueryResult:
    """Check ``sql`` and run it on ``conn`` (a connection of its own) read-only, within the limits.

    ``conn`` must not be shared with other threads: a timeout interrupts whatever it is running.
    Raises RefusedQuery, QueryTimeout, or DuckDB's own error (syntax, unknown column, bad parameter).
    """
    if max_rows < 0:
        raise BadArgument("limit must be zero or more")
    max_rows = min(max_rows, MAX_ROW_LIMIT)
    started = time.perf_counter()
    statement = check_query(conn, sql)
    params = _normalise_params(params)
    timer = _Interrupter(conn, timeout_s)
    conn.execute(BEGIN_READ_ONLY_SQL)
    try:
        timer.start()
        try:
            if as_arrow:
                relation = conn.sql(statement, params=params)
                columns = [Column(name, str(kind)) for name, kind in zip(relation.columns, relation.types)]
                table, truncated = _fetch_arrow(relation, max_rows, max_bytes)
                rows, converters = None, []
            else:
                result = conn.execute(statement, params) if params is not None else conn.execute(statement)
                columns = [Column(d[0], str(d[1])) for d in result.description]
                rows, truncated = _fetch_rows(result, max_rows, max_bytes)
                table, converters = None, [value_converter(d[1]) for d in result.description]
        except duckdb.InterruptException:
            if timer.fired:
                raise QueryTimeout(timeout_s) from None
            raise
        finally:
            timer.finish()
    finally:
        try:
            conn.execute(ROLLBACK_SQL)
        except duckdb.Error:  # the transaction was already rolled back by a failed statement
            pass
    elapsed_ms = (time.perf_counter() - started) * 1000
    return QueryResult(columns, rows, truncated, elapsed_ms, arrow=table, converters=converters)


def _fetch_rows(result, max_rows: int, max_bytes: int) -> tuple[list[tuple], bool]:
    """Rows in chunks until one row past ``max_rows`` or ``max_bytes`` of values: execution streams,
    so the rest is never computed; returns (rows, truncated)."""
    rows: list[tuple] = []
    size = 0
    while len(rows) <= max_rows:
        chunk = result.fetchmany(min(FETCH_ROWS, max_rows + 1 - len(rows)))
        if not chunk:
            return rows, False
        for row in chunk:
            size += _value_bytes(row)
            if size > max_bytes:
                return rows, True
            rows.append(row)
    return rows[:max_rows], True


def _value_bytes(value: Any) -> int:
    """What a value costs against the byte limit: strings and blobs their length, others 8 bytes."""
    if isinstance(value, (str, bytes, bytearray)):
        return len(value)
    if isinstance(value, (tuple, list)):
        return sum(_value_bytes(item) for item in value) + 8
    if isinstance(value, dict):
        return sum(_value_bytes(key) + _value_bytes(item) for key, item in value.items()) + 8
    return 8


def _fetch_arrow(relation: duckdb.DuckDBPyRelation, max_rows: int, max_bytes: int = DEFAULT_MAX_BYTES):
    """Record batches until one row past the limit or ``max_bytes`` of Arrow buffers: execution
    streams, so the rest is never computed."""
    import pyarrow as pa

    reader = relation.to_arrow_reader(min(max(max_rows + 1, 1), FETCH_ROWS))
    batches, count, size, over_bytes = [], 0, 0, False
    for batch in reader:
        if size + batch.nbytes > max_bytes:  # keep the rows of this batch that still fit
            fits = 0
            while fits < batch.num_rows and size + batch.slice(0, fits + 1).nbytes <= max_bytes:
                fits += 1
            batches.append(batch.slice(0, fits))
            count += fits
            over_bytes = True
            break
        batches.append(batch)
        count += batch.num_rows
        size += batch.nbytes
        if count > max_rows:
            break
    table = pa.Table.from_batches(batches, schema=reader.schema)
    truncated = over_bytes or table.num_rows > max_rows
    return table.slice(0, max_rows), truncated


class _Interrupter:
    """Interrupts ``conn`` after ``timeout_s`` unless finished first (never after: see ``finish``)."""

    def __init__(self, conn: duckdb.DuckDBPyConnection, timeout_s: float):
        self.conn, self.timeout_s = conn, timeout_s
        self.fired = False
        self._done = False
        self._lock = threading.Lock()
        self._timer = threading.Timer(timeout_s, self._fire)
        self._timer.daemon = True

    def start(self) -> None:
        self._timer.start()

    def _fire(self) -> None:
        with self._lock:
            if not self._done:
                self.fired = True
                self.conn.interrupt()

    def finish(self) -> None:
        with self._lock:
            self._done = True
        self._timer.cancel()


# -- JSON-safe values -----------------------------------------------------------------------------


def json_safe(value: Any) -> Any:
    """A DuckDB Python value as a JSON value.

    Timestamps, dates and times: ISO 8601 strings (with offset when the type has a time zone);
    intervals: ISO 8601 durations (``P3DT7200S``); decimals: numbers; huge integers: numbers
    (exact in JSON, though JavaScript clients lose precision beyond 2**53); NaN and infinities: the
    strings ``"NaN"``, ``"Infinity"``, ``"-Infinity"`` (as the store keeps them in attributes); bytes:
    base64 strings; UUIDs: strings; lists and structs: arrays and objects; maps: objects with string keys.
    """
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        return value
    if isinstance(value, decimal.Decimal):
        if not value.is_finite():
            return json_safe(float(value))
        return int(value) if value == value.to_integral_value() and value.as_tuple().exponent >= 0 else float(value)
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return _iso_duration(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, dict):
        return {_json_key(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return str(value)


def _json_key(key: Any) -> str:
    safe = json_safe(key)
    return safe if isinstance(safe, str) else json.dumps(safe)


def _iso_duration(value: dt.timedelta) -> str:
    sign = "-" if value < dt.timedelta(0) else ""
    value = abs(value)
    seconds = value.seconds + value.microseconds / 1_000_000
    text = f"{seconds:.6f}".rstrip("0").rstrip(".")
    return f"{sign}P{value.days}DT{text}S"


def _parse_json(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return json_safe(value)


def value_converter(duckdb_type) -> Callable[[Any], Any]:
    """A function turning one value of ``duckdb_type`` (a DuckDBPyType) into a JSON-safe value.

    Directed by the type so that JSON columns, also nested in lists, structs and maps (the store's
    ``Events[].Attributes``), come back as JSON values rather than strings holding JSON.
    """
    if str(duckdb_type) == "JSON":
        return _parse_json
    kind = duckdb_type.id
    if kind in ("list", "array"):
        child = value_converter(duckdb_type.children[0][1])
        return lambda v: None if v is None else [child(item) for item in v]
    if kind == "struct":
        fields = {name: value_converter(child) for name, child in duckdb_type.children}
        return lambda v: None if v is None else {k: fields.get(k, json_safe)(item) for k, item in v.items()}
    if kind == "map":
        value_of = value_converter(duckdb_type.children[1][1])
        return lambda v: None if v is None else {_json_key(k): value_of(item) for k, item in v.items()}
    return json_safe


# -- text renderings (CSV and the CLI's table) --------------------------------------------------


def text_cell(value: Any) -> str:
    """One JSON-safe value as CSV/table text: NULL empty, booleans lowercase, nested values as JSON."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return str(value)


def to_csv(column_names: Sequence[str], json_rows: Iterable[Sequence], line_end: str = "\r\n") -> str:
    """CSV with a header line of JSON-safe rows (RFC 4180 ``\\r\\n`` line ends unless told)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator=line_end)
    writer.writerow(column_names)
    for row in json_rows:
        writer.writerow([text_cell(value) for value in row])
    return buffer.getvalue()
