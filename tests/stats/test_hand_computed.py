"""The statistics views on small cases worked out by hand (the arithmetic is in the comments), and their
edge cases: one task, all successes, all failures, one try, tasks on one side only, runs in progress."""

from __future__ import annotations

import math

import pytest
from statsmodels.stats.proportion import proportion_confint

Z = 1.959963984540054
EXACT = {"abs": 1e-12}

# 3 tasks x 4 tries. A: t1 4/4, t2 2/4, t3 1/4. B: t1 3/4, t2 4/4, t3 2/4, and t4 (1 try) that A never ran.
A = {"t1": [1, 1, 1, 1], "t2": [1, 0, 1, 0], "t3": [0, 0, 0, 1]}
B = {"t1": [1, 1, 1, 0], "t2": [1, 1, 1, 1], "t3": [1, 0, 0, 1], "t4": [1]}
A_TOKENS = {"t1": [100, 100, 100, 100], "t2": [200, 220, 180, 200], "t3": [300, 330, 270, 300]}  # means 100, 200, 300
B_TOKENS = {"t1": [110] * 4, "t2": [190] * 4, "t3": [330] * 4, "t4": [50]}  # differences +10, -10, +30


@pytest.fixture
def two_runs(store):
    store.add_run("runA", A, tokens=A_TOKENS, costs={t: [0.25] * 4 for t in A})
    store.add_run("runB", B, tokens=B_TOKENS, costs={t: [0.5] * len(v) for t, v in B.items()})
    return store


def test_task_stats_count_successes_out_of_tries(two_runs):
    rows = two_runs.query(
        "SELECT task_id, tries, successes, success_rate, mean_tokens FROM task_stats "
        "WHERE run_id = 'runA' ORDER BY task_id"
    )
    assert [tuple(r.values()) for r in rows] == [
        ("t1", 4, 4, 1.0, 100.0),
        ("t2", 4, 2, 0.5, 200.0),
        ("t3", 4, 1, 0.25, 300.0),
    ]


def test_run_stats_three_tasks_four_tries(two_runs):
    row = two_runs.one("SELECT * FROM run_stats WHERE run_id = 'runA'")
    assert (row["tasks"], row["tries"], row["min_tries"], row["max_tries"], row["successes"]) == (3, 12, 4, 4, 7)
    assert row["success_rate"] == pytest.approx(7 / 12, **EXACT)
    assert row["pass_at_1"] == pytest.approx(7 / 12, **EXACT)
    # Clustered variance: n/(n-1) * sum((s_i - p*m_i)^2) / M^2 with s_i - 4p = 5/3, -1/3, -4/3:
    # 3/2 * (25 + 1 + 16)/9 / 144 = 7/144, so the standard error is sqrt(7)/12.
    assert row["success_rate_se"] == pytest.approx(math.sqrt(7) / 12, **EXACT)
    # Independent tries would give p(1-p)/(N-1) = (7/12)(5/12)/11 = 35/1584; deff = (7/144)/(35/1584) = 2.2,
    # so the 12 tries are worth 12/2.2 = 60/11 independent ones.
    assert row["effective_tries"] == pytest.approx(60 / 11, **EXACT)
    assert row["success_rate_ci_method"] == "wilson_clustered"
    # Wilson at p = 7/12 over n = 60/11: (p + z²/2n ± z sqrt(p(1-p)/n + z²/4n²)) / (1 + z²/n)
    n, p = 60 / 11, 7 / 12
    center, half = (
        (p + Z**2 / (2 * n)) / (1 + Z**2 / n),
        Z * math.sqrt(p * (1 - p) / n + Z**2 / (4 * n**2)) / (1 + Z**2 / n),
    )
    assert (row["success_rate_ci_low"], row["success_rate_ci_high"]) == (
        pytest.approx(center - half, **EXACT),
        pytest.approx(center + half, **EXACT),
    )
    assert (row["success_rate_ci_low"], row["success_rate_ci_high"]) == pytest.approx(
        (0.23010920188444076, 0.8676845256326953), **EXACT
    )
    assert (row["success_rate_ci_low"], row["success_rate_ci_high"]) == pytest.approx(
        proportion_confint(p * n, n, alpha=0.05, method="wilson"), abs=1e-9
    )
    # pass@k = mean over tasks of 1 - C(n-c,k)/C(n,k); t1 (c=4) is always 1.
    # k=2: t2 1-1/6, t3 1-3/6 -> (1 + 5/6 + 1/2)/3 = 7/9;  k=3: t2 1, t3 1-1/4 -> 11/12;  k=4: 1.
    assert row["pass_at_k"] == pytest.approx([7 / 12, 7 / 9, 11 / 12, 1.0], **EXACT)
    # pass^k = mean of C(c,k)/C(n,k): k=2: (1 + 1/6 + 0)/3 = 7/18; k=3,4: only t1 -> 1/3.
    assert row["pass_hat_k"] == pytest.approx([7 / 12, 7 / 18, 1 / 3, 1 / 3], **EXACT)
    # Tokens: task means 100, 200, 300, equal tries -> the standard error of those means, 100/sqrt(3).
    assert row["mean_tokens"] == pytest.approx(200.0, **EXACT)
    assert row["mean_tokens_se"] == pytest.approx(100 / math.sqrt(3), **EXACT)
    assert (row["mean_duration_ms"], row["mean_duration_ms_se"]) == (1000.0, 0.0)
    assert (row["mean_cost_usd"], row["mean_cost_usd_se"]) == (0.25, 0.0)
    assert (row["mean_energy_wh"], row["mean_energy_wh_se"]) == (None, None)  # no GPU readings: no value
    assert row["run_status"] == "completed"


