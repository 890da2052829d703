"""``smoltrace-cleanup``'s engine: find smoltrace's datasets (and/or local runs), plan, confirm, delete.

SMOLTRACE's API and output, with these rules:

- Only names matching ``^{user}/smoltrace-(results|traces|metrics)-\\d{8}_\\d{6}$`` are ever planned or
  deleted (checked again right before each delete); the leaderboard ``{user}/smoltrace-leaderboard``
  only with ``preserve_leaderboard=False``; nothing else (``smoltrace-results-final``, tasks...).
- Dry run by default: the plan is printed and nothing is deleted. A real run asks for ``DELETE``
  typed in full unless ``confirm=False``.
- A run's datasets are grouped by their timestamp. Its age is its oldest dataset's ``created_at`` on
  the Hub (the name's timestamp when the Hub gives none). One filter at a time, as SMOLTRACE's
  mutually exclusive flags: older than N days, beyond the N most recent, incomplete, or
  ``delete_all``; two at once are refused (SMOLTRACE's API silently kept one of them); no filter
  selects nothing.
- A failure on one dataset is recorded in ``failed`` and the others go on.
- ``target``: ``hub`` (default, as in SMOLTRACE: the local store is the record the datasets can be
  published again from, so it is never touched unless asked), ``local`` (runs in the store, same
  filters on the run's start time and status) or ``both`` (each side filtered on its own).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from pathlib import Path

from smoltrace.hub.errors import HubError, explain, http_status

KINDS = ("results", "traces", "metrics")
TARGETS = ("hub", "local", "both")
#: Local runs that --incomplete-only keeps: finished, or still running (their runner's heartbeat is
#: recent; a run whose runner died is 'abandoned', however long it ran).
LIVE_OR_COMPLETE = ("completed", "running")
RULE = "=" * 70


def dataset_patterns(username: str) -> dict[str, re.Pattern]:
    user = re.escape(username)
    patterns = {kind: re.compile(rf"^{user}/smoltrace-{kind}-\d{{8}}_\d{{6}}$") for kind in KINDS}
    patterns["leaderboard"] = re.compile(rf"^{user}/smoltrace-leaderboard$")
    return patterns


#: --older-than units, in days: SMOLTRACE's d, w and m (a month is 30 days), plus h
AGE_UNITS = {"d": 1.0, "w": 7.0, "m": 30.0, "h": 1 / 24}


def parse_age(text: str | float) -> float:
    """``7d``, ``2w``, ``1m`` (30 days), ``12h`` or a bare number of days -> days (float)."""
    if isinstance(text, (int, float)):
        return float(text)
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([dwmh]?)\s*", str(text).lower())
    if not match:
        raise ValueError(f"{text!r} is not an age like 7d, 2w, 1m or 7 (days)")
    return float(match.group(1)) * AGE_UNITS[match.group(2) or "d"]


def check_one_filter(older_than_days=None, keep_recent=None, incomplete_only=False, delete_all=False) -> None:
    """SMOLTRACE's filters are mutually exclusive; refuse two rather than silently drop one."""
    given = [
        name
        for name, value in (
            ("older_than_days", older_than_days is not None),
            ("keep_recent", keep_recent is not None),
            ("incomplete_only", incomplete_only),
            ("delete_all", delete_all),
        )
        if value
    ]
    if len(given) > 1:
        raise ValueError(f"give one filter at a time, not {' and '.join(given)}")


def _api(hf_token: str | None, endpoint: str | None = None):
    from huggingface_hub import HfApi

    return HfApi(endpoint=endpoint, token=hf_token)


def _endpoint(endpoint: str | None) -> str:
    from huggingface_hub import constants

    return endpoint or constants.ENDPOINT


def discover_smoltrace_datasets(username: str, hf_token: str | None, *, endpoint: str | None = None) -> dict:
    """``{"results": [...], "traces": [...], "metrics": [...], "leaderboard": [...]}``, each a list of
    ``{"name", "created_at", "private"}``; only exact smoltrace names."""
    patterns = dataset_patterns(username)
    found = {kind: [] for kind in patterns}
    try:
        listed = list(_api(hf_token, endpoint).list_datasets(author=username, search="smoltrace-"))
    except Exception as exc:
        raise HubError(
            explain(exc, action=f"listing {username}'s datasets", endpoint=_endpoint(endpoint), token=hf_token),
            http_status(exc),
        ) from exc
    for info in listed:
        for kind, pattern in patterns.items():
            if pattern.match(info.id):
                found[kind].append({"name": info.id, "created_at": info.created_at, "private": bool(info.private)})
                break
    return found


def _aware(value):
    if value is None:
        return None
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)


