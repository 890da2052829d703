"""The one door to the DuckDB store: where it lives, opening it, applying the schema and the views.

The collector is the only writer while it runs (DuckDB allows one writing process per file); every
other reader opens the file read-only or goes through the collector's query API.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import re
from collections.abc import Callable
from importlib import resources
from pathlib import Path

import duckdb

from smoltrace.store import facts, rules

DB_ENV_VAR = "SMOLTRACE_DB"

log = logging.getLogger("smoltrace.store")


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


@functools.cache
def views_digest() -> str:
    """A digest of this release's view definitions (the view files, names and text), recorded in the store
    by every writable open: a read-only open of a store whose views another release created sees it differ."""
    digest = hashlib.sha256()
    for name in view_files():
        digest.update(f"{name}\0{read_sql(name)}\0".encode())
    return digest.hexdigest()


def stored_views_digest(conn: duckdb.DuckDBPyConnection) -> str | None:
    """The digest recorded by the last writable open (None for a store older than the record)."""
    try:
        row = conn.execute(STORED_VIEWS_DIGEST_SQL).fetchone()
    except duckdb.CatalogException:
        return None
    return row[0]


def _drop_tree_views(conn: duckdb.DuckDBPyConnection) -> None:
    """Version 2 reads derived facts; the views that walked every trace's span tree go."""
    conn.execute("DROP VIEW IF EXISTS span_tree")
    conn.execute("DROP VIEW IF EXISTS span_links")


def _derive_facts(conn: duckdb.DuckDBPyConnection) -> None:
    facts.rebuild(conn)


#: Version 4's new fact columns (facts/tables.sql puts them last, where ALTER TABLE adds them).
ADD_FACT_COLUMNS_SQL = (
    "ALTER TABLE smoltrace_task_facts ADD COLUMN IF NOT EXISTS code_runs INTEGER",
    "ALTER TABLE smoltrace_task_facts ADD COLUMN IF NOT EXISTS planning_steps INTEGER",
)


def _derive_run_facts(conn: duckdb.DuckDBPyConnection) -> None:
    facts.derive_runs(conn)


def _add_fact_columns(conn: duckdb.DuckDBPyConnection) -> None:
    for statement in ADD_FACT_COLUMNS_SQL:
        conn.execute(statement)


#: Schema versions after the first, each with the step that brings a store of the version before it
#: there. A step runs once per store, in order; ``smoltrace_schema_migrations`` records each version.
#: Version 1 is the first release's schema (schema.sql alone, views over the raw spans).
MIGRATIONS: dict[int, Callable[[duckdb.DuckDBPyConnection], None]] = {
    2: _drop_tree_views,  # the derived facts tables (facts/tables.sql) exist from here on
    3: _derive_facts,
    4: _derive_facts,  # the facts code_runs and planning_steps (SMOLTRACE's tool_called and steps)
    5: _derive_run_facts,  # smoltrace_run_facts: one row per run, which run_info reads
}
#: Steps that change tables the views read: they run before the views are created (a view over a
#: column the table does not have yet cannot be created), the version's MIGRATIONS step after them.
TABLE_MIGRATIONS: dict[int, Callable[[duckdb.DuckDBPyConnection], None]] = {
    4: _add_fact_columns,
}
SCHEMA_VERSION = max(MIGRATIONS)

APPLIED_VERSIONS_SQL = 'SELECT "Version" FROM smoltrace_schema_migrations'
RECORD_VERSION_SQL = "INSERT INTO smoltrace_schema_migrations VALUES (?, now()) ON CONFLICT DO NOTHING"
STORED_VIEWS_DIGEST_SQL = 'SELECT any_value("Digest") FROM smoltrace_views_digest'
CLEAR_VIEWS_DIGEST_SQL = "DELETE FROM smoltrace_views_digest"
RECORD_VIEWS_DIGEST_SQL = "INSERT INTO smoltrace_views_digest VALUES (?)"
HAS_TABLES_SQL = (
    "SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database() AND schema_name = 'main' "
    "AND table_name IN ('otel_traces', 'smoltrace_schema_migrations')"
)


def schema_version(conn: duckdb.DuckDBPyConnection) -> int:
    """The store's schema version: 0 for a file with no smoltrace tables yet."""
    if conn.execute(HAS_TABLES_SQL).fetchone()[0] < 2:
        return 0
    return max((row[0] for row in conn.execute(APPLIED_VERSIONS_SQL).fetchall()), default=1)


def apply_schema(conn: duckdb.DuckDBPyConnection) -> None:
    """Create the tables if missing, migrate an older store once, and (re)create every view.

    Views are always replaced, so a changed scoring rule re-scores every stored run on next open, and
    the digest of their definitions is recorded, so that a read-only open sees whether they are this
    release's (connect).
    """
    version = schema_version(conn)
    conn.execute(read_sql("schema.sql"))
    conn.execute(facts.tables_sql())
    if version == 0:  # a new store: nothing to migrate
        version = SCHEMA_VERSION
        conn.executemany(RECORD_VERSION_SQL, [[v] for v in range(1, SCHEMA_VERSION + 1)])
    pending = sorted(v for v in MIGRATIONS if v > version)
    for target in pending:
        if target in TABLE_MIGRATIONS:
            TABLE_MIGRATIONS[target](conn)
    for name in view_files():  # before the migrations, which may use the views' macros
        conn.execute(read_sql(name))
    rules.create_views(conn)  # the user's scoring rules, over the views just created
    conn.execute(CLEAR_VIEWS_DIGEST_SQL)
    conn.execute(RECORD_VIEWS_DIGEST_SQL, [views_digest()])
    done = set()
    for target in pending:
        log.warning("migrating the store to schema version %d", target)
        if MIGRATIONS[target] not in done:  # one rebuild of the facts serves every version that needs one
            MIGRATIONS[target](conn)
            done.add(MIGRATIONS[target])
        conn.execute(RECORD_VERSION_SQL, [target])


