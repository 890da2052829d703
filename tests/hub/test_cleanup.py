"""smoltrace-cleanup against the stand-in Hub (seeded datasets with chosen creation dates) and on real
stores (file, and through a running collector)."""

import datetime as dt
import os

import pytest

from smoltrace.hub.cleanup import cleanup_datasets, discover_smoltrace_datasets, filter_runs, group_datasets_by_run
from tests.hub.conftest import GOOD, reader_for, run_cli

pytestmark = pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")

NOW = dt.datetime.now(dt.timezone.utc)
# timestamp -> (age in days, which datasets exist)
SEEDED = {
    "20250101_000000": (40, ("results", "traces", "metrics")),
    "20250201_000000": (20, ("results", "traces", "metrics")),
    "20250301_000000": (10, ("results", "traces")),  # incomplete: no metrics
    "20250401_000000": (1, ("results", "traces", "metrics")),
}
UNTOUCHABLE = ["alice/smoltrace-results-final", "alice/smoltrace-tasks", "alice/other", "bob/smoltrace-results-20250101_000000",
               "alice/smoltrace-results-20250101_000000-copy"]  # fmt: skip


def names(stamp, kinds=("results", "traces", "metrics")):
    return [f"alice/smoltrace-{kind}-{stamp}" for kind in kinds]


@pytest.fixture
def seeded(hub):
    for stamp, (age, kinds) in SEEDED.items():
        for name in names(stamp, kinds):
            hub.add_repo(name, created_at=NOW - dt.timedelta(days=age, hours=1))
    for name in [*UNTOUCHABLE, "alice/smoltrace-leaderboard"]:
        hub.add_repo(name, created_at=NOW - dt.timedelta(days=100))
    return hub


def clean(hub, **options):
    lines = []
    options.setdefault("hf_token", GOOD)
    result = cleanup_datasets(endpoint=hub.endpoint, log=lines.append, **options)
    return result, "\n".join(lines)


def remaining(hub):
    return sorted(hub.repos)


def test_discover_group_and_filter(seeded):
    found = discover_smoltrace_datasets("alice", GOOD, endpoint=seeded.endpoint)
    assert sorted(d["name"] for d in found["results"]) == [f"alice/smoltrace-results-{s}" for s in sorted(SEEDED)]
    assert [d["name"] for d in found["leaderboard"]] == ["alice/smoltrace-leaderboard"]
    runs = group_datasets_by_run(found)
    assert [r["timestamp"] for r in runs] == sorted(SEEDED, reverse=True)  # newest first (created_at)
    assert [r["complete"] for r in runs] == [True, False, True, True]
    to_delete, to_keep = filter_runs(runs, older_than_days=15)
    assert [r["timestamp"] for r in to_delete] == ["20250201_000000", "20250101_000000"]
    assert filter_runs(runs) == ([], runs)  # no filter: nothing