def group_datasets_by_run(datasets: dict) -> list[dict]:
    """Runs (one per timestamp), newest first: ``{"timestamp", "datetime", "results", "traces",
    "metrics", "complete"}``; ``datetime`` is the oldest ``created_at`` of its datasets (UTC)."""
    runs: dict[str, dict] = {}
    for kind in KINDS:
        for entry in datasets.get(kind, []):
            stamp = entry["name"].rsplit("-", 1)[-1]
            run = runs.setdefault(stamp, {"timestamp": stamp, "datetime": None, **{k: None for k in KINDS}})
            run[kind] = entry["name"]
            created = _aware(entry.get("created_at"))
            if created and (run["datetime"] is None or created < run["datetime"]):
                run["datetime"] = created
    for run in runs.values():
        if run["datetime"] is None:
            run["datetime"] = dt.datetime.strptime(run["timestamp"], "%Y%m%d_%H%M%S").replace(tzinfo=dt.timezone.utc)
        run["complete"] = all(run[k] for k in KINDS)
    return sorted(runs.values(), key=lambda r: r["datetime"], reverse=True)


def filter_runs(
    runs: list[dict],
    older_than_days: float | None = None,
    keep_recent: int | None = None,
    incomplete_only: bool = False,
    *,
    now: dt.datetime | None = None,
) -> tuple[list[dict], list[dict]]:
    """(to_delete, to_keep), newest first, by the one filter given; none given -> nothing to delete."""
    check_one_filter(older_than_days, keep_recent, incomplete_only)
    if older_than_days is None and keep_recent is None and not incomplete_only:
        return [], list(runs)
    now = now or dt.datetime.now(dt.timezone.utc)
    newest_first = sorted(runs, key=lambda r: r["datetime"], reverse=True)
    recent = {id(r) for r in newest_first[:keep_recent]} if keep_recent is not None else set()
    to_delete, to_keep = [], []
    for run in newest_first:
        matches = True
        if older_than_days is not None:
            matches &= run["datetime"] < now - dt.timedelta(days=older_than_days)
        if keep_recent is not None:
            matches &= id(run) not in recent
        if incomplete_only:
            matches &= not run["complete"]
        (to_delete if matches else to_keep).append(run)
    return to_delete, to_keep


def _describe_filters(older_than_days, keep_recent, incomplete_only, delete_all, now) -> str:
    if delete_all:
        return "All runs"
    parts = []
    if older_than_days is not None:
        parts.append(
            f"Older than {older_than_days:g} days (before {(now - dt.timedelta(days=older_than_days)):%Y-%m-%d %H:%M} UTC)"
        )
    if keep_recent is not None:
        parts.append(f"Keep {keep_recent} most recent")
    if incomplete_only:
        parts.append("Incomplete runs only")
    return " and ".join(parts) or "None (give --older-than, --keep-recent, --incomplete-only or --all)"


# -- the local store ------------------------------------------------------------------------------


def _local_runs(db_path, collector_token) -> list[dict]:
    from smoltrace.store.reader import open_reader
    from smoltrace.store.run_deletion import LIST_RUNS_SQL

    with open_reader(db_path, collector_token) as reader:
        rows = reader.query(LIST_RUNS_SQL)
    now = dt.datetime.now(dt.timezone.utc)
    runs = []
    for row in rows:
        started = _aware(row["started_at"]) or now
        status = row["status"]
        complete = status in LIVE_OR_COMPLETE
        runs.append(
            {
                "run_id": row["run_id"],
                "model": row["model"],
                "status": status,
                "datetime": started,
                "complete": complete,
            }
        )
    return runs


