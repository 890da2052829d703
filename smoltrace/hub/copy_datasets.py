"""``smoltrace-copy-datasets``' engine: copy SMOLTRACE's standard task datasets into your account.

``{source_user}/smoltrace-benchmark-v1`` and ``{source_user}/smoltrace-tasks`` become
``{you}/smoltrace-benchmark-v1`` and ``{you}/smoltrace-tasks``, with SMOLTRACE's flow and output:
the plan, which copies already exist (they are overwritten), ``COPY`` typed to confirm unless
``confirm=False``, one dataset's failure recorded and the other still copied.

The copy is of the repository's files at the source's current commit, in one commit (data files of
every split and config, and the dataset card), where SMOLTRACE loaded the ``train`` split and pushed
it again with a card of its own: here nothing but the commit message says it is a copy, and files
the source no longer has are removed from an existing copy. ``smoltrace-cleanup`` never deletes
these names.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable

from smoltrace.hub.errors import HubError, explain, http_status

DEFAULT_SOURCE_USER = "kshitijthakkar"
#: --only value -> (dataset name, what it holds)
STANDARD_DATASETS = {
    "benchmark": ("smoltrace-benchmark-v1", "Comprehensive benchmark dataset (132 test cases)"),
    "tasks": ("smoltrace-tasks", "Default tasks dataset (13 test cases)"),
}
RULE = "=" * 70


def copy_standard_datasets(
    source_user: str = DEFAULT_SOURCE_USER,
    only: str | None = None,
    private: bool = False,
    confirm: bool = True,
    hf_token: str | None = None,
    *,
    endpoint: str | None = None,
    log: Callable[[str], None] = print,
    ask: Callable[[str], str] = input,
) -> dict:
    """Copy the standard datasets; returns ``{"copied": [names], "failed": [{"dataset", "error"}],
    "skipped": [names], "cancelled": bool}``. Raises ``ValueError`` for bad arguments or a missing token,
    ``HubError`` when the token is refused."""
    from huggingface_hub import HfApi, constants

    if only is not None and only not in STANDARD_DATASETS:
        raise ValueError(f"only must be one of {', '.join(STANDARD_DATASETS)} (got {only!r})")
    token = hf_token or os.environ.get("HF_TOKEN")
    if not token:
        raise ValueError("HuggingFace token required: set HF_TOKEN or pass hf_token (--token).")
    endpoint = endpoint or constants.ENDPOINT
    api = HfApi(endpoint=endpoint, token=token)
    try:
        username = api.whoami()["name"]
    except Exception as exc:
        raise HubError(
            explain(exc, action="checking the token (whoami)", endpoint=endpoint, token=token), http_status(exc)
        ) from exc
    plan = [
        (name, what, f"{source_user}/{name}", f"{username}/{name}")
        for key, (name, what) in STANDARD_DATASETS.items()
        if only in (None, key)
    ]

    log(f"\n{RULE}\n  SMOLTRACE Dataset Copy\n{RULE}\n")
    log(f"Source: {source_user}\nDestination: {username}\nPrivacy: {'Private' if private else 'Public'}")
    log(f"\n{RULE}\n  Datasets to Copy\n{RULE}\n")
    for index, (name, what, source, destination) in enumerate(plan, 1):
        log(f"{index}. {name}\n   {what}\n   {source} -> {destination}\n")
    log("Checking for existing datasets...")
    existing = []
    for _, _, _, destination in plan:
        found = api.repo_exists(destination, repo_type="dataset")
        existing += [destination] if found else []
        log(f"  [{'EXISTS' if found else 'NEW'}] {destination}")
    if existing:
        log(f"\n{RULE}\n  WARNING\n{RULE}\n\nThe following datasets already exist in your account:")
        for destination in existing:
            log(f"  - {destination}")
        log("\nCopying will OVERWRITE these datasets!")
    result = {"copied": [], "failed": [], "skipped": [], "cancelled": False}
    if confirm:
        log(f"\n{RULE}\n  Confirmation\n{RULE}\n\nYou are about to copy {len(plan)} dataset(s) to your account.")
        if existing:
            log(f"This will OVERWRITE {len(existing)} existing dataset(s).")
        try:
            answer = ask("\nType 'COPY' to confirm (or Ctrl+C to cancel): ")
        except (EOFError, KeyboardInterrupt):
            answer = ""
        if answer.strip() != "COPY":
            log("\n[CANCELLED] No datasets were copied.")
            result.update(skipped=[destination for *_, destination in plan], cancelled=True)
            return result

    log(f"\n{RULE}\n  Copying Datasets...\n{RULE}\n")
    for name, _, source, destination in plan:
        log(f"Copying {name}...")
        try:
            files, revision = _copy(api, source, destination, private, log)
            log(f"        [OK] {files} file(s) copied from {source}@{revision[:12]}")
            result["copied"].append(destination)
        except _CopyError as exc:
            error = explain(exc.cause, action=exc.action, endpoint=endpoint, token=token)
            log(f"        [ERROR] Failed to copy: {error}")
            result["failed"].append({"dataset": destination, "error": error})

    log(f"\n{RULE}\n  Copy Summary\n{RULE}\n")
    if result["copied"]:
        log(f"[SUCCESS] Copied {len(result['copied'])} dataset(s):")
        for destination in result["copied"]:
            log(f"  - {destination}\n    URL: {endpoint}/datasets/{destination}")
    if result["failed"]:
        log(f"\n[FAILED] {len(result['failed'])} dataset(s) failed:")
        for failure in result["failed"]:
            log(f"  - {failure['dataset']}: {failure['error']}")
    if result["copied"]:
        log(
            f"\n{RULE}\nNext Steps:\n{RULE}\n\n1. Verify datasets in your HuggingFace account\n"
            "2. Run evaluations with your datasets:"
        )
        for destination in result["copied"]:
            log(f"   smoltrace-eval --model openai/gpt-4o-mini --dataset-name {destination}")
    return result


class _CopyError(Exception):
    def __init__(self, action: str, cause: BaseException):
        super().__init__(action)
        self.action, self.cause = action, cause


def _step(action: str, call, *args, **kwargs):
    try:
        return call(*args, **kwargs)
    except Exception as exc:
        raise _CopyError(action, exc) from exc


def _copy(api, source: str, destination: str, private: bool, log) -> tuple[int, str]:
    """Every file of ``source`` at its current commit into ``destination``, in one commit."""
    from huggingface_hub import CommitOperationAdd, CommitOperationDelete

    info = _step(f"reading {source}", api.dataset_info, source)
    files = _step(f"listing {source}", api.list_repo_files, source, repo_type="dataset", revision=info.sha)
    log(f"  [1/3] Downloading {len(files)} file(s) from {source}...")
    with tempfile.TemporaryDirectory(prefix="smoltrace-copy-") as folder:
        local = {
            path: _step(
                f"downloading {source}/{path}",
                api.hf_hub_download,
                source,
                path,
                repo_type="dataset",
                revision=info.sha,
                local_dir=folder,
            )
            for path in files
        }
        log(f"  [2/3] Creating {destination}...")
        _step(
            f"creating {destination}", api.create_repo, destination, repo_type="dataset", private=private, exist_ok=True
        )
        if private and not _step(f"reading {destination}", api.dataset_info, destination).private:
            _step(
                f"making {destination} private",
                api.update_repo_settings,
                destination,
                private=True,
                repo_type="dataset",
            )
        stale = set(_step(f"listing {destination}", api.list_repo_files, destination, repo_type="dataset")) - set(files)
        operations = [CommitOperationAdd(path_in_repo=path, path_or_fileobj=local[path]) for path in files]
        operations += [CommitOperationDelete(path_in_repo=path) for path in sorted(stale) if path != ".gitattributes"]
        log(f"  [3/3] Uploading to {destination}...")
        _step(
            f"uploading to {destination}",
            api.create_commit,
            destination,
            operations,
            repo_type="dataset",
            commit_message=f"Copy of {source} at {info.sha[:12]} (smoltrace-copy-datasets)",
        )
    return len(files), info.sha
