"""The one way to read the store: ``open_reader`` gives a ``StoreReader`` with two implementations.

- ``FileReader``: a DuckDB connection to the file, read-only and hardened (``readonly.open_readonly``);
- ``CollectorReader``: the query API of the collector that holds the file (``POST /api/query``), since
  DuckDB lets one process write a file and no other process open it meanwhile.

Both run the same guard (``smoltrace.store.readonly``: one read-only SELECT over the store) and return
the same values: ``Rows`` of JSON-safe values (timestamps as ISO 8601 text, JSON columns parsed), so
nothing that reads the store (the CLI, the runner's summary and files, the publisher, the web view)
depends on which path was taken. Errors a user can cause come out as ``ReadError`` with one line.
"""

from __future__ import annotations

import contextlib
import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from smoltrace.store import readonly

#: A query whose answer is cut by the byte limit is read again page by page (internal bulk reads: a
#: run's spans for traces.json or the Hub). The inner query must order its rows.
PAGE_SQL = "SELECT * FROM ({sql}) AS page OFFSET {offset}"
#: Extra seconds an HTTP client waits beyond the query's own time limit (the answer has to travel).
HTTP_GRACE_S = 5.0


class ReadError(Exception):
    """A read the store refused or could not answer; the message says why, in one line."""


@dataclass
class Rows:
    """Column names and types, JSON-safe rows, and whether the limit cut them."""

    columns: list[dict]
    rows: list[list]
    truncated: bool

    def records(self) -> list[dict]:
        names = [column["name"] for column in self.columns]
        return [dict(zip(names, row)) for row in self.rows]


class StoreReader(Protocol):
    description: str

    def read(self, sql: str, params: Any = None, *, limit: int = ..., timeout_s: float = ...) -> Rows: ...

    def read_view(self, name: str, filters: Sequence[tuple[str, str]] = (), order_by: str | None = None, *,
                  limit: int = ..., timeout_s: float = ...) -> Rows: ...  # fmt: skip

    def query(self, sql: str, params: Any = None) -> list[dict]: ...

    def close(self) -> None: ...


class _AllRows:
    """``query``: every row of an ordered query, as dicts, paging past the byte limit of one answer."""

    def query(self, sql: str, params: Any = None, *, timeout_s: float = 60.0) -> list[dict]:
        result = self.read(sql, params, limit=readonly.MAX_ROW_LIMIT, timeout_s=timeout_s)
        records = result.records()
        while result.truncated and result.rows:
            paged = PAGE_SQL.format(sql=sql.strip().rstrip(";"), offset=len(records))
            result = self.read(paged, params, limit=readonly.MAX_ROW_LIMIT, timeout_s=timeout_s)
            records += result.records()
        return records


class FileReader(_AllRows):
    """Reads a DuckDB connection to the store (``FileReader.open(path)``: the file, read-only)."""

    def __init__(self, connection, description: str = "store"):
        self.connection = connection
        self.description = description

    @classmethod
    def open(cls, path: str | Path) -> FileReader:
        import duckdb

        from smoltrace.store.database import StoreNeedsMigration

        try:
            return cls(readonly.open_readonly(path), f"store {path}")
        except (duckdb.Error, StoreNeedsMigration) as exc:
            raise ReadError(f"cannot open {path} read-only: {str(exc).splitlines()[0]}") from None

    def read(self, sql, params=None, *, limit=readonly.DEFAULT_MAX_ROWS, timeout_s=readonly.DEFAULT_TIMEOUT_S) -> Rows:
        import duckdb

        try:
            result = readonly.run_readonly(self.connection, sql, params, max_rows=limit, timeout_s=timeout_s)
        except readonly.RefusedQuery as exc:
            raise ReadError(f"refused: {exc}") from None
        except (readonly.BadArgument, readonly.QueryTimeout, duckdb.Error) as exc:
            raise ReadError(str(exc)) from None
        return Rows([{"name": c.name, "type": c.type} for c in result.columns], result.json_rows(), result.truncated)

    def read_view(self, name, filters=(), order_by=None, *, limit=readonly.DEFAULT_MAX_ROWS,
                  timeout_s=readonly.DEFAULT_TIMEOUT_S) -> Rows:  # fmt: skip
        try:
            sql, params = readonly.view_query(readonly.list_views(self.connection), name, filters, order_by)
        except readonly.BadArgument as exc:
            raise ReadError(str(exc)) from None
        return self.read(sql, params, limit=limit, timeout_s=timeout_s)

    def close(self) -> None:
        self.connection.close()


