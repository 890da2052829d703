"""--enable-tools: web search through each --search-provider and visit_webpage, against loopback
stand-ins that speak the providers' real protocols (what the client sends is checked too), then
through a real agent run."""

from __future__ import annotations

import json

import duckdb
import pytest

from smoltrace.core import run_evaluation
from smoltrace.runner.agents import AgentSetup
from smoltrace.runner.config import EvalConfig
from smoltrace.runner.optional_tools import ToolConfigError, optional_tools
from smoltrace.runner.scripted import ScriptedModel, call
from smoltrace.runner.web_tools import SearchConfigError, search_tool
from tests.runner.loopback import Loopback, html_reply, json_reply

DUCKDUCKGO_LITE_PAGE = """<html><body><table>
<tr><td>1.</td><td><a rel="nofollow" href="https://weather.example/tokyo" class="result-link">Tokyo weather</a></td></tr>
<tr><td></td><td class="result-snippet">Clear skies, 18°C in <b>Tokyo</b> today.</td></tr>
<tr><td></td><td><span class="link-text">weather.example/tokyo</span></td></tr>
<tr><td>&nbsp;</td><td>&nbsp;</td></tr>
</table></body></html>"""
SERPER_ANSWER = {
    "organic": [
        {
            "title": "Tokyo weather",
            "link": "https://weather.example/tokyo",
            "snippet": "Clear, 18°C",
            "date": "Jan 15, 2025",
        }
    ]
}
BRAVE_ANSWER = {
    "web": {
        "results": [{"title": "Tokyo weather", "url": "https://weather.example/tokyo", "description": "Clear, 18°C"}]
    }
}


def test_duckduckgo_reads_the_lite_results_page():
    with Loopback({"GET /lite/": html_reply(DUCKDUCKGO_LITE_PAGE)}) as server:
        tool = search_tool("duckduckgo", f"{server.url}/lite/")
        assert tool.name == "web_search"
        assert tool(query="tokyo weather") == (
            "## Search Results\n\n[Tokyo weather](https://weather.example/tokyo)\nClear skies, 18°C in Tokyo today."
        )
    (request,) = server.requests
    assert request.query == {"q": ["tokyo weather"]} and request.headers["user-agent"] == "Mozilla/5.0"


def test_serper_posts_the_query_with_the_key(monkeypatch):
    monkeypatch.setenv("SERPER_API_KEY", "serper-test-key")
    with Loopback({"POST /search": json_reply(SERPER_ANSWER)}) as server:
        tool = search_tool("serper", f"{server.url}/search")
        assert tool(query="tokyo weather", filter_year=2025) == (
            "## Search Results\n0. [Tokyo weather](https://weather.example/tokyo)\nDate published: Jan 15, 2025\n"
            "Clear, 18°C"
        )
    (request,) = server.requests
    assert request.headers["x-api-key"] == "serper-test-key"
    assert request.json() == {"q": "tokyo weather", "tbs": "cdr:1,cd_min:01/01/2025,cd_max:12/31/2025"}


def test_brave_sends_its_subscription_token(monkeypatch):
    monkeypatch.setenv("BRAVE_API_KEY", "brave-test-key")
    with Loopback({"GET /res/v1/web/search": json_reply(BRAVE_ANSWER)}) as server:
        tool = search_tool("brave", f"{server.url}/res/v1/web/search")
        assert tool(query="tokyo weather") == (
            "## Search Results\n\n1. [Tokyo weather](https://weather.example/tokyo)\nClear, 18°C"
        )
    (request,) = server.requests
    assert request.headers["x-subscription-token"] == "brave-test-key"
    assert request.query == {"count": ["10"], "q": ["tokyo weather"]}


@pytest.mark.parametrize("provider, key", [("serper", "SERPER_API_KEY"), ("brave", "BRAVE_API_KEY")])
def test_a_missing_search_key_is_named(monkeypatch, provider, key):
    monkeypatch.delenv(key, raising=False)
    with pytest.raises(SearchConfigError) as error:
        search_tool(provider)
    assert str(error.value) == (
        f"--search-provider {provider} needs {key} in the environment (or in a .env file); "
        "--search-provider duckduckgo needs no key"
    )


def test_visit_webpage_fetches_the_page_as_markdown():
    page = "<html><body><h1>Tokyo</h1><p>Clear, <b>18°C</b>.</p></body></html>"
    with Loopback({"GET /tokyo": html_reply(page)}) as server:
        (tool,) = optional_tools(["visit_webpage"])
        assert tool(url=f"{server.url}/tokyo") == "Tokyo\n=====\n\nClear, **18°C**."


def test_tool_names_are_checked():
    with pytest.raises(ToolConfigError) as error:
        optional_tools(["google_search", "wikipedia_search"])
    assert str(error.value) == (
        "--enable-tools: unknown tool 'wikipedia_search'; choose from google_search, duckduckgo_search, "
        "visit_webpage, python_interpreter, read_file, write_file, list_directory, search_files"
    )
    with pytest.raises(ToolConfigError) as error:
        AgentSetup.from_config(EvalConfig(model="m", enable_tools=("google_search", "duckduckgo_search")))
    assert str(error.value) == (
        "--enable-tools: two tools are named 'web_search'; enable only one of them "
        "(google_search and duckduckgo_search are both web_search)"
    )


def test_python_interpreter_gets_the_additional_imports():
    (tool,) = optional_tools(["python_interpreter"], additional_imports=("json", "csv"))
    assert {"numpy", "sympy", "math", "statistics", "datetime", "json", "csv"} <= set(tool.authorized_imports)
    assert tool(code="import json\nprint(json.dumps({'a': 1}))") == 'Stdout:\n{"a": 1}\n\nOutput: None'
    assert tool(code="import csv\ncsv.QUOTE_ALL") == "Stdout:\n\nOutput: 1"
    with pytest.raises(Exception, match="Import of os is not allowed"):
        tool(code="import os")


def test_an_agent_searches_through_the_configured_provider(tmp_path, monkeypatch):
    monkeypatch.setenv("SERPER_API_KEY", "serper-test-key")
    tasks = tmp_path / "tasks.json"
    tasks.write_text(
        json.dumps(
            [
                {
                    "id": "search_tokyo",
                    "prompt": "Search the web: weather in Tokyo?",
                    "difficulty": "easy",
                    "expected_tool": "web_search",
                    "expected_keywords": ["18"],
                }
            ]
        )
    )
    script = {"weather in Tokyo": [call("web_search", query="tokyo weather"), call("final_answer", answer="18°C")]}
    with Loopback({"POST /search": json_reply(SERPER_ANSWER)}) as server:
        results, *_ = run_evaluation(
            "gpt-4o-mini",
            dataset_name=str(tasks),
            db_path=tmp_path / "s.duckdb",
            agent_type="tool",
            enable_tools=["google_search"],
            search_provider="serper",
            search_url=f"{server.url}/search",
            model_factory=lambda: ScriptedModel(script),
        )
    (row,) = results["tool"]
    assert (row["tools_used"], row["success"], row["response"]) == (["web_search"], True, "18°C")
    assert [request.json() for request in server.requests] == [{"q": "tokyo weather"}]
    with duckdb.connect(str(tmp_path / "s.duckdb"), read_only=True) as conn:
        (output,) = conn.execute(
            "SELECT SpanAttributes->>'output.value' FROM otel_traces WHERE SpanAttributes->>'tool.name' = 'web_search'"
        ).fetchone()
    assert output == (
        "## Search Results\n0. [Tokyo weather](https://weather.example/tokyo)\n"
        "Date published: Jan 15, 2025\nClear, 18°C"
    )
