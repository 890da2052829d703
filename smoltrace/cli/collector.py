"""``smoltrace-collector``: run the OTLP receiver and DuckDB store as a long-lived service."""

from __future__ import annotations

import logging
import signal
import sys
import threading
from pathlib import Path

import click

from smoltrace.collector import Collector, CollectorConfig
from smoltrace.store.database import DB_ENV_VAR, default_db_path


@click.command(context_settings={"help_option_names": ["-h", "--help"], "show_default": True})
@click.option("--host", default="127.0.0.1", help="Address to listen on. Loopback only by default; see the README "
              "before exposing the collector (set a token, put TLS in front).")  # fmt: skip
@click.option("--grpc-port", default=4317, type=int, help="OTLP/gRPC port (0 picks a free port).")
@click.option("--http-port", default=4318, type=int, help="OTLP/HTTP port, also the health check (0 picks a free port).")
@click.option("--db", "db_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help=f"DuckDB store file (the request log <db>.requests.* lives next to it). Default: ${DB_ENV_VAR}, "
                   "else ~/.local/share/smoltrace/smoltrace.duckdb.")  # fmt: skip
@click.option("--token", envvar="SMOLTRACE_TOKEN", default=None, show_envvar=True,
              help="Require 'authorization: Bearer <token>' on every request (gRPC metadata or HTTP header).")  # fmt: skip
@click.option("--max-request-bytes", default=32 * 1024 * 1024, type=int,
              help="Largest accepted request body (gRPC answers RESOURCE_EXHAUSTED, HTTP 413 beyond it).")  # fmt: skip
@click.option("--max-pending-items", default=32_000, type=int,
              help="Spans/points/logs accepted and not yet committed to DuckDB. Above half of it, answers wait "
                   "for DuckDB to catch up; at the limit, new requests are refused with a retryable code. Each "
                   "queued span holds ~2 KB of memory.")  # fmt: skip
@click.option("--memory-limit", default="1GB",
              help="DuckDB memory limit for the store (ingest and queries). The views nest recursive queries: "
                   "much below 1GB they can run out of memory; ingest alone runs in 192MB.")  # fmt: skip
@click.option("--ack-after-commit", is_flag=True, default=False,
              help="Answer an export only once its rows are committed to DuckDB, not as soon as the request "
                   "log holds it. Both are durable and every query sees acknowledged data either way; this one "
                   "is slower under load (ingest benchmark, 2 cores, interleaved: 34-38k instead of 50-57k spans/s).")  # fmt: skip
@click.option("--log-level", default="info", type=click.Choice(["debug", "info", "warning", "error"]),
              help="Log verbosity.")  # fmt: skip
def main(host, grpc_port, http_port, db_path, token, max_request_bytes, max_pending_items, memory_limit,
         ack_after_commit, log_level):
    """Receive OpenTelemetry traces, metrics and logs over OTLP (gRPC and HTTP) and store them in DuckDB.

    A request is acknowledged only after it is fsynced to the request log next to the store
    (<db>.requests.NNNNNN); its rows are committed right after, and every query through the collector
    waits for what was acknowledged before it. After a crash or kill -9, the next start stores what
    the log holds. Stop with Ctrl-C or SIGTERM: the collector stops accepting, commits what it
    holds, checkpoints, deletes the log and closes the store.
    """
    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    config = CollectorConfig(
        db_path=db_path or default_db_path(),
        host=host,
        grpc_port=grpc_port,
        http_port=http_port,
        token=token,
        max_request_bytes=max_request_bytes,
        max_pending_items=max_pending_items,
        memory_limit=memory_limit,
        ack_after_commit=ack_after_commit,
    )
    stop_requested = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop_requested.set())
    # Receiver threads, the request log and the DuckDB writer hand the GIL back and forth around native work
    # (decoding, DuckDB, fsync); Python's default 5 ms switch interval left the writer waiting for it
    # (ingest benchmark: ~35k -> ~40k spans/s at 0.2 ms).
    sys.setswitchinterval(0.0002)
    try:
        collector = Collector(config).start()
    except OSError as exc:
        raise click.ClickException(f"{exc}. Is another collector running? Pick other ports with --grpc-port/--http-port.")
    click.echo(
        f"smoltrace-collector ready: OTLP/gRPC {collector.grpc_endpoint}  OTLP/HTTP {collector.http_endpoint}  "
        f"store {config.db_path}",
        err=True,
    )
    while not stop_requested.wait(0.5):
        pass
    click.echo("smoltrace-collector: stopping (flushing and checkpointing the store)...", err=True)
    collector.stop()
    stats = collector.writer.stats
    click.echo(f"smoltrace-collector: stopped; stored {stats.items} items in {stats.commits} commits", err=True)


if __name__ == "__main__":
    main()
