"""The leaderboards carry the statistics views' figures (40_leaderboard.sql: leaderboard_statistics), in
the leaderboard's units: rates in percent rounded to 2 digits, like its success_rate. The hand-computed
cases are test_hand_computed.py's; here the same numbers come out of `leaderboard` (one row per run,
its agent types together: run_stats_overall) and `leaderboard_by_agent_type` (run_stats)."""

from __future__ import annotations

import math

import pytest

Z = 1.959963984540054
EXACT = {"abs": 1e-12}
STATS_COLUMNS = (
    "tasks",
    "min_tries",
    "max_tries",
    "success_rate_se",
    "success_rate_ci_low",
    "success_rate_ci_high",
    "success_rate_ci_method",
    "pass_at_1",
    "pass_at_k",
    "pass_hat_k",
    "mean_tokens_se",
    "mean_duration_ms_se",
    "mean_cost_usd_se",
)

# 3 tasks x 4 tries (test_hand_computed.A): t1 4/4, t2 2/4, t3 1/4; token means 100, 200, 300.
A = {"t1": [1, 1, 1, 1], "t2": [1, 0, 1, 0], "t3": [0, 0, 0, 1]}
A_TOKENS = {"t1": [100, 100, 100, 100], "t2": [200, 220, 180, 200], "t3": [300, 330, 270, 300]}
#: run_stats' figures for A (test_hand_computed.test_run_stats_three_tasks_four_tries), as the leaderboard
#: shows them: success rate 7/12; standard error sqrt(7)/12 = 22.047...%; Wilson over 60/11 effective
#: tries: 0.230109... to 0.867684...; pass@k 7/12, 7/9, 11/12, 1; pass^k 7/12, 7/18, 1/3, 1/3; the token
#: standard error 100/sqrt(3) = 57.735...
A_ROW = {
    "tasks": 3,
    "min_tries": 4,
    "max_tries": 4,
    "success_rate_se": 22.05,
    "success_rate_ci_low": 23.01,
    "success_rate_ci_high": 86.77,
    "success_rate_ci_method": "wilson_clustered",
    "pass_at_1": 58.33,
    "pass_at_k": [58.33, 77.78, 91.67, 100.0],
    "pass_hat_k": [58.33, 38.89, 33.33, 33.33],
    "mean_tokens_se": 57.74,
    "mean_duration_ms_se": 0.0,
    "mean_cost_usd_se": 0.0,
}


def stats_of(row: dict) -> dict:
    return {column: row[column] for column in STATS_COLUMNS}


def test_leaderboard_rows_of_a_run_with_repeats(store):
    store.add_run("runA", A, tokens=A_TOKENS, costs={t: [0.25] * 4 for t in A})
    row = store.one("SELECT * FROM leaderboard WHERE run_id = 'runA'")
    assert (row["agent_type"], row["total_tests"], row["success_rate"]) == ("tool", 12, 58.33)
    assert stats_of(row) == A_ROW
    by_agent = store.one("SELECT * FROM leaderboard_by_agent_type WHERE run_id = 'runA'")
    assert stats_of(by_agent) == A_ROW
    # one definition: the statistics views' numbers, in percent and rounded
    stats = store.one("SELECT * FROM run_stats WHERE run_id = 'runA'")
    assert row["success_rate_ci_low"] == round(100 * stats["success_rate_ci_low"], 2)
    assert row["success_rate_ci_high"] == round(100 * stats["success_rate_ci_high"], 2)
    assert row["pass_hat_k"] == [round(100 * x, 2) for x in stats["pass_hat_k"]]
    assert row["mean_tokens_se"] == round(stats["mean_tokens_se"], 2)
    overall = store.one("SELECT * FROM run_stats_overall WHERE run_id = 'runA'")
    # one agent type: the same figures (to the last bits a different summation order may change)
    expected = {key: value for key, value in stats.items() if key != "agent_type"}
    assert overall.keys() == expected.keys()
    for key, value in expected.items():
        if isinstance(value, (float, list)):
            assert overall[key] == pytest.approx(value, rel=1e-12, abs=1e-15), key
        else:
            assert overall[key] == value, key


def test_the_leaderboard_columns_come_after_smoltraces(store):
    store.add_run("runA", A)
    columns = [row["column_name"] for row in store.query("SELECT column_name FROM (DESCRIBE leaderboard)")]
    assert columns[columns.index("total_energy_wh") + 1 :] == list(STATS_COLUMNS)
    columns = [
        row["column_name"] for row in store.query("SELECT column_name FROM (DESCRIBE leaderboard_by_agent_type)")
    ]
    assert columns[columns.index("power_cost_usd") + 1 :] == list(STATS_COLUMNS)


