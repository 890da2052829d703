"""The collector's read-only query API, over real HTTP, on a store seeded by the real OTel SDK."""

from __future__ import annotations

import threading
import time

import duckdb
import httpx
import pyarrow as pa
import pytest

from smoltrace.store import readonly

from .seeding import SEEDED_SPANS, TEST_VIEW_SQL, TOKEN, send_spans

SPANS_SQL = (
    'SELECT "Timestamp", "TraceId", "SpanId", "ParentSpanId", "SpanName", "Duration", "SpanAttributes" '
    'FROM otel_traces ORDER BY "Timestamp"'
)
SPANS_COLUMNS = [
    {"name": "Timestamp", "type": "TIMESTAMP_NS"},
    {"name": "TraceId", "type": "VARCHAR"},
    {"name": "SpanId", "type": "VARCHAR"},
    {"name": "ParentSpanId", "type": "VARCHAR"},
    {"name": "SpanName", "type": "VARCHAR"},
    {"name": "Duration", "type": "BIGINT"},
    {"name": "SpanAttributes", "type": "JSON"},
]
TRACE = "0000000000000000000000000000000{}"
SPAN = "000000000000000{}"
SPANS_ROWS = [
    ["2024-05-01T12:00:00", TRACE.format(1), SPAN.format(1), "", "smoltrace.task", 30_000_000,
     {"smoltrace.task.id": "t1", "smoltrace.run.id": "run-a"}],
    ["2024-05-01T12:00:01", TRACE.format(1), SPAN.format(2), SPAN.format(1), "llm", 10_000_000,
     {"smoltrace.task.id": "t1", "smoltrace.run.id": "run-a"}],
    ["2024-05-01T12:00:02", TRACE.format(2), SPAN.format(3), "", "smoltrace.task", 50_000_000,
     {"smoltrace.task.id": "t2", "smoltrace.run.id": "run-a"}],
    ["2024-05-01T12:00:03", TRACE.format(3), SPAN.format(4), "", "smoltrace.task", 20_000_000,
     {"smoltrace.task.id": "t3", "smoltrace.run.id": "run-b"}],
]  # fmt: skip
SLOW_SQL = "SELECT count(*) FROM range(100000000) a, range(100000000) b WHERE a.range + b.range = -1"
SPAN_COUNT_SQL = "SELECT count(*) FROM otel_traces"
#: Rows, tables, views, attached databases and the external-access setting, in one look.
STORE_STATE_SQL = """
SELECT (SELECT count(*) FROM otel_traces),
       (SELECT list(table_name ORDER BY table_name) FROM duckdb_tables() WHERE schema_name = 'main'),
       (SELECT list(view_name) FROM duckdb_views() WHERE view_name = 'test_task_spans'),
       (SELECT list(database_name ORDER BY database_name) FROM duckdb_databases() WHERE NOT internal),
       current_setting('enable_external_access')
"""


def post(collector, body, **kwargs) -> httpx.Response:
    return httpx.post(f"{collector.http_endpoint}/api/query", json=body, timeout=30, **kwargs)


def get(collector, path, params=None, **kwargs) -> httpx.Response:
    return httpx.get(f"{collector.http_endpoint}{path}", params=params, timeout=30, **kwargs)


def direct(collector, sql):
    """Read the store directly (not through the API), to check what the API did or did not do."""
    cursor = collector.reader()
    try:
        return cursor.execute(sql).fetchall()
    finally:
        cursor.close()


# -- results ----------------------------------------------------------------------------------------


def test_post_returns_exact_columns_and_rows(shared_collector):
    response = post(shared_collector, {"sql": SPANS_SQL})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["columns"] == SPANS_COLUMNS
    assert body["rows"] == SPANS_ROWS
    assert body["row_count"] == 4
    assert body["truncated"] is False
    assert isinstance(body["elapsed_ms"], float) and body["elapsed_ms"] >= 0


def test_get_with_query_string(shared_collector):
    response = get(shared_collector, "/api/query", {"sql": SPANS_SQL})
    assert response.status_code == 200, response.text
    assert response.json()["rows"] == SPANS_ROWS


