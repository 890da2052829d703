"""The publishing privacy policy on its own: exact rewrites of strings and rows, for a machine whose
paths, user and host names are given (``MachineFacts``), and how it is configured (``--redact``, the
patterns file). Publishing whole runs through it is in test_privacy_publish.py."""

import json

import pytest

from smoltrace.hub.privacy import (
    DROPPED_KEYS,
    MachineFacts,
    PolicyError,
    PrivacyPolicy,
    default_redact_file,
    load_policy,
)

HOME = "/home/quinn"
MACHINE = MachineFacts(
    paths=(
        (f"{HOME}/.cache/smoltrace/models/SmolLM2-135M-Instruct", "HuggingFaceTB/SmolLM2-135M-Instruct"),
        (f"{HOME}/.cache/smoltrace", "<smoltrace-cache>"),
        ("/data/hf", "<hf-cache>"),
        (f"{HOME}/proj/.venv/lib/python3.11/site-packages", "<site-packages>"),
        (f"{HOME}/proj/.venv", "<venv>"),
        (f"{HOME}/proj", "."),
        (HOME, "~"),
    ),
    user_names=("quinn", "Quinn Whitlock", "root"),
    host_names=("quinn-laptop.corp.example", "quinn-laptop", "localhost"),
)
SECRET = "s3cr3t-value-from-env"


@pytest.fixture
def policy():
    return PrivacyPolicy(MACHINE, secrets=[SECRET], patterns=[(r"acme-build-\d+", "--redact")])


@pytest.mark.parametrize(
    ("raw", "published"),
    [
        # this machine's paths: the longest prefix wins
        (f"{HOME}/.cache/smoltrace/models/SmolLM2-135M-Instruct", "HuggingFaceTB/SmolLM2-135M-Instruct"),
        (f"{HOME}/.cache/smoltrace/models/other", "<smoltrace-cache>/models/other"),
        (
            f'File "{HOME}/proj/.venv/lib/python3.11/site-packages/smolagents/agents.py", line 3',
            'File "<site-packages>/smolagents/agents.py", line 3',
        ),
        (f"{HOME}/proj/.venv/bin/python", "<venv>/bin/python"),
        (f"{HOME}/proj/tasks.json", "./tasks.json"),
        (f"{HOME}/notes.txt and {HOME}", "~/notes.txt and ~"),
        (f"saved in {HOME}.", "saved in ~."),
        ("/data/hf/hub/models--x", "<hf-cache>/hub/models--x"),
        (f"file://{HOME}/a", "file://~/a"),
        # not this machine's paths: the task author's text, kept as written
        ("/home/shared/data.csv", "/home/shared/data.csv"),
        ("/etc/hosts and /tmp/out.txt", "/etc/hosts and /tmp/out.txt"),
        ("C:\\Users\\Public\\report.txt", "C:\\Users\\Public\\report.txt"),
        (f"/mnt{HOME}/x", "/mnt/home/<user>/x"),  # not a prefix here, but the user name goes
        (f"{HOME}x/a", f"{HOME}x/a"),
        (f"{HOME}/proj2/a", "~/proj2/a"),
        # names: whole words, any case; generic names (root, localhost) are ordinary words
        ("ran on quinn-laptop.corp.example by Quinn Whitlock", "ran on <host> by <user>"),
        ("QUINN-LAPTOP, quinn, Quinn", "<host>, <user>, <user>"),
        ("quinnx and xquinn", "quinnx and xquinn"),
        ("the square root of 2 on localhost", "the square root of 2 on localhost"),
        # secrets (the runner's Redactor) and the user's own patterns
        (f"token {SECRET} and sk-abcdefghijklmnopqrstu", "token [REDACTED] and [REDACTED]"),
        ("built on acme-build-17 today", "built on [REDACTED] today"),
        # inside JSON text
        (json.dumps({"path": f"{HOME}/proj/a.py", "who": "quinn"}), json.dumps({"path": "./a.py", "who": "<user>"})),
    ],
)
def test_text_rewrites_exactly_this_machines_strings(policy, raw, published):
    assert policy.text(raw) == published


def test_a_name_is_also_found_escaped_inside_json_text():
    policy = PrivacyPolicy(MachineFacts((), ("Zoë",), ()))
    assert policy.text(json.dumps({"u": "Zoë smith"})) == '{"u": "<user> smith"}'
    assert policy.text("Zoë") == "<user>"


def test_rows_drop_machine_keys_redact_credential_keys_and_walk_nested_values(policy):
    row = {
        "run_id": "r1",
        "steps": 3,
        "success": True,
        "cost": 0.5,
        "attributes": {
            "host.name": "quinn-laptop",
            "process.command_args": ["python", f"{HOME}/proj/run.py"],
            "smoltrace.run.resume": json.dumps({"dataset_name": f"{HOME}/proj/tasks.jsonl"}),
            "api_key": "whatever",
            "llm.token_count.prompt": 12,
            "llm.model_name": f"{HOME}/.cache/smoltrace/models/SmolLM2-135M-Instruct",
            "smoltrace.task.expected_keywords": ["/etc/hosts", f"{HOME}/a"],
        },
        "events": [{"Name": "exception", "Attributes": {"exception.stacktrace": f"{HOME}/proj/.venv/x.py"}}],
        "status_message": None,
    }
    assert policy.row(row) == {
        "run_id": "r1",
        "steps": 3,
        "success": True,
        "cost": 0.5,
        "attributes": {
            "api_key": "[REDACTED]",
            "llm.token_count.prompt": 12,
            "llm.model_name": "HuggingFaceTB/SmolLM2-135M-Instruct",
            "smoltrace.task.expected_keywords": ["/etc/hosts", "~/a"],
        },
        "events": [{"Name": "exception", "Attributes": {"exception.stacktrace": "<venv>/x.py"}}],
        "status_message": None,
    }
    assert policy.row({"submitted_by": "quinn", "note": "quinn"}, keep=["submitted_by"]) == {
        "submitted_by": "quinn", "note": "<user>"}  # fmt: skip
    assert {"host.name", "process.owner", "process.executable.path", "process.command_args",
            "smoltrace.run.resume"} <= DROPPED_KEYS  # fmt: skip


