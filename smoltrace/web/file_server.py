"""Serve the web view over a store file that no collector holds, read-only (``smoltrace-view``).

The pages read through the same query API as on a collector (``smoltrace.collector.query_api``), with
the same guard and limits, over a DuckDB connection opened read-only: nothing this server runs can
change the file. DuckDB lets a read-only process share the file with other readers only, so a
collector cannot open the store for writing while this server holds it.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import uvicorn
from starlette.applications import Starlette
from starlette.routing import Route

from smoltrace.collector.query_api import QUERY_PATH, VIEWS_PATH, QueryAPI, QueryLimits
from smoltrace.store import readonly
from smoltrace.store.database import connect
from smoltrace.web.routes import view_routes


class StoreUnavailable(Exception):
    """The store cannot be served: missing, locked by a writer, or not a DuckDB file. Says why."""


@dataclass(frozen=True)
class _Config:
    token: str | None


@dataclass
class _NoWriter:
    """The collector's writer, as far as the query API asks (hooks run when a writer reopens the store):
    a read-only store has no writer, and never reopens."""

    on_open: list = field(default_factory=list)


class ReadOnlyStore:
    """What the query API needs of a collector (``config.token``, ``reader()``, ``writer.on_open``), over
    a file opened read-only and hardened (no file, network or extension access)."""

    def __init__(self, db_path: Path, token: str | None = None):
        try:
            self.connection = connect(db_path, read_only=True)
        except FileNotFoundError as exc:
            raise StoreUnavailable(str(exc)) from None
        except duckdb.Error as exc:
            raise StoreUnavailable(f"cannot open {db_path} read-only: {exc}") from None
        readonly.harden_database(self.connection)
        self.config = _Config(token)
        self.writer = _NoWriter()

    def reader(self, wait_s: float = 0.0) -> duckdb.DuckDBPyConnection:
        """A cursor of its own for one query (nothing to wait for: no writer)."""
        return self.connection.cursor()

    def close(self) -> None:
        self.connection.close()


def create_view_app(store: ReadOnlyStore, limits: QueryLimits | None = None) -> Starlette:
    """The read-only query API (no delete route) and the view's pages."""
    api = QueryAPI(store, limits or QueryLimits())
    return Starlette(
        routes=[
            Route(QUERY_PATH, api.query, methods=["GET", "POST"]),
            Route(VIEWS_PATH, api.list_views, methods=["GET"]),
            Route(VIEWS_PATH + "/{name}", api.view_rows, methods=["GET"]),
            *view_routes(),
        ]
    )


class ViewServer:
    """The view over ``db_path`` on ``host:port`` (0 picks a free port), served from a thread::

    with ViewServer(Path("runs.duckdb"), port=0) as server:
        print(server.url)
    """

    def __init__(self, db_path: Path, *, host: str = "127.0.0.1", port: int = 0, token: str | None = None):
        self.db_path = Path(db_path)
        self.host = host
        self.port = port
        self.token = token
        self._store: ReadOnlyStore | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::", "") else self.host
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{self.port}/"

    def start(self) -> ViewServer:
        sock = socket.socket(socket.AF_INET6 if ":" in self.host else socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.host, self.port))
        except OSError as exc:
            sock.close()
            raise OSError(f"cannot listen on {self.host}:{self.port}: {exc}") from None
        self.port = sock.getsockname()[1]
        try:
            self._store = ReadOnlyStore(self.db_path, self.token)
        except BaseException:
            sock.close()
            raise
        app = create_view_app(self._store)
        server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off"))
        self._server = server
        self._thread = threading.Thread(target=lambda: asyncio.run(server.serve(sockets=[sock])), daemon=True,
                                        name="smoltrace-view")  # fmt: skip
        self._thread.start()
        while not server.started and self._thread.is_alive():
            self._thread.join(0.01)
        if not server.started:
            self.stop()
            raise OSError("the view's HTTP server failed to start")
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
            self._thread.join(10)
            self._server = None
        if self._store is not None:
            self._store.close()
            self._store = None

    def __enter__(self) -> ViewServer:  # noqa: PYI034 (typing.Self needs Python 3.11)
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()


__all__ = ["ReadOnlyStore", "StoreUnavailable", "ViewServer", "create_view_app"]
