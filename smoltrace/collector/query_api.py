"""Read-only query API on the collector's HTTP port: SQL and named views over the store it holds.

While the collector runs it owns the DuckDB file (one writer per file), so Grafana, ``smoltrace-query``
and the publisher read through here. Every request gets its own cursor on the collector's database
(``collector.reader()``) and runs in a worker thread, never on the event loop, at most
``MAX_CONCURRENT_QUERIES`` at once. What makes it read-only,
and the limits, are in ``smoltrace.store.readonly`` (shared with ``smoltrace-query`` on a file).

Endpoints (all need ``authorization: Bearer <token>`` when the collector has a token; 401 otherwise):

``GET /api/query?sql=...&params=[...]&format=json&limit=100&timeout_s=5`` or ``POST /api/query`` with a
JSON body ``{"sql": "...", "params": [..] | {..}, "format": "json"|"objects"|"csv"|"arrow", "limit": N,
"timeout_s": x}``. ``params`` binds ``?``/``$1`` (a list) or ``$name`` (an object). Answers:

- ``json`` (default): ``{"columns": [{"name", "type"}], "rows": [[...]], "row_count", "truncated",
  "elapsed_ms"}``, values JSON-safe as ``readonly.json_safe`` documents (ISO 8601 timestamps,
  decimals as numbers, JSON columns parsed, bytes base64, NaN as ``"NaN"``);
- ``objects``: the same values as a JSON array of row objects, ``[{"column": value, ...}, ...]``,
  the shape that Grafana's Infinity datasource (and most JSON tools) read without a root selector;
- ``csv``: ``text/csv`` with a header line; ``arrow``: an Arrow IPC stream
  (``application/vnd.apache.arrow.stream``), DuckDB's own Arrow types. These three carry
  ``X-Smoltrace-Row-Count``, ``X-Smoltrace-Truncated`` and ``X-Smoltrace-Elapsed-Ms`` headers.

``GET /api/views``: ``{"views": [{"name", "columns": [{"name", "type"}]}]}``, the views in the store's
``main`` schema. ``GET /api/views/{name}?run_id=abc&order_by=-score&limit=10&format=json``: that view's
rows; other query parameters are ``column=value`` equality filters (a repeated column means IN), bound
as parameters, with column names checked against the view's columns; ``order_by`` is a comma-separated
list of columns, ``-column`` or ``column desc`` for descending.

Errors are JSON ``{"error": "..."}``: 400 for refused statements (saying what and why), SQL errors
(DuckDB's message) and bad arguments, 404 for an unknown view, 408 when the time limit interrupted
the query.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from dataclasses import dataclass

import anyio.to_thread
import duckdb
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from smoltrace.collector.auth import bearer_token_matches
from smoltrace.collector.writer import StoreUnavailableError
from smoltrace.store import readonly

log = logging.getLogger("smoltrace.collector")

QUERY_PATH = "/api/query"
VIEWS_PATH = "/api/views"

JSON_MEDIA_TYPE = "application/json"
CSV_MEDIA_TYPE = "text/csv; charset=utf-8"
ARROW_MEDIA_TYPE = "application/vnd.apache.arrow.stream"
FORMATS = ("json", "csv", "arrow", "objects")

#: Queries running in DuckDB at once (each on a DuckDB thread, beside the ingest on the same cores);
#: more wait for a slot within their own time limit, then get 503. A query whose answer went at its
#: deadline keeps its slot until DuckDB gives its thread back.
MAX_CONCURRENT_QUERIES = 4
#: Requests of the query API in worker threads at once (running or waiting for a slot). Queries get
#: their own thread limiter, so slow ones can never take the worker threads that the OTLP/HTTP receiver
#: needs to decode and ingest.
MAX_QUERY_THREADS = 16
#: Seconds an answer may come after its query's time limit: then it goes (408) even if DuckDB has not
#: returned yet (it checks its interrupt between vectors only).
ANSWER_GRACE_S = 1.0

#: DuckDB's buffer pool refusing a query the memory it asks for. DuckDB's advice that follows (SET
#: memory_limit) is not the client's to take, so the answer says what is; the process memory limit's
#: refusal reads 'Allocation failure' instead and is passed on as it is.
BUFFER_POOL_FULL_RE = re.compile(r"^Out of Memory Error: failed to allocate .* used\)$")
OUT_OF_MEMORY_HINT = (
    "{first_line}: the query needs more than what ingest leaves of the collector's DuckDB memory limit "
    "({memory_limit}); ask for less (one run, fewer rows) or start the collector with a larger --memory-limit"
)

#: Query-string names of ``/api/views/{name}`` that are options, not column filters.
VIEW_OPTIONS = frozenset({"limit", "order_by", "format", "timeout_s"})


@dataclass(frozen=True)
class QueryLimits:
    """The server's limits; a request may lower them (``timeout_s``) or pick a row limit up to the cap."""

    timeout_s: float = readonly.DEFAULT_TIMEOUT_S
    max_rows: int = readonly.DEFAULT_MAX_ROWS
    max_bytes: int = readonly.DEFAULT_MAX_BYTES


