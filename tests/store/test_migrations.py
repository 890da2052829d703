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
    # the stop-11 release's `leaderboard` (one row per run and agent type) is leaderboard_by_agent_type now
    "leaderboard": "SELECT * FROM leaderboard_by_agent_type ORDER BY agent_type",
    "llm_calls": "SELECT * FROM llm_calls ORDER BY trace_id, start_time",
    "tool_calls": "SELECT * FROM tool_calls ORDER BY trace_id, start_time",
    "steps": "SELECT * FROM steps ORDER BY trace_id, start_time",
}


def command(name: str) -> str:
    return str(Path(sys.executable).with_name(name))


def query_file(path: Path, sql: str) -> list[dict]:
    """The rows of ``sql``, as the installed ``smoltrace-query`` answers it from the file (read-only)."""
    result = subprocess.run([command("smoltrace-query"), "--db", str(path), "--format", "json", sql],
                            capture_output=True, text=True, check=False)  # fmt: skip
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def answers(conn) -> dict[str, list[dict]]:
    got = {}
    for name, sql in QUERIES.items():
        result = conn.execute(sql)
        names = [column[0] for column in result.description]
        rows = [{key: json_safe(value) for key, value in zip(names, row)} for row in result.fetchall()]
        got[name] = json.loads(json.dumps(rows, sort_keys=True))
    return got


def expected_now() -> dict[str, list[dict]]:
    """What the stop-11 release answered, with the changes made on purpose since, each said why.

    Schema version 4 follows SMOLTRACE 0.1.1's verdicts (issue 14): a CodeAgent's code runs count as tool
    calls (smolagents records each as a python_interpreter call), a task without an expected tool has
    correct_tool = tool_called, and any expected keyword makes the response correct. Every other field
    of every row is unchanged."""
    expected = json.loads(json.dumps(ANSWERS))
    final_answers = {}
    for call in ANSWERS["tool_calls"]:
        final_answers.setdefault(call["task_uid"], [0, 0])
        final_answers[call["task_uid"]][0] += 1
        final_answers[call["task_uid"]][1] += call["is_final_answer"]
    for row in expected["results"]:
        calls, answers_called = final_answers.get(row["task_uid"], [0, 0])
        found = sum(k.lower() in row["response"].lower() for k in row["expected_keywords"])
        row.update({  # columns added to results since: facts that were already there, now shown
            "evaluation_date": row["start_time"], "action_steps": row["steps"], "planning_steps": 0,
            "code_runs": 6 if row["agent_type"] == "code" else 0, "tool_calls": calls,
            "final_answer_calls": answers_called, "keywords_found": found,
            "all_keywords_present": found == len(row["expected_keywords"]), "answer_matches": None,
            "repeat_index": None,
        })  # fmt: skip
    changed = {(r["agent_type"], r["task_id"]): r for r in expected["results"]}
    for task_id in ("calc_sum", "reason", "weather_tokyo"):
        # the code agent ran (empty) code in each of its 6 steps: SMOLTRACE counts python_interpreter
        assert changed["code", task_id]["tool_called"] is False
        changed["code", task_id]["tool_called"] = True
    # no expected tool and no tool called: correct_tool is tool_called (it was true for want of a tool)
    assert changed["tool", "reason"]["correct_tool"] is True
    changed["tool", "reason"]["correct_tool"] = False
    # "Red" holds one of the keywords red, blue: any keyword makes the response correct
    assert changed["tool", "reason"]["response_correct"] is False
    changed["tool", "reason"]["response_correct"] = True
    # success did not change for any task: the code agents never called final_answer, and the tool
    # agent's "reason" called no tool
    by_agent = {row["agent_type"]: row for row in expected["leaderboard"]}
    assert (by_agent["code"]["tool_called_rate"], by_agent["tool"]["correct_tool_rate"]) == (0.0, 66.67)
    by_agent["code"]["tool_called_rate"] = 100.0
    by_agent["tool"]["correct_tool_rate"] = 33.33
    # columns added since: the statistics (issue 16), each of 3 tasks run once. Code 0/3: Wilson 0 to
    # z²/(3 + z²); tool 1/3: standard error sqrt(3/2 · (4/9 + 1/9 + 1/9) / 9) = 1/3, Wilson 6.15 to 79.23%.
    by_agent["code"].update(tasks=3, min_tries=1, max_tries=1, success_rate_se=0.0, success_rate_ci_low=0.0,
                            success_rate_ci_high=56.15, success_rate_ci_method="wilson", pass_at_1=0.0,
                            pass_at_k=[0.0], pass_hat_k=[0.0], mean_tokens_se=0.0, mean_duration_ms_se=6.4,
                            mean_cost_usd_se=0.0)  # fmt: skip
    by_agent["tool"].update(tasks=3, min_tries=1, max_tries=1, success_rate_se=33.33, success_rate_ci_low=6.15,
                            success_rate_ci_high=79.23, success_rate_ci_method="wilson", pass_at_1=33.33,
                            pass_at_k=[33.33], pass_hat_k=[33.33], mean_tokens_se=10.0, mean_duration_ms_se=44.1,
                            mean_cost_usd_se=5e-06)  # fmt: skip
    return expected