def test_run_pass_at_k_rows(two_runs):
    rows = two_runs.query("SELECT k, tasks, pass_at_k, pass_hat_k FROM run_pass_at_k WHERE run_id = 'runB' ORDER BY k")
    # B: t1 3/4, t2 4/4, t3 2/4 (4 tries) and t4 1/1 (1 try): k=1 over 4 tasks, k >= 2 over 3.
    assert [(r["k"], r["tasks"]) for r in rows] == [(1, 4), (2, 3), (3, 3), (4, 3)]
    assert [r["pass_at_k"] for r in rows] == pytest.approx(
        [(0.75 + 1 + 0.5 + 1) / 4, (1 + 1 + 5 / 6) / 3, 1.0, 1.0], **EXACT
    )
    assert [r["pass_hat_k"] for r in rows] == pytest.approx(
        [(0.75 + 1 + 0.5 + 1) / 4, (1 / 2 + 1 + 1 / 6) / 3, (1 / 4 + 1) / 3, 1 / 3], **EXACT
    )


def test_compare_by_hand(two_runs):
    tasks = two_runs.query(
        "SELECT task_id, change, a_successes, b_successes, success_rate_diff FROM compare_tasks('runA', 'runB')"
    )
    assert [tuple(t.values()) for t in tasks] == [
        ("t1", "down", 4, 3, -0.25),
        ("t2", "up", 2, 4, 0.5),
        ("t3", "up", 1, 2, 0.25),
        ("t4", "only_b", None, 1, None),
    ]
    metrics = {m["metric"]: m for m in two_runs.query("SELECT * FROM compare_metrics('runA', 'runB')")}
    assert list(metrics) == ["success", "tokens", "duration_ms", "cost_usd"]  # no energy on either side
    success = metrics["success"]
    # Paired differences d = -1/4, 1/2, 1/4: mean 1/6, sample variance (25 + 16 + 1)/144/2 = 7/48,
    # standard error sqrt(7/48 / 3) = sqrt(7)/12. Signs: 2 up, 1 down -> 2 P(X <= 1 | n=3) = 2 * 4/8 = 1.
    assert (success["tasks"], success["tasks_up"], success["tasks_down"], success["test"]) == (
        3,
        2,
        1,
        "sign_test_exact",
    )
    assert success["a_value"] == pytest.approx(7 / 12, **EXACT)
    assert success["b_value"] == pytest.approx(3 / 4, **EXACT)
    assert success["difference"] == pytest.approx(1 / 6, **EXACT)
    assert success["difference_se"] == pytest.approx(math.sqrt(7) / 12, **EXACT)
    assert (success["ci_low"], success["ci_high"]) == pytest.approx(
        (1 / 6 - Z * math.sqrt(7) / 12, 1 / 6 + Z * math.sqrt(7) / 12), **EXACT
    )
    assert success["p_value"] == pytest.approx(1.0, **EXACT)
    tokens = metrics["tokens"]
    # d = +10, -10, +30: mean 10, deviations 0, -20, 20 -> variance 400, se 20/sqrt(3).
    assert (tokens["difference"], tokens["difference_se"]) == pytest.approx((10.0, 20 / math.sqrt(3)), **EXACT)
    assert (tokens["a_value"], tokens["b_value"]) == pytest.approx((200.0, 210.0), **EXACT)
    assert metrics["cost_usd"]["difference"] == pytest.approx(0.25, **EXACT)
    summary = two_runs.one("SELECT * FROM compare_runs('runA', 'runB')")
    assert (
        summary["a_tasks"],
        summary["b_tasks"],
        summary["paired_tasks"],
        summary["only_in_a"],
        summary["only_in_b"],
        summary["tasks_up"],
        summary["tasks_down"],
        summary["tasks_same"],
    ) == (3, 4, 3, 0, 1, 2, 1, 0)
    assert (summary["a_min_tries"], summary["a_max_tries"], summary["b_min_tries"], summary["b_max_tries"]) == (
        4,
        4,
        1,
        4,
    )
    assert summary["comparable"] is False
    assert summary["notes"] == "1 task(s) ran only in B (not paired)"
    assert summary["success_rate_diff"] == pytest.approx(1 / 6, **EXACT)
    assert (summary["a_status"], summary["b_status"], summary["in_progress"]) == ("completed", "completed", False)


