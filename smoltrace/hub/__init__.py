"""Publishing runs to the Hugging Face Hub, and cleaning up (Hub datasets and the local store).

- ``publish``: ``publish_run(reader, run_id, token=...)`` turns one stored run into SMOLTRACE's four
  datasets (results, traces, metrics, and the shared leaderboard, upserted).
- ``privacy``: the policy every published row goes through (this machine's paths, user and host
  names, secrets and the user's own patterns rewritten or removed); the local store keeps the raw rows.
- ``rows``: the rows each dataset holds, read from the store's views (or from SMOLTRACE's in-memory
  structures, for ``smoltrace.utils``).
- ``tables`` / ``cards`` / ``upload`` / ``leaderboard``: Parquet with a stable schema, dataset cards
  generated from the data, one commit per dataset, the leaderboard merge.
- ``cleanup``: ``smoltrace-cleanup``'s planning and deleting, on the Hub and in the store (the store's side: ``smoltrace.store.run_deletion``).
- ``errors``: every Hub failure turned into one message that says what happened and what to do.

Nothing here imports ``datasets`` (slow to import): Parquet is written with pyarrow and uploaded
with ``huggingface_hub.HfApi``.
"""
