"""The statistics views on random runs against reference implementations (scipy, statsmodels, the numpy
estimator of Chen et al. 2021), to 1e-9."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from scipy.special import comb
from statsmodels.stats.contingency_tables import mcnemar
from statsmodels.stats.proportion import proportion_confint

TOL = {"abs": 1e-9}
SEEDS = range(12)


def random_run(rng: np.random.Generator, tasks: int, tries: int, equal: bool) -> dict[str, list[int]]:
    """Each task has its own success probability (tasks differ in difficulty); tries vary when not equal."""
    outcomes = {}
    for i in range(tasks):
        p = rng.beta(0.7, 0.7)
        m = tries if equal else int(rng.integers(1, tries + 1))
        outcomes[f"t{i:03d}"] = [int(x) for x in rng.random(m) < p]
    return outcomes


def random_values(rng: np.random.Generator, outcomes: dict, scale: float, digits: int = 3) -> dict[str, list]:
    """Per-task levels with noise around them, as tokens (digits=0: whole numbers) or durations look."""
    values = {
        t: rng.normal(scale * rng.uniform(0.5, 2), scale / 10, len(flags)).round(digits)
        for t, flags in outcomes.items()
    }
    return {t: [int(x) if digits == 0 else float(x) for x in v] for t, v in values.items()}


def chen_pass_at_k(n: int, c: int, k: int) -> float:
    """Chen et al. (2021), the numpy implementation given in the paper."""
    if n - c < k:
        return 1.0
    return 1.0 - np.prod(1.0 - k / np.arange(n - c + 1, n + 1))


@pytest.mark.parametrize("seed", SEEDS)
def test_run_stats_match_the_references(store, seed):
    rng = np.random.default_rng(seed)
    tasks, tries, equal = int(rng.integers(2, 40)), int(rng.integers(1, 7)), bool(seed % 3)
    outcomes = random_run(rng, tasks, tries, equal)
    tokens = random_values(rng, outcomes, 1000, digits=0)
    durations = random_values(rng, outcomes, 5000)
    store.add_run("r", outcomes, tokens=tokens, durations=durations)
    row = store.one("SELECT * FROM run_stats WHERE run_id = 'r'")

    m = np.array([len(v) for v in outcomes.values()])
    s = np.array([sum(v) for v in outcomes.values()])
    n, big_n, p = len(m), m.sum(), s.sum() / m.sum()
    assert (row["tasks"], row["tries"], row["successes"]) == (n, big_n, s.sum())
    assert row["success_rate"] == pytest.approx(p, **TOL)
    assert row["pass_at_1"] == pytest.approx(np.mean(s / m), **TOL)
    if m.max() == 1 or equal:
        # The clustered standard error is the standard error of the per-task success fractions.
        assert row["success_rate_se"] == pytest.approx(stats.sem(s / m), **TOL)
    if m.max() == 1:  # one try per task: Wilson over the tasks
        assert row["success_rate_ci_method"] == "wilson"
        low, high = proportion_confint(s.sum(), n, alpha=0.05, method="wilson")
        ci = stats.binomtest(int(s.sum()), int(n)).proportion_ci(0.95, method="wilson")
        assert (low, high) == pytest.approx((ci.low, ci.high), **TOL)
    else:
        clustered_var = n / (n - 1) * np.sum((s - p * m) ** 2) / big_n**2
        if 0 < p < 1:
            effective = big_n / max(1.0, clustered_var / (p * (1 - p) / (big_n - 1)))
        else:
            effective = n
        assert row["effective_tries"] == pytest.approx(effective, **TOL)
        low, high = proportion_confint(p * effective, effective, alpha=0.05, method="wilson")
    assert (row["success_rate_ci_low"], row["success_rate_ci_high"]) == pytest.approx((low, high), **TOL)

    for k in range(1, m.max() + 1):
        counted = m >= k
        assert row["pass_at_k"][k - 1] == pytest.approx(
            np.mean([chen_pass_at_k(a, b, k) for a, b in zip(m[counted], s[counted])]), **TOL
        )
        assert row["pass_hat_k"][k - 1] == pytest.approx(np.mean(comb(s[counted], k) / comb(m[counted], k)), **TOL)

    for name, values in (("tokens", tokens), ("duration_ms", durations)):
        means = np.array([np.mean(v) for v in values.values()])
        totals = np.array([np.sum(v) for v in values.values()])
        mean = totals.sum() / big_n
        assert row[f"mean_{name}"] == pytest.approx(mean, rel=1e-12)
        if equal or m.max() == 1:
            assert row[f"mean_{name}_se"] == pytest.approx(stats.sem(means), rel=1e-9)
        else:
            assert row[f"mean_{name}_se"] == pytest.approx(
                np.sqrt(n / (n - 1) * np.sum((totals - mean * m) ** 2) / big_n**2), rel=1e-9
            )


@pytest.mark.parametrize("seed", SEEDS)
def test_compare_matches_the_references(store, seed):
    rng = np.random.default_rng(100 + seed)
    tasks, tries = int(rng.integers(2, 60)), int(rng.integers(1, 6)) if seed % 2 else 1
    a = random_run(rng, tasks, tries, equal=seed % 4 != 3)
    b = {t: [int(x) for x in rng.random(len(v)) < min(1.0, np.mean(v) + 0.2)] for t, v in a.items()}
    a_tokens, b_tokens = random_values(rng, a, 800, digits=0), random_values(rng, b, 900, digits=0)
    store.add_run("a", a, tokens=a_tokens)
    store.add_run("b", b, tokens=b_tokens)
    metrics = {m["metric"]: m for m in store.query("SELECT * FROM compare_metrics('a', 'b')")}

    fa = np.array([np.mean(v) for v in a.values()])
    fb = np.array([np.mean(b[t]) for t in a])
    d = fb - fa
    success = metrics["success"]
    assert (success["a_value"], success["b_value"], success["difference"]) == pytest.approx(
        (fa.mean(), fb.mean(), d.mean()), **TOL
    )
    assert success["difference_se"] == pytest.approx(stats.sem(d), **TOL)
    z = stats.norm.ppf(0.975)
    assert (success["ci_low"], success["ci_high"]) == pytest.approx(
        (max(-1, d.mean() - z * stats.sem(d)), min(1, d.mean() + z * stats.sem(d))), **TOL
    )
    up, down = int(np.sum(d > 0)), int(np.sum(d < 0))
    assert (success["tasks_up"], success["tasks_down"]) == (up, down)
    sign_p = stats.binomtest(min(up, down), up + down, 0.5).pvalue if up + down else 1.0
    assert success["p_value"] == pytest.approx(sign_p, **TOL)
    if tries == 1:
        assert success["test"] == "mcnemar_exact"
        table = [
            [np.sum((fa == 1) & (fb == 1)), np.sum((fa == 1) & (fb == 0))],
            [np.sum((fa == 0) & (fb == 1)), np.sum((fa == 0) & (fb == 0))],
        ]
        assert success["p_value"] == pytest.approx(mcnemar(table, exact=True).pvalue, **TOL)
    else:
        assert success["test"] == "sign_test_exact"

    ta = np.array([np.mean(v) for v in a_tokens.values()])
    tb = np.array([np.mean(b_tokens[t]) for t in a_tokens])
    tokens = metrics["tokens"]
    assert tokens["difference"] == pytest.approx((tb - ta).mean(), rel=1e-12)
    assert tokens["difference_se"] == pytest.approx(stats.sem(tb - ta), rel=1e-9)
    t_up, t_down = int(np.sum(tb > ta)), int(np.sum(tb < ta))
    assert tokens["p_value"] == pytest.approx(stats.binomtest(min(t_up, t_down), t_up + t_down).pvalue, **TOL)


@pytest.mark.parametrize("n", [1, 2, 7, 30, 151, 400])
def test_sign_test_against_scipy(store, n):
    for x in sorted({0, 1, n // 3, n // 2, n}):
        value = store.one("SELECT sign_test_p(?, ?) AS p", [x, n])["p"]
        assert value == pytest.approx(stats.binomtest(x, n, 0.5).pvalue, **TOL), (x, n)


def test_pass_at_k_against_the_paper_on_every_small_case(store):
    cases = [(n, c, k) for n in range(1, 12) for c in range(n + 1) for k in range(1, n + 1)]
    rows = store.query(
        "SELECT n, c, k, pass_at_k(n, c, k) AS at, pass_hat_k(n, c, k) AS hat "
        "FROM (SELECT unnest(?::INTEGER[][]) AS t) AS cases, "
        "LATERAL (SELECT t[1] AS n, t[2] AS c, t[3] AS k)",
        [[list(case) for case in cases]],
    )
    assert len(rows) == len(cases)
    for row in rows:
        assert row["at"] == pytest.approx(chen_pass_at_k(row["n"], row["c"], row["k"]), **TOL)
        assert row["hat"] == pytest.approx(comb(row["c"], row["k"]) / comb(row["n"], row["k"]), **TOL)
    assert store.one("SELECT pass_at_k(3, 1, 4) AS a, pass_hat_k(3, 1, 0) AS b") == {"a": None, "b": None}