#: The same run in the leaderboard's SMOLTRACE shape (one row per run, `both` agent types).
EXPECTED_LEADERBOARD_ROW = {
    "run_id": "a023c3e9-d240-4e34-b41d-dbcc6aabfd9f", "model": "gpt-4o-mini", "agent_type": "both",
    "provider": "litellm", "timestamp": "2026-11-30T00:50:01.133577", "submitted_by": None, "results_dataset": None,
    "traces_dataset": None, "metrics_dataset": None, "dataset_used": "/tmp/fx/tasks.json", "total_tests": 6,
    "successful_tests": 1, "failed_tests": 5, "success_rate": 16.67, "avg_steps": 3.67, "avg_duration_ms": 55.9,
    "total_duration_ms": 335.38, "total_tokens": 750, "avg_tokens_per_test": 125, "total_cost_usd": 0.000338,
    "avg_cost_per_test_usd": 5.6e-05, "co2_emissions_g": None, "power_cost_total_usd": None,
    "gpu_utilization_avg": None, "gpu_utilization_max": None, "gpu_memory_avg_mib": None, "gpu_memory_max_mib": None,
    "gpu_temperature_avg": None, "gpu_temperature_max": None, "gpu_power_avg_w": None,
    "notes": "Evaluation on 2026-11-30; 6 tests", "use_case": None, "team": None, "purpose": None,
    "suite_version": None, "dataset_revision": None, "dataset_split": "", "run_status": "completed",
    "planned_tasks": 6, "smoltrace_version": "0.1.0", "tool_called_rate": 66.67, "correct_tool_rate": 33.33,
    "final_answer_rate": 50.0, "response_correct_rate": 33.33, "prompt_tokens": 250, "completion_tokens": 500,
    "max_steps_reached": 3, "timeouts": 0, "errors": 0, "interrupted": 0, "gpu_count": None, "gpu_power_max_w": None,
    "total_energy_wh": None,
    # the statistics (issue 16): 6 tasks (3 per agent type) run once, 1 success; standard error 1/6
    "tasks": 6, "min_tries": 1, "max_tries": 1, "success_rate_se": 16.67, "success_rate_ci_low": 3.01,
    "success_rate_ci_high": 56.35, "success_rate_ci_method": "wilson", "pass_at_1": 16.67, "pass_at_k": [16.67],
    "pass_hat_k": [16.67], "mean_tokens_se": 38.28, "mean_duration_ms_se": 20.0, "mean_cost_usd_se": 1.7e-05,
}  # fmt: skip


@pytest.fixture
def old_store(tmp_path) -> Path:
    path = tmp_path / "old.duckdb"
    shutil.copy(FIXTURES / "store_stop11.duckdb", path)
    return path


def applied_versions(path: Path) -> list[int]:
    with duckdb.connect(str(path), read_only=True) as conn:
        return [
            row[0] for row in conn.execute('SELECT "Version" FROM smoltrace_schema_migrations ORDER BY 1').fetchall()
        ]