def _delete_local(db_path, collector_token, run_ids: list[str], parts: tuple[str, ...], log) -> dict:
    """Through the running collector's admin route, else on the file (then compacted)."""
    from smoltrace.collector.discovery import running_collector_for
    from smoltrace.store import run_deletion
    from smoltrace.store.reader import resolve_db_path

    path = resolve_db_path(db_path)
    report = {"deleted": [], "failed": [], "rows": {}, "bytes_before": path.stat().st_size, "bytes_after": None}
    info = running_collector_for(path)
    if info is not None:
        import httpx

        headers = {"authorization": f"Bearer {collector_token}"} if collector_token else {}
        for run_id in run_ids:
            try:
                response = httpx.delete(
                    f"{info['http_endpoint']}/api/runs/{run_id}",
                    params={"parts": ",".join(parts)},
                    headers=headers,
                    timeout=300,
                )
                if response.status_code != 200:
                    raise RuntimeError(f"collector answered {response.status_code}: {response.text[:300]}")
                report["rows"][run_id] = response.json()["deleted"]
                report["deleted"].append(run_id)
                log(f"  Deleting local run {run_id}... ✓ (through the collector)")
            except Exception as exc:  # noqa: BLE001 - a failure is reported and the others go on
                report["failed"].append({"dataset": f"local:{run_id}", "error": str(exc)})
                log(f"  Deleting local run {run_id}... ✗ Error: {exc}")
        report["bytes_after"] = path.stat().st_size
        return report
    from smoltrace.collector.writer import StoreWriter
    from smoltrace.store.database import connect, pending_request_log_bytes

    if pending_request_log_bytes(path):  # a collector crashed: store what it acknowledged before deleting
        recovery = StoreWriter(path)
        recovery.start()
        recovery.stop()
    conn = connect(path)
    try:
        for run_id in run_ids:
            try:
                report["rows"][run_id] = run_deletion.delete_run(conn, run_id, parts)
                report["deleted"].append(run_id)
                log(f"  Deleting local run {run_id}... ✓")
            except Exception as exc:  # noqa: BLE001 - a failure is reported and the others go on
                report["failed"].append({"dataset": f"local:{run_id}", "error": str(exc)})
                log(f"  Deleting local run {run_id}... ✗ Error: {exc}")
    finally:
        conn.close()
    if report["deleted"]:
        report["bytes_before"], report["bytes_after"] = run_deletion.compact(path)
    else:
        report["bytes_after"] = path.stat().st_size
    return report


# -- the whole flow -------------------------------------------------------------------------------


