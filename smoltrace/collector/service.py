"""The collector as one object: the store writer, the OTLP/gRPC and OTLP/HTTP receivers.

``Collector`` is what ``smoltrace-collector`` runs and what ``smoltrace-eval`` embeds::

    with Collector.embedded(db_path="runs.duckdb") as collector:
        print(collector.grpc_endpoint)   # "127.0.0.1:53211", an ephemeral loopback port
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import threading
from dataclasses import dataclass, field
from pathlib import Path

import uvicorn

from smoltrace.collector import thread_names
from smoltrace.collector.discovery import discovery_file_for, running_collector_for  # noqa: F401 (re-export)
from smoltrace.collector.grpc_server import build_grpc_server
from smoltrace.collector.http_server import create_app
from smoltrace.collector.ingest import Ingestor
from smoltrace.collector.writer import DEFAULT_MEMORY_LIMIT, READ_BARRIER_TIMEOUT_S, StoreWriter
from smoltrace.store.database import default_db_path

log = logging.getLogger("smoltrace.collector")


@dataclass
class CollectorConfig:
    """Everything a collector needs; the CLI flags map one to one onto these fields."""

    db_path: Path = field(default_factory=default_db_path)
    host: str = "127.0.0.1"
    grpc_port: int = 4317
    http_port: int = 4318
    token: str | None = None
    max_request_bytes: int = 32 * 1024 * 1024
    max_pending_items: int = 32_000
    ack_after_commit: bool = False
    ack_timeout_s: float = 30.0
    checkpoint_interval_s: float = 10.0
    memory_limit: str = DEFAULT_MEMORY_LIMIT
    extra_routes: tuple = ()
    embedded: bool = False  # inside another process (smoltrace-eval): other runs must not export to it


class Collector:
    def __init__(self, config: CollectorConfig):
        self.config = config
        self.writer = StoreWriter(
            config.db_path,
            max_pending_items=config.max_pending_items,
            ack_after_commit=config.ack_after_commit,
            checkpoint_interval_s=config.checkpoint_interval_s,
            memory_limit=config.memory_limit,
        )
        self.ingestor = Ingestor(self.writer, ack_timeout_s=config.ack_timeout_s)
        self._grpc_server = None
        self._http_server: uvicorn.Server | None = None
        self._http_thread: threading.Thread | None = None
        self.grpc_port: int | None = None
        self.http_port: int | None = None

    @classmethod
    def embedded(cls, db_path: str | Path | None = None, token: str | None = None, **options) -> Collector:
        """A collector on ephemeral loopback ports, for running inside another process."""
        config = CollectorConfig(host="127.0.0.1", grpc_port=0, http_port=0, token=token, embedded=True, **options)
        if db_path is not None:
            config.db_path = Path(db_path)
        return cls(config)

    @property
    def grpc_endpoint(self) -> str:
        """``host:port`` for OTLP/gRPC exporters."""
        return f"{self._client_host}:{self.grpc_port}"

    @property
    def http_endpoint(self) -> str:
        """Base URL for OTLP/HTTP exporters and the query API."""
        return f"http://{self._client_host}:{self.http_port}"

    @property
    def _client_host(self) -> str:
        host = self.config.host
        if host in ("0.0.0.0", "::", ""):
            return "127.0.0.1"
        return f"[{host}]" if ":" in host else host

    def reader(self, wait_s: float = READ_BARRIER_TIMEOUT_S):
        """A new DuckDB cursor on the store for reading while the collector holds the file; it sees
        every request acknowledged before the call (waiting up to ``wait_s`` for their commit)."""
        return self.writer.cursor(wait_s)

    def start(self) -> Collector:
        """Open the store and listen. Raises StoreOpenError (the store cannot be opened: locked, full
        disk, not a DuckDB file; one line saying why) or OSError (a port is taken)."""
        config = self.config
        self.writer.start()
        try:
            self._grpc_server = build_grpc_server(
                self.ingestor, token=config.token, max_message_bytes=config.max_request_bytes,
                http_port=lambda: self.http_port,
            )  # fmt: skip
            self.grpc_port = self._grpc_server.add_insecure_port(f"{self._bind_host}:{config.grpc_port}")
            if not self.grpc_port:
                raise OSError(f"cannot listen for OTLP/gRPC on {config.host}:{config.grpc_port}")
            self._grpc_server.start()
            self._start_http()
        except BaseException:
            self.stop()
            raise
        self._write_discovery_file()
        log.info(
            "smoltrace-collector listening: OTLP/gRPC %s, OTLP/HTTP %s, store %s",
            self.grpc_endpoint, self.http_endpoint, config.db_path,
        )  # fmt: skip
        return self

    @property
    def _bind_host(self) -> str:
        host = self.config.host
        return f"[{host}]" if ":" in host and not host.startswith("[") else host

    def _start_http(self) -> None:
        config = self.config
        family = socket.AF_INET6 if ":" in config.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((config.host, config.http_port))
        except OSError as exc:
            sock.close()
            raise OSError(f"cannot listen for OTLP/HTTP on {config.host}:{config.http_port}: {exc}") from None
        self.http_port = sock.getsockname()[1]
        from smoltrace.collector.query_api import create_query_routes

        app = create_app(
            self.ingestor,
            token=config.token,
            max_body_bytes=config.max_request_bytes,
            extra_routes=(*create_query_routes(self), *config.extra_routes),
        )
        server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off"))
        self._http_server = server

        def serve_http() -> None:
            thread_names.name_this_thread(thread_names.HTTP)
            asyncio.run(server.serve(sockets=[sock]))

        self._http_thread = threading.Thread(target=serve_http, name="otlp-http", daemon=True)
        self._http_thread.start()
        while not server.started and self._http_thread.is_alive():
            self._http_thread.join(0.01)
        if not server.started:
            raise OSError("the OTLP/HTTP server failed to start")

    @property
    def discovery_path(self) -> Path:
        return discovery_file_for(self.config.db_path)

    def _write_discovery_file(self) -> None:
        """Tell readers on this machine (smoltrace-query, the publisher) where to reach the collector that
        holds the store, since they cannot open the file while it writes."""
        info = {
            "pid": os.getpid(),
            "grpc_endpoint": self.grpc_endpoint,
            "http_endpoint": self.http_endpoint,
            "token_required": bool(self.config.token),
            "embedded": self.config.embedded,
        }
        self.discovery_path.write_text(json.dumps(info))

    def stop(self, grace_s: float = 5.0) -> None:
        """Stop accepting, let in-flight exports finish, commit, checkpoint and close the store."""
        if self.discovery_path.exists():
            try:
                if json.loads(self.discovery_path.read_text()).get("pid") == os.getpid():
                    self.discovery_path.unlink()
            except (OSError, ValueError):
                pass
        if self._grpc_server is not None:
            self._grpc_server.stop(grace_s).wait()
            self._grpc_server = None
        if self._http_server is not None:
            self._http_server.should_exit = True
            self._http_thread.join(grace_s + 5)
            self._http_server = None
        self.writer.stop()

    def __enter__(self) -> Collector:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()
