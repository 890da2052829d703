"""Links into the web view, for commands that print where to look (``smoltrace-eval``)."""

from __future__ import annotations

import urllib.error
import urllib.parse
import urllib.request

from smoltrace.web.routes import VIEW_HEADER

PROBE_TIMEOUT_S = 1.0


def view_url(base_url: str, timeout_s: float = PROBE_TIMEOUT_S) -> str | None:
    """``base_url`` + ``/`` when the server there serves the web view, else None.

    Asks ``HEAD /`` (the page needs no token) and looks for the view's header, so that an older
    collector, or any other server on that port, gets no link printed.
    """
    url = base_url.rstrip("/") + "/"
    try:
        request = urllib.request.Request(url, method="HEAD")
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            return url if response.headers.get(VIEW_HEADER) else None
    except (urllib.error.URLError, OSError, ValueError):
        return None


def run_page_url(view: str, run_id: str) -> str:
    """The Run page of ``run_id`` in the view at ``view`` (as ``view_url`` returns it)."""
    return f"{view.rstrip('/')}/#/run/{urllib.parse.quote(run_id, safe='')}"


__all__ = ["run_page_url", "view_url"]