#: Rows per row group in the tables the collector writes. Small row groups: a checkpoint rewrites the
#: table's last, partly filled row group, so with DuckDB's default of 122,880 rows every checkpoint
#: during ingest re-compressed up to ~120k rows already stored. And the collector's writer commits whole
#: row groups (writer.py): a transaction that appends at least a row group is compressed and written
#: straight to the file at commit, instead of being copied into the table and compressed again by the
#: next CHECKPOINT (measured on the ingest benchmark's spans: 9.3 against 14.8-17.4 us/span of DuckDB
#: CPU). 8,192 rows is ~0.2 s of a 40k spans/s load and costs ~6% more bytes than 16,384.
ROW_GROUP_SIZE = 8192

# No DuckDB WAL: the collector's request log makes acknowledged requests durable (request_log.py).
# The alias is the file's stem, the catalog name a plain duckdb.connect() of the file would give.
ATTACH_FOR_INGEST_SQL = (
    "ATTACH '{path}' AS \"{catalog}\" (ROW_GROUP_SIZE " + str(ROW_GROUP_SIZE) + ", RECOVERY_MODE no_wal_writes)"
)


TEMP_DIRECTORY_SQL = "SET temp_directory = '{path}'"


def request_log_segments(db_path: str | os.PathLike) -> list[Path]:
    """The collector's request log next to the store (``<store>.requests.000001``, ...), oldest first:
    acknowledged requests not yet checkpointed into the store file (see collector/request_log.py)."""
    db_path = Path(db_path)
    if not db_path.parent.is_dir():
        return []
    pattern = re.compile(re.escape(db_path.name) + r"\.requests\.\d{6,}")
    found = [p for p in db_path.parent.iterdir() if pattern.fullmatch(p.name)]
    return sorted(found, key=lambda p: int(p.name.rsplit(".", 1)[1]))


def pending_request_log_bytes(db_path: str | os.PathLike) -> int:
    """Bytes in the collector's request log (non-zero only while a collector runs, or after a crash)."""
    return sum(segment.stat().st_size for segment in request_log_segments(db_path))


def connect(path: str | os.PathLike | None = None, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open the store. A writable open creates the file, the tables and the views."""
    db_path = Path(path) if path is not None else default_db_path()
    if read_only:
        if not db_path.exists():
            raise FileNotFoundError(
                f"no smoltrace store at {db_path}: run smoltrace-eval or smoltrace-collector first, "
                f"or pass --db / set {DB_ENV_VAR}"
            )
        if pending_request_log_bytes(db_path):
            log.warning(
                "%s.requests.* holds acknowledged requests that may not be in the store yet (a collector "
                "stopped without a clean shutdown); they are loaded when smoltrace-collector or "
                "smoltrace-eval next opens this store", db_path,
            )  # fmt: skip
        conn = duckdb.connect(str(db_path), read_only=True)
        if _current_for_reading(conn):
            return conn
        conn.close()
        migrate(db_path)  # once: a store written by an older smoltrace, or its views created by another
        return duckdb.connect(str(db_path), read_only=True)
    db_path.parent.mkdir(parents=True, exist_ok=True)
    conn = duckdb.connect(str(db_path))
    apply_schema(conn)
    return conn


def _current_for_reading(conn: duckdb.DuckDBPyConnection) -> bool:
    """Whether a read-only open can read the store as it is: its schema is this release's and its views are
    this release's views (a read-only connection cannot create them), or a newer release wrote it."""
    version = schema_version(conn)
    return version > SCHEMA_VERSION or (version == SCHEMA_VERSION and stored_views_digest(conn) == views_digest())


class StoreNeedsMigration(RuntimeError):
    """An older smoltrace wrote the store, and another process holds it, so it cannot be migrated now."""


def migrate(db_path: Path) -> None:
    """Bring a store written by an older smoltrace to this version (opening it for writing does)."""
    try:
        duckdb.connect(str(db_path)).close()  # a lock check before the migration itself
    except duckdb.IOException as exc:
        raise StoreNeedsMigration(
            f"{db_path} was written by an older smoltrace and must be migrated once, but another process "
            f"holds it ({str(exc).splitlines()[0]}); stop that process, then run any smoltrace command on it"
        ) from None
    connect(db_path).close()


def connect_for_ingest(path: str | os.PathLike) -> duckdb.DuckDBPyConnection:
    """The collector's writing connection: the store attached for fast appends, as the only catalog.

    Without DuckDB's WAL, a commit is visible to queries but reaches the file only at the next
    CHECKPOINT; the caller must keep its own log of what it committed since (the collector does).
    """
    db_path = Path(path)
    db_path.parent.mkdir(parents=True, exist_ok=True)
    catalog = db_path.stem.replace('"', '""')
    conn = duckdb.connect()
    conn.execute(ATTACH_FOR_INGEST_SQL.format(path=str(db_path).replace("'", "''"), catalog=catalog))
    conn.execute(f'USE "{catalog}"')
    conn.execute("DETACH memory")  # so that cursors, and queries, see only the store
    # Spill next to the store (an in-memory database's default is ./.tmp, wherever the process started).
    conn.execute(TEMP_DIRECTORY_SQL.format(path=str(db_path.with_name(db_path.name + ".tmp")).replace("'", "''")))
    apply_schema(conn)
    conn.execute("CHECKPOINT")  # the schema and views are durable without a WAL only once checkpointed
    return conn