@pytest.mark.parametrize(
    "options, deleted",
    [
        ({"older_than_days": "15d"}, names("20250201_000000") + names("20250101_000000")),
        ({"older_than_days": "30h"}, names("20250301_000000", ("results", "traces")) + names("20250201_000000")
         + names("20250101_000000")),
        ({"keep_recent": 3}, names("20250101_000000")),
        ({"incomplete_only": True}, names("20250301_000000", ("results", "traces"))),
        ({"older_than_days": 15, "only": "traces"}, ["alice/smoltrace-traces-20250201_000000",
                                                      "alice/smoltrace-traces-20250101_000000"]),
        ({"older_than_days": "2w"}, names("20250201_000000") + names("20250101_000000")),
        ({"older_than_days": "1m"}, names("20250101_000000")),
        ({"delete_all": True}, [n for s in sorted(SEEDED, reverse=True) for n in names(s, SEEDED[s][1])]),
        ({"delete_all": True, "preserve_leaderboard": False},
         [n for s in sorted(SEEDED, reverse=True) for n in names(s, SEEDED[s][1])] + ["alice/smoltrace-leaderboard"]),
        ({}, []),
    ],
)  # fmt: skip
def test_each_filter_plans_and_deletes_exactly_its_datasets(seeded, options, deleted):
    before = remaining(seeded)
    plan, output = clean(seeded, **options)  # dry run by default: nothing deleted
    assert plan["planned"] == deleted and plan["deleted"] == [] and plan["total_deleted"] == 0
    assert remaining(seeded) == before
    if deleted:
        assert "This is a DRY-RUN" in output and f"  1. {deleted[0]}" in output
    done, output = clean(seeded, dry_run=False, confirm=False, **options)
    assert done["deleted"] == deleted and done["failed"] == [] and done["total_deleted"] == len(deleted)
    assert done["total_scanned"] == len(SEEDED)
    assert remaining(seeded) == sorted(set(before) - set(deleted))
    for name in UNTOUCHABLE:
        assert name in seeded.repos
    assert ("alice/smoltrace-leaderboard" in seeded.repos) == options.get("preserve_leaderboard", True)


@pytest.mark.parametrize(
    "options, message",
    [
        ({"keep_recent": 1, "incomplete_only": True}, "give one filter at a time, not keep_recent and incomplete_only"),
        ({"delete_all": True, "older_than_days": 7}, "give one filter at a time, not older_than_days and delete_all"),
    ],
)
def test_filters_are_one_at_a_time_as_in_smoltrace(seeded, options, message):
    before = remaining(seeded)
    with pytest.raises(ValueError) as error:
        clean(seeded, dry_run=False, confirm=False, **options)
    assert str(error.value) == message
    with pytest.raises(ValueError) as error:
        filter_runs([], older_than_days=1, keep_recent=2)
    assert str(error.value) == "give one filter at a time, not older_than_days and keep_recent"
    assert remaining(seeded) == before


def test_a_failed_delete_does_not_stop_the_others(seeded):
    seeded.fail_next(method="DELETE", path_prefix="/api/repos/delete", status=500)
    result, output = clean(seeded, older_than_days=15, dry_run=False, confirm=False)
    assert len(result["failed"]) == 1 and "server error" in result["failed"][0]["error"]
    assert len(result["deleted"]) == 5
    assert result["failed"][0]["dataset"] in seeded.repos


def test_confirmation_must_be_typed(seeded):
    before = remaining(seeded)
    result, output = clean(seeded, older_than_days=15, dry_run=False, ask=lambda _: "yes")
    assert result["cancelled"] and remaining(seeded) == before and "[CANCELLED]" in output
    result, _ = clean(seeded, older_than_days=15, dry_run=False, ask=lambda _: "DELETE")
    assert result["total_deleted"] == 6


def test_cli_dry_run_then_delete_with_a_failure(seeded, home):
    preview = run_cli("smoltrace-cleanup", ["--older-than", "15d"], seeded, home)
    assert preview.returncode == 0, preview.stderr
    assert "SMOLTRACE Dataset Cleanup (DRY-RUN)" in preview.stdout
    assert "Runs to delete: 2" in preview.stdout and "Datasets to delete: 6" in preview.stdout
    assert "Leaderboard: Preserved ✓" in preview.stdout and "alice/smoltrace-results-20250101_000000" in preview.stdout
    cancelled = run_cli("smoltrace-cleanup", ["--older-than", "15d", "--no-dry-run"], seeded, home, input="no\n")
    assert cancelled.returncode == 1 and "[CANCELLED]" in cancelled.stdout
    assert len([n for n in seeded.repos if "2025010" in n or "2025020" in n]) == 8  # 6 + bob's + the -copy
    seeded.fail_next(method="DELETE", path_prefix="/api/repos/delete", status=429)
    done = run_cli("smoltrace-cleanup", ["--older-than", "15d", "--no-dry-run"], seeded, home, input="DELETE\n")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Deleted: 5" in done.stdout and "Failed: 1" in done.stdout and "429" in done.stdout
    again = run_cli("smoltrace-cleanup", ["--older-than", "15d", "--no-dry-run", "--yes"], seeded, home)
    assert again.returncode == 0 and "Deleted: 1" in again.stdout
    assert GOOD not in preview.stdout + done.stdout + done.stderr
    bad = run_cli("smoltrace-cleanup", ["--older-than", "15d"], seeded, home, token="hf_nope")
    assert bad.returncode == 1 and "401" in bad.stderr and "Traceback" not in bad.stderr
    missing = run_cli("smoltrace-cleanup", ["--older-than", "15d"], seeded, home, token=None)
    assert missing.returncode == 2 and "token required" in missing.stderr


