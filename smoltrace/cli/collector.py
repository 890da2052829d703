"""``smoltrace-collector``: run the OTLP receiver and DuckDB store as a long-lived service."""

from __future__ import annotations

import logging
import signal
import sys
import threading
from pathlib import Path

import click

from smoltrace.collector import Collector, CollectorConfig
from smoltrace.collector.sizes import parse_size
from smoltrace.collector.writer import DEFAULT_MEMORY_LIMIT
from smoltrace.store.database import DB_ENV_VAR, default_db_path
from smoltrace.store.open_errors import StoreOpenError

#: ``--process-memory-limit auto``: the process's data size once ready, plus the store's memory limit,
#: plus this much for requests in flight, query results and the facts deriver. Generous on purpose: the
#: data size counts address space DuckDB's allocator keeps after freeing it, and with 2 GiB a 1M-span
#: ingest of real runs ended in MemoryError while its RSS stayed under 600 MB (bench/query_scale.py).
AUTO_MEMORY_HEADROOM = 8 * 2**30
#: glibc gives each thread that allocates an arena of its own (up to 8 per core) and keeps in each what
#: was freed there; the collector's threads (receivers, request log, writer, deriver, queries) share
#: two. Measured in bench/README.md ("checkpoint_memory.py"): less peak RSS, the same ingest.
MALLOC_ARENAS = 2
#: Blocks of this size or more get an mmap of their own, given back to the system when freed. glibc's
#: default threshold rises with each such block freed (up to 32 MiB), after which a request's buffers of
#: a few MB (its body, its decoded columns) are cut from the heap, and the holes they leave between
#: long-lived allocations (DuckDB's metadata) stay in the process (bench/README.md, "query_scale.py").
MALLOC_MMAP_THRESHOLD = 1 << 20
#: ``--process-memory-limit`` settings that mean "no limit" (besides sizes and auto).
NO_LIMIT_SETTINGS = ("0", "off", "none")
_M_MMAP_THRESHOLD = -3  # mallopt's parameter numbers (malloc.h)
_M_ARENA_MAX = -8


