"""A store that cannot be opened is one line saying why, never a traceback: locked by another process,
a name DuckDB reserves, an empty or corrupt file. A path with an apostrophe simply works. A memory flag
that is not a size is a usage error before anything starts."""

import signal
import subprocess
import sys

import duckdb
import grpc
import pytest
from fault_tools import COLLECTOR_BIN, EVAL_BIN, start_collector

from smoltrace.collector.sizes import parse_size
from smoltrace.store.run_deletion import compact
from tests.collector.otlp_requests import RawOTLPClient, trace_request


def collector_error(db_path) -> subprocess.CompletedProcess:
    return subprocess.run([COLLECTOR_BIN, "--db", str(db_path), "--grpc-port", "0", "--http-port", "0"],
                          capture_output=True, text=True, timeout=60)  # fmt: skip


def test_a_store_another_process_holds_is_one_line(tmp_path):
    db_path = tmp_path / "store.duckdb"
    duckdb.connect(str(db_path)).close()
    holder = subprocess.Popen([sys.executable, "-c", "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); "
                               "print('ready', flush=True); time.sleep(60)", str(db_path)],
                              stdout=subprocess.PIPE, text=True)  # fmt: skip
    try:
        assert holder.stdout.readline() == "ready\n"
        expected = (f"the store {db_path} is in use by another process (PID {holder.pid}): a smoltrace-collector, "
                    "smoltrace-eval or smoltrace-query has it open. Wait for it or stop it, or pass another --db\n")  # fmt: skip
        result = collector_error(db_path)
        assert (result.returncode, result.stderr) == (1, f"Error: {expected}")
        tasks = tmp_path / "tasks.json"
        tasks.write_text('[{"id": "t", "prompt": "hello", "difficulty": "easy"}]')
        result = subprocess.run([EVAL_BIN, "--model", "gpt-4o-mini", "--model-args", "mock_response=hi",
                                 "--dataset-name", str(tasks), "--db", str(db_path), "--output-format", "json"],
                                capture_output=True, text=True, timeout=180)  # fmt: skip
        assert (result.returncode, result.stderr) == (2, f"Error: {expected}")
    finally:
        holder.kill()
        holder.wait()


@pytest.mark.parametrize("stem", ["main", "memory", "temp", "system"])
def test_a_store_named_after_a_duckdb_catalog_is_one_line(tmp_path, stem):
    db_path = tmp_path / f"{stem}.duckdb"
    result = collector_error(db_path)
    assert result.returncode == 1
    assert result.stderr == (f"Error: cannot use {db_path} as a store: DuckDB reserves the name '{stem}' for a "
                             "catalog of its own; give the file another name (e.g. smoltrace.duckdb)\n")  # fmt: skip
    assert not db_path.exists()


@pytest.mark.parametrize(("content", "what"), [
    (b"", "an empty file"),
    (b"not a database" * 1000, "not a DuckDB database (a damaged or foreign file)"),
])  # fmt: skip
def test_an_empty_or_corrupt_store_file_is_one_line(tmp_path, content, what):
    db_path = tmp_path / "store.duckdb"
    db_path.write_bytes(content)
    result = collector_error(db_path)
    assert result.returncode == 1
    assert result.stderr == (f"Error: the store {db_path} is {what}: move it away (a new store is then created) "
                             "or pass another --db\n")  # fmt: skip
    assert db_path.read_bytes() == content  # untouched


def test_a_store_path_with_an_apostrophe_works(tmp_path):
    folder = tmp_path / "it's here"
    folder.mkdir()
    db_path = folder / "o'brien.duckdb"
    process, endpoint, _ = start_collector(db_path)
    assert RawOTLPClient(endpoint).export("traces", trace_request(4).SerializeToString())[0] == grpc.StatusCode.OK
    process.send_signal(signal.SIGINT)
    assert process.wait(30) == 0
    before, after = compact(db_path)
    assert before > 0 and after > 0
    with duckdb.connect(str(db_path), read_only=True) as conn:
        assert conn.execute("SELECT count(*) FROM otel_traces").fetchone() == (4,)


@pytest.mark.parametrize(
    ("flag", "value"), [("--memory-limit", "banana"), ("--memory-limit", "256"), ("--process-memory-limit", "lots")]
)
def test_a_memory_flag_that_is_not_a_size_is_a_usage_error(tmp_path, flag, value):
    result = subprocess.run([COLLECTOR_BIN, "--db", str(tmp_path / "s.duckdb"), flag, value],
                            capture_output=True, text=True, timeout=60)  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.splitlines()[-1] == (
        f"Error: Invalid value for '{flag}': '{value}' is not a size such as '192MB' or '1GiB'"
    )
    assert not (tmp_path / "s.duckdb").exists()


def test_memory_sizes_take_duckdb_units_in_any_case():
    assert parse_size("100mb") == 100_000_000
    assert parse_size("1.5 GiB") == 3 * 2**29
    with pytest.raises(ValueError, match=r"^'12 parsecs' is not a size such as '192MB' or '1GiB'$"):
        parse_size("12 parsecs")
