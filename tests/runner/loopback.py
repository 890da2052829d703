"""A tiny HTTP server on 127.0.0.1 for stand-ins of web APIs (a search provider, a web page), with every
request recorded, so a test can check what the real client sent."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def json(self):
        return json.loads(self.body)


#: a route answers (status, content type, body)
Route = Callable[[Request], tuple[int, str, bytes]]


def json_reply(document, status: int = 200) -> Route:
    return lambda request: (status, "application/json", json.dumps(document).encode())


def html_reply(text: str, status: int = 200) -> Route:
    return lambda request: (status, "text/html; charset=utf-8", text.encode())


class Loopback:
    """``routes``: ``{"GET /path": route}``; anything else is a 404. Use as a context manager."""

    def __init__(self, routes: dict[str, Route]):
        self.routes = routes
        self.requests: list[Request] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self):
                parts = urlsplit(self.path)
                length = int(self.headers.get("content-length") or 0)
                request = Request(
                    self.command,
                    parts.path,
                    parse_qs(parts.query),
                    {k.lower(): v for k, v in self.headers.items()},
                    self.rfile.read(length),
                )
                owner.requests.append(request)
                route = owner.routes.get(f"{self.command} {parts.path}")
                status, kind, body = route(request) if route else (404, "text/plain", b"not found")
                self.send_response(status)
                self.send_header("content-type", kind)
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = _serve

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="loopback", daemon=True)

    def __enter__(self) -> Loopback:  # noqa: PYI034
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()