def test_plain_text_body_is_the_sql(shared_collector):
    response = httpx.post(
        f"{shared_collector.http_endpoint}/api/query?limit=1",
        content=b"SELECT 41 + 1 AS answer",
        headers={"content-type": "text/plain"},
    )
    assert response.json()["rows"] == [[42]]


def test_positional_and_named_parameters(shared_collector):
    sql = (
        "SELECT \"SpanAttributes\"->>'smoltrace.task.id' AS task FROM otel_traces "
        'WHERE "SpanName" = ? AND "Duration" > ? ORDER BY 1'
    )
    body = post(shared_collector, {"sql": sql, "params": ["smoltrace.task", 25_000_000]}).json()
    assert body["rows"] == [["t1"], ["t2"]]

    sql = "SELECT count(*) AS n FROM otel_traces WHERE \"SpanAttributes\"->>'smoltrace.run.id' = $run"
    assert post(shared_collector, {"sql": sql, "params": {"run": "run-b"}}).json()["rows"] == [[1]]
    # from a query string, params are JSON text
    response = get(shared_collector, "/api/query", {"sql": sql, "params": '{"run": "run-a"}'})
    assert response.json()["rows"] == [[3]]


def test_parameters_are_values_never_sql(shared_collector):
    sql = 'SELECT count(*) FROM otel_traces WHERE "SpanName" = ?'
    body = post(shared_collector, {"sql": sql, "params": ["x' OR '1'='1"]}).json()
    assert body["rows"] == [[0]]


def test_row_limit_reports_truncated(shared_collector):
    body = post(shared_collector, {"sql": SPANS_SQL, "limit": 2}).json()
    assert body["rows"] == SPANS_ROWS[:2]
    assert (body["row_count"], body["truncated"]) == (2, True)

    body = post(shared_collector, {"sql": SPANS_SQL, "limit": 4}).json()
    assert (body["row_count"], body["truncated"]) == (4, False)

    body = post(shared_collector, {"sql": "SELECT * FROM range(10001)"}).json()  # default limit 10,000
    assert (body["row_count"], body["truncated"]) == (10_000, True)
    assert body["rows"][-1] == [9_999]


def test_json_safe_values(shared_collector):
    sql = """
    SELECT 1.25::DECIMAL(10, 2) AS dec, 'ab'::BLOB AS blob, 'NaN'::DOUBLE AS nan, '-inf'::DOUBLE AS ninf,
           TIMESTAMPTZ '2024-05-01 12:00:00+00' AS tstz, DATE '2024-05-01' AS day,
           INTERVAL 90 MINUTE AS span, '00000000-0000-0000-0000-000000000001'::UUID AS id,
           [1, 2] AS list, {'a': 1, 'b': 'x'} AS struct, MAP {'k': 1} AS map,
           '{"x": [1, {"y": null}]}'::JSON AS doc, [{'j': '{"n": 2}'::JSON}] AS nested_json,
           NULL AS nothing, true AS yes, 170141183460469231731687303715884105727::HUGEINT AS huge
    """
    body = post(shared_collector, {"sql": sql}).json()
    assert body["rows"] == [[
        1.25, "YWI=", "NaN", "-Infinity",
        "2024-05-01T12:00:00+00:00", "2024-05-01",
        "P0DT5400S", "00000000-0000-0000-0000-000000000001",
        [1, 2], {"a": 1, "b": "x"}, {"k": 1},
        {"x": [1, {"y": None}]}, [{"j": {"n": 2}}],
        None, True, 170141183460469231731687303715884105727,
    ]]  # fmt: skip


def test_csv_format(shared_collector):
    sql = "SELECT task_id, duration_ms, run_id FROM test_task_spans ORDER BY task_id"
    response = post(shared_collector, {"sql": sql, "format": "csv", "limit": 2})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert response.text == "task_id,duration_ms,run_id\r\nt1,30,run-a\r\nt2,50,run-a\r\n"
    assert response.headers["x-smoltrace-row-count"] == "2"
    assert response.headers["x-smoltrace-truncated"] == "true"


