"""Publishing stored runs (made by real evaluations with a scripted model) to the stand-in Hub, through
the real ``HfApi``; what users load back with the real ``datasets.load_dataset`` (child interpreter)."""

import io
import json

import pyarrow.parquet as pq
import pytest

from smoltrace.hub.privacy import load_policy
from smoltrace.hub.publish import publish_run, run_timestamp
from smoltrace.runner.outputs import (
    fetch_agent_type_rows,
    fetch_leaderboard_row,
    fetch_metrics,
    fetch_results,
    fetch_run,
    fetch_traces,
    flat_results,
)
from tests.hub.conftest import GOOD, reader_for, run_cli

pytestmark = pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")

LOAD_ALL = """
import json, sys, datasets
out = {}
for repo in json.loads(sys.argv[1] if len(sys.argv) > 1 else %r):
    ds = datasets.load_dataset(repo, split="train")
    out[repo] = ds.to_list()
print(json.dumps(out, default=str))
"""


def load_all(hub, home, repos):
    result = hub.run_python(LOAD_ALL % json.dumps(repos), home, token=GOOD)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def parquet_rows(hub, repo_id):
    files = hub.repos[repo_id].files
    [path] = [p for p in files if p.endswith(".parquet")]
    return pq.read_table(io.BytesIO(files[path])).to_pylist()


def card_columns(card: str) -> list[str]:
    return [line.split("`")[1] for line in card.splitlines() if line.startswith("| `")]


#: Leaderboard columns that the Hub fills in when a run is published (NULL in the view).
HUB_FILLED = ("submitted_by", "results_dataset", "traces_dataset", "metrics_dataset")


def published(rows):
    """The view rows as publishing uploads them: after this machine's privacy policy (test_privacy*.py)."""
    return load_policy(token=GOOD).rows(rows)


