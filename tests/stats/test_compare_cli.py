"""``smoltrace-compare`` on a store file and through a running collector's query API, and the query API's
read-only guard letting the store's own statistics macros through."""

from __future__ import annotations

import csv
import io
import json

import httpx
import pytest
from click.testing import CliRunner

from smoltrace.cli.compare import main
from smoltrace.collector import Collector

from .test_hand_computed import A_TOKENS, B_TOKENS, A, B


@pytest.fixture
def compared(store):
    """runA and runB of the hand-computed case, and two runs pooled as one side."""
    store.add_run("runA", A, tokens=A_TOKENS)
    store.add_run("runB", B, tokens=B_TOKENS)
    store.add_run("runB1", {t: v[:2] for t, v in B.items() if t != "t4"})
    store.add_run("runB2", {t: v[2:] for t, v in B.items() if t != "t4"})
    store.close()
    return store.path


def compare(*args):
    return CliRunner(env={"COLUMNS": "200"}).invoke(main, [*args], catch_exceptions=False)


def test_table(compared):
    result = compare("runA", "runB", "--db", str(compared), "--tasks")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "A = runA  (completed; dataset suite.jsonl, revision (none))"
    assert "TOOL agents: 3 paired tasks (A 4-4 tries per task, B 1-4)" in lines
    assert "NOT COMPARABLE: 1 task(s) ran only in B (not paired)" in lines
    row = next(line for line in lines if "success rate" in line)
    assert [cell.strip() for cell in row.strip("│").split("│")] == [
        "success rate",
        "58.3%",
        "75.0%",
        "+16.7 pts",
        "-26.5 pts to +59.9 pts",
        "1 (sign test, exact)",
        "3",
    ]
    row = next(line for line in lines if "tokens / try" in line)
    assert [cell.strip() for cell in row.strip("│").split("│")][1:5] == ["200.0", "210.0", "+10.0", "-12.6 to +32.6"]
    assert "Tasks: 2 up, 1 down, 0 same; only in A: 0, only in B: 1" in lines
    assert "  Up (B better): t2, t3" in lines and "  Down (B worse): t1" in lines and "  Only in B: t4" in lines
    assert (
        "  A: 7/12 tries over 3 tasks, success 58.3% (95% CI 23.0% to 86.8%, wilson_clustered), pass@4 100.0%, "
        "pass^4 33.3%"
    ) in lines
    assert any(line.startswith("│ t4 ") and "only_b" in line for line in lines)  # --tasks


def test_json_is_the_views_rows(compared, store):
    result = compare("runA", "runB", "--db", str(compared), "--format", "json")
    document = json.loads(result.output)
    assert (document["a"], document["b"]) == ("runA", "runB")
    assert [m["metric"] for m in document["metrics"]] == ["success", "tokens", "duration_ms"]
    assert document["metrics"][0]["difference"] == pytest.approx(1 / 6, abs=1e-12)
    assert [t["change"] for t in document["tasks"]] == ["down", "up", "up", "only_b"]
    assert document["summary"][0]["p_value"] == pytest.approx(1.0)
    assert [s["success_rate"] for s in document["a_stats"]] == [pytest.approx(7 / 12, abs=1e-12)]
    assert document["b_stats"][0]["tasks"] == 4