def test_arrow_format(shared_collector):
    sql = 'SELECT "SpanName", "Duration", "Timestamp" FROM otel_traces ORDER BY "Timestamp"'
    response = post(shared_collector, {"sql": sql, "format": "arrow", "limit": 3})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/vnd.apache.arrow.stream"
    table = pa.ipc.open_stream(response.content).read_all()
    assert table.column_names == ["SpanName", "Duration", "Timestamp"]
    assert table.column("SpanName").to_pylist() == ["smoltrace.task", "llm", "smoltrace.task"]
    assert table.column("Duration").to_pylist() == [30_000_000, 10_000_000, 50_000_000]
    assert table.schema.field("Timestamp").type == pa.timestamp("ns")
    assert table.column("Timestamp").cast(pa.int64()).to_pylist()[0] == 1_714_564_800_000_000_000
    assert response.headers["x-smoltrace-truncated"] == "true"


# -- errors -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"sql": "SELECT nope FROM otel_traces"}, "Binder Error"),
        ({"sql": "SELEC 1"}, "Parser Error"),
        ({"sql": "SELECT ?", "params": []}, "parameter"),
        ({"sql": ""}, "no SQL given"),
        ({}, "no SQL given"),
        ({"sql": "SELECT 1", "format": "xml"}, "format must be one of json, csv, arrow"),
        ({"sql": "SELECT 1", "limit": "lots"}, "limit must be an integer"),
        ({"sql": "SELECT 1", "params": 5}, "params must be a list"),
    ],
)
def test_bad_requests_are_400_with_a_message(shared_collector, body, fragment):
    response = post(shared_collector, body)
    assert response.status_code == 400, response.text
    assert fragment.lower() in response.json()["error"].lower()


