"""``smoltrace-store``: look after the store file itself.

- ``info``: the store's schema version, its size, and how much it holds (raw and derived);
- ``rebuild``: derive every fact again from the raw spans in ``otel_traces`` (after a change to
  ``facts/derive.sql``, or to prove the stored facts are what the spans say);
- ``check``: rebuild inside a transaction that is rolled back, and report every derived table whose
  rows differ from the stored ones (exit status 1 when one does).

All three need the file to themselves (DuckDB allows one writing process): stop the collector first.
An older store is migrated to this version the first time any smoltrace command opens it.
"""

from __future__ import annotations

import time
from pathlib import Path

import click

from smoltrace.collector.discovery import running_collector_for
from smoltrace.store import database, facts

INFO_SQL = {
    "spans (otel_traces)": "SELECT count(*) FROM otel_traces",
    "task executions": "SELECT count(*) FROM smoltrace_task_facts",
    "runs": "SELECT count(*) FROM run_info",
    "LLM calls": "SELECT count(*) FROM smoltrace_llm_calls",
    "tool calls": "SELECT count(*) FROM smoltrace_tool_calls",
    "traces waiting for their facts": "SELECT count(DISTINCT trace_id) FROM smoltrace_facts_queue",
}
SNAPSHOT_SQL = "CREATE TEMP TABLE stored_{table} AS SELECT * FROM {table}"
DIFFERENCE_SQL = """
SELECT (SELECT count(*) FROM (SELECT * FROM stored_{table} EXCEPT ALL SELECT * FROM {table})),
       (SELECT count(*) FROM (SELECT * FROM {table} EXCEPT ALL SELECT * FROM stored_{table}))
"""
CHECKED_TABLES = (*(table for table in facts.DERIVED_TABLES if table != "smoltrace_facts_queue"), facts.RUN_FACTS_TABLE)


def _open(db_path: Path | None):
    path = Path(db_path).expanduser() if db_path else database.default_db_path()
    if not path.exists():
        raise click.ClickException(f"no smoltrace store at {path}: pass --db or set ${database.DB_ENV_VAR}")
    holder = running_collector_for(path)
    if holder is not None:
        raise click.ClickException(
            f"smoltrace-collector (pid {holder['pid']}) holds {path}; stop it first (it derives facts itself "
            "while it runs)"
        )
    try:
        return path, database.connect(path)
    except Exception as exc:  # a locked, corrupt or foreign file: one line, not a traceback
        raise click.ClickException(f"cannot open {path}: {str(exc).splitlines()[0]}") from None


def _rebuild_with_progress(conn) -> int:
    from rich.console import Console
    from rich.progress import Progress

    with Progress(transient=True, console=Console(stderr=True)) as progress:
        task = progress.add_task("deriving facts", total=None)
        return facts.rebuild(conn, progress=lambda done, total: progress.update(task, completed=done, total=total))


db_option = click.option(
    "--db", "db_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
    help=f"The store file. Default: ${database.DB_ENV_VAR}, else ~/.local/share/smoltrace/smoltrace.duckdb.",
)  # fmt: skip


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main():
    """Inspect, check and rebuild a smoltrace store file."""


@main.command()
@db_option
def info(db_path):
    """What the store holds: schema version, size, raw and derived rows."""
    path, conn = _open(db_path)
    with conn:
        click.echo(f"store          : {path} ({path.stat().st_size / 1e6:,.1f} MB)")
        click.echo(f"schema version : {database.schema_version(conn)}")
        for label, sql in INFO_SQL.items():
            click.echo(f"{label:31s}: {conn.execute(sql).fetchone()[0]:,}")


@main.command()
@db_option
def rebuild(db_path):
    """Derive every fact again from the raw spans (otel_traces), in one transaction."""
    path, conn = _open(db_path)
    with conn:
        started = time.monotonic()
        traces = _rebuild_with_progress(conn)
        conn.execute("CHECKPOINT")
    click.echo(f"rebuilt the facts of {traces:,} traces in {time.monotonic() - started:.1f} s ({path})")


@main.command()
@db_option
def check(db_path):
    """Rebuild in a transaction that is rolled back; report derived tables that differ (exit 1)."""
    path, conn = _open(db_path)
    with conn:
        for table in CHECKED_TABLES:
            conn.execute(SNAPSHOT_SQL.format(table=table))
        conn.begin()
        try:
            traces = facts.derive_all(conn)
            differences = {
                table: conn.execute(DIFFERENCE_SQL.format(table=table)).fetchone() for table in CHECKED_TABLES
            }
        finally:
            conn.rollback()
    bad = {table: counts for table, counts in differences.items() if any(counts)}
    for table, (stale, missing) in bad.items():
        click.echo(f"{table}: {stale} stored rows the spans do not give, {missing} rows missing")
    if bad:
        raise click.ClickException(f"the stored facts of {path} differ from the spans: run `smoltrace-store rebuild`")
    click.echo(f"the stored facts of {traces:,} traces are exactly what the spans give ({path})")
