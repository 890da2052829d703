"""Queries and bodies meant to hurt the collector: its memory, time and concurrency limits hold, and the
ingest goes on meanwhile."""

import json
import re
import signal
import threading
import time

import grpc
import httpx
import pytest
from fault_tools import start_collector

from tests.collector.otlp_requests import RawOTLPClient, trace_request

MiB = 2**20


def status_kib(pid: int, field: str) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise AssertionError(f"{field} not in /proc/{pid}/status")


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    """The installed smoltrace-collector (its process memory limit on: auto), with a few spans."""
    db_path = tmp_path_factory.mktemp("hostile") / "store.duckdb"
    process, endpoint, http_url = start_collector(db_path)
    assert RawOTLPClient(endpoint).export("traces", trace_request(5).SerializeToString())[0] == grpc.StatusCode.OK
    yield process, endpoint, http_url
    process.send_signal(signal.SIGINT)
    assert process.wait(60) == 0


def query(http_url: str, sql: str, **options) -> httpx.Response:
    return httpx.post(f"{http_url}/api/query", json={"sql": sql, **options}, timeout=60)


def test_the_store_runs_within_the_default_memory_limit_and_spills_next_to_the_store(service):
    """DuckDB's buffer pool (cached blocks, rows not yet checkpointed, the deriver's and the queries'
    working memory) is what the collector's peak RSS grows with: by default it is held to 192MB
    (DuckDB reports it in MiB), and what does not fit goes to a temporary folder next to the store."""
    process, _, http_url = service
    db_path = process.args[process.args.index("--db") + 1]
    response = query(http_url, "SELECT current_setting('memory_limit'), current_setting('temp_directory')")
    assert response.status_code == 200, response.text
    assert response.json()["rows"] == [["183.1 MiB", f"{db_path}.tmp"]]


def test_a_huge_repeat_is_refused_before_it_runs(service):
    process, _, http_url = service
    assert query(http_url, "SELECT count(*) FROM otel_traces").status_code == 200  # warm: catalog, imports
    rss_before = status_kib(process.pid, "VmRSS")
    started = time.monotonic()
    response = query(http_url, "SELECT repeat('x', 2000000000)")
    assert time.monotonic() - started < 2
    assert response.status_code == 400
    assert response.json() == {
        "error": (
            "refused: repeat(): its size argument must be a whole-number constant that keeps the result within "
            "1,000,000 elements or bytes (a larger value would be built outside the query's memory and time limits)"
        )
    }
    assert status_kib(process.pid, "VmRSS") - rss_before < 20 * 1024


def test_a_value_built_past_the_guard_is_answered_in_time_and_bounded_by_the_process_memory_limit(service):
    """3 GB built by nested replace() (unguarded: 69 s and 7.7 GB of RSS in a plain DuckDB here): the
    answer comes within the time limit, and the process memory limit stops the build."""
    process, endpoint, http_url = service
    sql = "SELECT length(replace(replace(repeat('x', 1000000), 'xxxx', repeat('x', 4000)), 'x', 'xxx'))"
    started = time.monotonic()
    response = query(http_url, sql)
    elapsed = time.monotonic() - started
    assert elapsed < 10 + 1 + 1, elapsed  # the 10 s limit, its 1 s grace, the machine's slack
    # Whichever comes first: the time limit, or the allocation the process memory limit refuses.
    assert response.json() in ({"error": "query exceeded the time limit of 10 s and was interrupted"},
                               {"error": "Out of Memory Error: Allocation failure"}), response.text  # fmt: skip
    assert response.status_code == (408 if "time limit" in response.text else 400)
    limit_kib = float(re.search(r"process memory limit ([\d.]+) GiB", process.ready_line).group(1)) * 2**20
    assert RawOTLPClient(endpoint).export("traces", trace_request(3).SerializeToString())[0] == grpc.StatusCode.OK
    time.sleep(15)  # DuckDB gives the thread back once the allocation fails
    assert status_kib(process.pid, "VmHWM") < limit_kib
    assert query(http_url, "SELECT count(*) AS n FROM otel_traces").json()["rows"] == [[8]]


def test_a_query_past_the_memory_limit_is_told_what_to_change_and_the_collector_goes_on(tmp_path):
    """DuckDB's buffer pool refuses a query that cannot spill (a list per group): the answer names the
    collector's limit and the flag, not DuckDB's advice to SET a memory limit, which a client cannot."""
    process, endpoint, http_url = start_collector(tmp_path / "store.duckdb", "--memory-limit", "32MB")
    try:
        response = query(http_url, "SELECT len(list(i)) FROM range(20000000) t(i) GROUP BY i % 3")
        assert response.status_code == 400
        assert re.fullmatch(
            r"Out of Memory Error: failed to allocate data of size [\d.]+ \w+ \([\d.]+ \w+/[\d.]+ \w+ used\): "
            r"the query needs more than what ingest leaves of the collector's DuckDB memory limit \(32MB\); "
            r"ask for less \(one run, fewer rows\) or start the collector with a larger --memory-limit",
            response.json()["error"],
        ), response.text
        assert RawOTLPClient(endpoint).export("traces", trace_request(4).SerializeToString())[0] == grpc.StatusCode.OK
        assert query(http_url, "SELECT count(*) FROM otel_traces").json()["rows"] == [[4]]
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(60) == 0


@pytest.mark.parametrize("fmt", ["json", "csv", "arrow"])
def test_results_are_capped_by_bytes_not_only_rows(service, fmt):
    _, _, http_url = service
    response = query(http_url, "SELECT repeat('x', 1000000) AS s FROM range(200)", format=fmt)
    assert response.status_code == 200
    assert len(response.content) < 40 * MiB  # 200 MB asked for
    if fmt == "json":
        payload = response.json()
        assert (payload["row_count"], payload["truncated"]) == (33, True)  # 33 MB of the 32 MiB cap
    else:
        assert (response.headers["x-smoltrace-row-count"], response.headers["x-smoltrace-truncated"]) == ("33", "true")


def test_the_time_limit_holds_and_ingest_goes_on_while_heavy_queries_run(service):
    _, endpoint, http_url = service
    answers: list[tuple[int, float]] = []

    def heavy():
        started = time.monotonic()
        response = query(http_url, "SELECT count(*) FROM range(100000000000)", timeout_s=2)
        answers.append((response.status_code, time.monotonic() - started))

    threads = [threading.Thread(target=heavy) for _ in range(8)]  # twice the query slots
    for thread in threads:
        thread.start()
    client = RawOTLPClient(endpoint)
    latencies = []
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        started = time.monotonic()
        assert client.export("traces", trace_request(20).SerializeToString())[0] == grpc.StatusCode.OK
        latencies.append(time.monotonic() - started)
        time.sleep(0.05)
    for thread in threads:
        thread.join(30)
    codes = [code for code, _ in answers]
    assert len(codes) == 8 and set(codes) <= {408, 503} and codes.count(408) >= 4, codes  # 503: no slot in time
    assert max(seconds for _, seconds in answers) < 2 + 1 + 1.5  # limit, grace, the machine's slack
    assert max(latencies) < 1.0, latencies


def test_a_json_body_nested_100000_deep_is_a_bad_request(service):
    _, _, http_url = service
    body = b'{"resourceSpans": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    response = httpx.post(f"{http_url}/v1/traces", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert response.json() == {"code": 3, "message": "request body is nested too deeply to be an OTLP/JSON request"}
    assert json.loads(httpx.get(f"{http_url}/health").content) == {"status": "ok"}
