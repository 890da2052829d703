"""``smoltrace-rules``: scoring rules of your own, over every run in the store, with no re-run.

A rule is a named SQL boolean expression over the columns of the ``results`` view (true: the task
passes). Once added, the views ``rule_results`` (one row per task execution and rule, ``passed``) and
``leaderboard_by_rule`` (SMOLTRACE's leaderboard row per run and rule) score every stored run by it:

    smoltrace-rules add strict "keywords_found = len(expected_keywords)" --description "every keyword"
    smoltrace-query "SELECT model, success_rate FROM leaderboard_by_rule WHERE rule = 'strict'"

While a collector holds the store, rules are added and dropped through it (its writer is the store's
only writer); otherwise on the file. A rule can only read: it is checked by the query API's guard.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from smoltrace.store import rules
from smoltrace.store.database import DB_ENV_VAR
from smoltrace.store.reader import ReadError, open_reader

TOKEN_ENV_VAR = "SMOLTRACE_TOKEN"

db_option = click.option(
    "--db", "db_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
    help=f"The store file. Default: ${DB_ENV_VAR}, else ~/.local/share/smoltrace/smoltrace.duckdb.",
)  # fmt: skip
token_option = click.option(
    "--token", envvar=TOKEN_ENV_VAR, default=None, show_envvar=True,
    help="Bearer token of a collector started with --token (used only when a collector holds the store). "
    "Default: none.",
)  # fmt: skip


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main():
    """Add, list and drop scoring rules: SQL over results that re-scores every stored run.

    \b
    Examples:
      smoltrace-rules add strict "keywords_found = len(expected_keywords)" --description "every keyword"
      smoltrace-rules list
      smoltrace-query "SELECT run_id, success_rate FROM leaderboard_by_rule WHERE rule = 'strict'"
      smoltrace-rules drop strict
    """


@main.command()
@click.argument("name")
@click.argument("expression")
@click.option("--description", default=None, help="What the rule checks, in words. Default: none.")
@db_option
@token_option
def add(name, expression, description, db_path, token):
    """Add rule NAME: EXPRESSION, a SQL boolean expression over one row of `results`.

    Any column of `results` may be used (success, tool_called, correct_tool, final_answer_called,
    response_correct, all_keywords_present, answer_matches, keywords_found, tools_used, steps,
    stop_reason, total_tokens, cost_usd, ...), and read-only subqueries over the store's views. A task
    for which the expression is NULL fails the rule.
    """
    try:
        rule = rules.add_to_store(db_path, name, expression, description, token)
    except rules.RuleError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"added rule {rule['name']}: {rule['expression']}")


@main.command("list")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True,
              help="A line per rule, or a JSON array of rule objects.")  # fmt: skip
@db_option
@token_option
def list_rules(fmt, db_path, token):
    """List the stored rules (the built-in rule `default` is results.success and is not listed)."""
    try:
        with open_reader(db_path, token) as reader:
            found = reader.query(rules.LIST_SQL)
    except ReadError as exc:
        raise click.ClickException(str(exc)) from None
    if fmt == "json":
        click.echo(json.dumps(found, indent=2, ensure_ascii=False))
        return
    if not found:
        click.echo("no scoring rules (add one with: smoltrace-rules add NAME EXPRESSION)")
    for rule in found:
        described = f"  ({rule['description']})" if rule["description"] else ""
        click.echo(f"{rule['name']}: {rule['expression']}{described}")


@main.command()
@click.argument("name")
@db_option
@token_option
def drop(name, db_path, token):
    """Drop rule NAME: its rows leave rule_results and leaderboard_by_rule."""
    try:
        rules.drop_from_store(db_path, name, token)
    except rules.RuleError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"dropped rule {name}")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
