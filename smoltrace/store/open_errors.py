"""Why a store could not be opened, in one line a user can act on (instead of DuckDB's traceback)."""

from __future__ import annotations

import errno
import re
from pathlib import Path

#: Catalog names DuckDB keeps for itself: a store file named after one cannot be attached by its stem.
RESERVED_STEMS = frozenset({"main", "memory", "temp", "system"})


class StoreOpenError(Exception):
    """The store cannot be opened; the message says why and what to do."""


def check_store_name(path: Path) -> None:
    """Refuse a file name DuckDB cannot attach (``main.duckdb``, ``memory.duckdb``, ...) before any
    file is created."""
    if path.stem.lower() in RESERVED_STEMS:
        raise StoreOpenError(
            f"cannot use {path} as a store: DuckDB reserves the name {path.stem!r} for a catalog of its "
            f"own; give the file another name (e.g. smoltrace.duckdb)"
        )


def explain_open_error(path: Path, exc: BaseException) -> StoreOpenError:
    """A StoreOpenError for ``exc``, raised while opening the store at ``path``."""
    if isinstance(exc, StoreOpenError):
        return exc
    message = str(exc)
    if "Could not set lock on file" in message:
        holder = re.search(r"\(PID (\d+)\)", message)
        who = f" (PID {holder.group(1)})" if holder else ""
        return StoreOpenError(
            f"the store {path} is in use by another process{who}: a smoltrace-collector, smoltrace-eval or "
            f"smoltrace-query has it open. Wait for it or stop it, or pass another --db"
        )
    if getattr(exc, "errno", None) == errno.ENOSPC or "No space left on device" in message:
        return StoreOpenError(f"no space left on the device of the store {path}: free some space and start again")
    if "not a valid DuckDB database file" in message:
        empty = path.exists() and path.stat().st_size == 0
        what = "an empty file" if empty else "not a DuckDB database (a damaged or foreign file)"
        return StoreOpenError(
            f"the store {path} is {what}: move it away (a new store is then created) or pass another --db"
        )
    if "Corrupt database file" in message or "checksum" in message.lower():
        return StoreOpenError(
            f"the store {path} is damaged ({_first_line(message)}): restore it from a copy or pass another --db"
        )
    if getattr(exc, "errno", None) == errno.EACCES or "Permission denied" in message:
        return StoreOpenError(f"cannot open the store {path}: permission denied")
    return StoreOpenError(f"cannot open the store {path}: {_first_line(message)}")


def _first_line(message: str) -> str:
    return message.strip().splitlines()[0] if message.strip() else "unknown error"
