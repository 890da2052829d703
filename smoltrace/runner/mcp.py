"""Tools from MCP servers: ``--mcp-server-url`` (repeatable; ``URL`` or ``NAME=URL``) over streamable
HTTP or SSE, through smolagents' ``MCPClient``.

``NAME=URL`` prefixes that server's tool names (``food=...`` turns ``report_error`` into
``food_report_error``), so servers that share tool names can be used together; two tools with one
name are refused before the run starts instead of one silently replacing the other. The transport is
``--mcp-transport``; ``auto`` (SMOLTRACE's default) takes SSE for a URL whose path ends in ``/sse``
and streamable HTTP otherwise.
"""

from __future__ import annotations

import contextlib
import re
import socket
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from smoltrace.runner.agents import AgentConfigError

TRANSPORTS = ("auto", "streamable-http", "sse")
CONNECT_TIMEOUT_S = 30
_NAMED = re.compile(r"^([^=:/]+)=(\w+://.*)$")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class McpServer:
    url: str
    transport: str  # streamable-http | sse
    name: str | None = None  # the tool-name prefix


def parse_servers(values: str | Sequence[str] | None, transport: str = "auto") -> list[McpServer]:
    """``--mcp-server-url`` values -> servers; every mistake is named before anything connects."""
    if transport not in TRANSPORTS:
        raise AgentConfigError(f"--mcp-transport must be one of {', '.join(TRANSPORTS)} (got {transport!r})")
    if values is None:
        return []
    servers: list[McpServer] = []
    for value in [values] if isinstance(values, str) else values:
        text, name = value.strip(), None
        named = _NAMED.match(text)
        if named:
            name, text = named.group(1).strip(), named.group(2).strip()
            if not _NAME.match(name):
                raise AgentConfigError(
                    f"--mcp-server-url {value!r}: the name {name!r} must be letters, digits and "
                    "_ (it prefixes tool names, which agents call as Python functions)"
                )
        parts = urlsplit(text)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise AgentConfigError(f"--mcp-server-url {value!r}: expected an http(s) URL, or NAME=URL")
        chosen = transport
        if transport == "auto":
            chosen = "sse" if parts.path.rstrip("/").endswith("/sse") else "streamable-http"
        servers.append(McpServer(text, chosen, name))
    names = [server.name for server in servers if server.name]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise AgentConfigError(f"--mcp-server-url: the name {repeated[0]!r} is given to two servers")
    return servers


def check_servers(values: str | Sequence[str] | None, transport: str = "auto") -> list[McpServer]:
    """Parse, and see that each server accepts connections: called before the run starts anything."""
    servers = parse_servers(values, transport)
    for server in servers:
        _check_reachable(server)
    return servers


class McpConnections:
    """The open clients; ``disconnect()`` closes them all (after the run, or when loading fails)."""

    def __init__(self):
        self.clients: list = []

    def disconnect(self) -> None:
        for client in self.clients:
            with contextlib.suppress(Exception):
                client.disconnect()
        self.clients.clear()


def load_mcp_tools(
    values: str | Sequence[str] | None,
    transport: str = "auto",
    reserved: Iterable[str] = (),
    connect_timeout_s: int = CONNECT_TIMEOUT_S,
) -> tuple[list, McpConnections | None]:
    """Every server's tools (prefixed where named), and the connections to close after the run.

    ``reserved``: names of the agents' other tools, which an MCP tool may not take.
    """
    servers = parse_servers(values, transport)
    if not servers:
        return [], None
    try:
        import mcpadapt.core  # noqa: F401  (smolagents' MCPClient needs it, and says so only on use)
        from smolagents import MCPClient
    except ImportError:
        raise AgentConfigError("--mcp-server-url needs the MCP client: pip install 'smoltrace[mcp]'") from None
    owners = {name: "the agents' own tools" for name in reserved}
    connections, tools = McpConnections(), []
    try:
        for server in servers:
            _check_reachable(server)
            with _thread_errors() as errors:
                try:
                    client = MCPClient(
                        {"url": server.url, "transport": server.transport},
                        structured_output=False,
                        adapter_kwargs={"connect_timeout": connect_timeout_s},
                    )
                except Exception as exc:  # noqa: BLE001 - any failure to connect is the server's, said in one line
                    cause = errors[-1] if errors else exc
                    raise AgentConfigError(
                        f"cannot use the MCP server at {server.url} ({server.transport}): {_describe(cause)}"
                    ) from None
            connections.clients.append(client)
            for tool in client.get_tools():
                if server.name:
                    tool.name = f"{server.name}_{tool.name}"
                where = f"the MCP server {server.url}"
                if tool.name in owners:
                    raise AgentConfigError(
                        f"two tools are named {tool.name!r}: from {owners[tool.name]} and from "
                        f"{where}; name the servers (--mcp-server-url NAME=URL) to prefix "
                        "their tools"
                    )
                owners[tool.name] = where
                tools.append(tool)
    except BaseException:
        connections.disconnect()
        raise
    return tools, connections


def _check_reachable(server: McpServer, timeout_s: float = 5.0) -> None:
    """A refused port is said at once, not after the client's 30 s connect timeout."""
    parts = urlsplit(server.url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        socket.create_connection((parts.hostname, port), timeout=timeout_s).close()
    except OSError as exc:
        raise AgentConfigError(f"cannot reach the MCP server at {server.url}: {exc.strerror or exc}") from None


@contextlib.contextmanager
def _thread_errors():
    """The MCP client connects on a thread of its own, whose failure would print a traceback; collect
    it instead, to say what went wrong in one line."""
    errors: list[BaseException] = []
    previous = threading.excepthook
    threading.excepthook = lambda args: errors.append(args.exc_value)
    try:
        yield errors
    finally:
        threading.excepthook = previous


def _describe(exc: BaseException) -> str:
    """The innermost cause of an exception group or chain, as ``Type: message``."""
    while True:
        nested = getattr(exc, "exceptions", None)
        if nested:
            exc = nested[0]
        elif exc.__cause__ is not None:
            exc = exc.__cause__
        else:
            return f"{type(exc).__name__}: {exc}"
