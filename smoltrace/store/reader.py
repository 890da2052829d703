"""Reading the store, wherever it is: a DuckDB connection in this process (the embedded collector, or a
file opened read-only), or a running collector's query API over HTTP."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol


class StoreReader(Protocol):
    def query(self, sql: str, params: Sequence[Any] | None = None) -> list[dict]: ...


class ConnectionReader:
    """Runs SQL on a DuckDB connection (a fresh cursor per query, so threads may share the reader).

    ``connection`` is anything with ``cursor()``: a DuckDB connection, or an embedded collector's
    ``StoreWriter``, whose cursors wait until every acknowledged request is committed.
    """

    def __init__(self, connection):
        self._connection = connection

    def close(self) -> None:
        self._connection.close()

    def query(self, sql: str, params: Sequence[Any] | None = None) -> list[dict]:
        cursor = self._connection.cursor()
        try:
            result = cursor.execute(sql, list(params or []))
            names = [column[0] for column in result.description]
            return [dict(zip(names, row)) for row in result.fetchall()]
        finally:
            cursor.close()


class QueryApiReader:
    """Runs SQL through a collector's ``/api/query`` (the file is locked by that collector)."""

    def __init__(self, base_url: str, token: str | None = None, timeout_s: float = 60.0):
        self.base_url = base_url.rstrip("/")
        self.headers = {"authorization": f"Bearer {token}"} if token else {}
        self.timeout_s = timeout_s

    def query(self, sql: str, params: Sequence[Any] | None = None) -> list[dict]:
        import httpx

        response = httpx.post(
            f"{self.base_url}/api/query",
            json={"sql": sql, "params": list(params or []), "format": "json", "limit": 1_000_000},
            headers=self.headers,
            timeout=self.timeout_s,
        )
        if response.status_code != 200:
            try:
                message = response.json().get("error", response.text)
            except ValueError:
                message = response.text
            raise RuntimeError(f"query API at {self.base_url} answered {response.status_code}: {message}")
        payload = response.json()
        if payload.get("truncated"):
            raise RuntimeError(f"query API at {self.base_url} truncated the result at {payload['row_count']} rows")
        names = [column["name"] for column in payload["columns"]]
        return [dict(zip(names, row)) for row in payload["rows"]]