COUNTS_SQL = """
SELECT (SELECT count(*) FROM otel_traces WHERE "SpanAttributes"->>'smoltrace.run.id' = ?
                                           OR "ResourceAttributes"->>'smoltrace.run.id' = ?) AS spans,
       (SELECT count(*) FROM results WHERE run_id = ?) AS results,
       (SELECT count(*) FROM gpu_metrics WHERE run_id = ?) AS gpu_rows,
       (SELECT count(*) FROM runs WHERE run_id = ?) AS runs
"""


def counts(reader, run_id):
    return reader.query(COUNTS_SQL, [run_id] * 5)[0]


# Spans that only add volume to a run (no view reads them: no OpenInference kind, no task): enough
# incompressible bytes that deleting the run must free whole blocks, whatever DuckDB's block rounding.
PADDING_SQL = """
INSERT INTO otel_traces
SELECT t.* REPLACE (printf('%016x', 1000000 + i) AS "SpanId", 'padding' AS "SpanName",
                  json_object('smoltrace.run.id', $run, 'padding',
                              (SELECT string_agg(md5(i::VARCHAR || '-' || j::VARCHAR), '') FROM range(64) AS r(j)))
                      AS "SpanAttributes")
FROM (SELECT * FROM otel_traces WHERE "SpanAttributes"->>'smoltrace.run.id' = $run LIMIT 1) AS t, range(2000) AS n(i)
"""


def add_padding_spans(path, run_id):
    import duckdb

    with duckdb.connect(str(path)) as conn:
        conn.execute(PADDING_SQL, {"run": run_id})


def test_local_cleanup_removes_exactly_that_run_and_shrinks_the_file(stores, store):
    add_padding_spans(store, stores.run_a)
    reader = reader_for(store)
    before_a, before_b = counts(reader, stores.run_a), counts(reader, stores.run_b)
    all_spans = reader.query("SELECT count(*) AS n FROM otel_traces")[0]["n"]
    reader.close()
    assert before_a["results"] == 4 and before_b["gpu_rows"] == 2
    size_before = os.path.getsize(store)
    lines = []
    result = cleanup_datasets(target="local", db_path=store, delete_all=True, dry_run=True, log=lines.append)
    assert sorted(result["planned"]) == sorted([f"local:{stores.run_a}", f"local:{stores.run_b}"])
    # keep the most recent run (b), delete a
    result = cleanup_datasets(target="local", db_path=store, keep_recent=1, dry_run=False, confirm=False,
                              log=lines.append)  # fmt: skip
    assert result["deleted"] == [f"local:{stores.run_a}"] and result["failed"] == []
    rows = result["local"]["rows"][stores.run_a]
    assert rows["spans"] == all_spans - before_b["spans"] and rows["metric_points"] == 0
    reader = reader_for(store)
    assert counts(reader, stores.run_a) == {"spans": 0, "results": 0, "gpu_rows": 0, "runs": 0}
    assert counts(reader, stores.run_b) == before_b
    assert reader.query("SELECT count(*) AS n FROM otel_traces")[0]["n"] == before_b["spans"]
    assert result["local"]["bytes_before"] == size_before and result["local"]["bytes_after"] < size_before
    assert os.path.getsize(store) == result["local"]["bytes_after"]


