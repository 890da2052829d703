"""Scoring rules of the user's own: named SQL boolean expressions over the columns of ``results``.

A rule is stored in ``smoltrace_scoring_rules``; the views ``rule_results`` (one row per task execution
and rule, with ``passed``) and ``leaderboard_by_rule`` read every rule, so adding one re-scores every
stored run at once, with no re-run. A view cannot read its definition from a table, so ``rule_results``
is regenerated from the stored rules whenever they change and whenever the store is opened for
writing (``create_views``, called by ``database.apply_schema``).

A rule can only read: its expression is checked as part of the exact SELECT the view will run, by the
query API's guard (``readonly.check_query``: no writes, no files, no URLs, no other databases), and
that SELECT must keep the view's shape (the expression cannot close its parentheses and append a
UNION, a WHERE or another column). The check runs when a rule is added and again each time the view
is regenerated, so a row written into the table by other means cannot slip past it.
"""

from __future__ import annotations

import json
import logging
import re
import urllib.parse
from dataclasses import asdict, dataclass
from pathlib import Path

import duckdb

from smoltrace.store import readonly

log = logging.getLogger("smoltrace.store")

DEFAULT_RULE = "default"  # the built-in rule: results.success (SMOLTRACE's verdict)
NAME_PATTERN = re.compile(r"[A-Za-z][A-Za-z0-9_.-]{0,63}")

CREATE_TABLE_SQL = """
CREATE TABLE IF NOT EXISTS smoltrace_scoring_rules (
    name        VARCHAR PRIMARY KEY,
    expression  VARCHAR NOT NULL,
    description VARCHAR,
    created_at  TIMESTAMP NOT NULL
)
"""
LIST_SQL = "SELECT name, expression, description, created_at FROM smoltrace_scoring_rules ORDER BY name"
INSERT_SQL = "INSERT INTO smoltrace_scoring_rules VALUES (?, ?, ?, now()::TIMESTAMP)"
EXISTS_SQL = "SELECT count(*) FROM smoltrace_scoring_rules WHERE name = ?"
DELETE_SQL = "DELETE FROM smoltrace_scoring_rules WHERE name = ?"
#: One rule's rows in rule_results: the SELECT that is checked, and then appended to the view.
BRANCH_SQL = "SELECT '{name}' AS rule, coalesce(({expression}), false) AS passed, * FROM results"
#: The expression's own type, on no rows, beside every column as in the view (so it binds as it will
#: there: an unknown column, or an aggregate over all rows, fails here).
TYPE_SQL = "SELECT ({expression}) AS passed, * FROM results LIMIT 0"
VIEW_FILE = "views/30_rule_results.sql"


class RuleError(ValueError):
    """A rule that cannot be stored or used; the message says why, in one line."""


class RuleExists(RuleError):
    """A rule of that name is stored already."""


class RuleNotFound(RuleError):
    """No rule of that name is stored."""


@dataclass(frozen=True)
class Rule:
    name: str
    expression: str
    description: str | None = None
    created_at: object = None


def create_table(conn: duckdb.DuckDBPyConnection) -> None:
    conn.execute(CREATE_TABLE_SQL)


def list_rules(conn: duckdb.DuckDBPyConnection) -> list[Rule]:
    return [Rule(*row) for row in conn.execute(LIST_SQL).fetchall()]


def check_name(name: str) -> str:
    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
        raise RuleError(
            f"rule name {name!r} is not allowed: use 1-64 letters, digits, '_', '-' or '.', starting with a letter"
        )
    if name == DEFAULT_RULE:
        raise RuleError(f"rule name {DEFAULT_RULE!r} is the built-in rule (results.success); choose another name")
    return name


def _branch(name: str, expression: str) -> str:
    return BRANCH_SQL.format(name=name, expression=expression)


def _keeps_the_view_shape(conn: duckdb.DuckDBPyConnection, sql: str) -> bool:
    """Is ``sql`` still exactly ``SELECT <rule>, <passed>, * FROM results``, with nothing appended?"""
    tree = json.loads(conn.execute(readonly.SERIALIZE_SQL, [sql]).fetchone()[0])
    statements = tree.get("statements") or []
    if tree.get("error") or len(statements) != 1:
        return False
    node = statements[0]["node"]
    source = node.get("from_table") or {}
    return (
        node.get("type") == "SELECT_NODE"
        and len(node.get("select_list") or []) == 3
        and source.get("type") == "BASE_TABLE"
        and source.get("table_name", "").lower() == "results"
        and not source.get("alias")
        and not (node.get("cte_map") or {}).get("map")
        and not node.get("modifiers")
        and not node.get("group_expressions")
        and not node.get("group_sets")
        and all(node.get(key) is None for key in ("where_clause", "having", "qualify", "sample"))
    )


def _has_window(node) -> bool:
    if isinstance(node, list):
        return any(_has_window(item) for item in node)
    if not isinstance(node, dict):
        return False
    return node.get("class") == "WINDOW" or any(_has_window(value) for value in node.values())


def check_expression(conn: duckdb.DuckDBPyConnection, name: str, expression: str) -> str:
    """Raise RuleError unless ``expression`` is a read-only boolean expression over one ``results`` row."""
    if not isinstance(expression, str) or not expression.strip():
        raise RuleError(f"rule {name!r} has no expression")
    expression = expression.strip()
    sql = _branch(name, expression)
    try:
        readonly.check_query(conn, sql)
    except readonly.RefusedQuery as exc:
        raise RuleError(f"rule {name!r} is refused: {exc}") from None
    except duckdb.Error as exc:
        raise RuleError(f"rule {name!r} is not valid SQL: {_first_line(exc)}") from None
    if not _keeps_the_view_shape(conn, sql):
        raise RuleError(f"rule {name!r} must be one expression over a row of results, with balanced parentheses")
    tree = json.loads(conn.execute(readonly.SERIALIZE_SQL, [sql]).fetchone()[0])
    if _has_window(tree["statements"]):
        raise RuleError(f"rule {name!r} uses a window function: a rule judges one task execution at a time")
    try:
        kind = str(conn.execute(TYPE_SQL.format(expression=expression)).description[0][1])
    except duckdb.Error as exc:
        raise RuleError(f"rule {name!r} does not work on results: {_first_line(exc)}") from None
    if kind != "BOOLEAN":
        raise RuleError(f"rule {name!r} must be a boolean expression (true: the task passes), got {kind}")
    return expression


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0]