def test_single_tries_use_wilson_and_mcnemar(store):
    a = [1, 1, 1, 1, 1, 0, 0, 0, 0, 0]
    b = [1, 1, 1, 1, 0, 1, 1, 1, 1, 0]  # t4 lost, t5..t8 gained
    store.add_run("a", {f"t{i}": [flag] for i, flag in enumerate(a)})
    store.add_run("b", {f"t{i}": [flag] for i, flag in enumerate(b)})
    row = store.one("SELECT * FROM run_stats WHERE run_id = 'a'")
    assert (row["success_rate"], row["effective_tries"], row["success_rate_ci_method"]) == (0.5, 10.0, "wilson")
    # Wilson at p = 1/2, n = 10: 1/2 ± z sqrt(1/40 + z²/400) / (1 + z²/10)
    half = Z * math.sqrt(1 / 40 + Z**2 / 400) / (1 + Z**2 / 10)
    assert (row["success_rate_ci_low"], row["success_rate_ci_high"]) == pytest.approx((0.5 - half, 0.5 + half), **EXACT)
    assert row["pass_at_k"] == [0.5] and row["pass_hat_k"] == [0.5]
    success = store.one("SELECT * FROM compare_metrics('a', 'b') WHERE metric = 'success'")
    # McNemar exact: discordant pairs 1 (A only) and 4 (B only): 2 P(X <= 1 | n=5) = 2 * 6/32 = 0.375
    assert (success["test"], success["tasks_up"], success["tasks_down"]) == ("mcnemar_exact", 4, 1)
    assert success["p_value"] == pytest.approx(0.375, **EXACT)
    assert success["difference"] == pytest.approx(0.3, **EXACT)
    summary = store.one("SELECT * FROM compare_runs('a', 'b')")
    assert (summary["comparable"], summary["notes"], summary["tasks_same"]) == (True, "", 5)


def test_one_task_with_tries_is_wilson_over_its_tries(store):
    store.add_run("one", {"t": [1, 0, 1, 1]})
    row = store.one("SELECT * FROM run_stats")
    # One task: its tries are the sample (n = 4); the standard error is sqrt(s²/4), s² = 1/4 -> 1/4.
    assert (row["tasks"], row["effective_tries"], row["success_rate_ci_method"]) == (1, 4.0, "wilson")
    assert row["success_rate_se"] == pytest.approx(0.25, **EXACT)
    assert (row["success_rate_ci_low"], row["success_rate_ci_high"]) == pytest.approx(
        proportion_confint(3, 4, method="wilson"), abs=1e-12
    )
    assert row["pass_at_k"] == pytest.approx([3 / 4, 1.0, 1.0, 1.0], **EXACT)
    assert row["pass_hat_k"] == pytest.approx([3 / 4, 1 / 2, 1 / 4, 0.0], **EXACT)


