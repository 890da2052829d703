#!/usr/bin/env python
"""What one DuckDB CHECKPOINT costs in memory when a table's rows are large (an LLM span: ~15 KB).

The collector's peak RSS under a firehose of real agent spans happens inside some checkpoints. This
script reproduces that outside the collector, in seconds, with the collector's DuckDB settings (the
store's ATTACH options, zstd, one thread, a 256MB memory limit, checkpoints decided by the caller): it
appends rows of ~15 KB text in commits of ``--rows-per-commit``, checkpoints every
``--commits-per-checkpoint`` commits, samples its own RSS every 3 ms and prints what the checkpoints
added on top of the RSS just before them. Compare, for instance:

    python bench/checkpoint_memory.py                         # the collector's settings
    python bench/checkpoint_memory.py --max-vacuum-tasks 0    # DuckDB merges no row groups
    python bench/checkpoint_memory.py --row-group-size 2048
    python bench/checkpoint_memory.py --rows-per-commit 1024 --commits-per-checkpoint 8   # whole row groups

``--tidy`` ends with one more checkpoint with DuckDB's default vacuum (100 tasks), to show what merging
the row groups left behind costs later. Figures: ``bench/README.md``.
"""

from __future__ import annotations

import argparse
import os
import random
import string
import tempfile
import threading
import time
from pathlib import Path

import duckdb
import pyarrow as pa


def rss_mb() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS"):
                return int(line.split()[1]) // 1024
    return 0


class PeakSampler:
    """The highest RSS seen since the last ``reset`` (sampled every 3 ms by a thread)."""

    def __init__(self):
        self.overall = 0
        self.since_reset = 0
        threading.Thread(target=self._run, daemon=True).start()

    def reset(self) -> None:
        self.since_reset = 0

    def _run(self) -> None:
        while True:
            value = rss_mb()
            self.overall = max(self.overall, value)
            self.since_reset = max(self.since_reset, value)
            time.sleep(0.003)


def large_texts(count: int, rng: random.Random) -> list[str]:
    """JSON-like conversation text of ~15 KB each, compressible as real LLM messages are."""
    words = ["".join(rng.choices(string.ascii_lowercase, k=rng.randint(2, 9))) for _ in range(3000)]
    return ['{"role": "user", "content": "' + " ".join(rng.choices(words, k=2500)) + '"}' for _ in range(count)]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--row-group-size", type=int, default=8192, help="ATTACH ROW_GROUP_SIZE (default 8192)")
    parser.add_argument("--rows-per-commit", type=int, default=1000, help="rows appended per commit (default 1000)")
    parser.add_argument("--commits-per-checkpoint", type=int, default=4, help="commits between checkpoints (default 4)")
    parser.add_argument("--commits", type=int, default=60, help="commits in all (default 60)")
    parser.add_argument("--max-vacuum-tasks", type=int, default=None,
                        help="DuckDB's max_vacuum_tasks (default: DuckDB's own, 100)")  # fmt: skip
    parser.add_argument("--compression", default="zstd", help="force_compression (default zstd, as the collector)")
    parser.add_argument("--tidy", action="store_true", help="end with one checkpoint with DuckDB's default vacuum")
    args = parser.parse_args(argv)

    folder = tempfile.TemporaryDirectory()
    path = Path(folder.name) / "checkpoint.duckdb"
    connection = duckdb.connect()
    connection.execute(f"ATTACH '{path}' AS store (ROW_GROUP_SIZE {args.row_group_size}, RECOVERY_MODE no_wal_writes)")
    connection.execute("USE store")
    settings = [f"SET force_compression = '{args.compression}'", "SET checkpoint_threshold = '1TB'",
                "SET threads = 1", "SET memory_limit = '256MB'"]  # fmt: skip
    if args.max_vacuum_tasks is not None:
        settings.append(f"SET max_vacuum_tasks = {args.max_vacuum_tasks}")
    for setting in settings:
        connection.execute(setting)
    connection.execute("CREATE TABLE spans (id BIGINT, name VARCHAR, attributes VARCHAR)")

    texts = large_texts(500, random.Random(7))
    sampler = PeakSampler()
    checkpoint_extra, checkpoint_seconds = [], []
    started = time.monotonic()
    rows = 0
    for commit in range(args.commits):
        ids = range(rows, rows + args.rows_per_commit)
        rows += args.rows_per_commit
        batch = pa.table({"id": list(ids), "name": [f"span {i}" for i in ids],
                          "attributes": [texts[(i * 7919) % len(texts)] + str(i) for i in ids]})  # fmt: skip
        connection.begin()
        connection.from_arrow(batch).insert_into("spans")
        connection.commit()
        del batch
        if (commit + 1) % args.commits_per_checkpoint == 0:
            before = rss_mb()
            sampler.reset()
            checkpoint_started = time.monotonic()
            connection.execute("CHECKPOINT")
            checkpoint_seconds.append(time.monotonic() - checkpoint_started)
            checkpoint_extra.append(max(0, sampler.since_reset - before))
    filled_s = time.monotonic() - started
    row_groups = connection.execute("SELECT count(DISTINCT row_group_id) FROM pragma_storage_info('spans')").fetchone()[
        0
    ]

    print(f"settings: {'; '.join(settings)}; ROW_GROUP_SIZE {args.row_group_size}")
    print(f"rows: {rows:,} of ~15 KB in commits of {args.rows_per_commit}, a checkpoint every "
          f"{args.commits_per_checkpoint} commits: {filled_s:.1f} s")  # fmt: skip
    if checkpoint_seconds:
        print(f"checkpoints: {len(checkpoint_seconds)}, mean {sum(checkpoint_seconds) / len(checkpoint_seconds):.2f} s, "
              f"max {max(checkpoint_seconds):.2f} s; RSS added during one: up to {max(checkpoint_extra)} MB")  # fmt: skip
    print(f"peak RSS: {sampler.overall} MB; file: {os.path.getsize(path) / 1e6:.0f} MB in {row_groups} row groups")
    if args.tidy:
        connection.execute("SET max_vacuum_tasks = 100")
        connection.execute("INSERT INTO spans VALUES (-1, 'last', '{}')")
        before = rss_mb()
        sampler.reset()
        tidy_started = time.monotonic()
        connection.execute("CHECKPOINT")
        after_groups = connection.execute(
            "SELECT count(DISTINCT row_group_id) FROM pragma_storage_info('spans')"
        ).fetchone()[0]
        print(f"tidy checkpoint (vacuum 100 tasks): {time.monotonic() - tidy_started:.1f} s, "
              f"RSS added up to {max(0, sampler.since_reset - before)} MB, {row_groups} -> {after_groups} row groups")  # fmt: skip
    connection.close()
    folder.cleanup()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