def test_describe_says_what_the_policy_does_on_this_machine(policy):
    lines = policy.describe()
    assert lines[:3] == [
        "Privacy policy (applied to every published row and card; the local store is unchanged):",
        f"  path {HOME}/.cache/smoltrace/models/SmolLM2-135M-Instruct -> HuggingFaceTB/SmolLM2-135M-Instruct",
        f"  path {HOME}/proj/.venv/lib/python3.11/site-packages -> <site-packages>",
    ]
    assert f"  path {HOME} -> ~" in lines
    assert "  host names -> <host>: quinn-laptop.corp.example, quinn-laptop" in lines
    assert "  user names -> <user>: Quinn Whitlock, quinn" in lines
    assert lines[-2] == ("  secrets -> [REDACTED]: 1 value(s) from the environment and the token, hf_/sk- shaped "
                         "strings, credential-named keys")  # fmt: skip
    assert lines[-1] == "  your pattern 'acme-build-\\\\d+' (--redact) -> [REDACTED]"


def test_patterns_come_from_the_flag_and_the_patterns_file(tmp_path, monkeypatch):
    config = tmp_path / "config"
    (config / "smoltrace").mkdir(parents=True)
    (config / "smoltrace" / "redact.txt").write_text("# company names\n\nacme\\.internal\n  build-\\d+  \n")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(config))
    monkeypatch.delenv("SMOLTRACE_REDACT_FILE", raising=False)
    assert default_redact_file() == config / "smoltrace" / "redact.txt"
    policy = load_policy(patterns=["secret-project"], machine=MachineFacts((), (), ()))
    assert policy.patterns == [("acme\\.internal", f"{config}/smoltrace/redact.txt, line 3"),
                               ("build-\\d+", f"{config}/smoltrace/redact.txt, line 4"),
                               ("secret-project", "--redact")]  # fmt: skip
    assert policy.text("host.acme.internal built build-9 for secret-project") == (
        "host.[REDACTED] built [REDACTED] for [REDACTED]"
    )

    other = tmp_path / "mine.txt"
    other.write_text("only-this\n")
    monkeypatch.setenv("SMOLTRACE_REDACT_FILE", str(other))
    assert load_policy(machine=MachineFacts((), (), ())).patterns == [("only-this", f"{other}, line 1")]


def test_no_patterns_file_is_fine_unless_one_was_named(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    monkeypatch.delenv("SMOLTRACE_REDACT_FILE", raising=False)
    assert load_policy(machine=MachineFacts((), (), ())).patterns == []
    missing = tmp_path / "nope.txt"
    with pytest.raises(PolicyError) as named:
        load_policy(redact_file=missing, machine=MachineFacts((), (), ()))
    assert str(named.value) == f"patterns file {missing} does not exist"
    monkeypatch.setenv("SMOLTRACE_REDACT_FILE", str(missing))
    with pytest.raises(PolicyError) as from_env:
        load_policy(machine=MachineFacts((), (), ()))
    assert str(from_env.value) == f"patterns file {missing} does not exist"


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        (
            "acme(",
            "--redact: 'acme(' is not a valid regular expression: missing ), unterminated subpattern at position 4",
        ),
        ("x*", "--redact: 'x*' matches the empty string, so it would redact everywhere"),
    ],
)
def test_a_bad_pattern_is_named(tmp_path, monkeypatch, pattern, message):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    monkeypatch.delenv("SMOLTRACE_REDACT_FILE", raising=False)
    with pytest.raises(PolicyError) as error:
        load_policy(patterns=[pattern], machine=MachineFacts((), (), ()))
    assert str(error.value) == message


def test_machine_facts_are_read_from_this_process(tmp_path, monkeypatch):
    home = tmp_path / "home" / "quinn"
    work = home / "work"
    work.mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("LOGNAME", "quinn")
    monkeypatch.delenv("SMOLTRACE_CACHE", raising=False)
    monkeypatch.chdir(work)
    facts = MachineFacts.current()
    assert (str(home), "~") in facts.paths and (str(work), ".") in facts.paths
    assert (str(home / ".cache" / "smoltrace"), "<smoltrace-cache>") in facts.paths
    assert facts.user_names[0] == "quinn"
    policy = PrivacyPolicy(facts)
    assert policy.text(f"{work}/tasks.json {home}/x {home}/.cache/smoltrace/models/SmolLM2-135M-Instruct") == (
        "./tasks.json ~/x HuggingFaceTB/SmolLM2-135M-Instruct"
    )
    monkeypatch.chdir("/")
    assert all(replacement != "." for _, replacement in MachineFacts.current().paths)
