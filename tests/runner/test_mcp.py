"""--mcp-server-url against real MCP servers (the ``mcp`` package's FastMCP) on loopback, over streamable
HTTP and SSE: NAME=URL prefixes, clashing tool names, unreachable servers, and an agent calling an MCP
tool in a real run."""

from __future__ import annotations

import json
import socket
import threading
import time

import pytest
import uvicorn

from smoltrace.runner.agents import AgentConfigError
from smoltrace.runner.mcp import McpServer, load_mcp_tools, parse_servers

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def mcp_server(name: str):
    """A FastMCP server with a tool every server has (report_error) and one of its own."""
    from mcp.server.fastmcp import FastMCP

    server = FastMCP(name, log_level="WARNING")

    @server.tool()
    def report_error(message: str) -> str:
        """Report an error to the service.

        Args:
            message: what went wrong
        """
        return f"{name} recorded: {message}"

    @server.tool(name=f"{name}_menu")
    def menu(city: str) -> str:
        """The menu in a city.

        Args:
            city: the city
        """
        return f"{name} menu in {city}: ramen, sushi"

    return server


class Served:
    def __init__(self, app):
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [sock]}, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started and time.monotonic() < deadline:
            time.sleep(0.01)

    def stop(self):
        self.server.should_exit = True
        self.thread.join(10)


@pytest.fixture(scope="module")
def servers():
    """food over streamable HTTP (/mcp), dineout over SSE (/sse)."""
    food, dineout = Served(mcp_server("food").streamable_http_app()), Served(mcp_server("dineout").sse_app())
    yield {"food": f"{food.url}/mcp", "dineout": f"{dineout.url}/sse"}
    food.stop()
    dineout.stop()


def test_server_specs_are_parsed_and_checked():
    assert parse_servers(["food=http://h:1/mcp/", "http://h:2/sse", "https://h/x?key=a=b"]) == [
        McpServer("http://h:1/mcp/", "streamable-http", "food"),
        McpServer("http://h:2/sse", "sse", None),
        McpServer("https://h/x?key=a=b", "streamable-http", None),
    ]
    assert parse_servers("http://h:2/sse", transport="streamable-http") == [
        McpServer("http://h:2/sse", "streamable-http", None)
    ]
    assert parse_servers(None) == []
    for values, message in [
        (["localhost:8000/mcp"], "--mcp-server-url 'localhost:8000/mcp': expected an http(s) URL, or NAME=URL"),
        (
            ["swiggy-food=http://h/mcp"],
            (
                "--mcp-server-url 'swiggy-food=http://h/mcp': the name 'swiggy-food' must be "
                "letters, digits and _ (it prefixes tool names, which agents call as Python "
                "functions)"
            ),
        ),
        (["a=http://h:1/mcp", "a=http://h:2/mcp"], "--mcp-server-url: the name 'a' is given to two servers"),
    ]:
        with pytest.raises(AgentConfigError) as error:
            parse_servers(values)
        assert str(error.value) == message
    with pytest.raises(AgentConfigError) as error:
        parse_servers("http://h/mcp", transport="websocket")
    assert str(error.value) == "--mcp-transport must be one of auto, streamable-http, sse (got 'websocket')"


def test_named_servers_over_both_transports_share_a_tool_name(servers):
    tools, connections = load_mcp_tools([f"food={servers['food']}", f"dineout={servers['dineout']}"])
    try:
        by_name = {tool.name: tool for tool in tools}
        assert sorted(by_name) == [
            "dineout_dineout_menu",
            "dineout_report_error",
            "food_food_menu",
            "food_report_error",
        ]
        assert by_name["food_report_error"](message="cold soup") == "food recorded: cold soup"
        assert by_name["dineout_report_error"](message="no table") == "dineout recorded: no table"
        assert by_name["dineout_dineout_menu"](city="Tokyo") == "dineout menu in Tokyo: ramen, sushi"
    finally:
        connections.disconnect()


def test_clashing_tool_names_are_refused(servers):
    with pytest.raises(AgentConfigError) as error:
        load_mcp_tools([servers["food"], servers["dineout"]])
    assert str(error.value) == (
        f"two tools are named 'report_error': from the MCP server {servers['food']} and from the MCP server "
        f"{servers['dineout']}; name the servers (--mcp-server-url NAME=URL) to prefix their tools"
    )
    with pytest.raises(AgentConfigError) as error:
        load_mcp_tools(servers["food"], reserved=["get_weather", "report_error"])
    assert str(error.value).startswith("two tools are named 'report_error': from the agents' own tools and from")


def test_an_unreachable_server_is_named_at_once():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # nothing listens once closed
    started = time.monotonic()
    with pytest.raises(AgentConfigError) as error:
        load_mcp_tools(f"http://127.0.0.1:{port}/mcp")
    assert str(error.value) == f"cannot reach the MCP server at http://127.0.0.1:{port}/mcp: Connection refused"
    assert time.monotonic() - started < 5


def test_a_server_that_does_not_speak_mcp_is_named(servers):
    """The food server's port, on a path that is not its MCP endpoint."""
    wrong = servers["food"].replace("/mcp", "/nothing")
    with pytest.raises(AgentConfigError) as error:
        load_mcp_tools(wrong, transport="streamable-http", connect_timeout_s=5)
    assert str(error.value) == f"cannot use the MCP server at {wrong} (streamable-http): McpError: Session terminated"


def test_an_agent_calls_an_mcp_tool_in_a_run(servers, tmp_path):
    from smoltrace.core import run_evaluation
    from smoltrace.runner.scripted import ScriptedModel, call

    tasks = tmp_path / "tasks.json"
    tasks.write_text(
        json.dumps(
            [
                {
                    "id": "menu",
                    "prompt": "What is on the dineout menu in Tokyo?",
                    "difficulty": "easy",
                    "expected_tool": "dineout_dineout_menu",
                    "expected_keywords": ["ramen"],
                }
            ]
        )
    )
    script = {"dineout menu": [call("dineout_dineout_menu", city="Tokyo"), call("final_answer", answer="ramen, sushi")]}
    results, *_ = run_evaluation(
        "gpt-4o-mini",
        dataset_name=str(tasks),
        db_path=tmp_path / "s.duckdb",
        agent_type="tool",
        mcp_server_url=[f"food={servers['food']}", f"dineout={servers['dineout']}"],
        model_factory=lambda: ScriptedModel(script),
    )
    (row,) = results["tool"]
    assert (row["tools_used"], row["correct_tool"], row["success"]) == (["dineout_dineout_menu"], True, True)
