"""The Hub leaderboard's rows carry the run's statistics (the `leaderboard` view's last columns, from
run_stats_overall), and its card names them; rows of an older leaderboard load with them empty."""

import math

import pytest

from smoltrace.hub.publish import publish_run
from tests.hub.conftest import GOOD, reader_for
from tests.hub.test_publish import load_all, parquet_rows

pytestmark = pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")

Z = 1.959963984540054
STATS_COLUMNS = (
    "tasks", "min_tries", "max_tries", "success_rate_se", "success_rate_ci_low", "success_rate_ci_high",
    "success_rate_ci_method", "pass_at_1", "pass_at_k", "pass_hat_k", "mean_tokens_se", "mean_duration_ms_se",
    "mean_cost_usd_se",
)  # fmt: skip


def test_hub_leaderboard_rows_hold_the_statistics(stores, store, hub, home):
    import pyarrow as pa

    from smoltrace.hub.tables import table_to_parquet

    old = pa.table({"run_id": ["old-run"], "model": ["m0"], "agent_type": ["tool"], "success_rate": [50.0]})
    hub.add_repo("alice/smoltrace-leaderboard", files={"data/train-00000-of-00001.parquet": table_to_parquet(old)})
    reader = reader_for(store)
    publish_run(reader, stores.run_a, token=GOOD, endpoint=hub.endpoint)
    publish_run(reader, stores.run_b, token=GOOD, endpoint=hub.endpoint)

    [board] = load_all(hub, home, ["alice/smoltrace-leaderboard"]).values()
    rows = {row["run_id"]: row for row in board}
    assert {column: rows["old-run"][column] for column in STATS_COLUMNS} == dict.fromkeys(STATS_COLUMNS)
    run_a, run_b = rows[stores.run_a], rows[stores.run_b]
    # run_a: both agent types, 2 tasks each, one try: the tool agent answers both, the code agent neither.
    # Four tasks, 2 successes: Wilson at 1/2 over n = 4: 1/2 ± z sqrt(1/16 + z²/64) / (1 + z²/4);
    # the standard error s/sqrt(n) = sqrt(1/3)/2 = 28.87%.
    half = Z * math.sqrt(1 / 16 + Z**2 / 64) / (1 + Z**2 / 4)
    assert (round(100 * (0.5 - half), 2), round(100 * (0.5 + half), 2)) == (15.0, 85.0)
    assert {column: run_a[column] for column in STATS_COLUMNS if not column.startswith("mean_")} == {
        "tasks": 4,
        "min_tries": 1,
        "max_tries": 1,
        "success_rate_se": 28.87,
        "success_rate_ci_low": 15.0,
        "success_rate_ci_high": 85.0,
        "success_rate_ci_method": "wilson",
        "pass_at_1": 50.0,
        "pass_at_k": [50.0],
        "pass_hat_k": [50.0],
    }
    assert (run_a["agent_type"], run_a["success_rate"]) == ("both", 50.0)
    # run_b: one task, one success: Wilson at 1/1 is 1/(1 + z²) to 1; a single value has no standard error
    assert (run_b["success_rate_ci_low"], run_b["success_rate_ci_high"], run_b["success_rate_se"]) == (
        round(100 / (1 + Z**2), 2),
        100.0,
        None,
    )
    assert run_b["success_rate_ci_low"] == 20.65
    # the standard errors of the means are the view's (the tokens of a scripted run are its own)
    stats = {row["run_id"]: row for row in reader.query("SELECT * FROM run_stats_overall")}
    for run_id in (stores.run_a, stores.run_b):
        assert rows[run_id]["mean_tokens_se"] == (
            None if stats[run_id]["mean_tokens_se"] is None else round(stats[run_id]["mean_tokens_se"], 2)
        )
        assert rows[run_id]["mean_duration_ms_se"] == (
            None if stats[run_id]["mean_duration_ms_se"] is None else round(stats[run_id]["mean_duration_ms_se"], 2)
        )
    assert isinstance(run_a["mean_tokens_se"], float) and run_b["mean_tokens_se"] is None

    parquet = parquet_rows(hub, "alice/smoltrace-leaderboard")
    columns = [column for column in parquet[0] if column != "published_at"]  # the publisher's, appended
    assert columns[-len(STATS_COLUMNS) :] == list(STATS_COLUMNS)
    card = hub.repos["alice/smoltrace-leaderboard"].files["README.md"].decode()
    assert "`success_rate_ci_low`/`_high` (95% interval" in card and "| `pass_hat_k` | list[float64] |" in card