def test_body_that_is_not_json(shared_collector):
    response = httpx.post(
        f"{shared_collector.http_endpoint}/api/query",
        content=b"{not json",
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 400
    assert "not valid JSON" in response.json()["error"]


@pytest.mark.parametrize("fmt", ["json", "csv", "arrow"])
def test_timeout_interrupts_the_query(shared_collector, fmt):
    started = time.monotonic()
    response = post(shared_collector, {"sql": SLOW_SQL, "timeout_s": 0.5, "format": fmt})
    elapsed = time.monotonic() - started
    assert response.status_code == 408, response.text
    assert response.json()["error"] == "query exceeded the time limit of 0.5 s and was interrupted"
    assert elapsed < 5
    # the collector goes on answering, and the interrupt did not leak into the next query
    assert post(shared_collector, {"sql": SPAN_COUNT_SQL}).json()["rows"] == [[4]]


def test_a_client_cannot_raise_the_time_limit_above_the_servers(shared_collector):
    response = post(shared_collector, {"sql": "SELECT 1", "timeout_s": 3600})
    assert response.status_code == 200  # accepted, but capped at the server's limit (10 s)


def test_slow_query_does_not_block_other_requests(shared_collector):
    slow: dict = {}

    def run_slow():
        slow["response"] = post(shared_collector, {"sql": SLOW_SQL, "timeout_s": 1.5})
        slow["finished"] = time.monotonic()

    thread = threading.Thread(target=run_slow)
    thread.start()
    time.sleep(0.2)
    assert post(shared_collector, {"sql": SPAN_COUNT_SQL}).json()["rows"] == [[4]]
    assert get(shared_collector, "/health").status_code == 200
    answered = time.monotonic()
    thread.join(30)
    assert slow["response"].status_code == 408
    assert answered < slow["finished"]  # the quick query and the health check did not wait for the slow one


# -- read-only, for real ---------------------------------------------------------------------------

HOSTILE = [
    "INSERT INTO otel_traces SELECT * FROM otel_traces",
    "UPDATE otel_traces SET \"SpanName\" = 'x'",
    "DELETE FROM otel_traces",
    "DROP TABLE otel_traces",
    "DROP VIEW test_task_spans",
    "CREATE TABLE stolen AS SELECT * FROM otel_traces",
    "CREATE VIEW v AS SELECT 1",
    "CREATE MACRO m() AS 1",
    "ALTER TABLE otel_traces ADD COLUMN x INTEGER",
    "TRUNCATE otel_traces",
    "ATTACH '{tmp}/attached.duckdb' AS other",
    "ATTACH ':memory:' AS other",
    "DETACH s",
    "USE memory",
    "COPY otel_traces TO '{tmp}/copied.csv'",
    "COPY (SELECT 1) TO '{tmp}/copied.parquet' (FORMAT parquet)",
    "COPY otel_traces FROM '/etc/passwd'",
    "EXPORT DATABASE '{tmp}/exported'",
    "IMPORT DATABASE '{tmp}/exported'",
    "INSTALL httpfs",
    "LOAD httpfs",
    "FORCE INSTALL httpfs",
    "SELECT * FROM read_csv('/etc/passwd')",
    "SELECT * FROM read_csv_auto('/etc/passwd')",
    "SELECT * FROM read_parquet('{tmp}/x.parquet')",
    "SELECT * FROM read_json('/etc/passwd')",
    "SELECT * FROM read_text('/etc/passwd')",
    "SELECT * FROM read_blob('/etc/passwd')",
    "SELECT * FROM glob('/etc/*')",
    "SELECT * FROM sniff_csv('/etc/passwd')",
    "SELECT * FROM '/etc/passwd'",
    "SELECT * FROM 'https://example.com/data.csv'",
    "SELECT * FROM otel_traces, '/etc/passwd'",
    "SELECT (SELECT count(*) FROM read_text('/etc/passwd'))",
    "SELECT * FROM otel_traces WHERE \"SpanName\" IN (SELECT content FROM read_text('/etc/passwd'))",
    "WITH p AS (SELECT * FROM read_csv('/etc/passwd')) SELECT * FROM p",
    "SELECT * FROM (WITH \"/etc/passwd\" AS (SELECT 1) SELECT 1), '/etc/passwd'",
    "DESCRIBE '/etc/passwd'",
    "SUMMARIZE SELECT * FROM read_csv('/etc/passwd')",
    "SHOW '/etc/passwd'",
    "SELECT * FROM query('DROP TABLE otel_traces')",
    "SELECT * FROM checkpoint()",
    "SELECT * FROM duckdb_secrets()",
    "SELECT * FROM duckdb_settings()",
    "SELECT nextval('seq')",
    "SELECT * FROM other_db.main.t",
    "SET enable_external_access = true",
    "SET threads = 1",
    "RESET threads",
    "PRAGMA enable_profiling",
    "PRAGMA table_info('otel_traces')",
    "CALL pragma_version()",
    "CALL checkpoint()",
    "CHECKPOINT",
    "FORCE CHECKPOINT",
    "VACUUM",
    "BEGIN TRANSACTION",
    "COMMIT",
    "PREPARE p AS SELECT 1",
    "SELECT 1; DROP TABLE otel_traces",
    "SELECT 1; SELECT 2",
    "EXPLAIN ANALYZE DELETE FROM otel_traces",
    "EXPLAIN ANALYZE SELECT 1",
    "EXPLAIN DELETE FROM otel_traces",
    'PIVOT otel_traces ON "SpanName"',
]


@pytest.fixture(scope="module")
def store_state(shared_collector):
    """The shared store's state before any hostile statement was sent."""
    state = direct(shared_collector, STORE_STATE_SQL)
    spans, tables, views, databases, external_access = state[0]
    assert spans == len(SEEDED_SPANS) and "otel_traces" in tables and views == ["test_task_spans"]
    assert databases == ["s"] and external_access is False
    return state


@pytest.mark.parametrize("statement", HOSTILE)
def test_hostile_statements_are_refused_and_the_store_is_intact(shared_collector, store_state, tmp_path, statement):
    sql = statement.format(tmp=tmp_path)
    method = "GET" if len(sql) % 2 else "POST"  # both ways in, half each
    if method == "GET":
        response = get(shared_collector, "/api/query", {"sql": sql})
    else:
        response = post(shared_collector, {"sql": sql})
    assert response.status_code == 400, f"{sql!r} was not refused: {response.text}"
    error = response.json()["error"]
    assert error.startswith("refused: "), error
    assert "root:" not in response.text  # nothing of /etc/passwd came back
    # the store is intact, nothing was written next to it
    assert direct(shared_collector, STORE_STATE_SQL) == store_state
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(("attached", "copied", "exported"))]