def test_two_runs_publish_datasets_that_load_as_the_views_rows(stores, store, hub, home):
    reader = reader_for(store)
    first = publish_run(reader, stores.run_a, token=GOOD, endpoint=hub.endpoint, private=False)
    second = publish_run(reader, stores.run_b, token=GOOD, endpoint=hub.endpoint)  # private by default

    stamp = first.results_repo.rsplit("-", 1)[1]
    assert (first.results_repo, first.traces_repo, first.metrics_repo, first.leaderboard_repo) == (
        f"alice/smoltrace-results-{stamp}", f"alice/smoltrace-traces-{stamp}", f"alice/smoltrace-metrics-{stamp}",
        "alice/smoltrace-leaderboard")  # fmt: skip
    assert second.results_repo != first.results_repo
    assert first.urls["results"] == f"{hub.endpoint}/datasets/{first.results_repo}"
    for result, private in ((first, False), (second, True)):
        for repo_id in (result.results_repo, result.traces_repo, result.metrics_repo):
            repo = hub.repos[repo_id]
            assert sorted(repo.files) == [".gitattributes", "README.md", "data/train-00000-of-00001.parquet"]
            assert repo.stored_files["data/train-00000-of-00001.parquet"].lfs is True
            assert repo.private is private
    assert hub.repos["alice/smoltrace-leaderboard"].private is False  # created by the first, public publish

    repos = [
        first.results_repo,
        first.traces_repo,
        first.metrics_repo,
        second.metrics_repo,
        "alice/smoltrace-leaderboard",
    ]
    loaded = load_all(hub, home, repos)

    results_a = flat_results(fetch_results(reader, stores.run_a))  # results.json's rows
    assert len(results_a) == 4 and {r["agent_type"] for r in results_a} == {"tool", "code"}
    assert loaded[first.results_repo] == published(results_a)
    assert list(loaded[first.results_repo][0])[:19] == [
        "model", "evaluation_date", "task_id", "agent_type", "difficulty", "prompt", "success", "tool_called",
        "correct_tool", "final_answer_called", "response_correct", "tools_used", "steps", "response", "error",
        "trace_id", "execution_time_ms", "total_tokens", "cost_usd"]  # fmt: skip
    traces = [{**row, "spans": json.loads(row["spans"])} for row in loaded[first.traces_repo]]  # traces.json's
    assert traces == published(fetch_traces(reader, stores.run_a))
    assert [len(t["spans"]) > 1 and t["total_tokens"] > 0 for t in traces] == [True] * 4
    # an API model has no GPU samples: one summary row, so the dataset still loads
    assert loaded[first.metrics_repo] == [{"run_id": stores.run_a, "gpu_count": 0, "sample_count": 0}]
    gpu_rows = fetch_metrics(reader, stores.run_b)["gpu_metrics"]
    assert len(gpu_rows) == 2 and loaded[second.metrics_repo] == published(gpu_rows)

    board = loaded["alice/smoltrace-leaderboard"]  # SMOLTRACE's row: one per run
    assert sorted((r["run_id"], r["agent_type"]) for r in board) == sorted(
        [(stores.run_a, "both"), (stores.run_b, "tool")]
    )
    for row in board:
        run = first if row["run_id"] == stores.run_a else second
        [view] = published([fetch_leaderboard_row(reader, row["run_id"])])
        assert {k: row[k] for k in view if k not in HUB_FILLED} == {
            k: v for k, v in view.items() if k not in HUB_FILLED
        }
        assert (row["results_dataset"], row["traces_dataset"], row["metrics_dataset"]) == (
            run.results_repo,
            run.traces_repo,
            run.metrics_repo,
        )
        assert row["submitted_by"] == "alice"
    gpu_row = next(r for r in board if r["run_id"] == stores.run_b)
    assert gpu_row["gpu_count"] == 1 and gpu_row["gpu_utilization_max"] == 50

    # cards: YAML configs + features, exactly the columns present, the run, no secret
    for repo_id in repos:
        card = hub.repos[repo_id].files["README.md"].decode()
        columns = list(
            pq.read_table(io.BytesIO(hub.repos[repo_id].files["data/train-00000-of-00001.parquet"])).column_names
        )
        assert card_columns(card) == columns
        assert "configs:" in card and "data_files:" in card and "dataset_info:" in card
    assert f"`{stores.run_a}`" in hub.repos[first.results_repo].files["README.md"].decode()
    assert "`gpt-4o-mini`" in hub.repos[first.traces_repo].files["README.md"].decode()
    for repo in hub.repos.values():
        for content in repo.files.values():
            assert GOOD.encode() not in content
    assert hub.unhandled == []


def test_publishing_the_same_run_again_reuses_its_datasets(stores, store, hub):
    reader = reader_for(store)
    first = publish_run(reader, stores.run_a, token=GOOD, endpoint=hub.endpoint)
    repos_before = sorted(hub.repos)
    again = publish_run(reader, stores.run_a, token=GOOD, endpoint=hub.endpoint)
    assert again.reused is True
    assert (again.results_repo, again.traces_repo, again.metrics_repo) == (
        first.results_repo,
        first.traces_repo,
        first.metrics_repo,
    )
    assert sorted(hub.repos) == repos_before
    board = parquet_rows(hub, "alice/smoltrace-leaderboard")
    assert [(r["run_id"], r["agent_type"]) for r in board] == [(stores.run_a, "both")]


def test_older_leaderboard_rows_keep_loading_after_an_upsert(stores, store, hub, home):
    import pyarrow as pa

    from smoltrace.hub.tables import table_to_parquet

    old = pa.table({"run_id": ["old-run"], "model": ["m0"], "agent_type": ["tool"], "success_rate": [50],
                    "notes": ["from SMOLTRACE"]})  # fmt: skip
    hub.add_repo(
        "alice/smoltrace-leaderboard",
        files={
            "data/train-00000-of-00001.parquet": table_to_parquet(old),
            "data/extra-old-shard.parquet": table_to_parquet(old.slice(0, 0)),
        },
    )
    publish_run(reader_for(store), stores.run_b, token=GOOD, endpoint=hub.endpoint)
    files = hub.repos["alice/smoltrace-leaderboard"].files
    assert [p for p in files if p.endswith(".parquet")] == ["data/train-00000-of-00001.parquet"]
    [board] = load_all(hub, home, ["alice/smoltrace-leaderboard"]).values()
    assert [(r["run_id"], r["agent_type"]) for r in board] == [("old-run", "tool"), (stores.run_b, "tool")]
    old_row, new_row = board
    assert old_row["success_rate"] == 50.0 and old_row["notes"] == "from SMOLTRACE"
    assert old_row["total_tests"] is None and old_row["results_dataset"] is None
    assert new_row["notes"] == f"Evaluation on {new_row['timestamp'][:10]}; 1 tests" and new_row["total_tests"] == 1


