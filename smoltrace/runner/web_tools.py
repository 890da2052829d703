"""Web search for the agents (``web_search``), from the provider ``--search-provider`` names.

- ``duckduckgo`` (default, no key): DuckDuckGo's HTML results page, read as smolagents' ``WebSearchTool``
  reads it.
- ``serper``: Serper's Google search API (``SERPER_API_KEY``): a POST of ``{"q": ...}`` with the
  ``X-API-KEY`` header.
- ``brave``: the Brave Search API (``BRAVE_API_KEY``), through smolagents' ``ApiWebSearchTool``.

SMOLTRACE passed every provider to smolagents' ``GoogleSearchTool``, which knows only SerpAPI and Serper:
``brave`` and ``duckduckgo`` there asked for ``SERPER_API_KEY`` and searched Serper. ``--search-url``
points a provider at another address with the same protocol (a proxy, or a test stand-in).
"""

from __future__ import annotations

import os

from smolagents import Tool
from smolagents.default_tools import ApiWebSearchTool, WebSearchTool

SEARCH_URLS = {
    "duckduckgo": "https://lite.duckduckgo.com/lite/",
    "serper": "https://google.serper.dev/search",
    "brave": "https://api.search.brave.com/res/v1/web/search",
}
SEARCH_KEYS = {"duckduckgo": None, "serper": "SERPER_API_KEY", "brave": "BRAVE_API_KEY"}
TIMEOUT_S = 20


class SearchConfigError(ValueError):
    pass


class DuckDuckGoSearchTool(WebSearchTool):
    """smolagents' DuckDuckGo search, at ``url`` (its lite HTML page)."""

    def __init__(self, url: str | None = None, max_results: int = 10):
        super().__init__(max_results=max_results, engine="duckduckgo")
        self.url = url or SEARCH_URLS["duckduckgo"]

    def search_duckduckgo(self, query: str) -> list:
        import requests

        response = requests.get(self.url, params={"q": query}, headers={"User-Agent": "Mozilla/5.0"}, timeout=TIMEOUT_S)
        response.raise_for_status()
        parser = self._create_duckduckgo_parser()
        parser.feed(response.text)
        return parser.results[: self.max_results]


class SerperSearchTool(Tool):
    name = "web_search"
    description = "Performs a Google web search (through Serper) for your query and returns the top results."
    inputs = {  # noqa: RUF012 - smolagents reads a tool's schema from its class
        "query": {"type": "string", "description": "The search query to perform."},
        "filter_year": {"type": "integer", "description": "Optionally restrict results to a year.", "nullable": True},
    }
    output_type = "string"

    def __init__(self, api_key: str, url: str | None = None):
        super().__init__()
        self.api_key = api_key
        self.url = url or SEARCH_URLS["serper"]

    def forward(self, query: str, filter_year: int | None = None) -> str:
        import requests

        body = {"q": query}
        if filter_year is not None:
            body["tbs"] = f"cdr:1,cd_min:01/01/{filter_year},cd_max:12/31/{filter_year}"
        response = requests.post(self.url, json=body, headers={"X-API-KEY": self.api_key}, timeout=TIMEOUT_S)
        response.raise_for_status()
        results = response.json().get("organic") or []
        if not results:
            return f"No results found for '{query}'. Try a more general query."
        entries = []
        for index, page in enumerate(results):
            date = f"\nDate published: {page['date']}" if page.get("date") else ""
            entries.append(
                f"{index}. [{page.get('title', '')}]({page.get('link', '')}){date}\n{page.get('snippet', '')}"
            )
        return "## Search Results\n" + "\n\n".join(entries)


def search_tool(provider: str, url: str | None = None) -> Tool:
    """The ``web_search`` tool of ``provider``; its API key is read from the environment now, so a
    missing one is said before the run starts."""
    if provider not in SEARCH_URLS:
        raise SearchConfigError(f"--search-provider must be one of {', '.join(SEARCH_URLS)} (got {provider!r})")
    key_name = SEARCH_KEYS[provider]
    key = os.environ.get(key_name) if key_name else None
    if key_name and not key:
        raise SearchConfigError(
            f"--search-provider {provider} needs {key_name} in the environment (or in a .env "
            "file); --search-provider duckduckgo needs no key"
        )
    if provider == "serper":
        return SerperSearchTool(key, url)
    if provider == "brave":
        return ApiWebSearchTool(endpoint=url or SEARCH_URLS["brave"], api_key=key, rate_limit=None)
    return DuckDuckGoSearchTool(url)
