"""Finding the store for the publisher and the cleanup: through a running collector, or the file.

DuckDB allows one writing process per file. While a collector holds the store, reads go through its
query API and deletes through its admin route (``DELETE /api/runs/{run_id}``); otherwise the file is
opened directly (read-only to publish, for writing to clean up).
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from smoltrace.collector.discovery import running_collector_for
from smoltrace.store.database import connect, default_db_path
from smoltrace.store.reader import ConnectionReader, QueryApiReader


def resolve_db_path(db_path: str | Path | None) -> Path:
    return Path(db_path).expanduser() if db_path else default_db_path()


@contextlib.contextmanager
def open_reader(db_path: str | Path | None = None, collector_token: str | None = None):
    """Yields ``(reader, description)``; raises FileNotFoundError when there is no store."""
    path = resolve_db_path(db_path)
    info = running_collector_for(path)
    if info is not None:
        yield QueryApiReader(info["http_endpoint"], collector_token), f"collector {info['http_endpoint']}"
        return
    conn = connect(path, read_only=True)
    try:
        yield ConnectionReader(conn), f"store {path}"
    finally:
        conn.close()