class CollectorReader(_AllRows):
    """Reads through a collector's query API (``base_url`` is its HTTP endpoint)."""

    def __init__(self, base_url: str, token: str | None = None):
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.description = f"collector {self.base_url}"

    def read(self, sql, params=None, *, limit=readonly.DEFAULT_MAX_ROWS, timeout_s=readonly.DEFAULT_TIMEOUT_S) -> Rows:
        body = {"sql": sql, "params": params, "limit": limit, "timeout_s": timeout_s, "format": "json"}
        return self._rows(self._http(f"{self.base_url}/api/query", body, timeout_s + HTTP_GRACE_S))

    def read_view(self, name, filters=(), order_by=None, *, limit=readonly.DEFAULT_MAX_ROWS,
                  timeout_s=readonly.DEFAULT_TIMEOUT_S) -> Rows:  # fmt: skip
        query = [*filters, ("limit", str(limit)), ("timeout_s", str(timeout_s))]
        if order_by:
            query.append(("order_by", order_by))
        url = f"{self.base_url}/api/views/{urllib.parse.quote(name, safe='')}?{urllib.parse.urlencode(query)}"
        return self._rows(self._http(url, None, timeout_s + HTTP_GRACE_S))

    def close(self) -> None:
        pass

    @staticmethod
    def _rows(answer: dict) -> Rows:
        return Rows(answer["columns"], answer["rows"], answer["truncated"])

    def _http(self, url: str, body: dict | None, timeout_s: float) -> dict:
        try:
            return collector_request(url, "POST" if body is not None else "GET", body, self.token, timeout_s)
        except CollectorRefused as exc:
            raise ReadError(str(exc)) from None


class CollectorRefused(ReadError):
    """The collector answered with an HTTP error; ``status`` is its code, the message its reason."""

    def __init__(self, message: str, status: int):
        super().__init__(message)
        self.status = status


def collector_request(url: str, method: str, body: dict | None, token: str | None, timeout_s: float) -> dict:
    """One JSON request to a collector's HTTP API (the query API, its admin routes): the answer's JSON,
    else CollectorRefused (an HTTP error, with the collector's own message) or ReadError (no answer)."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("accept", "application/json")
    if data is not None:
        request.add_header("content-type", "application/json")
    if token:
        request.add_header("authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as exc:
        try:
            message = json.loads(exc.read()).get("error") or exc.reason
        except ValueError:
            message = exc.reason
        if exc.code == 401:
            hint = "check --token / SMOLTRACE_TOKEN" if token else "pass --token or set SMOLTRACE_TOKEN"
            message = f"the collector refused the request: {message} ({hint})"
        raise CollectorRefused(str(message), exc.code) from None
    except (urllib.error.URLError, OSError) as exc:
        raise ReadError(
            f"a collector holds the store but its API at {url.split('/api/')[0]} did not answer: "
            f"{getattr(exc, 'reason', exc)}"
        ) from None


def resolve_db_path(db_path: str | Path | None) -> Path:
    from smoltrace.store.database import default_db_path

    return Path(db_path).expanduser() if db_path else default_db_path()


@contextlib.contextmanager
def open_reader(db_path: str | Path | None = None, token: str | None = None) -> Iterator[StoreReader]:
    """A reader of the store at ``db_path`` (default: the usual store): through the collector that holds
    it, if one runs, else the file read-only. Raises ReadError when there is no store."""
    from smoltrace.collector.discovery import running_collector_for
    from smoltrace.store.database import DB_ENV_VAR

    path = resolve_db_path(db_path)
    info = running_collector_for(path)
    if info is not None:
        reader: StoreReader = CollectorReader(info["http_endpoint"], token)
    elif not path.exists():
        raise ReadError(
            f"no smoltrace store at {path}: run smoltrace-eval first (or start smoltrace-collector), "
            f"or point --db / ${DB_ENV_VAR} at an existing store"
        )
    else:
        reader = FileReader.open(path)
    try:
        yield reader
    finally:
        reader.close()
