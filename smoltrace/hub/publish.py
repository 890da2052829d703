"""Publish one stored run to the Hugging Face Hub as SMOLTRACE's four datasets.

``publish_run(reader, run_id, token=...)`` creates (or updates)::

    {user}/smoltrace-results-{timestamp}   one row per task execution (the results view)
    {user}/smoltrace-traces-{timestamp}    one row per span of the run's task traces
    {user}/smoltrace-metrics-{timestamp}   gpu_metrics rows, or one summary row when there are none
    {user}/smoltrace-leaderboard           one row per run × agent type, upserted

Idempotence: publishing the same run again reuses its datasets instead of creating new ones. The
names come, in order of preference, from ``timestamp=`` (explicit), from the leaderboard (its rows
record ``results_dataset`` / ``traces_dataset`` / ``metrics_dataset`` for the run), or from the run's
start time in UTC, so that even a publish whose leaderboard update failed is retried into the same
datasets. If another run already owns datasets with that timestamp (two runs started in the same
second), the next free second is used; a dataset's card names its run, which is how ownership is told.

Order: results, traces and metrics first, the leaderboard last, so the leaderboard never points at
datasets that do not exist. Any failure raises ``PublishError`` whose message says what failed and how
to retry (``smoltrace-publish --run-id <id>``); the run itself is never touched in the store.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import tempfile
from dataclasses import dataclass, field

from huggingface_hub import HfApi, constants
from huggingface_hub.errors import EntryNotFoundError, RepositoryNotFoundError

from smoltrace.hub import leaderboard as leaderboard_repo
from smoltrace.hub.cards import render_card
from smoltrace.hub.errors import HubError, PublishError, explain, http_status
from smoltrace.hub.rows import SPAN_JSON_COLUMNS, RunData, RunNotFound, read_run
from smoltrace.hub.tables import rows_to_table
from smoltrace.hub.upload import push_table
from smoltrace.store.reader import StoreReader

TIMESTAMP_FORMAT = "%Y%m%d_%H%M%S"
KINDS = ("results", "traces", "metrics")


def dataset_names(username: str, timestamp: str) -> tuple[str, str, str, str]:
    """(results, traces, metrics, leaderboard) repo ids, SMOLTRACE's naming."""
    return (f"{username}/smoltrace-results-{timestamp}", f"{username}/smoltrace-traces-{timestamp}",
            f"{username}/smoltrace-metrics-{timestamp}", f"{username}/smoltrace-leaderboard")  # fmt: skip


def now_timestamp() -> str:
    return dt.datetime.now().strftime(TIMESTAMP_FORMAT)


def run_timestamp(run: dict) -> str:
    """The run's start time (UTC, as stored) as ``%Y%m%d_%H%M%S``; now when the store has none."""
    started = run.get("started_at")
    if isinstance(started, str):
        started = dt.datetime.fromisoformat(started)
    return started.strftime(TIMESTAMP_FORMAT) if started else now_timestamp()


@dataclass
class PublishResult:
    run_id: str
    username: str
    results_repo: str
    traces_repo: str
    metrics_repo: str
    leaderboard_repo: str
    endpoint: str
    reused: bool = False
    rows: dict = field(default_factory=dict)

    def url(self, repo_id: str) -> str:
        return f"{self.endpoint.rstrip('/')}/datasets/{repo_id}"

    @property
    def urls(self) -> dict[str, str]:
        return {"results": self.url(self.results_repo), "traces": self.url(self.traces_repo),
                "metrics": self.url(self.metrics_repo), "leaderboard": self.url(self.leaderboard_repo)}  # fmt: skip

    def console_lines(self) -> list[str]:
        """SMOLTRACE's closing lines."""
        urls = self.urls
        return ["[SUCCESS] Evaluation complete! Results pushed to HuggingFace Hub.",
                f"  Results: {urls['results']}", f"  Traces: {urls['traces']}",
                f"  Metrics: {urls['metrics']}", f"  Leaderboard: {urls['leaderboard']}"]  # fmt: skip


class _Steps:
    """Turns any exception inside ``step(action)`` into a PublishError naming the action."""

    def __init__(self, run_id: str, endpoint: str, token: str | None):
        self.run_id, self.endpoint, self.token = run_id, endpoint, token

    @contextlib.contextmanager
    def step(self, action: str):
        try:
            yield
        except HubError:
            raise
        except Exception as exc:
            message = explain(exc, action=action, endpoint=self.endpoint, token=self.token)
            raise PublishError(message, self.run_id, http_status(exc)) from exc


def _run_facts(data: RunData) -> dict:
    first = data.results[0] if data.results else {}
    facts = {"run_id": data.run_id, "model": first.get("model"), "provider": first.get("provider")}
    facts.update({k: v for k, v in data.run.items() if v is not None})
    return facts


