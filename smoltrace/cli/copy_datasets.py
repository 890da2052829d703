"""``smoltrace-copy-datasets``: copy SMOLTRACE's benchmark and tasks datasets into your Hugging Face account.

Exit status: 0 every dataset was copied, 1 one failed (or the copy was cancelled), 2 bad arguments
or no token.
"""

from __future__ import annotations

import sys

import click

from smoltrace.cli.options import SmoltraceCommand, ask_typed
from smoltrace.hub.copy_datasets import DEFAULT_SOURCE_USER, STANDARD_DATASETS


@click.command(cls=SmoltraceCommand, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--only",
    type=click.Choice(list(STANDARD_DATASETS)),
    default=None,
    help="Copy only this dataset: benchmark (smoltrace-benchmark-v1) or tasks (smoltrace-tasks). Default: both.",
)
@click.option(
    "--private",
    is_flag=True,
    default=False,
    help="Make the copies private (an existing copy is made private too). Default: public, as in SMOLTRACE.",
)
@click.option("--yes", "-y", is_flag=True, default=False, help="Do not ask to type COPY. Default: ask.")
@click.option("--source-user", default=DEFAULT_SOURCE_USER, show_default=True, help="The account to copy from.")
@click.option(
    "--token",
    "--hf-token",
    "hf_token",
    envvar="HF_TOKEN",
    default=None,
    show_envvar=True,
    help="Hugging Face token with write access to your account. Default: $HF_TOKEN.",
)
def main(only, private, yes, source_user, hf_token):
    """Copy SMOLTRACE's standard datasets to your account: {source}/smoltrace-benchmark-v1 and
    {source}/smoltrace-tasks become {you}/smoltrace-benchmark-v1 and {you}/smoltrace-tasks.

    \b
    Examples:
      smoltrace-copy-datasets                  # both, public, after typing COPY
      smoltrace-copy-datasets --only tasks --private
      smoltrace-copy-datasets --yes            # automation
    """
    from smoltrace.hub.copy_datasets import copy_standard_datasets
    from smoltrace.hub.errors import HubError

    try:
        result = copy_standard_datasets(
            source_user=source_user,
            only=only,
            private=private,
            confirm=not yes,
            hf_token=hf_token,
            log=click.echo,
            ask=ask_typed,
        )
    except ValueError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(2)
    except HubError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(1)
    sys.exit(1 if result["failed"] or result["cancelled"] else 0)


if __name__ == "__main__":
    main()
