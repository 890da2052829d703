"""The built-in web view: static pages that read the store through the query API, like any other client.

``smoltrace-collector`` serves it at ``/`` on its HTTP port (``view_routes``), and ``smoltrace-view``
serves a store file read-only (``ViewServer``). The pages are plain HTML, CSS and ES modules under
``static/``: no build step, no network access, every query in ``static/queries.js``.
"""

from smoltrace.web.links import run_page_url, view_url
from smoltrace.web.routes import VIEW_HEADER, view_routes

__all__ = ["VIEW_HEADER", "run_page_url", "view_routes", "view_url"]
