"""``smoltrace-query``: read-only SQL (or a named view) over the smoltrace store, printed as a table,
CSV or JSON.

One writer per DuckDB file: while a collector holds the store (it writes ``<store>.collector.json``),
this command asks that collector's query API; otherwise it opens the file read-only itself. Either
way the same guard (``smoltrace.store.readonly``) decides what may run, and the rows are the same
JSON-safe values, so the output does not depend on which path was taken.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import click

from smoltrace.store import readonly
from smoltrace.store.database import DB_ENV_VAR
from smoltrace.store.reader import ReadError, Rows, open_reader

TOKEN_ENV_VAR = "SMOLTRACE_TOKEN"
DEFAULT_LIMIT = 1000
_NAMED_PARAM = re.compile(r"^\$?(?P<name>[A-Za-z_][A-Za-z0-9_]*)=(?P<value>.*)$", re.DOTALL)


class QueryFailed(click.ClickException):
    """Printed as ``Error: <message>`` with exit status 1."""


# -- arguments ------------------------------------------------------------------------------------


def parse_params(values: tuple[str, ...]):
    """``--param`` values: all ``NAME=VALUE`` (for ``$NAME``) or all plain (for ``?``/``$1`` in order).

    A plain value that itself looks like ``NAME=VALUE`` can be passed as ``=NAME=VALUE``.
    """
    if not values:
        return None
    named = [_NAMED_PARAM.match(value) for value in values]
    if all(named):
        return {match.group("name"): match.group("value") for match in named}
    if any(named):
        raise click.BadParameter(
            "use either all NAME=VALUE (named) or all plain values (positional)", param_hint="--param"
        )
    return [value[1:] if value.startswith("=") else value for value in values]


def parse_where(values: tuple[str, ...]) -> list[tuple[str, str]]:
    filters = []
    for value in values:
        column, sep, wanted = value.partition("=")
        if not sep or not column.strip():
            raise click.BadParameter(f"{value!r} is not COLUMN=VALUE", param_hint="--where")
        filters.append((column.strip(), wanted))
    return filters


# -- output -----------------------------------------------------------------------------------------


def render(rows: Rows, fmt: str) -> None:
    names = [column["name"] for column in rows.columns]
    if fmt == "json":
        records = [dict(zip(names, row)) for row in rows.rows]
        click.echo(json.dumps(records, indent=2, ensure_ascii=False))
    elif fmt == "csv":
        click.echo(readonly.to_csv(names, rows.rows, line_end="\n"), nl=False)
    else:
        from rich.console import Console
        from rich.table import Table
        from rich.text import Text

        # Text(), not str: values are data, and a "[red]" in a value must print as itself, not as markup.
        table = Table()
        for name in names:
            table.add_column(Text(name))
        for row in rows.rows:
            table.add_row(*(Text("NULL" if value is None else readonly.text_cell(value)) for value in row))
        Console(soft_wrap=False).print(table)


# -- the command --------------------------------------------------------------------------------


@click.command(context_settings={"help_option_names": ["-h", "--help"], "show_default": True})
@click.argument("sql", required=False)
@click.option("--view", "view", default=None, metavar="NAME",
              help="Read the named view (e.g. results, leaderboard, runs) instead of running SQL.")  # fmt: skip
@click.option("--where", "where", multiple=True, metavar="COLUMN=VALUE",
              help="With --view: keep rows whose COLUMN equals VALUE (repeatable; a repeated column means "
                   "any of the values). Values are bound as parameters.")  # fmt: skip
@click.option("--order-by", default=None, metavar="COLUMNS",
              help="With --view: comma-separated columns, '-col' or 'col desc' for descending.")  # fmt: skip
@click.option("--db", "db_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help=f"DuckDB store file. Default: ${DB_ENV_VAR}, else ~/.local/share/smoltrace/smoltrace.duckdb.")  # fmt: skip
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table",
              help="Output: a table, CSV with a header line, or a JSON array of row objects.")  # fmt: skip
@click.option("--limit", default=DEFAULT_LIMIT, type=click.IntRange(0, readonly.MAX_ROW_LIMIT),
              help="Most rows to print; a note on stderr says when more were left out.")  # fmt: skip
@click.option("--param", "param", multiple=True, metavar="VALUE|NAME=VALUE",
              help="A query parameter (repeatable): plain values bind ? / $1, $2 ... in order; NAME=VALUE binds "
                   "$NAME (write =VALUE for a plain value that contains '='). Values are text; DuckDB casts them "
                   "to the type the query needs.")  # fmt: skip
@click.option("--timeout", "timeout_s", default=readonly.DEFAULT_TIMEOUT_S, type=click.FloatRange(min=0, min_open=True),
              help="Seconds a query may run before it is interrupted (a collector may cap it lower).")  # fmt: skip
@click.option("--token", envvar=TOKEN_ENV_VAR, default=None, show_envvar=True,
              help="Bearer token for a collector started with --token (only used through the query API).")  # fmt: skip
def main(sql, view, where, order_by, db_path, fmt, limit, param, timeout_s, token):
    """Run one read-only SQL query (or read a named view) on the smoltrace store.

    \b
    Examples:
      smoltrace-query "SELECT SpanName, count(*) FROM otel_traces GROUP BY ALL"
      smoltrace-query --view results --where run_id=abc123 --format csv
      smoltrace-query "SELECT * FROM results WHERE run_id = ?" --param abc123 --format json

    Only one SELECT (or WITH/VALUES/DESCRIBE/SUMMARIZE/SHOW, or EXPLAIN of one) over the store's
    tables and views is allowed: no writes, no DDL, no files, no extensions. When a collector is
    running on the store, the query goes through its HTTP query API; otherwise the file is opened
    read-only.
    """
    if (sql is None) == (view is None):
        raise click.UsageError("give either SQL or --view NAME (not both)")
    if view is None and (where or order_by):
        raise click.UsageError("--where and --order-by go with --view")
    if view is not None and param:
        raise click.UsageError("--param goes with SQL; use --where with --view")
    filters, params = parse_where(where), parse_params(param)  # usage errors before the store is opened
    try:
        with open_reader(db_path, token) as reader:
            if view is not None:
                rows = reader.read_view(view, filters, order_by, limit=limit, timeout_s=timeout_s)
            else:
                rows = reader.read(sql, params, limit=limit, timeout_s=timeout_s)
    except ReadError as exc:
        raise QueryFailed(str(exc)) from None
    render(rows, fmt)
    if rows.truncated:
        click.echo(f"(showing the first {limit} rows; raise --limit to see more)", err=True)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
