"""``smoltrace-view``: browse the runs of a store file in a web browser, read-only."""

from __future__ import annotations

import signal
import threading
import webbrowser
from pathlib import Path

import click

from smoltrace.collector.discovery import running_collector_for
from smoltrace.store.database import DB_ENV_VAR, default_db_path

DEFAULT_PORT = 7318


@click.command(context_settings={"help_option_names": ["-h", "--help"], "show_default": True})
@click.option("--db", "db_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help=f"DuckDB store file to serve. Default: ${DB_ENV_VAR}, else ~/.local/share/smoltrace/smoltrace.duckdb.")  # fmt: skip
@click.option("--host", default="127.0.0.1", help="Address to listen on. Loopback only by default; set --token "
              "before listening on another address.")  # fmt: skip
@click.option("--port", default=DEFAULT_PORT, type=click.IntRange(0, 65535), help="HTTP port (0 picks a free port).")
@click.option(
    "--open",
    "open_browser",
    is_flag=True,
    default=False,
    help="Open the view in the default web browser (default: off, only the URL is printed).",
)
@click.option("--token", envvar="SMOLTRACE_TOKEN", default=None, show_envvar=True,
              help="Require 'authorization: Bearer <token>' on the query API; the page asks for it once per "
                   "browser session. Default: no token.")  # fmt: skip
def main(db_path, host, port, open_browser, token):
    """Serve the web view (runs, leaderboard, run, task traces, compare, GPU) over a store file.

    The file is opened read-only: nothing the view or its query API runs can change it. While a
    collector holds the store, open the view that collector serves on its HTTP port instead. Stop
    with Ctrl-C.
    """
    from smoltrace.web.file_server import StoreUnavailable, ViewServer

    db = (db_path or default_db_path()).expanduser()
    info = running_collector_for(db)
    if info is not None:
        raise click.ClickException(
            f"a running smoltrace-collector (pid {info['pid']}) holds {db}; its view is at "
            f"{info['http_endpoint'].rstrip('/')}/"
        )
    server = ViewServer(db, host=host, port=port, token=token)
    try:
        server.start()
    except StoreUnavailable as exc:
        raise click.ClickException(str(exc)) from None
    except OSError as exc:
        raise click.ClickException(f"{exc}. Pick another port with --port (0 picks a free one).") from None
    note = " (token required: the page asks for it)" if token else ""
    click.echo(f"smoltrace-view: serving {db} read-only at {server.url}{note}")
    click.echo("Press Ctrl-C to stop.", err=True)
    if open_browser:
        webbrowser.open(server.url)
    stop_requested = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop_requested.set())
    while not stop_requested.wait(0.5):
        pass
    server.stop()


if __name__ == "__main__":
    main()
