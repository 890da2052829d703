"""``smoltrace-view`` serves a store file read-only (the installed command, as a subprocess), and
``smoltrace-eval`` prints the run's page when it exports to a collector that serves the view."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from smoltrace.cli.view import main as view_main
from smoltrace.collector import Collector
from smoltrace.web import run_page_url, view_url
from smoltrace.web.file_server import ViewServer

from .conftest import new_page, screenshot
from .pages import check_row, js_columns, table, wait_ready
from .seeding import CALC, WEATHER, script_a

VIEW = Path(sys.executable).parent / "smoltrace-view"


@pytest.fixture(scope="module")
def eval_store(tmp_path_factory):
    """A store file holding one run made by smoltrace-eval's own code path against a collector that serves
    the view (no token), the collector stopped afterwards; and what that command printed."""
    from smoltrace.cli.eval import evaluate
    from smoltrace.runner.config import EvalConfig
    from smoltrace.runner.scripted import ScriptedModel

    folder = tmp_path_factory.mktemp("view")
    tasks = folder / "tasks.json"
    tasks.write_text(json.dumps([WEATHER, CALC]))
    script = script_a()
    with Collector.embedded(db_path=folder / "eval.duckdb") as collector:
        config = EvalConfig(model="gpt-4o-mini", dataset_name=str(tasks), agent_type="tool", run_id="view-run-1",
                            otlp_endpoint=collector.grpc_endpoint, query_url=collector.http_endpoint,
                            output_format="json", output_dir=folder / "out", max_steps=2,
                            model_factory=lambda: ScriptedModel(script))  # fmt: skip
        printed = _capture(lambda: evaluate(config))
        base = collector.http_endpoint
    return folder / "eval.duckdb", printed, base


def _capture(call):
    import io
    from contextlib import redirect_stderr, redirect_stdout

    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        assert call() == 0
    return out.getvalue(), err.getvalue()


def test_eval_prints_the_run_page_when_its_collector_serves_the_view(eval_store):
    _, (out, err), base = eval_store
    assert f"Run page: {base}/#/run/view-run-1\n" in out
    assert f"Watch the run live: {base}/#/run/view-run-1\n" in err


def test_view_url_is_given_only_for_a_server_that_serves_the_view(tmp_path):
    class Plain(BaseHTTPRequestHandler):
        def do_HEAD(self):
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Plain)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        assert view_url(f"http://127.0.0.1:{server.server_port}") is None
    finally:
        server.shutdown()
    assert view_url(f"http://127.0.0.1:{server.server_port}") is None  # nobody listening
    assert view_url("not a url") is None
    with Collector.embedded(db_path=tmp_path / "c.duckdb", token="t") as collector:  # the page needs no token
        assert view_url(collector.http_endpoint) == collector.http_endpoint + "/"
    assert run_page_url("http://h:1/", "a b/c") == "http://h:1/#/run/a%20b%2Fc"


def test_the_installed_command_serves_a_store_file_read_only(eval_store):
    db, _, _ = eval_store
    size = db.stat().st_size
    process = subprocess.Popen([str(VIEW), "--db", str(db), "--port", "0"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env={**os.environ, "SMOLTRACE_TOKEN": ""})  # fmt: skip
    try:
        line = process.stdout.readline()
        assert line.startswith(f"smoltrace-view: serving {db} read-only at http://127.0.0.1:"), line
        url = line.split(" at ", 1)[1].strip()
        assert httpx.get(url, timeout=10).headers["x-smoltrace-view"] == "1"
        answer = httpx.post(
            url + "api/query", json={"sql": "SELECT count(*) AS n FROM runs", "format": "objects"}, timeout=30
        )
        assert answer.status_code == 200 and answer.json() == [{"n": 1}]
        refused = httpx.post(url + "api/query", json={"sql": "DELETE FROM otel_traces"}, timeout=30)
        assert refused.status_code == 400 and refused.json()["error"].startswith("refused:")
        assert httpx.delete(url + "api/runs/view-run-1", timeout=10).status_code in (404, 405)
        assert httpx.get(url + "api/views/runs", timeout=30).json()["rows"][0][0] == "view-run-1"
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=15) == 0
    assert "Traceback" not in process.stderr.read()
    assert db.stat().st_size == size


def test_view_of_a_file_in_the_browser_shows_its_runs(browser, eval_store):
    db, _, _ = eval_store
    with ViewServer(db) as server:
        page = new_page(browser, token=None)
        try:
            page.goto(server.url + "#/runs")
            wait_ready(page, "#/runs")
            screenshot(page, "view-file-runs")
            shown = table(page, "#runs-table")
            assert [row["key"] for row in shown] == ["view-run-1"]
            expected = httpx.post(server.url + "api/query", json={"format": "objects", "sql":
                                  "SELECT *, round(100.0 * successful_tasks / completed_tasks, 2) AS success_rate, "
                                  "[completed_tasks, planned_tasks] AS progress FROM runs"}).json()[0]  # fmt: skip
            totals = httpx.post(server.url + "api/query", json={"format": "objects", "sql": "SELECT total_tokens, "
                                "total_cost_usd, total_energy_wh FROM leaderboard_by_agent_type"}).json()[0]  # fmt: skip
            check_row(shown[0], js_columns(page, "/static/pages/runs.js", "COLUMNS"), expected | totals, where="file")
            assert not page.is_visible("#token-dialog")
            assert not page.problems, page.problems
        finally:
            page.context.close()


def test_view_with_a_token_asks_for_it(browser, eval_store):
    db, _, _ = eval_store
    with ViewServer(db, token="file-token") as server:
        assert httpx.post(server.url + "api/query", json={"sql": "SELECT 1"}).status_code == 401
        page = new_page(browser, token=None)
        try:
            page.goto(server.url + "#/leaderboard")
            page.wait_for_selector("#token-dialog[open]")
            page.fill("#token-input", "file-token")
            page.press("#token-input", "Enter")
            wait_ready(page, "#/leaderboard")
            assert [row["key"] for row in table(page, "#leaderboard-table")] == ["view-run-1|tool"]
        finally:
            page.context.close()


def test_view_refuses_a_store_a_collector_holds_and_says_where_its_view_is(tmp_path):
    with Collector.embedded(db_path=tmp_path / "held.duckdb") as collector:
        result = CliRunner().invoke(view_main, ["--db", str(tmp_path / "held.duckdb"), "--port", "0"])
    assert result.exit_code == 1
    assert f"its view is at {collector.http_endpoint}/" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_view_of_a_missing_store_says_so_without_a_traceback(tmp_path):
    result = CliRunner().invoke(view_main, ["--db", str(tmp_path / "nothing.duckdb"), "--port", "0"])
    assert result.exit_code == 1
    assert f"Error: no smoltrace store at {tmp_path / 'nothing.duckdb'}" in result.output
    assert "Traceback" not in result.output


def test_view_of_a_busy_port_says_so(eval_store):
    db, _, _ = eval_store
    with ViewServer(db) as server:
        result = CliRunner().invoke(view_main, ["--db", str(db), "--port", str(server.port)])
    assert result.exit_code == 1
    assert f"cannot listen on 127.0.0.1:{server.port}" in result.output and "--port" in result.output


def test_view_help_explains_every_option_with_its_default():
    result = CliRunner().invoke(view_main, ["--help"])
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    for expected in ("--db FILE", "Default: $SMOLTRACE_DB", "--host", "[default: 127.0.0.1]", "--port",
                     "[default: 7318;", "--open", "default: off", "--token", "Default: no token",
                     "[env var: SMOLTRACE_TOKEN]"):  # fmt: skip
        assert expected in text, expected


def test_readme_names_every_option_of_smoltrace_view_and_its_default_port():
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme.split("## The web view", 1)[1].split("\n## ", 1)[0]
    for param in view_main.params:
        for option in param.opts:
            if option.startswith("--") and option != "--db":
                assert f"`{option}" in section, option
    assert "--db" in section and "default 7318" in section
    from smoltrace.cli.view import DEFAULT_PORT

    assert DEFAULT_PORT == 7318
