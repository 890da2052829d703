"""The one door to the DuckDB store: where it lives, opening it, applying the schema and the views.

The collector is the only writer while it runs (DuckDB allows one writing process per file); every
other reader opens the file read-only or goes through the collector's query API.
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

import duckdb

#: Bump when schema.sql changes in a way that needs a migration step.
SCHEMA_VERSION = 1

DB_ENV_VAR = "SMOLTRACE_DB"


def default_db_path() -> Path:
    """`$SMOLTRACE_DB`, else `$XDG_DATA_HOME/smoltrace/smoltrace.duckdb` (~/.local/share/...).

    One well-known file, so that `smoltrace-eval`, `smoltrace-query` and `smoltrace-collector` find the
    same store from any working directory.
    """
    if os.environ.get(DB_ENV_VAR):
        return Path(os.environ[DB_ENV_VAR]).expanduser()
    data_home = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return data_home / "smoltrace" / "smoltrace.duckdb"


def read_sql(name: str) -> str:
    """The text of a packaged .sql file, e.g. ``read_sql("schema.sql")`` or ``"views/results.sql"``."""
    return resources.files("smoltrace.store").joinpath(name).read_text(encoding="utf-8")


def view_files() -> list[str]:
    """Packaged view definitions, in the order they must be created (by file name prefix)."""
    folder = resources.files("smoltrace.store").joinpath("views")
    return sorted(f"views/{entry.name}" for entry in folder.iterdir() if entry.name.endswith(".sql"))


def apply_schema(conn: duckdb.DuckDBPyConnection) -> None:
    """Create the tables if missing and (re)create every view.

    Views are always replaced, so a changed scoring rule re-scores every stored run on next open.
    """
    conn.execute(read_sql("schema.sql"))
    for name in view_files():
        conn.execute(read_sql(name))
    conn.execute(
        "INSERT INTO smoltrace_schema_migrations VALUES (?, now()) ON CONFLICT DO NOTHING",
        [SCHEMA_VERSION],
    )


def connect(path: str | os.PathLike | None = None, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open the store. A writable open creates the file, the tables and the views."""
    db_path = Path(path) if path is not None else default_db_path()
    if read_only:
        if not db_path.exists():
            raise FileNotFoundError(
                f"no smoltrace store at {db_path}: run smoltrace-eval or smoltrace-collector first, "
                f"or pass --db / set {DB_ENV_VAR}"
            )
        return duckdb.connect(str(db_path), read_only=True)
    db_path.parent.mkdir(parents=True, exist_ok=True)
    conn = duckdb.connect(str(db_path))
    apply_schema(conn)
    return conn