def test_one_task_one_try(store):
    store.add_run("single", {"t": [1]}, tokens={"t": [7]})
    row = store.one("SELECT * FROM run_stats")
    # Wilson at 1/1: (1 + z²/2) / (1 + z²) - z sqrt(z²/4) / (1 + z²) = 1 / (1 + z²)
    assert (row["success_rate"], row["effective_tries"]) == (1.0, 1.0)
    assert row["success_rate_ci_low"] == pytest.approx(1 / (1 + Z**2), **EXACT)
    assert row["success_rate_ci_high"] == 1.0
    assert (row["success_rate_se"], row["mean_tokens"], row["mean_tokens_se"]) == (
        None,
        7.0,
        None,
    )  # one value: no spread
    store.add_run("single-b", {"t": [0]})
    success = store.one("SELECT * FROM compare_metrics('single', 'single-b') WHERE metric = 'success'")
    assert (success["tasks"], success["difference"], success["difference_se"], success["ci_low"]) == (
        1,
        -1.0,
        None,
        None,
    )
    assert (success["test"], success["p_value"]) == ("mcnemar_exact", 1.0)  # one discordant pair: 2 * 1/2


def test_all_successes_and_all_failures(store):
    store.add_run("good", {f"t{i}": [1, 1, 1, 1] for i in range(3)})
    store.add_run("bad", {f"t{i}": [0, 0, 0, 0] for i in range(3)})
    good, bad = (store.one("SELECT * FROM run_stats WHERE run_id = ?", [r]) for r in ("good", "bad"))
    # Nothing varies: each task counts once (n = 3, not 12 tries). Wilson at 3/3: low = 3 / (3 + z²).
    assert (good["success_rate"], good["effective_tries"], good["success_rate_se"]) == (1.0, 3.0, 0.0)
    assert (good["success_rate_ci_low"], good["success_rate_ci_high"]) == (pytest.approx(3 / (3 + Z**2), **EXACT), 1.0)
    assert (bad["success_rate"], bad["effective_tries"]) == (0.0, 3.0)
    assert (bad["success_rate_ci_low"], bad["success_rate_ci_high"]) == (0.0, pytest.approx(Z**2 / (3 + Z**2), **EXACT))
    assert good["pass_at_k"] == [1.0] * 4 and good["pass_hat_k"] == [1.0] * 4
    assert bad["pass_at_k"] == [0.0] * 4 and bad["pass_hat_k"] == [0.0] * 4
    success = store.one("SELECT * FROM compare_metrics('good', 'bad') WHERE metric = 'success'")
    # Every task went from 4/4 to 0/4: d = -1 three times, no spread; the sign test: 2 (1/2)^3 = 1/4.
    assert (success["difference"], success["difference_se"], success["ci_low"], success["ci_high"]) == (-1, 0, -1, -1)
    assert (success["tasks_down"], success["p_value"]) == (3, pytest.approx(0.25, **EXACT))


def test_a_stopped_run_has_fewer_tries_on_some_tasks(store):
    store.add_run("stopped", {"t1": [1, 0, 1], "t2": [1, 1], "t3": [0, 0]})
    row = store.one("SELECT * FROM run_stats")
    assert (row["tasks"], row["tries"], row["min_tries"], row["max_tries"]) == (3, 7, 2, 3)
    assert row["success_rate"] == pytest.approx(4 / 7, **EXACT)  # tries pooled
    assert row["pass_at_1"] == pytest.approx((2 / 3 + 1 + 0) / 3, **EXACT)  # each task weighs the same
    rows = store.query("SELECT k, tasks, pass_hat_k FROM run_pass_at_k ORDER BY k")
    assert [(r["k"], r["tasks"]) for r in rows] == [(1, 3), (2, 3), (3, 1)]  # k = 3 only over t1
    assert rows[2]["pass_hat_k"] == 0.0  # t1 had 2 successes in 3 tries


def test_tries_stopped_by_ctrl_c_are_left_out(store):
    store.add_run("stopped", {"t1": [1, 0, None], "t2": [None]}, status="interrupted")
    assert store.query("SELECT task_id, tries, successes FROM task_stats") == [
        {"task_id": "t1", "tries": 2, "successes": 1}
    ]
    row = store.one("SELECT run_status, tasks, tries, success_rate FROM run_stats")
    assert row == {"run_status": "interrupted", "tasks": 1, "tries": 2, "success_rate": 0.5}