class BadRequest(Exception):
    def __init__(self, message: str, status_code: int = 400):
        super().__init__(message)
        self.status_code = status_code


def _error(message: str, status_code: int = 400, headers=None) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status_code, headers=headers)


def _json_bytes(payload) -> bytes:
    return json.dumps(payload, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode("utf-8")


def _int_option(options: dict, name: str, default: int) -> int:
    value = options.get(name)
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise BadRequest(f"{name} must be an integer, got {value!r}") from None
    if number < 0:
        raise BadRequest(f"{name} must be zero or more, got {number}")
    if number > readonly.MAX_ROW_LIMIT:
        raise BadRequest(f"{name} must be at most {readonly.MAX_ROW_LIMIT}, got {number}")
    return number


def _timeout_option(options: dict, limits: QueryLimits) -> float:
    value = options.get("timeout_s")
    if value is None or value == "":
        return limits.timeout_s
    try:
        timeout = float(value)
    except (TypeError, ValueError):
        raise BadRequest(f"timeout_s must be a number of seconds, got {value!r}") from None
    if not timeout > 0:
        raise BadRequest("timeout_s must be more than zero")
    return min(timeout, limits.timeout_s)


def _format_option(options: dict) -> str:
    fmt = str(options.get("format") or "json").lower()
    if fmt not in FORMATS:
        raise BadRequest(f"format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    return fmt


def _params_option(options: dict):
    params = options.get("params")
    if isinstance(params, str):  # from a query string: JSON text
        try:
            params = json.loads(params)
        except ValueError:
            raise BadRequest("params must be JSON: a list for ?/$1 placeholders or an object for $name") from None
    if params is not None and not isinstance(params, (list, dict)):
        raise BadRequest("params must be a list for ?/$1 placeholders or an object for $name placeholders")
    return params


def _encode(result: readonly.QueryResult, fmt: str) -> Response:
    """The response body for ``fmt``; runs in the thread pool (conversion is CPU work)."""
    headers = {
        "X-Smoltrace-Row-Count": str(result.row_count),
        "X-Smoltrace-Truncated": "true" if result.truncated else "false",
        "X-Smoltrace-Elapsed-Ms": f"{result.elapsed_ms:.3f}",
    }
    if fmt == "arrow":
        import pyarrow as pa

        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, result.arrow.schema) as writer:
            writer.write_table(result.arrow)
        return Response(sink.getvalue().to_pybytes(), media_type=ARROW_MEDIA_TYPE, headers=headers)
    if fmt == "csv":
        body = readonly.to_csv([c.name for c in result.columns], result.json_rows())
        return Response(body.encode("utf-8"), media_type=CSV_MEDIA_TYPE, headers=headers)
    if fmt == "objects":
        return Response(_json_bytes(result.to_objects()), media_type=JSON_MEDIA_TYPE, headers=headers)
    return Response(_json_bytes(result.to_json()), media_type=JSON_MEDIA_TYPE)


class QueryAPI:
    """The handlers, bound to one collector."""

    def __init__(self, collector, limits: QueryLimits):
        self.collector = collector
        self.limits = limits
        self._hardened = False
        self._limiter: anyio.CapacityLimiter | None = None
        self._slots = threading.BoundedSemaphore(MAX_CONCURRENT_QUERIES)

    async def _in_thread(self, call, *args, deadline_s: float | None = None):
        """``call(*args)`` in a worker thread (what ``run_in_threadpool`` does, with a limiter of the
        query API's own instead of the shared one); past ``deadline_s`` the answer is a timeout, and
        the thread finishes on its own."""
        if self._limiter is None:  # created on the event loop's thread, where it is used
            self._limiter = anyio.CapacityLimiter(MAX_QUERY_THREADS)
        if deadline_s is None:
            return await anyio.to_thread.run_sync(call, *args, limiter=self._limiter)
        with anyio.move_on_after(deadline_s + ANSWER_GRACE_S):
            return await anyio.to_thread.run_sync(call, *args, limiter=self._limiter, abandon_on_cancel=True)
        raise readonly.QueryTimeout(deadline_s)

    # -- plumbing --------------------------------------------------------------------------------

    def _ensure_hardened(self) -> None:
        """Switch off external access on the collector's database before the first query runs."""
        if self._hardened:
            return
        cursor = self.collector.reader(wait_s=0)  # settings only: no need to wait for data
        try:
            readonly.harden_database(cursor)
        finally:
            cursor.close()
        self.collector.writer.on_open.append(readonly.harden_database)  # a store reopened after a failed write
        self._hardened = True

    def _run(self, sql: str, params, fmt: str, limit: int, timeout_s: float) -> Response:
        """Runs in the thread pool: a query slot, a cursor of its own, the guarded query, the encoded
        body, all within ``timeout_s``."""
        self._ensure_hardened()
        started = time.monotonic()
        if not self._slots.acquire(timeout=timeout_s):
            raise BadRequest(f"{MAX_CONCURRENT_QUERIES} queries are running; retry later", 503)
        try:
            left = max(0.001, timeout_s - (time.monotonic() - started))
            cursor = self.collector.reader(wait_s=left)  # acknowledged data first, within the time limit
            try:
                left = max(0.001, timeout_s - (time.monotonic() - started))
                result = readonly.run_readonly(
                    cursor, sql, params, max_rows=limit, timeout_s=left, as_arrow=fmt == "arrow",
                    max_bytes=self.limits.max_bytes,
                )  # fmt: skip
            except readonly.QueryTimeout:
                raise readonly.QueryTimeout(timeout_s) from None  # the client's limit, not what was left
            except MemoryError:
                raise BadRequest("the query needed more memory than the collector allows") from None
            except duckdb.OutOfMemoryException as exc:
                first_line = str(exc).strip().splitlines()[0]
                if not BUFFER_POOL_FULL_RE.match(first_line):
                    raise
                hint = OUT_OF_MEMORY_HINT.format(first_line=first_line, memory_limit=self.collector.config.memory_limit)
                raise BadRequest(hint) from None
            finally:
                cursor.close()
        finally:
            self._slots.release()
        return _encode(result, fmt)

    async def _answer(self, call, *args, deadline_s: float | None = None) -> Response:
        try:
            return await self._in_thread(call, *args, deadline_s=deadline_s)
        except BadRequest as exc:
            return _error(str(exc), exc.status_code)
        except readonly.UnknownView as exc:
            return _error(str(exc), 404)
        except readonly.BadArgument as exc:
            return _error(str(exc))
        except readonly.RefusedQuery as exc:
            return _error(f"refused: {exc}")
        except readonly.QueryTimeout as exc:
            return _error(str(exc), 408)
        except StoreUnavailableError as exc:
            return _error(str(exc), 503, {"Retry-After": "1"})
        except duckdb.Error as exc:
            return _error(str(exc))

    def _authorized(self, request: Request) -> bool:
        return bearer_token_matches(request.headers.get("authorization"), self.collector.config.token)

    @staticmethod
    def _unauthorized() -> Response:
        return _error("missing or wrong bearer token", 401, {"WWW-Authenticate": "Bearer"})

    # -- /api/query --------------------------------------------------------------------------------

    async def query(self, request: Request) -> Response:
        if not self._authorized(request):
            return self._unauthorized()
        try:
            options = await self._query_options(request)
            sql = options.get("sql")
            if not isinstance(sql, str) or not sql.strip():
                raise BadRequest("no SQL given: pass sql in the query string or the JSON body")
            args = (
                sql,
                _params_option(options),
                _format_option(options),
                _int_option(options, "limit", self.limits.max_rows),
                _timeout_option(options, self.limits),
            )
        except BadRequest as exc:
            return _error(str(exc), exc.status_code)
        return await self._answer(self._run, *args, deadline_s=args[-1])

    @staticmethod
    async def _query_options(request: Request) -> dict:
        options: dict = dict(request.query_params)
        if request.method == "POST":
            body = await request.body()
            content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
            looks_like_json = body.lstrip().startswith(b"{")
            if content_type == "text/plain" or (content_type not in ("", JSON_MEDIA_TYPE) and not looks_like_json):
                options["sql"] = body.decode("utf-8", errors="replace")
            elif body.strip():
                try:
                    payload = json.loads(body)
                except ValueError as exc:
                    raise BadRequest(f"body is not valid JSON: {exc}") from None
                if not isinstance(payload, dict):
                    raise BadRequest('body must be a JSON object: {"sql": "...", "params": [...]}')
                options.update(payload)
        return options

    # -- /api/views --------------------------------------------------------------------------------

    def _views(self) -> dict[str, list[readonly.Column]]:
        self._ensure_hardened()
        cursor = self.collector.reader(wait_s=0)  # the catalog only
        try:
            return readonly.list_views(cursor)
        finally:
            cursor.close()

    async def list_views(self, request: Request) -> Response:
        if not self._authorized(request):
            return self._unauthorized()
        try:
            views = await self._in_thread(self._views)
        except duckdb.Error as exc:
            return _error(str(exc))
        return JSONResponse({
            "views": [
                {"name": name, "columns": [{"name": c.name, "type": c.type} for c in columns]}
                for name, columns in views.items()
            ]
        })  # fmt: skip

    def _view_rows(self, name: str, query_items: list[tuple[str, str]]) -> Response:
        options = {key: value for key, value in query_items if key in VIEW_OPTIONS}
        filters = [(key, value) for key, value in query_items if key not in VIEW_OPTIONS]
        fmt = _format_option(options)
        limit = _int_option(options, "limit", self.limits.max_rows)
        timeout_s = _timeout_option(options, self.limits)
        sql, params = readonly.view_query(self._views(), name, filters, options.get("order_by"))
        return self._run(sql, params, fmt, limit, timeout_s)

    async def view_rows(self, request: Request) -> Response:
        if not self._authorized(request):
            return self._unauthorized()
        name = request.path_params["name"]
        return await self._answer(self._view_rows, name, list(request.query_params.multi_items()),
                                  deadline_s=self.limits.timeout_s)  # fmt: skip


def create_query_routes(collector) -> list[Route]:
    """Routes that serve read-only SQL and named views from the store ``collector`` holds.

    Limits come from ``collector.config.query_timeout_s`` / ``query_max_rows`` when the config has
    them, else the defaults (10 s, 10,000 rows).
    """
    config = collector.config
    limits = QueryLimits(
        timeout_s=float(getattr(config, "query_timeout_s", readonly.DEFAULT_TIMEOUT_S)),
        max_rows=int(getattr(config, "query_max_rows", readonly.DEFAULT_MAX_ROWS)),
    )
    api = QueryAPI(collector, limits)
    if getattr(collector.writer, "connection", None) is not None:
        api._ensure_hardened()
    return [
        Route(QUERY_PATH, api.query, methods=["GET", "POST"]),
        Route(VIEWS_PATH, api.list_views, methods=["GET"]),
        Route(VIEWS_PATH + "/{name}", api.view_rows, methods=["GET"]),
        Route(RUNS_PATH + "/{run_id}", _delete_run_handler(collector, api), methods=["DELETE"]),
        Route(RULES_PATH, _add_rule_handler(collector, api), methods=["POST"]),
        Route(RULES_PATH + "/{name}", _drop_rule_handler(collector, api), methods=["DELETE"]),
    ]


# -- admin: DELETE /api/runs/{run_id} (smoltrace-cleanup --target local while a collector runs) --------

RUNS_PATH = "/api/runs"


def _delete_run_handler(collector, api: QueryAPI):
    """``DELETE /api/runs/{run_id}?parts=traces,metrics``: delete one run's rows on the writer thread
    (``collector.writer.run_exclusive``, the store's single writer), then checkpoint. Same bearer token
    as the rest of the API. Answers ``{"run_id", "deleted": {"spans", "logs", "metric_points"}}``."""

    async def delete_run(request: Request) -> Response:
        if not api._authorized(request):
            return api._unauthorized()
        from starlette.concurrency import run_in_threadpool

        from smoltrace.store import run_deletion

        run_id = request.path_params["run_id"]
        parts = tuple(p for p in request.query_params.get("parts", "traces,metrics").split(",") if p)
        if not run_id or not set(parts) <= set(run_deletion.PARTS):
            return _error(f"parts must be among {', '.join(run_deletion.PARTS)}")
        try:
            counts = await run_in_threadpool(
                collector.writer.run_exclusive, lambda conn: run_deletion.delete_run(conn, run_id, parts)
            )
        except duckdb.Error as exc:
            return _error(str(exc), 500)
        log.info("deleted run %s: %s", run_id, counts)
        return JSONResponse({"run_id": run_id, "deleted": counts})

    return delete_run


# -- admin: scoring rules (smoltrace-rules add/drop while a collector runs) ----------------------------

RULES_PATH = "/api/rules"
#: smoltrace.store.rules' errors -> HTTP status (anything else it refuses: 400).
RULE_ERROR_STATUS = {"RuleExists": 409, "RuleNotFound": 404}


async def _rule_change(collector, api: QueryAPI, request: Request, change) -> Response:
    """Run ``change(connection)`` on the writer thread (the store's single writer), mapping refusals."""
    if not api._authorized(request):
        return api._unauthorized()
    from starlette.concurrency import run_in_threadpool

    from smoltrace.store import rules

    try:
        return JSONResponse(*await run_in_threadpool(collector.writer.run_exclusive, change))
    except rules.RuleError as exc:
        return _error(str(exc), RULE_ERROR_STATUS.get(type(exc).__name__, 400))
    except duckdb.Error as exc:
        return _error(str(exc), 500)


def _add_rule_handler(collector, api: QueryAPI):
    """``POST /api/rules`` with ``{"name", "expression", "description"}``: check and store a scoring rule
    and regenerate the views that read the rules. Answers 201 with the rule; 400 when it is refused (the
    message says why), 409 when the name is taken."""

    async def add_rule(request: Request) -> Response:
        from smoltrace.store import rules

        if not api._authorized(request):
            return api._unauthorized()
        try:
            body = await request.json()
        except ValueError:
            return _error('the body must be a JSON object: {"name", "expression", "description"}')
        if not isinstance(body, dict):
            return _error('the body must be a JSON object: {"name", "expression", "description"}')
        name, expression, description = body.get("name"), body.get("expression"), body.get("description")

        def change(conn):
            rule = rules.add_rule(conn, name, expression, description)
            log.info("scoring rule %s added: %s", rule.name, rule.expression)
            return rules.rule_record(rule), 201

        return await _rule_change(collector, api, request, change)

    return add_rule


def _drop_rule_handler(collector, api: QueryAPI):
    """``DELETE /api/rules/{name}``: drop a scoring rule. Answers ``{"dropped": name}``; 404 when none."""

    async def drop_rule(request: Request) -> Response:
        from smoltrace.store import rules

        name = request.path_params["name"]

        def change(conn):
            rules.drop_rule(conn, name)
            log.info("scoring rule %s dropped", name)
            return {"dropped": name}, 200

        return await _rule_change(collector, api, request, change)

    return drop_rule
