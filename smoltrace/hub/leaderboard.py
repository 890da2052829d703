"""The shared ``{user}/smoltrace-leaderboard`` dataset: read, upsert by run_id, write back.

A row is SMOLTRACE's leaderboard row, one per run (``agent_type`` ``both`` for a both-agents run).
SMOLTRACE appended a row per publish, so publishing twice duplicated a run. Here the existing Parquet
is downloaded, the run's rows are replaced (including the per-agent-type rows that smoltrace versions
before 0.2 published for it), the schemas are unioned (rows
written by an older version, missing newer columns, load with nulls there) and the result is written
back as one file in one commit. The commit names the revision it was computed from
(``parent_commit``): if someone else updated the leaderboard meanwhile the Hub answers 412 and the
merge is redone on the new revision, so concurrent publishers never drop each other's rows.
"""

from __future__ import annotations

import tempfile

import pyarrow as pa
from huggingface_hub import HfApi
from huggingface_hub.errors import HfHubHTTPError, RepositoryNotFoundError

from smoltrace.hub.cards import render_card
from smoltrace.hub.errors import http_status
from smoltrace.hub.tables import parquet_to_table, rows_to_table, union_tables
from smoltrace.hub.upload import push_table

KEY = ("run_id",)
DATASET_COLUMNS = ("results_dataset", "traces_dataset", "metrics_dataset")


def read_leaderboard(api: HfApi, repo_id: str) -> tuple[pa.Table | None, str | None, list[str]]:
    """(table or None when the repo does not exist, its revision, its Parquet paths)."""
    try:
        info = api.dataset_info(repo_id)
    except RepositoryNotFoundError:
        return None, None, []
    paths = sorted(s.rfilename for s in info.siblings or [] if s.rfilename.endswith(".parquet"))
    table = None
    with tempfile.TemporaryDirectory(prefix="smoltrace-leaderboard-") as cache:
        for path in paths:
            local = api.hf_hub_download(repo_id, path, repo_type="dataset", revision=info.sha, cache_dir=cache)
            with open(local, "rb") as handle:
                part = parquet_to_table(handle.read())
            table = part if table is None else union_tables(table, part)
    return table, info.sha, paths


def dataset_names_for_run(table: pa.Table | None, run_id: str) -> tuple[str, str, str] | None:
    """The results/traces/metrics dataset names a leaderboard row already records for ``run_id``."""
    if table is None or "run_id" not in table.column_names or not all(c in table.column_names for c in DATASET_COLUMNS):
        return None
    for row in table.select(["run_id", *DATASET_COLUMNS]).to_pylist():
        if row["run_id"] == run_id and all(row[c] for c in DATASET_COLUMNS):
            return tuple(row[c] for c in DATASET_COLUMNS)
    return None


def upsert(existing: pa.Table | None, new_rows: list[dict]) -> pa.Table:
    new = rows_to_table(new_rows)
    if existing is None or existing.num_rows == 0 and existing.num_columns == 0:
        return new
    keys = {tuple(row.get(k) for k in KEY) for row in new_rows}
    columns = [existing.column(k).to_pylist() if k in existing.column_names else [None] * existing.num_rows
               for k in KEY]  # fmt: skip
    keep = pa.array([tuple(values) not in keys for values in zip(*columns)], pa.bool_())
    return union_tables(existing.filter(keep), new)


def update(api: HfApi, repo_id: str, new_rows: list[dict], *, private: bool, attempts: int = 3) -> pa.Table:
    """Upsert ``new_rows`` into the leaderboard repo (created if missing); returns the table written."""
    for attempt in range(attempts):
        existing, revision, paths = read_leaderboard(api, repo_id)
        merged = upsert(existing, new_rows)
        card = render_card("leaderboard", repo_id, merged, {"model": None})
        models = sorted({str(r.get("model")) for r in new_rows})
        try:
            push_table(api, repo_id, merged, card, private=private, stale_files=paths, parent_commit=revision,
                       message=f"Upsert {len(new_rows)} row(s): {', '.join(models)} run {new_rows[0].get('run_id')}")  # fmt: skip
            return merged
        except HfHubHTTPError as exc:
            if http_status(exc) != 412 or attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")
