"""One dataset repo = one commit: the Parquet file and its card together, through ``HfApi``.

The data goes in a single ``data/train-00000-of-00001.parquet`` (Parquet is sent through LFS by the
client, as on the Hub); its card goes in the same commit so that a reader never sees data without its
description. Re-uploading identical bytes is a no-op on the Hub (the client skips unchanged files).
"""

from __future__ import annotations

import pyarrow as pa
from huggingface_hub import CommitOperationAdd, CommitOperationDelete, HfApi

from smoltrace.hub.tables import table_to_parquet

DATA_FILE = "data/train-00000-of-00001.parquet"


def push_table(api: HfApi, repo_id: str, table: pa.Table, card: str, *, private: bool, message: str,
               stale_files: list[str] = (), parent_commit: str | None = None) -> str:  # fmt: skip
    """Create ``repo_id`` if missing (``private`` applies only then) and commit data + card; returns the URL."""
    url = api.create_repo(repo_id, repo_type="dataset", private=private, exist_ok=True)
    operations = [
        CommitOperationAdd(DATA_FILE, table_to_parquet(table)),
        CommitOperationAdd("README.md", card.encode("utf-8")),
    ]
    operations += [CommitOperationDelete(path) for path in stale_files if path != DATA_FILE]
    api.create_commit(repo_id, repo_type="dataset", operations=operations, commit_message=message,
                      parent_commit=parent_commit)  # fmt: skip
    return str(url)
