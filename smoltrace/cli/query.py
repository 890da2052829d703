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
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import click

from smoltrace.collector.discovery import running_collector_for
from smoltrace.store import readonly
from smoltrace.store.database import DB_ENV_VAR, default_db_path

TOKEN_ENV_VAR = "SMOLTRACE_TOKEN"
DEFAULT_LIMIT = 1000
HTTP_GRACE_S = 5.0
_NAMED_PARAM = re.compile(r"^\$?(?P<name>[A-Za-z_][A-Za-z0-9_]*)=(?P<value>.*)$", re.DOTALL)


@dataclass
class Rows:
    """What every path returns: column names and types, JSON-safe rows, and whether rows were cut."""

    columns: list[dict]
    rows: list[list]
    truncated: bool


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


# -- through the collector's query API ------------------------------------------------------------


def _http_json(url: str, *, token: str | None, body: dict | None, timeout_s: float) -> dict:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method="POST" if data is not None else "GET")
    request.add_header("accept", "application/json")
    if data is not None:
        request.add_header("content-type", "application/json")
    if token:
        request.add_header("authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as exc:
        try:
            message = json.loads(exc.read()).get("error") or exc.reason
        except ValueError:
            message = exc.reason
        if exc.code == 401:
            hint = "pass --token or set SMOLTRACE_TOKEN" if not token else "check --token / SMOLTRACE_TOKEN"
            raise QueryFailed(f"the collector refused the request: {message} ({hint})") from None
        raise QueryFailed(str(message)) from None
    except (urllib.error.URLError, OSError) as exc:
        raise QueryFailed(
            f"a collector holds the store but its query API at {url.split('/api/')[0]} did not answer: "
            f"{getattr(exc, 'reason', exc)}"
        ) from None


def query_api(info: dict, *, sql, view, filters, order_by, params, limit, timeout_s, token) -> Rows:
    base = info["http_endpoint"].rstrip("/")
    wait = timeout_s + HTTP_GRACE_S
    if view is not None:
        query = [*filters, ("limit", str(limit)), ("timeout_s", str(timeout_s))]
        if order_by:
            query.append(("order_by", order_by))
        url = f"{base}/api/views/{urllib.parse.quote(view, safe='')}?{urllib.parse.urlencode(query)}"
        answer = _http_json(url, token=token, body=None, timeout_s=wait)
    else:
        body = {"sql": sql, "params": params, "limit": limit, "timeout_s": timeout_s, "format": "json"}
        answer = _http_json(f"{base}/api/query", token=token, body=body, timeout_s=wait)
    return Rows(answer["columns"], answer["rows"], answer["truncated"])


# -- on the file, read-only -----------------------------------------------------------------------


def query_file(db: Path, *, sql, view, filters, order_by, params, limit, timeout_s) -> Rows:
    if not db.exists():
        raise QueryFailed(
            f"no smoltrace store at {db}: run smoltrace-eval first (or start smoltrace-collector), "
            f"or point --db / ${DB_ENV_VAR} at an existing store"
        )
    import duckdb

    try:
        conn = readonly.open_readonly(db)
    except duckdb.Error as exc:
        raise QueryFailed(f"cannot open {db} read-only: {exc}") from None
    try:
        if view is not None:
            sql, params = readonly.view_query(readonly.list_views(conn), view, filters, order_by)
        result = readonly.run_readonly(conn, sql, params, max_rows=limit, timeout_s=timeout_s)
    finally:
        conn.close()
    return Rows([{"name": c.name, "type": c.type} for c in result.columns], result.json_rows(), result.truncated)


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
    db = (db_path or default_db_path()).expanduser()
    request = dict(
        sql=sql, view=view, filters=parse_where(where), order_by=order_by,
        params=parse_params(param), limit=limit, timeout_s=timeout_s,
    )  # fmt: skip

    info = running_collector_for(db)
    if info is not None:
        rows = query_api(info, token=token, **request)
    else:
        rows = _query_file_with_errors(db, request)
    render(rows, fmt)
    if rows.truncated:
        click.echo(f"(showing the first {limit} rows; raise --limit to see more)", err=True)



def _query_file_with_errors(db: Path, request: dict) -> Rows:
    import duckdb

    try:
        return query_file(db, **request)
    except readonly.RefusedQuery as exc:
        raise QueryFailed(f"refused: {exc}") from None
    except (readonly.BadArgument, readonly.QueryTimeout, duckdb.Error) as exc:
        raise QueryFailed(str(exc)) from None


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