def test_refusals_name_what_and_why(shared_collector):
    cases = {
        "DROP TABLE otel_traces": "DROP statements are not allowed",
        "SELECT 1; DROP TABLE otel_traces": "exactly one statement is allowed, got 2",
        "SELECT * FROM read_csv('/etc/passwd')": "table function 'read_csv' is not allowed",
        "SELECT * FROM '/etc/passwd'": "relation '/etc/passwd' is not allowed",
        "CHECKPOINT": "CALL statements are not allowed",
        "SELECT nextval('s')": "function 'nextval' is not allowed",
    }
    for sql, message in cases.items():
        assert message in post(shared_collector, {"sql": sql}).json()["error"]


@pytest.mark.parametrize(
    "sql",
    [
        "WITH t AS (SELECT 1 AS x) SELECT * FROM t",
        "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 3) SELECT * FROM r",
        "FROM otel_traces SELECT count(*)",
        "VALUES (1, 'a')",
        "SELECT * FROM range(3)",
        "SELECT * FROM main.otel_traces",
        "SELECT * FROM s.main.otel_traces",
        "SELECT * FROM information_schema.tables",
        "SELECT * FROM duckdb_columns() WHERE table_name = 'otel_traces'",
        "DESCRIBE otel_traces",
        "SUMMARIZE test_task_spans",
        "SHOW TABLES",
        "EXPLAIN SELECT * FROM otel_traces",
        "SELECT unnest([1, 2])",
        "SELECT * FROM test_task_spans t JOIN otel_traces o ON o.\"SpanAttributes\"->>'smoltrace.task.id' = t.task_id",
    ],
)
def test_ordinary_reads_are_allowed(shared_collector, sql):
    response = post(shared_collector, {"sql": sql})
    assert response.status_code == 200, response.text


def test_duckdb_itself_refuses_external_access_and_writes(shared_collector):
    """Layer 3, without the statement guard: after the API started, the collector's database has
    external access off, and the read-only transaction the API runs in refuses writes."""
    assert post(shared_collector, {"sql": "SELECT 1"}).status_code == 200
    cursor = shared_collector.reader()
    try:
        assert cursor.execute("SELECT current_setting('enable_external_access')").fetchone() == (False,)
        with pytest.raises(duckdb.PermissionException):
            cursor.execute("SELECT * FROM read_csv('/etc/passwd')").fetchall()
        with pytest.raises(duckdb.Error):
            cursor.execute("SET enable_external_access = true")
        cursor.execute(readonly.BEGIN_READ_ONLY_SQL)
        with pytest.raises(duckdb.TransactionException):
            cursor.execute("DELETE FROM otel_traces")
        cursor.execute(readonly.ROLLBACK_SQL)
    finally:
        cursor.close()
    assert direct(shared_collector, SPAN_COUNT_SQL) == [(4,)]


def test_ingestion_still_works_after_queries(seeded_collector):
    """The hardening is database-wide: the writer must still append Arrow batches and create views."""
    for body in (
        {"sql": SPANS_SQL},
        {"sql": "SELECT * FROM read_csv('/etc/passwd')"},
        {"sql": "DROP TABLE otel_traces"},
        {"sql": SLOW_SQL, "timeout_s": 0.3},
        {"sql": SPANS_SQL, "format": "arrow"},
    ):
        post(seeded_collector, body)
    more = [("smoltrace.task", "t9", "run-c", 5, True), ("tool", "t9", "run-c", 1, False)]
    send_spans(seeded_collector, more, first_id=100)
    sql = "SELECT task_id, duration_ms FROM test_task_spans WHERE run_id = 'run-c'"
    body = post(seeded_collector, {"sql": sql}).json()
    assert body["rows"] == [["t9", 5]]
    assert post(seeded_collector, {"sql": SPAN_COUNT_SQL}).json()["rows"] == [[len(SEEDED_SPANS) + 2]]
    # and the writer can still (re)create views and checkpoint
    another_view = TEST_VIEW_SQL.replace("test_task_spans", "test_again")
    seeded_collector.writer.run_exclusive(lambda conn: conn.execute(another_view))
    seeded_collector.writer.run_exclusive(lambda conn: conn.execute("CHECKPOINT"))
    assert post(seeded_collector, {"sql": "SELECT count(*) FROM test_again"}).json()["rows"] == [[4]]


# -- views ------------------------------------------------------------------------------------------