def test_local_cleanup_through_a_running_collector(stores, store):
    from smoltrace.collector import Collector
    from smoltrace.store.reader import CollectorReader

    with Collector.embedded(db_path=store, token="collector-secret") as collector:
        reader = CollectorReader(collector.http_endpoint, "collector-secret")
        before_b = counts(reader, stores.run_b)
        result = cleanup_datasets(target="local", db_path=store, incomplete_only=False, older_than_days=None,
                                  delete_all=False, keep_recent=1, dry_run=False, confirm=False,
                                  collector_token="collector-secret", log=lambda _: None)  # fmt: skip
        assert result["deleted"] == [f"local:{stores.run_a}"], result
        assert counts(reader, stores.run_a) == {"spans": 0, "results": 0, "gpu_rows": 0, "runs": 0}
        assert counts(reader, stores.run_b) == before_b
        # the metrics part alone, for run b; the admin route wants the collector's token
        import httpx

        url = f"{collector.http_endpoint}/api/runs/{stores.run_b}"
        assert httpx.delete(url, params={"parts": "metrics"}).status_code == 401
        answer = httpx.delete(url, params={"parts": "metrics"}, headers={"authorization": "Bearer collector-secret"})
        assert answer.status_code == 200 and answer.json()["deleted"]["metric_points"] > 0
        assert counts(reader, stores.run_b) == {**before_b, "gpu_rows": 0}


def test_cli_flags_as_in_smoltrace(seeded, home):
    """--token is the Hugging Face token, -y skips the question, one filter at a time, and --all asks for
    YES DELETE ALL before the usual DELETE."""
    for args, message in [([], "Error: give a filter: --older-than AGE, --keep-recent N, --incomplete-only or --all"),
                          (["--older-than", "7d", "--keep-recent", "2"], "Error: --keep-recent cannot be used with "
                                                                        "--older-than: give one filter"),
                          (["--older-than", "3y"], "Error: Invalid value for --older-than: '3y' is not an age like "
                                                   "7d, 2w, 1m or 7 (days)")]:  # fmt: skip
        result = run_cli("smoltrace-cleanup", args, seeded, home)
        assert result.returncode == 2 and message in result.stderr, result.stderr
    before = remaining(seeded)
    flag = run_cli("smoltrace-cleanup", ["--older-than", "1m", "--token", GOOD], seeded, home, token=None)
    assert flag.returncode == 0 and "[INFO] Filter: Older than 30 days" in flag.stdout, flag.stdout + flag.stderr
    assert "Runs to delete: 1" in flag.stdout and remaining(seeded) == before
    refused = run_cli("smoltrace-cleanup", ["--all", "--no-dry-run"], seeded, home, input="yes\n")
    assert refused.returncode == 1 and remaining(seeded) == before
    assert "WARNING: --all will delete ALL smoltrace datasets" in refused.stdout
    assert (
        "Type 'YES DELETE ALL' to confirm: " in refused.stdout and "[CANCELLED] Nothing was deleted." in refused.stdout
    )
    assert "Scanning datasets" not in refused.stdout  # refused before anything was read
    half = run_cli("smoltrace-cleanup", ["--all", "--no-dry-run"], seeded, home, input="YES DELETE ALL\nno\n")
    assert half.returncode == 1 and "Type 'DELETE' to confirm" in half.stdout and remaining(seeded) == before
    done = run_cli("smoltrace-cleanup", ["--all", "--no-dry-run", "-y"], seeded, home)
    assert done.returncode == 0 and "Deleted: 11" in done.stdout, done.stdout + done.stderr
    assert "YES DELETE ALL" not in done.stdout
    assert sorted(n for n in remaining(seeded) if n.startswith("alice/")) == sorted(
        [n for n in UNTOUCHABLE if n.startswith("alice/")] + ["alice/smoltrace-leaderboard"]
    )
