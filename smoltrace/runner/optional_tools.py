"""``--enable-tools``: tools added to the suite's own, by SMOLTRACE's names.

smolagents' tools (``visit_webpage``, ``python_interpreter``), web search (``google_search`` through
``--search-provider``; ``duckduckgo_search``), and SMOLTRACE's file tools kept inside
``--working-directory``. Every name is checked, and every tool built once, before the run starts: an
unknown name, a missing API key or a missing package is said then, not in the middle of a run.

SMOLTRACE always gave its agents DuckDuckGo search and a Python interpreter; here the default tools are
the suite's deterministic ones (results must not depend on the web), and those two are opt-in.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from smolagents import Tool

from smoltrace.runner.file_tools import FILE_TOOLS
from smoltrace.runner.web_tools import search_tool

#: name -> what it gives the agents (shown in --help)
OPTIONAL_TOOLS = {
    "google_search": "web_search through --search-provider",
    "duckduckgo_search": "web_search on DuckDuckGo, no key",
    "visit_webpage": "smolagents' VisitWebpageTool, a page as markdown",
    "python_interpreter": "smolagents' PythonInterpreterTool",
    "read_file": "read a file in --working-directory",
    "write_file": "write a file in --working-directory",
    "list_directory": "list a folder in --working-directory",
    "search_files": "find files by name or content in --working-directory",
}
BASE_INTERPRETER_IMPORTS = ("numpy", "sympy", "math", "statistics", "datetime")  # SMOLTRACE's list


class ToolConfigError(ValueError):
    pass


def optional_tools(
    names: Sequence[str],
    *,
    search_provider: str = "duckduckgo",
    search_url: str | None = None,
    working_directory: str | Path | None = None,
    additional_imports: Sequence[str] = (),
) -> list[Tool]:
    """Fresh instances of the named tools (an agent may keep state on its tools)."""
    unknown = [name for name in names if name not in OPTIONAL_TOOLS]
    if unknown:
        raise ToolConfigError(
            f"--enable-tools: unknown tool {', '.join(map(repr, unknown))}; choose from {', '.join(OPTIONAL_TOOLS)}"
        )
    tools = []
    for name in dict.fromkeys(names):
        if name == "google_search":
            tools.append(search_tool(search_provider, search_url))
        elif name == "duckduckgo_search":
            tools.append(search_tool("duckduckgo", search_url if search_provider == "duckduckgo" else None))
        elif name == "visit_webpage":
            tools.append(_visit_webpage())
        elif name == "python_interpreter":
            from smolagents.default_tools import PythonInterpreterTool

            imports = list(dict.fromkeys([*BASE_INTERPRETER_IMPORTS, *additional_imports]))
            tools.append(PythonInterpreterTool(authorized_imports=imports))
        else:
            tools.append(FILE_TOOLS[name](working_dir=working_directory))
    return tools


def check_working_directory(path: str | Path | None) -> Path:
    folder = Path(path).expanduser() if path is not None else Path.cwd()
    if not folder.is_dir():
        raise ToolConfigError(f"--working-directory: {folder} is not a folder")
    return folder.resolve()


def _visit_webpage() -> Tool:
    try:
        import markdownify  # noqa: F401  (the tool imports it only when first called)
    except ImportError:
        raise ToolConfigError(
            "--enable-tools visit_webpage needs markdownify: pip install 'smoltrace[tools]'"
        ) from None
    from smolagents.default_tools import VisitWebpageTool

    return VisitWebpageTool()
