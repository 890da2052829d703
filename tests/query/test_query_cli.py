"""The installed ``smoltrace-query`` command, run as a subprocess: on a store file no collector holds
(read-only open) and on a store a running collector holds (the file is locked, so only the query API
can answer)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import seeded
from .seeding import TOKEN

QUERY = shutil.which("smoltrace-query", path=str(Path(sys.executable).parent)) or shutil.which("smoltrace-query")
TASKS_SQL = "SELECT task_id, run_id, duration_ms, status = 'Unset' AS unset FROM test_task_spans ORDER BY task_id"
TASKS_CSV = "task_id,run_id,duration_ms,unset\nt1,run-a,30,true\nt2,run-a,50,true\nt3,run-b,20,true\n"
TASKS_JSON = [
    {"task_id": "t1", "run_id": "run-a", "duration_ms": 30, "unset": True},
    {"task_id": "t2", "run_id": "run-a", "duration_ms": 50, "unset": True},
    {"task_id": "t3", "run_id": "run-b", "duration_ms": 20, "unset": True},
]
TASKS_TABLE = """\
┏━━━━━━━━━┳━━━━━━━━┳━━━━━━━━━━━━━┳━━━━━━━┓
┃ task_id ┃ run_id ┃ duration_ms ┃ unset ┃
┡━━━━━━━━━╇━━━━━━━━╇━━━━━━━━━━━━━╇━━━━━━━┩
│ t1      │ run-a  │ 30          │ true  │
│ t2      │ run-a  │ 50          │ true  │
│ t3      │ run-b  │ 20          │ true  │
└─────────┴────────┴─────────────┴───────┘
"""

pytestmark = pytest.mark.skipif(QUERY is None, reason="smoltrace-query is not installed (pip install -e .)")


def run(*args: str) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items() if key not in ("SMOLTRACE_TOKEN", "SMOLTRACE_DB")}
    env.update(COLUMNS="120", NO_COLOR="1", TERM="dumb")
    return subprocess.run([QUERY, *args], capture_output=True, text=True, env=env, timeout=60)


@pytest.fixture(scope="module")
def stopped_store(tmp_path_factory) -> Path:
    """A seeded store file that no collector holds any more."""
    path = tmp_path_factory.mktemp("stopped") / "s.duckdb"
    with seeded(path):
        pass
    assert not Path(str(path) + ".collector.json").exists()
    return path


@pytest.fixture(scope="module")
def running_store(tmp_path_factory):
    """A seeded store held by a collector running in this (the test) process."""
    path = tmp_path_factory.mktemp("running") / "s.duckdb"
    with seeded(path) as collector:
        # The collector holds DuckDB's lock on the file, so a read-only open from another process fails:
        # whatever the command answers on this store came through the query API it finds here.
        info = json.loads(Path(str(path) + ".collector.json").read_text())
        assert info["http_endpoint"] == collector.http_endpoint
        yield path, collector


@pytest.fixture(scope="module")
def token_store(tmp_path_factory):
    path = tmp_path_factory.mktemp("token") / "t.duckdb"
    with seeded(path, token=TOKEN):
        yield path


@pytest.fixture(params=["file", "collector"])
def store(request) -> Path:
    """Each test below runs once on the file opened read-only and once through a running collector."""
    if request.param == "file":
        return request.getfixturevalue("stopped_store")
    return request.getfixturevalue("running_store")[0]


def test_table_output(store):
    result = run(TASKS_SQL, "--db", str(store))
    assert result.returncode == 0, result.stderr
    assert result.stdout == TASKS_TABLE
    assert result.stderr == ""


def test_csv_output(store):
    result = run(TASKS_SQL, "--db", str(store), "--format", "csv")
    assert result.returncode == 0, result.stderr
    assert result.stdout == TASKS_CSV


def test_json_output_and_parameters(store, request):
    if request.node.callspec.params["store"] == "file":  # positional on one path, named on the other
        where, params = "run_id = ? AND duration_ms > ?", ["run-a", "40"]
    else:
        where, params = "run_id = $run AND duration_ms > $min", ["run=run-a", "min=40"]
    sql = TASKS_SQL.replace("ORDER BY", f"WHERE {where} ORDER BY")
    result = run(sql, "--db", str(store), "--format", "json", *(arg for p in params for arg in ("--param", p)))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == TASKS_JSON[1:2]
    assert result.stdout == json.dumps(TASKS_JSON[1:2], indent=2) + "\n"


def test_view_with_where_and_order(store):
    result = run("--view", "test_task_spans", "--where", "run_id=run-a", "--order-by", "-duration_ms",
                 "--db", str(store), "--format", "csv")  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout == "run_id,task_id,duration_ms,status\nrun-a,t2,50,Unset\nrun-a,t1,30,Unset\n"


def test_view_with_an_unknown_column(stopped_store):
    result = run("--view", "test_task_spans", "--where", "nope=1", "--db", str(stopped_store))
    assert result.returncode == 1
    assert "unknown column 'nope'" in result.stderr


def test_limit_notes_truncation(stopped_store):
    result = run(TASKS_SQL, "--db", str(stopped_store), "--format", "csv", "--limit", "2")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "\n".join(TASKS_CSV.splitlines()[:3]) + "\n"
    assert "showing the first 2 rows" in result.stderr


def test_refused_statements(store):
    result = run("SELECT * FROM read_csv('/etc/passwd')", "--db", str(store))
    assert result.returncode == 1, result.stdout
    assert result.stderr.startswith("Error: refused: "), result.stderr


def test_sql_errors_show_duckdbs_message(stopped_store):
    result = run("SELECT nope FROM otel_traces", "--db", str(stopped_store))
    assert result.returncode == 1
    assert 'Referenced column "nope" not found' in result.stderr


def test_token_for_a_collector_that_requires_one(token_store):
    """(``$SMOLTRACE_TOKEN`` is click's envvar for --token; --help shows it.)"""
    result = run("SELECT 1 AS one", "--db", str(token_store), "--format", "csv")
    assert result.returncode == 1
    assert "missing or wrong bearer token" in result.stderr and "--token" in result.stderr
    result = run("SELECT 1 AS one", "--db", str(token_store), "--format", "csv", "--token", TOKEN)
    assert result.stdout == "one\n1\n"


def test_no_store_yet(tmp_path):
    result = run("SELECT 1", "--db", str(tmp_path / "missing.duckdb"))
    assert result.returncode == 1
    assert "no smoltrace store at" in result.stderr and "run smoltrace-eval first" in result.stderr


def test_usage_errors(tmp_path):
    assert run("--db", str(tmp_path / "x.duckdb")).returncode == 2  # neither SQL nor --view
    assert run("SELECT 1", "--view", "results").returncode == 2
    assert run("SELECT 1", "--where", "a=b").returncode == 2
    result = run("SELECT $a, ?", "--param", "a=1", "--param", "2")
    assert result.returncode == 2 and "either all NAME=VALUE" in result.stderr


def test_help_explains_every_flag_with_its_default():
    result = run("--help")
    assert result.returncode == 0
    text = " ".join(result.stdout.split())
    for flag in ("--view", "--where", "--order-by", "--db", "--format", "--limit", "--param", "--timeout", "--token"):
        assert flag in text
    for default in ("[default: table]", "[default: 1000;", "[default: 10.0;", "[env var: SMOLTRACE_TOKEN]",
                    "$SMOLTRACE_DB", "~/.local/share/smoltrace/smoltrace.duckdb"):  # fmt: skip
        assert default in text, default
