"""Scoring rules of the user's own: added, listed and dropped on a store file or through the collector
that holds it, they re-score every stored run at once (rule_results, leaderboard_by_rule), and they can
only read: the query API's guard checks each rule as part of the SELECT the view runs.

The store is the stop-11 fixture (tests/store/fixtures), a run recorded long before rules existed.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from smoltrace.collector import Collector
from smoltrace.store import database, rules

FIXTURE = Path(__file__).parent / "fixtures" / "store_stop11.duckdb"
STRICT = "success AND all_keywords_present"
ANSWERED = "final_answer_called AND response_correct"
RULE_ROWS_SQL = "SELECT rule, agent_type, task_id, passed, success FROM rule_results ORDER BY rule, agent_type, task_id"
BOARD_SQL = (
    "SELECT rule, agent_type, total_tests, successful_tests, success_rate FROM leaderboard_by_rule ORDER BY rule"
)
TASKS = [("code", "calc_sum"), ("code", "reason"), ("code", "weather_tokyo"),
         ("tool", "calc_sum"), ("tool", "reason"), ("tool", "weather_tokyo")]  # fmt: skip
#: SMOLTRACE's verdict on the fixture's tasks: only the tool agent's weather task succeeded.
SUCCESS = [False, False, False, False, False, True]


def cli(*args: str) -> subprocess.CompletedProcess:
    command = str(Path(sys.executable).with_name("smoltrace-rules"))
    return subprocess.run([command, *map(str, args)], capture_output=True, text=True, check=False)


def read(path: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(path), read_only=True) as conn:
        return conn.execute(sql).fetchall()


def rule_rows(rule: str, passed: list[bool]) -> list[tuple]:
    return [(rule, agent, task, ok, success) for (agent, task), ok, success in zip(TASKS, passed, SUCCESS)]


@pytest.fixture
def store(tmp_path) -> Path:
    path = tmp_path / "store.duckdb"
    shutil.copy(FIXTURE, path)
    database.connect(path).close()  # migrated once, as any smoltrace command would
    return path


def test_rules_rescore_a_stored_run_and_leave_the_leaderboard_alone(store):
    leaderboard = read(store, "SELECT * FROM leaderboard")
    added = cli("add", "strict", STRICT, "--description", "every expected keyword", "--db", store)
    assert (added.returncode, added.stdout, added.stderr) == (0, f"added rule strict: {STRICT}\n", "")
    assert cli("add", "answered", ANSWERED, "--db", store).stdout == f"added rule answered: {ANSWERED}\n"

    assert read(store, RULE_ROWS_SQL) == [
        # "Red" is one of the keywords red, blue: the response is correct, but the tool agent never called
        # a tool, so it fails SMOLTRACE's verdict and passes a rule that asks for an answered question
        *rule_rows("answered", [False, False, False, False, True, True]),
        *rule_rows("default", SUCCESS),
        *rule_rows("strict", [False, False, False, False, False, True]),
    ]
    assert read(store, BOARD_SQL) == [("answered", "both", 6, 2, 33.33), ("default", "both", 6, 1, 16.67),
                                      ("strict", "both", 6, 1, 16.67)]  # fmt: skip
    assert read(store, "SELECT * FROM leaderboard") == leaderboard  # SMOLTRACE's verdict, whatever the rules

    listed = cli("list", "--db", store)
    assert listed.stdout == f"answered: {ANSWERED}\nstrict: {STRICT}  (every expected keyword)\n"
    dropped = cli("drop", "strict", "--db", store)
    assert (dropped.returncode, dropped.stdout) == (0, "dropped rule strict\n")
    assert read(store, "SELECT DISTINCT rule FROM rule_results ORDER BY rule") == [("answered",), ("default",)]
    assert [r[0] for r in read(store, "SELECT name FROM smoltrace_scoring_rules")] == ["answered"]


@pytest.mark.parametrize(
    "name, expression, message",
    [
        ("bad name", "true", ("rule name 'bad name' is not allowed: use 1-64 letters, digits, '_', '-' or '.', "
                             "starting with a letter")),
        ("default", "true", "rule name 'default' is the built-in rule (results.success); choose another name"),
        ("empty", "  ", "rule 'empty' has no expression"),
        ("files", "(SELECT count(*) FROM read_csv('/etc/passwd')) > 0",
         ("rule 'files' is refused: table function 'read_csv' is not allowed: only generators (range, "
         "generate_series, unnest, json_each, json_tree), DuckDB catalog functions and the store's table macros "
         "may be called, never one that reads files, URLs or database state")),
        ("url", "(SELECT count(*) FROM 'https://example.com/x.parquet') > 0",
         ("rule 'url' is refused: relation 'https://example.com/x.parquet' is not allowed: only the store's "
         "tables and views can be read (files, URLs and other databases cannot)")),
        ("dynamic", "query('SELECT 1') IS NOT NULL",
         "rule 'dynamic' is refused: function 'query' is not allowed: it runs SQL text that this guard cannot check"),
        ("write", "true); DELETE FROM otel_traces; SELECT (true",
         "rule 'write' is not valid SQL: Parser Error: syntax error at or near \";\""),
        ("union", "true), false) AS passed, * FROM results UNION ALL SELECT 'x' AS rule, coalesce((true",
         "rule 'union' must be one expression over a row of results, with balanced parentheses"),
        ("window", "row_number() OVER () = 1",
         "rule 'window' uses a window function: a rule judges one task execution at a time"),
        ("aggregate", "count(*) > 0",
         ("rule 'aggregate' does not work on results: Binder Error: column \"run_id\" must appear in the GROUP BY "
         "clause or must be part of an aggregate function.")),
        ("unknown", "no_such_column > 1",
         ("rule 'unknown' does not work on results: Binder Error: Referenced column \"no_such_column\" not found in "
         "FROM clause!")),
        ("number", "steps + 1", "rule 'number' must be a boolean expression (true: the task passes), got INTEGER"),
    ],
)  # fmt: skip
def test_a_rule_that_could_do_more_than_read_one_row_is_refused(store, name, expression, message):
    with database.connect(store) as conn:
        with pytest.raises(rules.RuleError) as refused:
            rules.add_rule(conn, name, expression)
        assert str(refused.value) == message
        assert conn.execute("SELECT count(*) FROM smoltrace_scoring_rules").fetchone() == (0,)


def test_the_command_says_what_is_wrong_in_one_line(store, tmp_path):
    cli("add", "strict", STRICT, "--db", store)
    cases = [
        (("add", "strict", "true", "--db", store),
         "Error: rule 'strict' already exists: drop it first (smoltrace-rules drop strict)\n"),
        (("drop", "nope", "--db", store), "Error: no rule named 'nope'\n"),
        (("add", "x", "steps >", "--db", store),
         "Error: rule 'x' is not valid SQL: Parser Error: syntax error at or near \")\"\n"),
        (("add", "x", "true", "--db", tmp_path / "none.duckdb"),
         f"Error: no smoltrace store at {tmp_path / 'none.duckdb'}: pass --db or set $SMOLTRACE_DB\n"),
    ]  # fmt: skip
    for args, message in cases:
        result = cli(*args)
        assert (result.returncode, result.stdout, result.stderr) == (1, "", message)


def test_a_subquery_over_the_stores_views_is_a_rule_too(store):
    """A rule may read other views, e.g. which tools a task called, in a correlated subquery."""
    called_weather = ("EXISTS (SELECT 1 FROM tool_calls AS t WHERE t.trace_id = results.trace_id "
                      "AND t.tool_name = 'get_weather')")  # fmt: skip
    with database.connect(store) as conn:
        rules.add_rule(conn, "weather", called_weather)
    assert read(store, "SELECT task_id, agent_type FROM rule_results WHERE rule = 'weather' AND passed") == [
        ("weather_tokyo", "tool")
    ]


def test_a_rule_written_into_the_table_by_other_means_is_checked_before_it_is_used(store, caplog):
    with duckdb.connect(str(store)) as conn:
        conn.execute("INSERT INTO smoltrace_scoring_rules VALUES ('sneaky', "
                     "'(SELECT count(*) FROM read_csv(''/etc/passwd'')) > 0', NULL, now()::TIMESTAMP), "
                     "('fine', 'tool_called', NULL, now()::TIMESTAMP)")  # fmt: skip
    with caplog.at_level(logging.WARNING, logger="smoltrace.store"):
        database.connect(store).close()  # any writable open regenerates the views from the table
    assert read(store, "SELECT DISTINCT rule FROM rule_results ORDER BY rule") == [("default",), ("fine",)]
    assert [r.getMessage() for r in caplog.records] == [
        (
            "scoring rule left out of rule_results: rule 'sneaky' is refused: table function 'read_csv' is not "
            "allowed: only generators (range, generate_series, unnest, json_each, json_tree), DuckDB catalog "
            "functions and the store's table macros may be called, never one that reads files, URLs or database state"
        )
    ]


def test_rules_go_through_the_collector_that_holds_the_store(store):
    with Collector.embedded(db_path=store, token="tok") as collector:
        with pytest.raises(rules.RuleError) as refused:
            rules.add_to_store(store, "strict", STRICT)
        assert str(refused.value) == ("the collector refused the request: missing or wrong bearer token "
                                      "(pass --token or set SMOLTRACE_TOKEN)")  # fmt: skip
        added = rules.add_to_store(store, "strict", STRICT, "every expected keyword", token="tok")
        assert {key: added[key] for key in ("name", "expression", "description")} == {
            "name": "strict",
            "expression": STRICT,
            "description": "every expected keyword",
        }
        with pytest.raises(rules.RuleExists) as taken:
            rules.add_to_store(store, "strict", "true", token="tok")
        assert str(taken.value) == "rule 'strict' already exists: drop it first (smoltrace-rules drop strict)"
        with pytest.raises(rules.RuleError) as bad:
            rules.add_to_store(store, "number", "steps + 1", token="tok")
        assert str(bad.value) == "rule 'number' must be a boolean expression (true: the task passes), got INTEGER"
        with collector.reader() as reader:  # the collector's own readers see the new view at once
            assert reader.execute(RULE_ROWS_SQL).fetchall() == [*rule_rows("default", SUCCESS),
                                                                *rule_rows("strict", SUCCESS)]  # fmt: skip
        listed = subprocess.run([str(Path(sys.executable).with_name("smoltrace-rules")), "list", "--db", str(store),
                                 "--token", "tok"], capture_output=True, text=True, check=False)  # fmt: skip
        assert listed.stdout == f"strict: {STRICT}  (every expected keyword)\n"
        with pytest.raises(rules.RuleNotFound) as missing:
            rules.drop_from_store(store, "nope", token="tok")
        assert str(missing.value) == "no rule named 'nope'"
        rules.add_to_store(store, "answered", ANSWERED, token="tok")
        rules.drop_from_store(store, "strict", token="tok")
    # stored in the file, through the collector's writer
    assert [r[:3] for r in read(store, rules.LIST_SQL)] == [("answered", ANSWERED, None)]
    assert read(store, "SELECT DISTINCT rule FROM rule_results ORDER BY rule") == [("answered",), ("default",)]