def test_views_are_listed_with_their_columns(shared_collector):
    response = get(shared_collector, "/api/views")
    assert response.status_code == 200
    views = {view["name"]: view["columns"] for view in response.json()["views"]}
    assert views["test_task_spans"] == [
        {"name": "run_id", "type": "VARCHAR"},
        {"name": "task_id", "type": "VARCHAR"},
        {"name": "duration_ms", "type": "BIGINT"},
        {"name": "status", "type": "VARCHAR"},
    ]
    assert "otel_traces" not in views  # tables are not views


def test_view_rows_with_filters_order_and_limit(shared_collector):
    body = get(shared_collector, "/api/views/test_task_spans", {"run_id": "run-a", "order_by": "-duration_ms"}).json()
    assert [c["name"] for c in body["columns"]] == ["run_id", "task_id", "duration_ms", "status"]
    assert body["rows"] == [["run-a", "t2", 50, "Unset"], ["run-a", "t1", 30, "Unset"]]

    body = get(shared_collector, "/api/views/test_task_spans", {"order_by": "duration_ms desc", "limit": 1}).json()
    assert body["rows"] == [["run-a", "t2", 50, "Unset"]] and body["truncated"] is True

    params = [("task_id", "t1"), ("task_id", "t3"), ("order_by", "task_id")]
    body = get(shared_collector, "/api/views/test_task_spans", params).json()
    assert [row[1] for row in body["rows"]] == ["t1", "t3"]

    body = get(shared_collector, "/api/views/test_task_spans", {"duration_ms": "20"}).json()  # cast to BIGINT
    assert body["rows"] == [["run-b", "t3", 20, "Unset"]]

    response = get(shared_collector, "/api/views/test_task_spans", {"format": "csv", "order_by": "task_id"})
    assert response.text.splitlines()[:2] == ["run_id,task_id,duration_ms,status", "run-a,t1,30,Unset"]


def test_view_filters_are_parameters(shared_collector):
    body = get(shared_collector, "/api/views/test_task_spans", {"run_id": "run-a' OR '1'='1"}).json()
    assert body["rows"] == []


@pytest.mark.parametrize(
    ("path", "params", "status", "fragment"),
    [
        ("/api/views/nope", {}, 404, "no view named 'nope'"),
        ("/api/views/otel_traces", {}, 404, "no view named 'otel_traces'"),
        ("/api/views/test_task_spans", {"secret": "x"}, 400, "unknown column 'secret'"),
        ("/api/views/test_task_spans", {"order_by": "run_id; DROP TABLE otel_traces"}, 400, "order_by: unknown column"),
        ("/api/views/test_task_spans", {"order_by": "nope"}, 400, "order_by: unknown column 'nope'"),
        ("/api/views/test_task_spans", {"limit": "-1"}, 400, "limit must be zero or more"),
        ("/api/views/test_task_spans", {"duration_ms": "abc"}, 400, "Conversion Error"),
    ],
)
def test_view_errors(shared_collector, path, params, status, fragment):
    response = get(shared_collector, path, params)
    assert response.status_code == status, response.text
    assert fragment in response.json()["error"]


# -- auth -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", "/api/query"), ("GET", "/api/query?sql=SELECT%201"), ("GET", "/api/views"), ("GET", "/api/views/x")],
)
def test_token_is_required_when_set(token_collector, method, path):
    url = f"{token_collector.http_endpoint}{path}"
    body = {"sql": "SELECT 1"} if method == "POST" else None
    for headers in ({}, {"authorization": "Bearer wrong"}, {"authorization": f"Basic {TOKEN}"}):
        response = httpx.request(method, url, json=body, headers=headers)
        assert response.status_code == 401, response.text
        assert response.json() == {"error": "missing or wrong bearer token"}
        assert response.headers["www-authenticate"] == "Bearer"
    response = httpx.request(method, url, json=body, headers={"authorization": f"Bearer {TOKEN}"})
    assert response.status_code in (200, 404), response.text


def test_token_grants_queries(token_collector):
    response = post(token_collector, {"sql": SPAN_COUNT_SQL}, headers={"authorization": f"Bearer {TOKEN}"})
    assert response.json()["rows"] == [[len(SEEDED_SPANS)]]