def check_size(ctx: click.Context, param: click.Parameter, value: str) -> str:
    """A size flag, checked before anything starts (``--process-memory-limit`` also takes auto and 0)."""
    if param.name == "process_memory_limit" and value.strip().lower() in ("auto", *NO_LIMIT_SETTINGS):
        return value
    try:
        parse_size(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    return value


def _data_size() -> int:
    """The process's data segment now (Linux: VmData), what RLIMIT_DATA limits."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmData:"):
                return int(line.split()[1]) * 1024
    raise OSError("VmData not found in /proc/self/status")


def limit_process_memory(setting: str, memory_limit: str) -> str | None:
    """Cap the process's data size (RLIMIT_DATA), so that no query can take the machine's memory:
    DuckDB builds some values outside its own memory limit (a query answered 'Out of Memory Error'
    instead of growing the collector to 8 GB). Returns what was set, for the ready line."""
    if setting.strip().lower() in NO_LIMIT_SETTINGS:
        return None
    try:
        import resource

        if setting.strip().lower() == "auto":
            limit = _data_size() + parse_size(memory_limit) + AUTO_MEMORY_HEADROOM
        else:
            limit = parse_size(setting)
        hard = resource.getrlimit(resource.RLIMIT_DATA)[1]
        if hard != resource.RLIM_INFINITY:
            limit = min(limit, hard)
        resource.setrlimit(resource.RLIMIT_DATA, (limit, hard))
    except (ImportError, OSError, ValueError, AttributeError) as exc:  # not on this platform
        logging.getLogger("smoltrace.collector").warning("process memory limit not set: %s", exc)
        return None
    return f"{limit / 2**30:.1f} GiB"


def tune_malloc(arenas: int = MALLOC_ARENAS, mmap_threshold: int = MALLOC_MMAP_THRESHOLD) -> bool:
    """Cap glibc's malloc arenas (for the threads started from now on) and fix its mmap threshold; False
    where malloc is not glibc's."""
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c"))
        results = [libc.mallopt(_M_ARENA_MAX, arenas), libc.mallopt(_M_MMAP_THRESHOLD, mmap_threshold)]
        return all(results)  # both set, whichever fails
    except (OSError, AttributeError, TypeError):  # no libc found, or one without mallopt (macOS, musl)
        return False


@click.command(context_settings={"help_option_names": ["-h", "--help"], "show_default": True})
@click.option("--host", default="127.0.0.1", help="Address to listen on. Loopback only by default; see the README "
              "before exposing the collector (set a token, put TLS in front).")  # fmt: skip
@click.option("--grpc-port", default=4317, type=int, help="OTLP/gRPC port (0 picks a free port).")
@click.option(
    "--http-port", default=4318, type=int, help="OTLP/HTTP port, also the health check (0 picks a free port)."
)
@click.option("--db", "db_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help=f"DuckDB store file (the request log <db>.requests.* lives next to it). Default: ${DB_ENV_VAR}, "
                   "else ~/.local/share/smoltrace/smoltrace.duckdb.")  # fmt: skip
@click.option("--token", envvar="SMOLTRACE_TOKEN", default=None, show_envvar=True,
              help="Require 'authorization: Bearer <token>' on every request (gRPC metadata or HTTP header).")  # fmt: skip
@click.option("--max-request-bytes", default=32 * 1024 * 1024, type=int,
              help="Largest accepted request body (gRPC answers RESOURCE_EXHAUSTED, HTTP 413 beyond it).")  # fmt: skip
@click.option("--max-pending-items", default=32_000, type=int,
              help="Spans/points/logs accepted and not yet committed to DuckDB. Above half of it, answers wait "
                   "for DuckDB to catch up; at the limit, new requests are refused with a retryable code. A request "
                   "counts as its items or as its decoded size in 2 KB units, whichever is more, so the queue "
                   "holds at most ~64 MB by default, however large the spans.")  # fmt: skip
@click.option("--memory-limit", default=DEFAULT_MEMORY_LIMIT, callback=check_size,
              help="DuckDB memory limit for the store (ingest, the facts deriver and queries): DuckDB's cache of "
                   "the file's blocks stays within it, and a query needing more spills to disk or fails with "
                   "'Out of Memory Error'. The views read small derived tables, so queries need little. Lower keeps the "
                   "collector smaller under large spans and costs some ingest; too low, and large queries run out of "
                   "memory (bench/README.md).")  # fmt: skip
@click.option("--ack-after-commit", is_flag=True, default=False,
              help="Answer an export only once its rows are committed to DuckDB, not as soon as the request "
                   "log holds it. Both are durable and every query sees acknowledged data either way; this one "
                   "is slower under load (ingest benchmark, 2 cores, interleaved: 34-38k instead of 50-57k spans/s).")  # fmt: skip
@click.option("--process-memory-limit", default="auto", callback=check_size,
              help="Largest data size of the collector's process (RLIMIT_DATA): beyond it an allocation fails "
                   "(a query gets 'Out of Memory Error') instead of the machine running out of memory. auto: "
                   "the size once ready + --memory-limit + 8 GiB; 0: no limit.")  # fmt: skip
@click.option("--log-level", default="info", type=click.Choice(["debug", "info", "warning", "error"]),
              help="Log verbosity.")  # fmt: skip
def main(
    host,
    grpc_port,
    http_port,
    db_path,
    token,
    max_request_bytes,
    max_pending_items,
    memory_limit,
    ack_after_commit,
    process_memory_limit,
    log_level,
):
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
    tune_malloc()  # before the collector starts its threads
    try:
        collector = Collector(config).start()
    except StoreOpenError as exc:
        raise click.ClickException(str(exc)) from None
    except OSError as exc:
        raise click.ClickException(
            f"{exc}. Is another collector running? Pick other ports with --grpc-port/--http-port."
        ) from None
    capped = limit_process_memory(process_memory_limit, memory_limit)
    click.echo(
        f"smoltrace-collector ready: OTLP/gRPC {collector.grpc_endpoint}  OTLP/HTTP {collector.http_endpoint}  "
        f"store {config.db_path}" + (f"  process memory limit {capped}" if capped else ""),
        err=True,
    )
    while not stop_requested.wait(0.5):
        pass
    click.echo("smoltrace-collector: stopping (flushing and checkpointing the store)...", err=True)
    collector.stop()
    stats, deriver = collector.writer.stats, collector.writer.deriver
    click.echo(
        f"smoltrace-collector: stopped; stored {stats.items} items in {stats.commits} commits "
        f"({deriver.derive_s:.1f} s deriving facts of {deriver.derived_traces} traces)",
        err=True,
    )
    if collector.writer.stop_error:
        click.echo(f"smoltrace-collector: {collector.writer.stop_error}", err=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
