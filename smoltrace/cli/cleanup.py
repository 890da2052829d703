"""``smoltrace-cleanup``: delete old smoltrace datasets from the Hub and/or old runs from the local store.

Safe by default: a dry run that prints the plan; ``--no-dry-run`` deletes after you type DELETE
(``--yes``/``-y`` skips the question; ``--all`` first asks for YES DELETE ALL, as in SMOLTRACE).
Exit status: 0 everything asked was done (or a dry run), 1 something
failed or the deletion was cancelled, 2 bad arguments.
"""

from __future__ import annotations

import sys

import click

from smoltrace.cli.options import SmoltraceCommand, ask_typed
from smoltrace.store.database import DB_ENV_VAR

FILTERS = ("--older-than", "--keep-recent", "--incomplete-only", "--all")


@click.command(cls=SmoltraceCommand, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--older-than",
    default=None,
    metavar="AGE",
    help="Delete runs older than AGE: 7d (days), 2w (weeks), 1m (months of 30 days), 12h, or a bare "
    "number of days. Default: no age filter.",
)
@click.option(
    "--keep-recent",
    type=click.IntRange(min=0),
    default=None,
    metavar="N",
    help="Keep the N most recent runs, delete the rest. Default: no count filter.",
)
@click.option(
    "--incomplete-only",
    is_flag=True,
    default=False,
    help="Delete only incomplete runs (Hub: a results/traces/metrics dataset is missing; local: the run "
    "was interrupted, failed or abandoned: no heartbeat from its runner for 3 minutes). Default: off.",
)
@click.option(
    "--all",
    "delete_all",
    is_flag=True,
    default=False,
    help="Delete ALL smoltrace runs; with --no-dry-run you are first asked to type YES DELETE ALL "
    "(unless --yes). Default: off. Give exactly one of --older-than, --keep-recent, "
    "--incomplete-only and --all.",
)
@click.option(
    "--only",
    type=click.Choice(["results", "traces", "metrics"]),
    default=None,
    help="Delete only this dataset type (locally: traces or metrics). Default: all types.",
)
@click.option(
    "--dry-run/--no-dry-run",
    default=True,
    help="Default --dry-run: only print the plan. --no-dry-run actually deletes.",
)
@click.option(
    "--yes",
    "-y",
    is_flag=True,
    default=False,
    help="Do not ask for confirmation (for automation). Default: ask to type DELETE.",
)
@click.option(
    "--preserve-leaderboard/--delete-leaderboard",
    default=True,
    help="Default --preserve-leaderboard: {user}/smoltrace-leaderboard is never deleted. "
    "--delete-leaderboard adds it to the plan.",
)
@click.option(
    "--target",
    type=click.Choice(["hub", "local", "both"]),
    default="hub",
    show_default=True,
    help="What to clean: Hub datasets (the default, as in SMOLTRACE: the local store is the record the "
    "datasets can be republished from, so it is only touched when asked), runs in the local "
    "store, or both (each side filtered on its own).",
)
@click.option(
    "--db",
    "db_path",
    type=click.Path(dir_okay=False),
    default=None,
    help=f"The local store (for --target local/both). Default: ${DB_ENV_VAR}, else "
    "~/.local/share/smoltrace/smoltrace.duckdb.",
)
@click.option(
    "--token",
    "--hf-token",
    "hf_token",
    envvar="HF_TOKEN",
    default=None,
    show_envvar=True,
    help="Hugging Face token, as in SMOLTRACE (for --target hub/both). Default: $HF_TOKEN.",
)
@click.option(
    "--collector-token",
    "--otlp-token",
    "collector_token",
    envvar="SMOLTRACE_TOKEN",
    default=None,
    help="Bearer token of a running smoltrace-collector holding the store. Default: $SMOLTRACE_TOKEN.",
)
def main(
    older_than,
    keep_recent,
    incomplete_only,
    delete_all,
    only,
    dry_run,
    yes,
    preserve_leaderboard,
    target,
    db_path,
    hf_token,
    collector_token,
):
    """Clean up smoltrace datasets ({user}/smoltrace-results|traces|metrics-YYYYMMDD_HHMMSS) and local runs.

    \b
    Examples:
      smoltrace-cleanup --older-than 7d                        # preview
      smoltrace-cleanup --older-than 30d --no-dry-run          # delete, after typing DELETE
      smoltrace-cleanup --keep-recent 5 --no-dry-run --yes     # automation
      smoltrace-cleanup --incomplete-only --target local --no-dry-run
    """
    from smoltrace.hub.cleanup import cleanup_datasets, parse_age
    from smoltrace.hub.errors import HubError

    given = [
        flag
        for flag, value in zip(FILTERS, (older_than, keep_recent, incomplete_only or None, delete_all or None))
        if value is not None
    ]
    if not given:
        raise click.UsageError("give a filter: --older-than AGE, --keep-recent N, --incomplete-only or --all")
    if len(given) > 1:
        raise click.UsageError(f"{given[1]} cannot be used with {given[0]}: give one filter")
    try:
        days = parse_age(older_than) if older_than is not None else None
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--older-than") from None
    if delete_all and not dry_run and not yes:
        what = "smoltrace runs in the local store" if target == "local" else "smoltrace datasets"
        click.echo(f"\nWARNING: --all will delete ALL {what}: every run's results, traces and metrics.")
        if ask_typed("Are you absolutely sure? Type 'YES DELETE ALL' to confirm: ") != "YES DELETE ALL":
            click.echo("\n[CANCELLED] Nothing was deleted.")
            sys.exit(1)
    try:
        result = cleanup_datasets(
            older_than_days=days,
            keep_recent=keep_recent,
            incomplete_only=incomplete_only,
            delete_all=delete_all,
            only=only,
            dry_run=dry_run,
            confirm=not yes,
            preserve_leaderboard=preserve_leaderboard,
            hf_token=hf_token,
            target=target,
            db_path=db_path,
            collector_token=collector_token,
            log=click.echo,
            ask=ask_typed,
        )
    except ValueError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(2)
    except (HubError, FileNotFoundError, RuntimeError, OSError) as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(1)
    sys.exit(1 if result["failed"] or result["cancelled"] else 0)


if __name__ == "__main__":
    main()