def test_the_fixture_is_a_version_1_store(old_store):
    assert applied_versions(old_store) == [1]
    with duckdb.connect(str(old_store), read_only=True) as conn:
        tables = {row[0] for row in conn.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    assert "smoltrace_task_facts" not in tables


def test_an_old_store_migrates_once_and_answers_the_same_numbers(old_store):
    with database.connect(old_store) as conn:
        assert answers(conn) == expected_now()
        result = conn.execute("SELECT * FROM leaderboard")
        rows = [dict(zip([c[0] for c in result.description], map(json_safe, row))) for row in result.fetchall()]
        assert rows == [EXPECTED_LEADERBOARD_ROW]
    assert applied_versions(old_store) == [1, 2, 3, 4, 5]
    with database.connect(old_store) as conn:  # a second open migrates nothing
        assert database.schema_version(conn) == database.SCHEMA_VERSION == 5
    assert applied_versions(old_store) == [1, 2, 3, 4, 5]


def test_a_version_3_store_gets_the_new_facts(old_store):
    """A store written by the release before (schema version 3: facts without code_runs and
    planning_steps) gets the columns before its views are created, then its facts derived again."""
    database.connect(old_store).close()
    with duckdb.connect(str(old_store)) as conn:  # back to what version 3 wrote
        conn.execute("DROP VIEW results CASCADE")
        conn.execute("ALTER TABLE smoltrace_task_facts DROP COLUMN code_runs")
        conn.execute("ALTER TABLE smoltrace_task_facts DROP COLUMN planning_steps")
        conn.execute('DELETE FROM smoltrace_schema_migrations WHERE "Version" >= 4')
    assert applied_versions(old_store) == [1, 2, 3]
    with database.connect(old_store) as conn:
        assert answers(conn) == expected_now()
    assert applied_versions(old_store) == [1, 2, 3, 4, 5]


def test_a_version_4_store_gets_one_row_per_run(old_store):
    """Version 5 reads run_info from smoltrace_run_facts: a store of version 4 (run spans only) gets the
    table filled from its run spans, and answers the same runs."""
    database.connect(old_store).close()
    with duckdb.connect(str(old_store)) as conn:  # back to what version 4 wrote
        conn.execute("DROP TABLE smoltrace_run_facts")
        conn.execute('DELETE FROM smoltrace_schema_migrations WHERE "Version" = 5')
    assert applied_versions(old_store) == [1, 2, 3, 4]
    with database.connect(old_store) as conn:
        assert conn.execute("SELECT count(*) FROM smoltrace_run_facts").fetchone()[0] == 1
        assert answers(conn) == expected_now()
    assert applied_versions(old_store) == [1, 2, 3, 4, 5]


def test_a_read_only_open_recreates_views_another_release_created(old_store):
    """A read-only connection cannot create views: a store whose views another release created (its
    recorded digest of the view definitions differs) has them re-created once by the first command that
    reads it, so a new view exists and a changed one answers as this release defines it."""
    database.connect(old_store).close()
    with duckdb.connect(str(old_store)) as conn:  # as a release without the totals view left it
        conn.execute("CREATE OR REPLACE VIEW leaderboard_by_agent_type AS SELECT 'stale' AS agent_type")
        conn.execute("DROP VIEW leaderboard_by_agent_type_totals")
        conn.execute("UPDATE smoltrace_views_digest SET \"Digest\" = 'another release'")
    rows = query_file(old_store, "SELECT agent_type, total_tests, success_rate FROM leaderboard_by_agent_type_totals")
    assert rows == [{key: row[key] for key in ("agent_type", "total_tests", "success_rate")}
                    for row in expected_now()["leaderboard"]]  # fmt: skip
    assert query_file(old_store, "SELECT agent_type FROM leaderboard_by_agent_type") == [
        {"agent_type": "code"},
        {"agent_type": "tool"},
    ]
    with duckdb.connect(str(old_store), read_only=True) as conn:
        assert database.stored_views_digest(conn) == database.views_digest()
    assert applied_versions(old_store) == [1, 2, 3, 4, 5]


def test_a_read_only_open_of_a_current_store_writes_nothing(old_store):
    database.connect(old_store).close()
    before = old_store.stat()
    assert query_file(old_store, "SELECT count(*) AS n FROM results") == [{"n": 6}]
    after = old_store.stat()
    assert (after.st_mtime_ns, after.st_size) == (before.st_mtime_ns, before.st_size)


def test_a_read_only_open_of_an_old_store_migrates_it_first(old_store):
    rows = query_file(
        old_store, "SELECT task_id, agent_type, success, total_tokens FROM results ORDER BY agent_type, task_id"
    )
    expected = [{key: row[key] for key in ("task_id", "agent_type", "success", "total_tokens")}
                for row in expected_now()["results"]]  # fmt: skip
    assert rows == expected
    assert applied_versions(old_store) == [1, 2, 3, 4, 5]


def test_a_new_store_starts_at_the_current_version(tmp_path):
    with database.connect(tmp_path / "new.duckdb") as conn:
        assert database.schema_version(conn) == 5
    assert applied_versions(tmp_path / "new.duckdb") == [1, 2, 3, 4, 5]


def test_store_check_finds_a_tampered_fact_and_rebuild_repairs_it(old_store):
    ok = subprocess.run([command("smoltrace-store"), "check", "--db", str(old_store)],
                        capture_output=True, text=True, check=False)  # fmt: skip
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout == f"the stored facts of 7 traces are exactly what the spans give ({old_store})\n"

    with duckdb.connect(str(old_store)) as conn:
        conn.execute(
            "UPDATE smoltrace_task_facts SET total_tokens = 1 WHERE task_id = 'calc_sum' AND agent_type = 'tool'"
        )
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
        assert answers(conn) == expected_now()


def test_store_commands_explain_a_missing_file(tmp_path):
    result = subprocess.run([command("smoltrace-store"), "info", "--db", str(tmp_path / "none.duckdb")],
                            capture_output=True, text=True, check=False)  # fmt: skip
    assert result.returncode == 1
    assert result.stderr == f"Error: no smoltrace store at {tmp_path / 'none.duckdb'}: pass --db or set $SMOLTRACE_DB\n"
