"""Old stores open in this version and answer the same numbers; `smoltrace-store` checks and rebuilds.

fixtures/store_stop11.duckdb was written by the stop-11 release (commit 9975b93): a scripted run of three
tasks with both agent types (tool calls, final answers, a code agent stopped at max_steps, litellm spans
nested in the model's). fixtures/store_stop11_answers.json holds what that release's views answered.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from smoltrace.store import database
from smoltrace.store.readonly import json_safe

FIXTURES = Path(__file__).parent / "fixtures"
ANSWERS = json.loads((FIXTURES / "store_stop11_answers.json").read_text())
QUERIES = {
    "results": "SELECT * FROM results ORDER BY agent_type, task_id",
    "runs": "SELECT * FROM runs",
    "leaderboard": "SELECT * FROM leaderboard ORDER BY agent_type",
    "llm_calls": "SELECT * FROM llm_calls ORDER BY trace_id, start_time",
    "tool_calls": "SELECT * FROM tool_calls ORDER BY trace_id, start_time",
    "steps": "SELECT * FROM steps ORDER BY trace_id, start_time",
}


def command(name: str) -> str:
    return str(Path(sys.executable).with_name(name))


def answers(conn) -> dict[str, list[dict]]:
    got = {}
    for name, sql in QUERIES.items():
        result = conn.execute(sql)
        names = [column[0] for column in result.description]
        rows = [{key: json_safe(value) for key, value in zip(names, row)} for row in result.fetchall()]
        got[name] = json.loads(json.dumps(rows, sort_keys=True))
    return got


@pytest.fixture
def old_store(tmp_path) -> Path:
    path = tmp_path / "old.duckdb"
    shutil.copy(FIXTURES / "store_stop11.duckdb", path)
    return path


def applied_versions(path: Path) -> list[int]:
    with duckdb.connect(str(path), read_only=True) as conn:
        return [row[0] for row in conn.execute('SELECT "Version" FROM smoltrace_schema_migrations ORDER BY 1').fetchall()]


def test_the_fixture_is_a_version_1_store(old_store):
    assert applied_versions(old_store) == [1]
    with duckdb.connect(str(old_store), read_only=True) as conn:
        tables = {row[0] for row in conn.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    assert "smoltrace_task_facts" not in tables


def test_an_old_store_migrates_once_and_answers_the_same_numbers(old_store):
    with database.connect(old_store) as conn:
        assert answers(conn) == ANSWERS
    assert applied_versions(old_store) == [1, 2, 3]
    with database.connect(old_store) as conn:  # a second open migrates nothing
        assert database.schema_version(conn) == database.SCHEMA_VERSION == 3
    assert applied_versions(old_store) == [1, 2, 3]


def test_a_read_only_open_of_an_old_store_migrates_it_first(old_store):
    result = subprocess.run(
        [command("smoltrace-query"), "--db", str(old_store), "--format", "json",
         "SELECT task_id, agent_type, success, total_tokens FROM results ORDER BY agent_type, task_id"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    expected = [{key: row[key] for key in ("task_id", "agent_type", "success", "total_tokens")}
                for row in ANSWERS["results"]]  # fmt: skip
    assert json.loads(result.stdout) == expected
    assert applied_versions(old_store) == [1, 2, 3]


def test_a_new_store_starts_at_the_current_version(tmp_path):
    with database.connect(tmp_path / "new.duckdb") as conn:
        assert database.schema_version(conn) == 3
    assert applied_versions(tmp_path / "new.duckdb") == [1, 2, 3]


def test_store_check_finds_a_tampered_fact_and_rebuild_repairs_it(old_store):
    ok = subprocess.run([command("smoltrace-store"), "check", "--db", str(old_store)],
                        capture_output=True, text=True, check=False)  # fmt: skip
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout == f"the stored facts of 7 traces are exactly what the spans give ({old_store})\n"

    with duckdb.connect(str(old_store)) as conn:
        conn.execute("UPDATE smoltrace_task_facts SET total_tokens = 1 WHERE task_id = 'calc_sum' AND agent_type = 'tool'")
    bad = subprocess.run([command("smoltrace-store"), "check", "--db", str(old_store)],
                         capture_output=True, text=True, check=False)  # fmt: skip
    assert bad.returncode == 1
    assert bad.stdout == "smoltrace_task_facts: 1 stored rows the spans do not give, 1 rows missing\n"
    assert "differ from the spans: run `smoltrace-store rebuild`" in bad.stderr

    rebuilt = subprocess.run([command("smoltrace-store"), "rebuild", "--db", str(old_store)],
                             capture_output=True, text=True, check=False)  # fmt: skip
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert rebuilt.stdout.startswith("rebuilt the facts of 7 traces in ")
    with database.connect(old_store) as conn:
        assert answers(conn) == ANSWERS


def test_store_commands_explain_a_missing_file(tmp_path):
    result = subprocess.run([command("smoltrace-store"), "info", "--db", str(tmp_path / "none.duckdb")],
                            capture_output=True, text=True, check=False)  # fmt: skip
    assert result.returncode == 1
    assert result.stderr == f"Error: no smoltrace store at {tmp_path / 'none.duckdb'}: pass --db or set $SMOLTRACE_DB\n"
