"""Publish one stored run to the Hugging Face Hub as SMOLTRACE's four datasets.

``publish_run(reader, run_id, token=...)`` creates (or updates)::

    {user}/smoltrace-results-{timestamp}   one row per task execution (the results view)
    {user}/smoltrace-traces-{timestamp}    one row per task trace, its spans inside
    {user}/smoltrace-metrics-{timestamp}   gpu_metrics rows, or one summary row when there are none
    {user}/smoltrace-leaderboard           one row per run, upserted

Idempotence: publishing the same run again reuses its datasets instead of creating new ones. The
names come, in order of preference, from ``timestamp=`` (explicit), from the leaderboard (its rows
record ``results_dataset`` / ``traces_dataset`` / ``metrics_dataset`` for the run), or from the run's
start time in UTC, so that even a publish whose leaderboard update failed is retried into the same
datasets. If another run already owns datasets with that timestamp (two runs started in the same
second), the next free second is used; a dataset's card names its run, which is how ownership is told.

Privacy: what is uploaded is the run after ``smoltrace.hub.privacy``'s policy (this machine's paths,
user and host names, and secrets rewritten or removed); new datasets are private unless asked
otherwise. ``plan_publish`` shows the same rows without uploading anything.

Order: results, traces and metrics first, the leaderboard last, so the leaderboard never points at
datasets that do not exist. Any failure raises ``PublishError`` whose message says what failed and how
to retry (``smoltrace-publish --run-id <id>``); the run itself is never touched in the store.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import tempfile
from dataclasses import dataclass, field

import pyarrow as pa
from huggingface_hub import HfApi, constants
from huggingface_hub.errors import EntryNotFoundError, RepositoryNotFoundError

from smoltrace.hub import leaderboard as leaderboard_repo
from smoltrace.hub.cards import render_card
from smoltrace.hub.errors import HubError, PublishError, explain, http_status
from smoltrace.hub.privacy import PolicyError, PrivacyPolicy, load_policy
from smoltrace.hub.rows import SPAN_JSON_COLUMNS, RunData, RunNotFound, read_run
from smoltrace.hub.tables import describe_type, rows_to_table
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


def dataset_tables(data: RunData) -> dict[str, tuple[pa.Table, str]]:
    """``{kind: (table, card intro key)}`` for results, traces and metrics: exactly what is uploaded."""
    return {
        "results": (rows_to_table(data.results), "results"),
        "traces": (rows_to_table(data.spans, json_columns=SPAN_JSON_COLUMNS), "traces"),
        "metrics": (
            rows_to_table(data.metrics),
            "metrics" if data.metrics_kind == "gpu_metrics" else "metrics_summary",
        ),
    }


def push_run_datasets(api: HfApi, data: RunData, names: tuple[str, str, str], *, private: bool,
                      step=lambda action: contextlib.nullcontext()) -> dict[str, int]:  # fmt: skip
    """Upload results, traces and metrics (data + card, one commit each); returns row counts.

    ``data`` is uploaded as given: apply the privacy policy first (``PrivacyPolicy.apply_run``).
    ``step(action)`` is a context manager wrapped around each upload (``publish_run`` turns errors
    into PublishError there)."""
    facts = _run_facts(data)
    tables = dataset_tables(data)
    for kind, repo_id in zip(KINDS, names):
        table, intro = tables[kind]
        card = render_card(kind, repo_id, table, facts, intro_key=intro)
        with step(f"uploading {repo_id}"):
            push_table(api, repo_id, table, card, private=private,
                       message=f"smoltrace {kind} for run {data.run_id} ({facts.get('model')})")  # fmt: skip
    return {kind: tables[kind][0].num_rows for kind in KINDS}


#: Leaderboard columns that name things on the Hub (public by nature): never rewritten by the policy.
HUB_COLUMNS = (*leaderboard_repo.DATASET_COLUMNS, "submitted_by")


def leaderboard_rows(data: RunData, names: tuple[str, str, str], username: str) -> list[dict]:
    """``data`` after the policy, plus the Hub names (added after it: an account named like the local
    user must not become ``<user>``)."""
    refs = dict(zip(leaderboard_repo.DATASET_COLUMNS, names))
    published_at = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    return [{**row, **refs, "submitted_by": username, "published_at": published_at} for row in data.leaderboard]


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


def _read_for_publish(reader: StoreReader, run_id: str, policy: PrivacyPolicy) -> RunData:
    """The run as it would be uploaded (after the policy); PublishError when the store cannot give it."""
    try:
        data = read_run(reader, run_id)
    except RunNotFound as exc:
        raise PublishError(str(exc) + ".", run_id) from exc
    except Exception as exc:
        raise PublishError(f"reading run {run_id} from the store failed: {exc}", run_id) from exc
    return policy.apply_run(data)


def _policy_or_default(policy: PrivacyPolicy | None, token: str | None, run_id: str) -> PrivacyPolicy:
    if policy is not None:
        return policy
    try:
        return load_policy(token=token)
    except PolicyError as exc:
        raise PublishError(f"the privacy policy cannot be loaded: {exc}", run_id) from None


def publish_run(reader: StoreReader, run_id: str, *, token: str | None, private: bool = True,
                endpoint: str | None = None, timestamp: str | None = None,
                policy: PrivacyPolicy | None = None) -> PublishResult:  # fmt: skip
    """Publish the stored run ``run_id``; see the module docstring. Raises ``PublishError``.

    ``policy`` defaults to ``load_policy(token=token)``: this machine, the environment's secrets and the
    patterns file. ``private`` applies to datasets this publish creates (existing ones keep theirs)."""
    endpoint = endpoint or constants.ENDPOINT
    steps = _Steps(run_id, endpoint, token)
    if not token:
        raise PublishError("no Hugging Face token: pass --hf-token or set HF_TOKEN (a token with write access).",
                           run_id)  # fmt: skip
    data = _read_for_publish(reader, run_id, _policy_or_default(policy, token, run_id))
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


PLAN_USER = "{user}"
SAMPLE_VALUE_CHARS = 120


@dataclass
class PlannedDataset:
    repo_id: str
    table: pa.Table
    visibility: str  # how the repo would be created
    rows_label: str = "rows"


@dataclass
class PublishPlan:
    """What ``publish_run`` would upload for a run, computed without the Hub (``--dry-run``)."""

    run_id: str
    datasets: list[PlannedDataset]
    policy: PrivacyPolicy

    def lines(self, sample_rows: int = 3) -> list[str]:
        lines = [
            (
                f"Dry run: nothing is uploaded and no token is needed. {PLAN_USER} stands for the Hugging Face account "
                "of the token."
            ),
            f"Run {self.run_id} would be published as:",
        ]
        for planned in self.datasets:
            table = planned.table
            lines += ["", f"{planned.repo_id} ({planned.visibility}, {table.num_rows} {planned.rows_label})"]
            columns = ", ".join(f"{f.name} ({describe_type(f.type)})" for f in table.schema)
            lines.append(f"  columns: {columns}")
            shown = min(sample_rows, table.num_rows)
            if shown:
                lines.append(f"  sample rows (first {shown} of {table.num_rows}, after the privacy policy; "
                             f"values over {SAMPLE_VALUE_CHARS} characters shortened):")  # fmt: skip
                lines += [f"    {_sample(row)}" for row in table.slice(0, shown).to_pylist()]
        lines += [
            "",
            (
                "Datasets that already exist keep their visibility. These are the names a first publish of this run "
                "chooses; a run published before reuses the names its leaderboard rows record."
            ),
            "",
        ]
        return lines + self.policy.describe()


def _sample(row: dict) -> str:
    def short(value):
        text = value if isinstance(value, str) else None
        if text is not None and len(text) > SAMPLE_VALUE_CHARS:
            return f"{text[:SAMPLE_VALUE_CHARS]}... (+{len(text) - SAMPLE_VALUE_CHARS} chars)"
        return value

    return json.dumps({key: short(value) for key, value in row.items()}, ensure_ascii=False, default=str)


def plan_publish(reader: StoreReader, run_id: str, *, private: bool = True, timestamp: str | None = None,
                 policy: PrivacyPolicy | None = None) -> PublishPlan:  # fmt: skip
    """The datasets, rows and columns ``publish_run`` would upload, with no token and no Hub."""
    policy = _policy_or_default(policy, None, run_id)
    data = _read_for_publish(reader, run_id, policy)
    names = dataset_names(PLAN_USER, timestamp or run_timestamp(data.run))
    visibility = "private" if private else "public"
    datasets = [PlannedDataset(repo_id, table, visibility)
                for repo_id, (table, _) in zip(names, dataset_tables(data).values())]  # fmt: skip
    board = rows_to_table(leaderboard_rows(data, names[:3], PLAN_USER))
    datasets.append(PlannedDataset(names[3], board, f"{visibility} if it is created now", "rows to upsert"))
    return PublishPlan(data.run_id, datasets, policy)