def cleanup_datasets(
    older_than_days: float | None = None,
    keep_recent: int | None = None,
    incomplete_only: bool = False,
    delete_all: bool = False,
    only: str | None = None,
    dry_run: bool = True,
    confirm: bool = True,
    preserve_leaderboard: bool = True,
    hf_token: str | None = None,
    target: str = "hub",
    *,
    db_path: str | Path | None = None,
    collector_token: str | None = None,
    endpoint: str | None = None,
    log: Callable[[str], None] = print,
    ask: Callable[[str], str] = input,
) -> dict:
    """Plan and (unless ``dry_run``) delete; see the module docstring.

    Returns ``{"deleted": [names, and "local:<run_id>"], "failed": [{"dataset", "error"}], "skipped",
    "total_scanned" (runs looked at), "total_deleted", "planned" (what was/would be deleted),
    "dry_run", "cancelled", "local": {...} (rows deleted per run, store bytes before/after)}``.
    Raises ``ValueError`` for bad arguments or a missing token, ``HubError`` when the Hub cannot be read.
    """
    import os

    if target not in TARGETS:
        raise ValueError(f"target must be one of {', '.join(TARGETS)}")
    if only is not None and only not in KINDS:
        raise ValueError(f"only must be one of {', '.join(KINDS)}")
    if older_than_days is not None:
        older_than_days = parse_age(older_than_days)
    if keep_recent is not None and keep_recent < 0:
        raise ValueError("keep_recent must be 0 or more")
    check_one_filter(older_than_days, keep_recent, incomplete_only, delete_all)
    if target in ("local", "both") and only == "results":
        raise ValueError("locally, results are views over the traces: use only='traces' (or no only) for the store")
    now = dt.datetime.now(dt.timezone.utc)
    result = {
        "deleted": [],
        "failed": [],
        "skipped": [],
        "total_scanned": 0,
        "total_deleted": 0,
        "planned": [],
        "dry_run": dry_run,
        "cancelled": False,
        "local": None,
    }
    select = (
        (lambda runs: (list(runs), []))
        if delete_all
        else (lambda runs: filter_runs(runs, older_than_days, keep_recent, incomplete_only, now=now))
    )

    log(f"\n{RULE}\n  SMOLTRACE Dataset Cleanup {'(DRY-RUN)' if dry_run else ''}\n{RULE}\n")
    hub_plan, local_plan, runs_to_keep, runs_to_delete = [], [], 0, 0
    token = None
    if target in ("hub", "both"):
        token = hf_token or os.environ.get("HF_TOKEN")
        if not token:
            raise ValueError("HuggingFace token required: set HF_TOKEN or pass hf_token (--token).")
        try:
            username = _api(token, endpoint).whoami()["name"]
        except Exception as exc:
            raise HubError(
                explain(exc, action="checking the token (whoami)", endpoint=_endpoint(endpoint), token=token),
                http_status(exc),
            ) from exc
        log(f"User: {username}\n\nScanning datasets...")
        found = discover_smoltrace_datasets(username, token, endpoint=endpoint)
        log(
            f"[INFO] Discovered {len(found['results'])} results, {len(found['traces'])} traces, "
            f"{len(found['metrics'])} metrics datasets"
        )
        log("[INFO] Protected datasets (never deleted): smoltrace-benchmark-v1, smoltrace-tasks")
        runs = group_datasets_by_run(found)
        complete = sum(1 for r in runs if r["complete"])
        log(f"[INFO] Grouped into {len(runs)} runs ({complete} complete, {len(runs) - complete} incomplete)")
        doomed, kept = select(runs)
        log(
            f"[INFO] Filter: {_describe_filters(older_than_days, keep_recent, incomplete_only, delete_all, now)} "
            f"→ {len(doomed)} to delete, {len(kept)} to keep"
        )
        patterns = dataset_patterns(username)
        for run in doomed:
            hub_plan += [run[k] for k in KINDS if run[k] and (only is None or only == k)]
        if not preserve_leaderboard:
            hub_plan += [entry["name"] for entry in found["leaderboard"]]
        hub_plan = [name for name in hub_plan if any(p.match(name) for p in patterns.values())]
        result["total_scanned"] += len(runs)
        runs_to_delete += len(doomed)
        runs_to_keep += len(kept)
    if target in ("local", "both"):
        from smoltrace.store.reader import resolve_db_path

        log(f"Scanning the local store {resolve_db_path(db_path)}...")
        local_runs = _local_runs(db_path, collector_token)
        doomed, kept = select(local_runs)
        log(f"[INFO] Found {len(local_runs)} local runs → {len(doomed)} to delete, {len(kept)} to keep")
        local_plan = [run["run_id"] for run in doomed]
        result["total_scanned"] += len(local_runs)
        runs_to_delete += len(doomed)
        runs_to_keep += len(kept)

    result["planned"] = hub_plan + [f"local:{run_id}" for run_id in local_plan]
    log(f"\n{RULE}\n  Deletion Summary\n{RULE}\n")
    log(f"Runs to delete: {runs_to_delete}")
    if target != "local":
        log(f"Datasets to delete: {len(hub_plan)}")
    if target != "hub":
        log(f"Local runs to delete: {len(local_plan)}")
    log(f"Runs to keep: {runs_to_keep}")
    if target != "local":
        log("Leaderboard: Preserved ✓" if preserve_leaderboard else "Leaderboard: WILL BE DELETED")
        if preserve_leaderboard:
            result["skipped"].append("leaderboard")
    if result["planned"]:
        log("\nTo delete:")
        for i, name in enumerate(result["planned"], 1):
            log(f"  {i}. {name}")
    if not result["planned"]:
        log("\n[INFO] Nothing matches the deletion criteria. Nothing to delete.")
        return result
    if dry_run:
        log(f"\n{RULE}\n  This is a DRY-RUN. Nothing will be deleted.\n{RULE}\n")
        log("To actually delete, run with: --no-dry-run (Python: dry_run=False)")
        return result
    if confirm:
        log(f"\nYou are about to PERMANENTLY DELETE {len(result['planned'])} item(s). This cannot be undone!")
        try:
            answer = ask("Type 'DELETE' to confirm (or Ctrl+C to cancel): ")
        except (EOFError, KeyboardInterrupt):
            answer = ""
        if answer.strip() != "DELETE":
            log("\n[CANCELLED] Nothing was deleted.")
            result["cancelled"] = True
            return result

    log(f"\n{RULE}\n  Deleting...\n{RULE}\n")
    if hub_plan:
        api = _api(token, endpoint)
        for name in hub_plan:
            if not any(p.match(name) for p in dataset_patterns(name.split("/")[0]).values()):
                result["failed"].append({"dataset": name, "error": "refused: not a smoltrace dataset name"})
                continue
            try:
                api.delete_repo(name, repo_type="dataset")
                result["deleted"].append(name)
                log(f"  Deleting {name}... ✓")
            except Exception as exc:  # noqa: BLE001 - a failure is reported and the others go on
                error = explain(exc, action=f"deleting {name}", endpoint=_endpoint(endpoint), token=token)
                result["failed"].append({"dataset": name, "error": error})
                log(f"  Deleting {name}... ✗ Error: {error}")
    if local_plan:
        parts = (only,) if only else ("traces", "metrics")
        local = _delete_local(db_path, collector_token, local_plan, parts, log)
        result["local"] = local
        result["deleted"] += [f"local:{run_id}" for run_id in local["deleted"]]
        result["failed"] += local["failed"]
        log(f"Local store: {local['bytes_before']:,} bytes before, {local['bytes_after']:,} bytes after")
    result["total_deleted"] = len(result["deleted"])
    log(f"\n{RULE}\n  Cleanup Complete\n{RULE}\n")
    log(f"Deleted: {len(result['deleted'])}\nFailed: {len(result['failed'])}")
    for failure in result["failed"]:
        log(f"  • {failure['dataset']}: {failure['error']}")
    return result