def test_pooled_runs_are_repeats(store):
    store.add_run("p1", {"t1": [1, 0], "t2": [1, 1]})
    store.add_run("p2", {"t1": [1], "t2": [0]})
    store.add_run("together", {"t1": [1, 0, 1], "t2": [1, 1, 0]})
    pooled = store.one("SELECT * FROM run_group_stats(' p2, p1,p2 ')")
    single = store.one("SELECT * FROM run_stats WHERE run_id = 'together'")
    assert pooled.pop("run_id") == "p1,p2"
    single.pop("run_id")
    assert pooled == single
    assert store.query("SELECT run_id, task_id, tries FROM run_group_task_stats('p1,p2') ORDER BY task_id") == [
        {"run_id": "p1,p2", "task_id": "t1", "tries": 3},
        {"run_id": "p1,p2", "task_id": "t2", "tries": 3},
    ]
    assert [r["k"] for r in store.query("SELECT k FROM run_group_pass_at_k('p1,p2') ORDER BY k")] == [1, 2, 3]
    assert store.query("SELECT * FROM run_group_stats('')") == []
    assert store.query("SELECT * FROM run_group_stats(NULL)") == []  # never "every run"


def test_runs_in_progress_are_flagged(store):
    store.add_run("done", {"t1": [1], "t2": [0]})
    store.add_run("live", {"t1": [1]}, status="running")
    assert store.one("SELECT run_status FROM run_stats WHERE run_id = 'live'")["run_status"] == "running"
    summary = store.one("SELECT * FROM compare_runs('done', 'live')")
    assert (summary["in_progress"], summary["a_status"], summary["b_status"]) == (True, "completed", "running")
    assert summary["comparable"] is False  # t2 has not run in 'live' yet
    assert summary["notes"] == (
        "1 task(s) ran only in A (not paired); still running: live (every number is provisional)"
    )


def test_different_datasets_revisions_and_tasks_are_not_comparable(store):
    store.add_run("x", {"t1": [1], "t2": [1]}, dataset="org/suite", revision="v1")
    store.add_run("y", {"t1": [0], "t2": [1]}, dataset="org/other", revision="v2", prompts={"t2": "changed prompt"})
    summary = store.one("SELECT * FROM compare_runs('x', 'y')")
    assert summary["comparable"] is False
    assert summary["notes"] == (
        "different datasets: org/suite vs org/other; different dataset revisions: v1 vs v2; "
        "1 task(s) changed prompt or expected answer between the runs"
    )
    assert (summary["a_dataset"], summary["b_dataset_revision"], summary["changed_tasks"]) == ("org/suite", "v2", 1)
    changed = store.query("SELECT task_id FROM compare_tasks('x', 'y') WHERE definition_changed")
    assert changed == [{"task_id": "t2"}]
    store.add_run("z", {"t1": [1], "t2": [1]}, dataset="org/suite", revision=None)
    assert store.one("SELECT notes FROM compare_runs('x', 'z')")["notes"] == (
        "different dataset revisions: v1 vs (none)"
    )


def test_agent_types_are_compared_separately(store):
    store.add_run("both", {"t1": [1], "t2": [0]}, agent_type="tool")
    store.add_run("both", {"t1": [0], "t2": [0]}, agent_type="code", status=None)
    store.add_run("tool-only", {"t1": [1], "t2": [1]}, agent_type="tool")
    rows = store.query("SELECT agent_type, paired_tasks, comparable, notes FROM compare_runs('both', 'tool-only')")
    assert rows == [
        {"agent_type": "code", "paired_tasks": 0, "comparable": False, "notes": "B did not evaluate code agents"},
        {"agent_type": "tool", "paired_tasks": 2, "comparable": True, "notes": ""},
    ]
    assert [
        r["agent_type"] for r in store.query("SELECT * FROM run_stats WHERE run_id = 'both' ORDER BY agent_type")
    ] == ["code", "tool"]


def test_a_run_without_a_run_record(store):
    store.add_run("orphan", {"t1": [1]}, status=None)
    store.add_run("known", {"t1": [1]})
    assert store.one("SELECT run_status FROM run_stats WHERE run_id = 'orphan'")["run_status"] == "unknown"
    summary = store.one("SELECT comparable, notes, a_status FROM compare_runs('orphan', 'known')")
    assert summary == {"comparable": False, "notes": "no run record for orphan", "a_status": "unknown"}