# Task durations whose plain float sum rounds to 140.43 ms in one order and 140.42 ms in the other.
ORDER_SENSITIVE_DURATIONS_MS = [14.06, 22.88802, 7.245267, 39.53535, 22.894463, 28.496, 5.3059]


def test_duration_totals_round_the_same_whatever_the_row_order():
    """The leaderboard sums durations with fsum/favg: the rounded totals agree to the digit whatever order
    DuckDB scans the rows in (a plain sum did not: a flaky leaderboard check)."""
    from smoltrace.store.memory import leaderboard_rows

    durations = ORDER_SENSITIVE_DURATIONS_MS
    assert round(sum(durations), 2) != round(sum(reversed(durations)), 2)  # the trap
    for order in (durations, durations[::-1]):
        rows = [
            {"run_id": "r", "agent_type": "tool", "task_id": str(i), "execution_time_ms": d}
            for i, d in enumerate(order)
        ]
        ((total, average),) = [(row["total_duration_ms"], row["avg_duration_ms"]) for row in leaderboard_rows(rows)]
        assert (total, average) == (140.43, 20.06)


def test_compute_leaderboard_row_is_the_view_row_or_the_view_over_the_given_results(stores, store):
    from smoltrace.utils import compute_leaderboard_row

    reader = reader_for(store)
    all_results, traces, metrics, dataset, run_id = stores.outcome_a
    view_row = fetch_leaderboard_row(reader, run_id)
    names = ("alice/r", "alice/t", "alice/m")
    from_view = compute_leaderboard_row("gpt-4o-mini", all_results, traces, metrics, dataset, *names,
                                        run_id=run_id, view_rows=[view_row])  # fmt: skip
    assert from_view == {**view_row, "results_dataset": "alice/r", "traces_dataset": "alice/t",
                         "metrics_dataset": "alice/m", "dataset_used": dataset}  # fmt: skip
    # without a store: the same view, run over the results in memory; the numbers are the same
    without_store = compute_leaderboard_row("gpt-4o-mini", all_results, traces, metrics, dataset, *names,
                                            run_id=run_id, view_rows=[])  # fmt: skip
    assert without_store.keys() == view_row.keys()
    run_facts = {"timestamp", "notes", "dataset_split", "run_status", "planned_tasks", "smoltrace_version"}
    assert {k: v for k, v in without_store.items() if k not in run_facts} == {
        k: v for k, v in from_view.items() if k not in run_facts}  # fmt: skip
    # one agent type of a both-agents run: computed over that agent type's results
    by_agent = {row["agent_type"]: row for row in fetch_agent_type_rows(reader, run_id)}
    for agent in ("tool", "code"):
        row = compute_leaderboard_row("gpt-4o-mini", all_results, traces, metrics, dataset, *names, agent_type=agent,
                                      run_id=run_id, view_rows=[view_row])  # fmt: skip
        assert row["agent_type"] == agent
        for key in ("total_tests", "successful_tests", "success_rate", "total_tokens", "tool_called_rate"):
            assert row[key] == by_agent[agent][key]


