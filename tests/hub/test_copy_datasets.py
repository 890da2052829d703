"""smoltrace-copy-datasets, as SMOLTRACE has it, against the stand-in Hub: the copies are file-for-file
equal to the sources, load with ``datasets``, and every way it can go wrong is said without a traceback."""

from __future__ import annotations

import io
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.hub.conftest import GOOD, run_cli

pytestmark = pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")

TASKS = [
    {"id": "weather_tokyo", "prompt": "What's the weather in Tokyo?", "difficulty": "easy"},
    {"id": "calc", "prompt": "What is 2 + 3?", "difficulty": "easy"},
]


def parquet(rows: list[dict]) -> bytes:
    buffer = io.BytesIO()
    pq.write_table(pa.Table.from_pylist(rows), buffer)
    return buffer.getvalue()


SOURCES = {
    "kshitijthakkar/smoltrace-tasks": {
        "README.md": b"---\nlicense: apache-2.0\n---\n# smoltrace tasks\n",
        "data/train-00000-of-00001.parquet": parquet(TASKS),
    },
    "kshitijthakkar/smoltrace-benchmark-v1": {
        "README.md": b"# smoltrace benchmark\n",
        "data/train-00000-of-00001.parquet": parquet(TASKS * 3),
        "data/test-00000-of-00001.parquet": parquet(TASKS[:1]),
    },
}


@pytest.fixture
def sources(hub):
    for repo_id, files in SOURCES.items():
        hub.add_repo(repo_id, files=files)
    return hub


def files_of(hub, repo_id):
    return {path: data for path, data in hub.repos[repo_id].files.items() if path != ".gitattributes"}


def test_copies_both_datasets_file_for_file(sources, home):
    done = run_cli("smoltrace-copy-datasets", ["--yes"], sources, home)
    assert done.returncode == 0, done.stdout + done.stderr
    for name in ("smoltrace-tasks", "smoltrace-benchmark-v1"):
        source, copy = f"kshitijthakkar/{name}", f"alice/{name}"
        assert files_of(sources, copy) == SOURCES[source]
        assert not sources.repos[copy].private
        assert sources.repos[copy].head.title == (
            f"Copy of {source} at {sources.repos[source].sha[:12]} (smoltrace-copy-datasets)"
        )
    out = done.stdout
    assert "Source: kshitijthakkar\nDestination: alice\nPrivacy: Public" in out
    assert "  [NEW] alice/smoltrace-benchmark-v1\n  [NEW] alice/smoltrace-tasks" in out
    assert (
        f"[SUCCESS] Copied 2 dataset(s):\n  - alice/smoltrace-benchmark-v1\n    URL: {sources.endpoint}/datasets/"
        "alice/smoltrace-benchmark-v1\n  - alice/smoltrace-tasks" in out
    )
    assert "smoltrace-eval --model openai/gpt-4o-mini --dataset-name alice/smoltrace-tasks" in out
    loaded = sources.run_python(
        "import datasets, json\nds = datasets.load_dataset('alice/smoltrace-tasks', "
        "split='train')\nprint(json.dumps(ds.to_list()))",
        home,
        GOOD,
    )
    assert loaded.returncode == 0, loaded.stderr
    assert json.loads(loaded.stdout.strip().splitlines()[-1]) == TASKS


def test_copy_must_be_confirmed(sources, home):
    cancelled = run_cli("smoltrace-copy-datasets", [], sources, home, input="copy\n")
    assert cancelled.returncode == 1
    assert "You are about to copy 2 dataset(s) to your account." in cancelled.stdout
    assert "Type 'COPY' to confirm (or Ctrl+C to cancel): " in cancelled.stdout
    assert "[CANCELLED] No datasets were copied." in cancelled.stdout
    assert not [name for name in sources.repos if name.startswith("alice/")]
    confirmed = run_cli("smoltrace-copy-datasets", ["--only", "tasks"], sources, home, input="COPY\n")
    assert confirmed.returncode == 0, confirmed.stdout
    assert sorted(name for name in sources.repos if name.startswith("alice/")) == ["alice/smoltrace-tasks"]


def test_an_existing_copy_is_overwritten_and_made_private(sources, home):
    sources.add_repo("alice/smoltrace-tasks", files={"README.md": b"old card", "data/old.parquet": parquet(TASKS[:1])})
    done = run_cli("smoltrace-copy-datasets", ["--only", "tasks", "--private", "-y"], sources, home)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "  [EXISTS] alice/smoltrace-tasks" in done.stdout and "Copying will OVERWRITE these datasets!" in done.stdout
    assert files_of(sources, "alice/smoltrace-tasks") == SOURCES["kshitijthakkar/smoltrace-tasks"]  # old.parquet gone
    assert sources.repos["alice/smoltrace-tasks"].private
    assert "alice/smoltrace-benchmark-v1" not in sources.repos


def test_failures_are_reported_per_dataset(sources, home):
    missing = run_cli("smoltrace-copy-datasets", ["--source-user", "nobody", "--yes"], sources, home)
    assert missing.returncode == 1
    assert (
        "[FAILED] 2 dataset(s) failed:\n  - alice/smoltrace-benchmark-v1: not found while reading "
        "nobody/smoltrace-benchmark-v1 (404 (Repository not found))." in missing.stdout
    )
    sources.fail_next(method="POST", path_prefix="/api/datasets/alice/smoltrace-tasks/commit", status=403)
    partial = run_cli("smoltrace-copy-datasets", ["--yes"], sources, home)
    assert partial.returncode == 1
    assert "[SUCCESS] Copied 1 dataset(s):\n  - alice/smoltrace-benchmark-v1" in partial.stdout
    assert (
        "  - alice/smoltrace-tasks: the token may not do this while uploading to alice/smoltrace-tasks "
        "(403 Forbidden" in partial.stdout
    )
    assert "Traceback" not in missing.stderr + partial.stderr


def test_token_problems(sources, home):
    flag = run_cli("smoltrace-copy-datasets", ["--token", GOOD, "--only", "tasks", "-y"], sources, home, token=None)
    assert flag.returncode == 0, flag.stdout + flag.stderr
    none = run_cli("smoltrace-copy-datasets", ["-y"], sources, home, token=None)
    assert none.returncode == 2
    assert none.stderr == "Error: HuggingFace token required: set HF_TOKEN or pass hf_token (--token).\n"
    bad = run_cli("smoltrace-copy-datasets", ["-y"], sources, home, token="hf_nope")
    assert (
        bad.returncode == 1 and "Error: the Hub refused the token while checking the token (whoami) (401" in bad.stderr
    )
    assert "Traceback" not in bad.stderr and "hf_nope" not in bad.stdout + bad.stderr


def test_python_api(sources):
    from smoltrace import copy_standard_datasets

    lines = []
    result = copy_standard_datasets(
        only="benchmark", confirm=False, hf_token=GOOD, endpoint=sources.endpoint, log=lines.append
    )
    assert result == {"copied": ["alice/smoltrace-benchmark-v1"], "failed": [], "skipped": [], "cancelled": False}
    result = copy_standard_datasets(hf_token=GOOD, endpoint=sources.endpoint, log=lines.append, ask=lambda _: "no")
    assert result == {
        "copied": [],
        "failed": [],
        "cancelled": True,
        "skipped": ["alice/smoltrace-benchmark-v1", "alice/smoltrace-tasks"],
    }
    with pytest.raises(ValueError) as error:
        copy_standard_datasets(only="everything", hf_token=GOOD)
    assert str(error.value) == "only must be one of benchmark, tasks (got 'everything')"