def view_sql(conn: duckdb.DuckDBPyConnection, rules: list[Rule]) -> str:
    """``rule_results``: the packaged default branch, then one branch per rule."""
    from smoltrace.store.database import read_sql

    base = read_sql(VIEW_FILE).strip().rstrip(";")
    return base + "".join(f"\nUNION ALL\n{_branch(rule.name, rule.expression)}" for rule in rules)


def create_views(conn: duckdb.DuckDBPyConnection) -> list[str]:
    """(Re)create ``rule_results`` from the stored rules, each checked first; a rule that no longer
    passes the check (a column it read is gone, a row written by hand) is left out with a warning.
    Returns the names of the rules in the view."""
    create_table(conn)
    usable = []
    for rule in list_rules(conn):
        try:
            check_name(rule.name)
            check_expression(conn, rule.name, rule.expression)
        except RuleError as exc:
            log.warning("scoring rule left out of rule_results: %s", exc)
            continue
        usable.append(rule)
    conn.execute(view_sql(conn, usable))
    return [rule.name for rule in usable]


def add_rule(conn: duckdb.DuckDBPyConnection, name: str, expression: str, description: str | None = None) -> Rule:
    """Check and store a rule, then regenerate the views, in one transaction."""
    create_table(conn)
    check_name(name)
    expression = check_expression(conn, name, expression)
    conn.begin()
    try:
        if conn.execute(EXISTS_SQL, [name]).fetchone()[0]:
            raise RuleExists(f"rule {name!r} already exists: drop it first (smoltrace-rules drop {name})")
        conn.execute(INSERT_SQL, [name, expression, description or None])
        create_views(conn)
        conn.commit()
    except BaseException:
        conn.rollback()
        raise
    return next(rule for rule in list_rules(conn) if rule.name == name)


def drop_rule(conn: duckdb.DuckDBPyConnection, name: str) -> None:
    """Remove a rule and regenerate the views, in one transaction."""
    create_table(conn)
    conn.begin()
    try:
        if not conn.execute(EXISTS_SQL, [name]).fetchone()[0]:
            raise RuleNotFound(f"no rule named {name!r}")
        conn.execute(DELETE_SQL, [name])
        create_views(conn)
        conn.commit()
    except BaseException:
        conn.rollback()
        raise


# -- wherever the store is: through the collector that holds it, else the file ----------------------

RULES_PATH = "/api/rules"  # the collector's route (collector/query_api.py)
HTTP_TIMEOUT_S = 60.0
#: HTTP status of the collector's answer -> the error raised here.
STATUS_ERRORS = {404: RuleNotFound, 409: RuleExists}


def rule_record(rule: Rule) -> dict:
    """A rule as JSON-safe values (``created_at`` as ISO 8601 text)."""
    return {key: readonly.json_safe(value) for key, value in asdict(rule).items()}


def _collector_request(info: dict, method: str, path: str, body: dict | None, token: str | None) -> dict:
    from smoltrace.store.reader import CollectorRefused, ReadError, collector_request

    try:
        return collector_request(info["http_endpoint"].rstrip("/") + path, method, body, token, HTTP_TIMEOUT_S)
    except CollectorRefused as exc:
        raise STATUS_ERRORS.get(exc.status, RuleError)(str(exc)) from None
    except ReadError as exc:
        raise RuleError(str(exc)) from None


def _open_file(path: Path) -> duckdb.DuckDBPyConnection:
    from smoltrace.store.database import DB_ENV_VAR, connect

    if not path.exists():
        raise RuleError(f"no smoltrace store at {path}: pass --db or set ${DB_ENV_VAR}")
    try:
        return connect(path)
    except duckdb.Error as exc:
        raise RuleError(f"cannot open {path}: {_first_line(exc)}") from None


def add_to_store(db_path: str | Path | None, name: str, expression: str, description: str | None = None,
                 token: str | None = None) -> dict:  # fmt: skip
    """``add_rule`` on the store at ``db_path`` (default: the usual store), through the collector's
    writer when a collector holds it (DuckDB has one writer per file), else on the file."""
    from smoltrace.collector.discovery import running_collector_for
    from smoltrace.store.reader import resolve_db_path

    path = resolve_db_path(db_path)
    check_name(name)
    info = running_collector_for(path)
    if info is not None:
        body = {"name": name, "expression": expression, "description": description}
        return _collector_request(info, "POST", RULES_PATH, body, token)
    with _open_file(path) as conn:
        return rule_record(add_rule(conn, name, expression, description))


def drop_from_store(db_path: str | Path | None, name: str, token: str | None = None) -> None:
    """``drop_rule`` on the store at ``db_path``, through its collector when one holds it."""
    from smoltrace.collector.discovery import running_collector_for
    from smoltrace.store.reader import resolve_db_path

    path = resolve_db_path(db_path)
    info = running_collector_for(path)
    if info is not None:
        _collector_request(info, "DELETE", f"{RULES_PATH}/{urllib.parse.quote(name, safe='')}", None, token)
        return
    with _open_file(path) as conn:
        drop_rule(conn, name)