def test_csv_one_row_per_metric(compared):
    result = compare("runA", "runB", "--db", str(compared), "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(result.output)))
    assert [(r["agent_type"], r["metric"], r["comparable"], r["test"]) for r in rows] == [
        ("tool", "success", "false", "sign_test_exact"),
        ("tool", "tokens", "false", "sign_test_exact"),
        ("tool", "duration_ms", "false", "sign_test_exact"),
    ]
    assert float(rows[0]["difference"]) == pytest.approx(1 / 6, abs=1e-12)


def test_several_runs_per_side_are_pooled(compared):
    pooled = json.loads(compare("runA", "runB2, runB1", "--db", str(compared), "--format", "json").output)
    single = json.loads(compare("runA", "runB", "--db", str(compared), "--format", "json").output)
    assert pooled["b"] == "runB1,runB2"
    # runB1 + runB2 hold runB's tries of t1..t3 (not t4): the paired figures are the same
    assert pooled["metrics"][0] == single["metrics"][0]
    assert pooled["summary"][0]["notes"] == "" and pooled["summary"][0]["comparable"] is True


@pytest.mark.parametrize(
    "args, message",
    [
        (["runA", "nope"], "Error: no run nope in the store (list runs with: smoltrace-query --view runs)"),
        (["runA", "runB,runA"], "Error: run runA is on both sides: compare different runs"),
        ([" , ", "runA"], "Error: RUN_A: no run id given (one run id, or several separated by commas)"),
    ],
)
def test_mistakes_are_one_line(compared, args, message):
    result = compare(*args, "--db", str(compared))
    assert result.exit_code == 2
    assert result.output.strip() == message


def test_no_store(tmp_path):
    result = compare("a", "b", "--db", str(tmp_path / "none.duckdb"))
    assert result.exit_code == 1
    assert result.output.startswith(f"Error: no smoltrace store at {tmp_path / 'none.duckdb'}")


def test_help_explains_every_option():
    text = " ".join(compare("--help").output.split())
    assert "RUN_A and RUN_B are each one run id or several separated by commas" in text
    for option, default in (
        ("--format [table|json|csv]", "[default: table]"),
        ("--tasks", "Default: off"),
        ("--db FILE", "Default: $SMOLTRACE_DB"),
        ("--token TEXT", "Default: none"),
    ):
        after = text.split(option, 1)[1][:400]
        assert default in after, option


def test_through_the_query_api(compared):
    """A collector holds the store: the command reads through its query API, whose read-only guard lets
    the store's own table macros run (and nothing else new)."""
    with Collector.embedded(db_path=compared) as collector:
        answer = httpx.post(
            f"{collector.http_endpoint}/api/query",
            timeout=30,
            json={
                "sql": "SELECT metric, difference FROM compare_metrics(?, ?) ORDER BY metric",
                "params": ["runA", "runB"],
            },
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["rows"][1][0] == "success"
        assert answer.json()["rows"][1][1] == pytest.approx(1 / 6, abs=1e-12)
        for sql in (
            "SELECT * FROM run_group_stats('runA,runB1')",
            "SELECT * FROM compare_tasks('runA', 'runB')",
            "SELECT * FROM run_stats WHERE run_id = 'runA'",
            "SELECT * FROM run_pass_at_k",
        ):
            assert httpx.post(f"{collector.http_endpoint}/api/query", json={"sql": sql}, timeout=30).status_code == 200
        refused = httpx.post(
            f"{collector.http_endpoint}/api/query", timeout=30, json={"sql": "SELECT * FROM read_csv('/etc/passwd')"}
        )
        assert refused.status_code == 400
        through_api = json.loads(compare("runA", "runB", "--db", str(compared), "--format", "json").output)
    on_file = json.loads(compare("runA", "runB", "--db", str(compared), "--format", "json").output)
    assert through_api == on_file


def test_a_store_without_the_statistics_views(tmp_path):
    import duckdb

    from smoltrace.store import database

    path = tmp_path / "old.duckdb"
    database.connect(path).close()
    with duckdb.connect(str(path)) as conn:  # as a store last written by a smoltrace before these views
        conn.execute("DROP MACRO TABLE compare_runs")
        conn.execute("DROP MACRO run_id_list")
    result = compare("a", "b", "--db", str(path))
    assert result.exit_code == 1
    assert result.output.strip() == (
        "Error: the store has no statistics views yet: open it once with smoltrace-collector or smoltrace-eval "
        "(a writable open creates them), then compare again"
    )
