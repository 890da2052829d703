"""Routes that serve the web view's static files: ``GET /`` (the page) and ``GET /static/{path}``.

The files hold no data, so they need no token (the page asks for one when the query API answers 401).
Every answer carries a Content-Security-Policy that allows only this origin's scripts, styles and
queries: a second line of defence behind the pages' own escaping (they only ever set ``textContent``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

STATIC_DIR = Path(__file__).parent / "static"

#: Present on every answer of the view's routes: how ``smoltrace-eval`` tells that a collector serves it.
VIEW_HEADER = "X-Smoltrace-View"

MEDIA_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".txt": "text/plain; charset=utf-8",
}

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)

HEADERS = {
    VIEW_HEADER: "1",
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    # Revalidate on every load (answered 304 when unchanged): an upgraded package shows its new pages.
    "Cache-Control": "no-cache",
}


@dataclass(frozen=True)
class Asset:
    body: bytes
    media_type: str
    etag: str


def load_assets(folder: Path = STATIC_DIR) -> dict[str, Asset]:
    """Every servable file under ``folder``, by its path relative to it (``pages/run.js``)."""
    assets = {}
    for path in sorted(folder.rglob("*")):
        media_type = MEDIA_TYPES.get(path.suffix)
        if path.is_file() and media_type:
            body = path.read_bytes()
            etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
            assets[path.relative_to(folder).as_posix()] = Asset(body, media_type, etag)
    return assets


def _answer(request: Request, asset: Asset) -> Response:
    headers = {**HEADERS, "ETag": asset.etag}
    if request.headers.get("if-none-match") == asset.etag:
        return Response(status_code=304, headers=headers)
    body = b"" if request.method == "HEAD" else asset.body
    headers["Content-Length"] = str(len(asset.body))
    return Response(body, media_type=asset.media_type, headers=headers)


def view_routes(folder: Path = STATIC_DIR) -> list[Route]:
    """``GET /`` and ``GET /static/{path}``; the files are read once, here."""
    assets = load_assets(folder)

    async def index(request: Request) -> Response:
        return _answer(request, assets["index.html"])

    async def static(request: Request) -> Response:
        asset = assets.get(request.path_params["path"])
        if asset is None:
            return PlainTextResponse("not found", status_code=404, headers=HEADERS)
        return _answer(request, asset)

    return [
        Route("/", index, methods=["GET", "HEAD"]),
        Route("/static/{path:path}", static, methods=["GET", "HEAD"]),
    ]


__all__ = ["CONTENT_SECURITY_POLICY", "STATIC_DIR", "VIEW_HEADER", "load_assets", "view_routes"]
