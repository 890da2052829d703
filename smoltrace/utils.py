"""SMOLTRACE's public helpers, same names and return shapes (see its README's "Advanced: Manual dataset
management"). They accept what ``smoltrace.core.run_evaluation`` returns and delegate to
``smoltrace.hub``; the numbers come from the store's views (or, without a store, the same views run
over the given rows in an in-memory database, ``smoltrace.store.memory``).
"""

from __future__ import annotations

import os

from smoltrace.hub.cleanup import cleanup_datasets, discover_smoltrace_datasets, filter_runs, group_datasets_by_run
from smoltrace.hub.copy_datasets import copy_standard_datasets
from smoltrace.hub.publish import dataset_names, now_timestamp

__all__ = [
    "cleanup_datasets",
    "compute_leaderboard_row",
    "copy_standard_datasets",
    "discover_smoltrace_datasets",
    "filter_runs",
    "generate_dataset_names",
    "get_hf_user_info",
    "group_datasets_by_run",
    "push_results_to_hf",
    "update_leaderboard",
]


def _token(hf_token: str | None) -> str | None:
    return hf_token or os.environ.get("HF_TOKEN")


def get_hf_user_info(token: str | None) -> dict | None:
    """``{"username", "type", "fullname", "email", "avatar_url", "isPro", "canPay"}``, or None when the
    token is missing or refused (as in SMOLTRACE)."""
    from huggingface_hub import HfApi

    if not _token(token):
        return None
    try:
        info = HfApi(token=_token(token)).whoami()
    except Exception:  # noqa: BLE001 - SMOLTRACE's contract: None when the token cannot be used
        return None
    return {
        "username": info["name"],
        "type": info.get("type"),
        "fullname": info.get("fullname"),
        "email": info.get("email"),
        "avatar_url": info.get("avatarUrl"),
        "isPro": info.get("isPro", False),
        "canPay": info.get("canPay", False),
    }


def generate_dataset_names(username: str) -> tuple[str, str, str, str]:
    """``(results_repo, traces_repo, metrics_repo, leaderboard_repo)`` with the current time as timestamp."""
    return dataset_names(username, now_timestamp())


def push_results_to_hf(
    all_results,
    trace_data,
    metric_data,
    results_repo,
    traces_repo,
    metrics_repo,
    model_name,
    hf_token,
    private=False,
    run_id=None,
) -> dict[str, int]:
    """Upload results, traces and metrics (data + card, one commit each) to the three repos given.

    Returns the row count per dataset. Raises ``smoltrace.hub.errors.PublishError`` on Hub failures.
    """
    from huggingface_hub import HfApi, constants

    from smoltrace.hub.privacy import load_policy
    from smoltrace.hub.publish import _Steps, push_run_datasets
    from smoltrace.hub.rows import from_memory

    run_id = run_id or metric_data.get("run_id") or next((r["run_id"] for rs in all_results.values() for r in rs), None)
    token = _token(hf_token)
    data = from_memory(all_results, trace_data, metric_data, run_id, {"run_id": run_id, "model": model_name})
    data = load_policy(token=token).apply_run(data)  # what leaves the machine: see smoltrace.hub.privacy
    steps = _Steps(run_id, constants.ENDPOINT, token)
    return push_run_datasets(
        HfApi(token=token), data, (results_repo, traces_repo, metrics_repo), private=private, step=steps.step
    )


def _view_row(run_id: str) -> dict | None:
    """The run's leaderboard view row from the default store (collector or file); None when unavailable."""
    from smoltrace.runner.outputs import fetch_leaderboard_row
    from smoltrace.store.reader import open_reader

    try:
        with open_reader(None, os.environ.get("SMOLTRACE_TOKEN")) as reader:
            return fetch_leaderboard_row(reader, run_id)
    except Exception:  # noqa: BLE001 - no store: compute from the results
        return None


def compute_leaderboard_row(
    model_name,
    all_results,
    trace_data,
    metric_data,
    dataset_used,
    results_dataset,
    traces_dataset,
    metrics_dataset,
    agent_type="both",
    run_id=None,
    provider="litellm",
    *,
    use_case: str | None = None,
    team: str | None = None,
    purpose: str | None = None,
    suite_version: str | None = None,
    view_rows: list[dict] | None = None,
) -> dict:
    """SMOLTRACE's leaderboard row for ``agent_type`` (``tool``, ``code`` or ``both``) plus dataset references.

    When the store holds the run and its ``leaderboard`` row is for the same agent type (``both`` for a
    run of both), that row is returned (``view_rows`` may be passed to skip the lookup). Otherwise the
    row is computed from ``all_results`` (only ``agent_type``'s rows, unless ``both``) by the same view,
    run over those rows in an in-memory database (``smoltrace.store.memory``). ``use_case``, ``team``,
    ``purpose`` and ``suite_version`` (SMOLTRACE 0.1's grouping fields) are set when given, normalised as
    ``smoltrace-eval --use-case`` normalises them; otherwise the row keeps the run's own (or None).
    ``submitted_by`` is filled in when the row is published (the token's Hub account).
    """
    from smoltrace.runner.config import PURPOSES, normalize_label
    from smoltrace.store.memory import leaderboard_rows

    if purpose is not None and purpose not in PURPOSES:
        raise ValueError(f"purpose must be one of {', '.join(PURPOSES)} (got {purpose!r})")
    labels = {
        "use_case": normalize_label(use_case),
        "team": normalize_label(team),
        "purpose": purpose,
        "suite_version": normalize_label(suite_version),
    }
    every_row = [row for rows in all_results.values() for row in rows]
    results = every_row if agent_type == "both" else list(all_results.get(agent_type, []))
    run_id = run_id or next((row.get("run_id") for row in every_row), None)
    candidates = view_rows if view_rows is not None else [r for r in [_view_row(run_id)] if r]
    row = next((dict(r) for r in candidates if r.get("agent_type") == agent_type), None)
    if row is None:
        if not results:
            raise ValueError(f"no {agent_type} results to compute a leaderboard row from")
        agent_types = "tool,code" if agent_type == "both" else agent_type
        run = {"run_id": run_id, "dataset": dataset_used, "agent_types": agent_types}
        gpu_summary = (metric_data or {}).get("gpu_summary") or None
        (row,) = leaderboard_rows([{**r, "run_id": run_id} for r in results], run, gpu_summary)
    row.update(
        {
            "run_id": run_id,
            "model": row.get("model") or model_name,
            "provider": row.get("provider") or provider,
            "results_dataset": results_dataset,
            "traces_dataset": traces_dataset,
            "metrics_dataset": metrics_dataset,
            "dataset_used": dataset_used,
        }
    )
    for key, value in labels.items():
        row[key] = value if value is not None else row.get(key)
    return row


def update_leaderboard(leaderboard_repo: str, leaderboard_row: dict, hf_token: str | None, private: bool = False):
    """Upsert ``leaderboard_row`` (by run_id and agent_type) into ``leaderboard_repo``; returns the row count."""
    from huggingface_hub import HfApi, constants

    from smoltrace.hub import leaderboard
    from smoltrace.hub.privacy import load_policy
    from smoltrace.hub.publish import HUB_COLUMNS, _Steps

    token = _token(hf_token)
    row = load_policy(token=token).row(leaderboard_row, keep=HUB_COLUMNS)  # the Hub's own names stay as given
    steps = _Steps(leaderboard_row.get("run_id"), constants.ENDPOINT, token)
    with steps.step(f"updating {leaderboard_repo}"):
        table = leaderboard.update(HfApi(token=token), leaderboard_repo, [row], private=private)
    return table.num_rows