def push_run_datasets(api: HfApi, data: RunData, names: tuple[str, str, str], *, private: bool,
                      step=lambda action: contextlib.nullcontext()) -> dict[str, int]:  # fmt: skip
    """Upload results, traces and metrics (data + card, one commit each); returns row counts.

    ``step(action)`` is a context manager wrapped around each upload (``publish_run`` turns errors
    into PublishError there)."""
    facts = _run_facts(data)
    tables = {
        "results": (rows_to_table(data.results), "results"),
        "traces": (rows_to_table(data.spans, json_columns=SPAN_JSON_COLUMNS), "traces"),
        "metrics": (rows_to_table(data.metrics), "metrics" if data.metrics_kind == "gpu_metrics" else "metrics_summary"),
    }
    for kind, repo_id in zip(KINDS, names):
        table, intro = tables[kind]
        card = render_card(kind, repo_id, table, facts, intro_key=intro)
        with step(f"uploading {repo_id}"):
            push_table(api, repo_id, table, card, private=private,
                       message=f"smoltrace {kind} for run {data.run_id} ({facts.get('model')})")  # fmt: skip
    return {kind: tables[kind][0].num_rows for kind in KINDS}


def leaderboard_rows(data: RunData, names: tuple[str, str, str], username: str) -> list[dict]:
    refs = dict(zip(leaderboard_repo.DATASET_COLUMNS, names))
    published_at = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    return [{**row, **refs, "dataset_used": row.get("dataset"), "submitted_by": username, "published_at": published_at}
            for row in data.leaderboard]  # fmt: skip


def _owner_of(api: HfApi, repo_id: str, run_id: str) -> str:
    """``free`` (no such repo), ``ours`` (its card names run_id, or it has no card yet) or ``other``."""
    with tempfile.TemporaryDirectory(prefix="smoltrace-card-") as cache:
        try:
            path = api.hf_hub_download(repo_id, "README.md", repo_type="dataset", cache_dir=cache)
        except RepositoryNotFoundError:
            return "free"
        except EntryNotFoundError:
            return "ours"
        with open(path, encoding="utf-8") as handle:
            return "ours" if f"`{run_id}`" in handle.read() else "other"


def _choose_names(api: HfApi, username: str, data: RunData, timestamp: str | None,
                  existing_leaderboard) -> tuple[tuple[str, str, str], bool]:  # fmt: skip
    if timestamp:
        return dataset_names(username, timestamp)[:3], False
    recorded = leaderboard_repo.dataset_names_for_run(existing_leaderboard, data.run_id)
    if recorded:
        return recorded, True
    stamp = dt.datetime.strptime(run_timestamp(data.run), TIMESTAMP_FORMAT)
    for _ in range(120):
        names = dataset_names(username, stamp.strftime(TIMESTAMP_FORMAT))[:3]
        owner = _owner_of(api, names[0], data.run_id)
        if owner != "other":
            return names, owner == "ours"
        stamp += dt.timedelta(seconds=1)
    raise HubError(f"no free dataset name near {run_timestamp(data.run)} for run {data.run_id}")


def publish_run(reader: StoreReader, run_id: str, *, token: str | None, private: bool = False,
                endpoint: str | None = None, timestamp: str | None = None) -> PublishResult:  # fmt: skip
    """Publish the stored run ``run_id``; see the module docstring. Raises ``PublishError``."""
    endpoint = endpoint or constants.ENDPOINT
    steps = _Steps(run_id, endpoint, token)
    if not token:
        raise PublishError("no Hugging Face token: pass --hf-token or set HF_TOKEN (a token with write access).",
                           run_id)  # fmt: skip
    try:
        data = read_run(reader, run_id)
    except RunNotFound as exc:
        raise PublishError(str(exc) + ".", run_id) from exc
    except Exception as exc:
        raise PublishError(f"reading run {run_id} from the store failed: {exc}", run_id) from exc
    api = HfApi(endpoint=endpoint, token=token)
    with steps.step("checking the token (whoami)"):
        username = api.whoami()["name"]
    leaderboard_id = dataset_names(username, "x")[3]
    with steps.step(f"reading {leaderboard_id}"):
        existing, _, _ = leaderboard_repo.read_leaderboard(api, leaderboard_id)
    with steps.step("choosing the dataset names"):
        names, reused = _choose_names(api, username, data, timestamp, existing)
    rows = push_run_datasets(api, data, names, private=private, step=steps.step)
    with steps.step(f"updating {leaderboard_id}"):
        leaderboard_repo.update(api, leaderboard_id, leaderboard_rows(data, names, username), private=private)
    rows["leaderboard"] = len(data.leaderboard)
    return PublishResult(run_id, username, *names, leaderboard_id, endpoint, reused, rows)
