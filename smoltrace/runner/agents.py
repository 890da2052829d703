"""Building the agents under test: a fresh ToolCallingAgent or CodeAgent per task execution (so no
memory leaks from one task into the next), with the suite's tools and any MCP tools."""

from __future__ import annotations

from pathlib import Path

AGENT_TYPES = ("tool", "code")


class AgentConfigError(ValueError):
    pass


def load_prompt_templates(path: str | Path | None) -> dict | None:
    """``--prompt-yml``: a smolagents prompt-templates YAML file (system_prompt, planning, ...)."""
    if path is None:
        return None
    import yaml

    try:
        templates = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise AgentConfigError(f"--prompt-yml: {path} does not exist") from None
    except yaml.YAMLError as exc:
        raise AgentConfigError(f"--prompt-yml: {path} is not valid YAML: {exc}") from None
    if not isinstance(templates, dict) or "system_prompt" not in templates:
        raise AgentConfigError(f"--prompt-yml: {path} must be a mapping with at least a 'system_prompt' key")
    return templates


def load_mcp_tools(url: str | None) -> tuple[list, object | None]:
    """Tools served by an MCP server (streamable HTTP), and the client to close after the run."""
    if not url:
        return [], None
    try:
        from smolagents import MCPClient
    except ImportError:
        raise AgentConfigError("--mcp-server-url needs `pip install 'smolagents[mcp]'`") from None
    try:
        client = MCPClient({"url": url, "transport": "streamable-http"})
    except Exception as exc:
        raise AgentConfigError(f"cannot reach the MCP server at {url}: {exc}") from None
    return list(client.get_tools()), client


def build_agent(agent_type: str, model, tools: list, *, max_steps: int, prompt_templates: dict | None = None,
                verbose: bool = False):  # fmt: skip
    from smolagents import CodeAgent, ToolCallingAgent
    from smolagents.monitoring import LogLevel

    options = dict(tools=tools, model=model, max_steps=max_steps,
                   verbosity_level=LogLevel.INFO if verbose else LogLevel.OFF)  # fmt: skip
    if prompt_templates is not None:
        options["prompt_templates"] = prompt_templates
    if agent_type == "tool":
        return ToolCallingAgent(**options)
    if agent_type == "code":
        return CodeAgent(**options)
    raise AgentConfigError(f"unknown agent type {agent_type!r}; choose tool, code or both")