def test_smoltrace_utils_api_publishes_what_run_evaluation_returned(stores, store, hub):
    from smoltrace import utils

    all_results, traces, metrics, dataset, run_id = stores.outcome_a
    assert utils.get_hf_user_info(GOOD)["username"] == "alice"
    assert utils.get_hf_user_info("hf_wrong") is None
    results_repo, traces_repo, metrics_repo, leaderboard_repo = utils.generate_dataset_names("alice")
    assert leaderboard_repo == "alice/smoltrace-leaderboard" and results_repo.startswith("alice/smoltrace-results-")
    counts = utils.push_results_to_hf(all_results, traces, metrics, results_repo, traces_repo, metrics_repo,
                                      "gpt-4o-mini", GOOD, private=True, run_id=run_id)  # fmt: skip
    assert counts == {"results": 4, "traces": 4, "metrics": 1}  # one row per trace, as in traces.json
    assert hub.repos[results_repo].private is True
    row = utils.compute_leaderboard_row("gpt-4o-mini", all_results, traces, metrics, dataset, results_repo,
                                        traces_repo, metrics_repo, agent_type="tool", run_id=run_id, provider="litellm",
                                        view_rows=[fetch_leaderboard_row(reader_for(store), run_id)])  # fmt: skip
    assert utils.update_leaderboard(leaderboard_repo, row, GOOD) == 1
    assert utils.update_leaderboard(leaderboard_repo, row, GOOD) == 1  # upsert, not append
    # the same rows as a publish from the store
    again = publish_run(reader_for(store), run_id, token=GOOD, endpoint=hub.endpoint)
    assert again.reused is True and again.results_repo == results_repo

    # the store's rows hold the view's columns; run_evaluation's rows add SMOLTRACE's extra fields
    def by_task(row):
        return row["agent_type"], row["task_id"]

    from_store = sorted(parquet_rows(hub, results_repo), key=by_task)
    in_memory = sorted(published(r for rows in all_results.values() for r in rows), key=by_task)
    assert [{key: row[key] for key in stored} for stored, row in zip(from_store, in_memory)] == from_store


def test_cli_publishes_and_prints_the_urls(stores, store, hub, home):
    done = run_cli("smoltrace-publish", ["--run-id", stores.run_b, "--db", str(store), "--private"], hub, home)
    assert done.returncode == 0, done.stderr
    stamp = next(r for r in hub.repos if "results" in r).rsplit("-", 1)[1]
    assert "[SUCCESS] Evaluation complete! Results pushed to HuggingFace Hub." in done.stdout
    assert f"  Results: {hub.endpoint}/datasets/alice/smoltrace-results-{stamp}" in done.stdout
    assert f"  Leaderboard: {hub.endpoint}/datasets/alice/smoltrace-leaderboard" in done.stdout
    assert GOOD not in done.stdout + done.stderr


@pytest.mark.parametrize("case", ["no token", "bad token", "rate limit", "server error", "no network", "unknown run"])
def test_cli_failures_are_clear_and_lose_nothing(stores, store, hub, home, case):
    run_id, token, env = stores.run_a, GOOD, {}
    if case == "no token":
        token = None
    elif case == "bad token":
        token = "hf_revoked_token_123"
    elif case == "rate limit":
        hub.fail_next(method="POST", path_prefix="/api/repos/create", status=429)
    elif case == "server error":
        stamp = run_timestamp(fetch_run(reader_for(store), run_id))  # the traces commit, after results went up
        hub.fail_next(method="POST", path_prefix=f"/api/datasets/alice/smoltrace-traces-{stamp}/commit", status=500)
    elif case == "no network":
        env = {"HF_ENDPOINT": "http://127.0.0.1:9"}
    elif case == "unknown run":
        run_id = "no-such-run"
    done = run_cli("smoltrace-publish", ["--run-id", run_id, "--db", str(store)], hub, home, token=token, extra_env=env)
    message = done.stderr
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"smoltrace-publish --run-id {run_id}" in message
    assert "Traceback" not in message
    expected = {
        "no token": "no Hugging Face token",
        "bad token": "401",
        "rate limit": "429",
        "server error": "server error",
        "no network": "cannot reach the Hub",
        "unknown run": "not in the store",
    }
    assert expected[case] in message
    for secret in (GOOD, "hf_revoked_token_123"):
        assert secret not in done.stdout + done.stderr
    assert "alice/smoltrace-leaderboard" not in hub.repos  # the leaderboard is written last
    assert reader_for(store).query("SELECT count(*) AS n FROM results WHERE run_id = ?", [stores.run_a])[0]["n"] == 4