def test_a_both_agents_run_counts_each_agent_types_task_once(store):
    store.add_run("both", {"t1": [1, 1], "t2": [0, 0]}, agent_type="tool")
    store.add_run("both", {"t1": [1, 0], "t2": [0, 0]}, agent_type="code", status=None)
    row = store.one("SELECT * FROM leaderboard WHERE run_id = 'both'")
    assert (row["agent_type"], row["total_tests"], row["success_rate"]) == ("both", 8, 37.5)
    # Four tasks (tool:t1 2/2, tool:t2 0/2, code:t1 1/2, code:t2 0/2), 3 successes in 8 tries.
    # Clustered variance: 4/3 * ((2 - 3/4)² + (3/4)² + (1 - 3/4)² + (3/4)²) / 8² = 4/3 * 2.75 / 64 = 11/192.
    # Independent tries: (3/8)(5/8)/7 = 15/448; deff = (11/192)/(15/448) = 77/45; effective tries 360/77.
    overall = store.one("SELECT * FROM run_stats_overall WHERE run_id = 'both'")
    assert (overall["tasks"], overall["tries"], overall["successes"]) == (4, 8, 3)
    assert overall["success_rate_se"] == pytest.approx(math.sqrt(11 / 192), **EXACT)
    assert overall["effective_tries"] == pytest.approx(360 / 77, **EXACT)
    assert (overall["success_rate_ci_low"], overall["success_rate_ci_high"]) == pytest.approx(
        (0.10139188618512546, 0.7613695460647911), **EXACT
    )
    # pass@2: tool:t1 1, code:t1 1 - C(1,2)/C(2,2) = 1, the others 0 -> 1/2; pass^2: only tool:t1 -> 1/4
    assert stats_of(row) == {
        "tasks": 4,
        "min_tries": 2,
        "max_tries": 2,
        "success_rate_se": 23.94,
        "success_rate_ci_low": 10.14,
        "success_rate_ci_high": 76.14,
        "success_rate_ci_method": "wilson_clustered",
        "pass_at_1": 37.5,
        "pass_at_k": [37.5, 50.0],
        "pass_hat_k": [37.5, 25.0],
        "mean_tokens_se": 0.0,
        "mean_duration_ms_se": 0.0,
        "mean_cost_usd_se": None,  # no price: no cost
    }
    # leaderboard_by_agent_type: each agent type's own run_stats row
    rows = store.query("SELECT * FROM leaderboard_by_agent_type WHERE run_id = 'both' ORDER BY agent_type")
    assert [(r["agent_type"], r["tasks"], r["pass_at_k"], r["pass_hat_k"]) for r in rows] == [
        ("code", 2, [25.0, 50.0], [25.0, 0.0]),
        ("tool", 2, [50.0, 50.0], [50.0, 50.0]),
    ]


def test_single_tries_and_one_task(store):
    store.add_run("single", {f"t{i}": [flag] for i, flag in enumerate([1, 1, 1, 1, 1, 0, 0, 0, 0, 0])})
    store.add_run("one", {"t": [1]})
    single = store.one("SELECT * FROM leaderboard WHERE run_id = 'single'")
    # Wilson at 1/2 over 10 tasks: 1/2 ± z sqrt(1/40 + z²/400) / (1 + z²/10) = 0.2366... to 0.7633...
    half = Z * math.sqrt(1 / 40 + Z**2 / 400) / (1 + Z**2 / 10)
    assert (single["success_rate_ci_low"], single["success_rate_ci_high"]) == (
        round(100 * (0.5 - half), 2),
        round(100 * (0.5 + half), 2),
    )
    assert (single["success_rate_ci_low"], single["success_rate_ci_high"]) == (23.66, 76.34)
    assert (single["success_rate_ci_method"], single["max_tries"], single["pass_at_k"]) == ("wilson", 1, [50.0])
    assert single["success_rate_se"] == round(100 * math.sqrt(0.25 * 10 / 9 / 10), 2) == 16.67  # s/sqrt(n)
    one = store.one("SELECT * FROM leaderboard WHERE run_id = 'one'")
    # Wilson at 1/1: 1 / (1 + z²); one value has no spread: no standard error
    assert (one["success_rate_ci_low"], one["success_rate_ci_high"], one["success_rate_se"]) == (20.65, 100.0, None)


def test_a_one_run_read_still_reads_one_run(store):
    """The statistics are joined on run_id, so `WHERE run_id = ?` reaches them: the answer is the same row."""
    store.add_run("runA", A)
    store.add_run("runB", {"t1": [0, 0, 0, 0]})
    every = {row["run_id"]: row for row in store.query("SELECT * FROM leaderboard")}
    assert store.one("SELECT * FROM leaderboard WHERE run_id = 'runB'") == every["runB"]
    # one task: its 4 tries are the sample; Wilson at 0/4: high = z²/(4 + z²)
    assert every["runB"]["success_rate_ci_high"] == round(100 * Z**2 / (4 + Z**2), 2) == 48.99


def test_the_totals_view_is_the_leaderboard_by_agent_type_without_its_statistics(store):
    """Pages and panels of many runs read leaderboard_by_agent_type_totals: the same rows and numbers, not the
    statistics (which group every try of every run read)."""
    store.add_run("runA", A, tokens=A_TOKENS, costs={t: [0.25] * 4 for t in A})
    store.add_run("both", {"t1": [1, 1], "t2": [0, 0]}, agent_type="tool")
    store.add_run("both", {"t1": [1, 0], "t2": [0, 0]}, agent_type="code", status=None)
    full = store.query("SELECT * FROM leaderboard_by_agent_type ORDER BY run_id, agent_type")
    totals = store.query("SELECT * FROM leaderboard_by_agent_type_totals ORDER BY run_id, agent_type")
    keys = [(row["run_id"], row["agent_type"]) for row in totals]
    assert keys == [("both", "code"), ("both", "tool"), ("runA", "tool")]
    assert [{key: row[key] for key in row if key not in STATS_COLUMNS} for row in full] == totals
    assert list(full[0])[: len(totals[0])] == list(totals[0])
    assert (totals[2]["total_tests"], totals[2]["success_rate"], totals[2]["total_cost_usd"]) == (12, 58.33, 3.0)
