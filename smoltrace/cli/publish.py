"""``smoltrace-publish``: publish a run that is already in the store to the Hugging Face Hub.

A run made offline, or one whose upload failed, is published (or retried) later with
``smoltrace-publish --run-id <id>``. Publishing the same run again updates its datasets and its
leaderboard rows instead of creating new ones. Exit status: 0 published, 1 the Hub or the store
failed (the message says why; the run stays in the store), 2 usage errors.
"""

from __future__ import annotations

import sys

import click

from smoltrace.hub.privacy import REDACT_FILE_ENV
from smoltrace.store.database import DB_ENV_VAR


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--run-id", required=True, help="The run to publish (as printed by smoltrace-eval). Required.")
@click.option(
    "--db",
    "db_path",
    type=click.Path(dir_okay=False),
    default=None,
    help=f"The store file. Default: ${DB_ENV_VAR}, else ~/.local/share/smoltrace/smoltrace.duckdb.",
)
@click.option(
    "--hf-token",
    envvar="HF_TOKEN",
    default=None,
    show_envvar=True,
    help="Hugging Face token with write access. Default: $HF_TOKEN. Never written anywhere; not needed with --dry-run.",
)
@click.option(
    "--private/--public",
    default=True,
    help="Visibility of the results/traces/metrics datasets (and the leaderboard) this publish creates. "
    "Default: --private. Datasets that already exist keep their visibility.",
)
@click.option(
    "--dry-run",
    is_flag=True,
    default=False,
    help="Print what would be uploaded (repositories, visibility, columns, row counts, sample rows after "
    "the privacy policy) and the policy itself; upload nothing, need no token. Default: off.",
)
@click.option(
    "--redact",
    "patterns",
    multiple=True,
    metavar="REGEX",
    help="Also replace text matching this regular expression with [REDACTED] in everything published "
    "(repeatable), e.g. --redact 'build-\\d+\\.corp\\.example'. Default: none; adds to the "
    "patterns file.",
)
@click.option(
    "--redact-file",
    type=click.Path(dir_okay=False),
    default=None,
    help=f"Patterns file, one regular expression per line (# starts a comment). Default: ${REDACT_FILE_ENV}, "
    "else ~/.config/smoltrace/redact.txt (under $XDG_CONFIG_HOME when set), if it exists.",
)
@click.option(
    "--otlp-token",
    "--token",
    "collector_token",
    envvar="SMOLTRACE_TOKEN",
    default=None,
    help="Bearer token of a running smoltrace-collector holding the store (its query API). "
    "Default: $SMOLTRACE_TOKEN; only needed when a collector with a token runs.",
)
@click.option(
    "--timestamp",
    default=None,
    help="Dataset name timestamp (%Y%m%d_%H%M%S). Default: the names the leaderboard records for this "
    "run, else the run's start time (UTC).",
)
def main(run_id, db_path, hf_token, private, dry_run, patterns, redact_file, collector_token, timestamp):
    """Publish run RUN_ID from the smoltrace store to the Hugging Face Hub.

    Creates or updates {user}/smoltrace-results-{timestamp}, {user}/smoltrace-traces-{timestamp},
    {user}/smoltrace-metrics-{timestamp} and upserts the run's rows in {user}/smoltrace-leaderboard.
    Everything uploaded goes through the privacy policy first (README: "What publishing removes"):
    this machine's paths, user and host names, and secrets are rewritten or removed.
    """
    from smoltrace.hub.errors import PublishError
    from smoltrace.hub.privacy import PolicyError, load_policy
    from smoltrace.hub.publish import plan_publish, publish_run
    from smoltrace.store.reader import ReadError, open_reader

    try:
        policy = load_policy(token=hf_token, patterns=patterns, redact_file=redact_file)
    except PolicyError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(2)
    try:
        with open_reader(db_path, collector_token) as reader:
            if dry_run:
                plan = plan_publish(reader, run_id, private=private, timestamp=timestamp, policy=policy)
            else:
                click.echo(f"Publishing run {run_id} from the {reader.description} ...")
                result = publish_run(reader, run_id, token=hf_token, private=private, timestamp=timestamp,
                                     policy=policy)  # fmt: skip
    except PublishError as exc:
        click.echo(f"Error: {exc.reason if dry_run else exc}", err=True)
        sys.exit(1)
    except (ReadError, OSError) as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(1)
    if dry_run:
        click.echo("\n".join(plan.lines()))
        return
    if result.reused:
        click.echo("(this run was published before: its datasets were updated, not duplicated)")
    for line in result.console_lines():
        click.echo(line)


if __name__ == "__main__":
    main()
