"""HTTP layer of the stand-in Hub: an ASGI app plus `FakeHub`, which serves it on loopback.

Routing is done by hand on the *raw* request path (not Starlette's router) because the
client percent-encodes revisions and tree paths with `quote(..., safe="")`
(`refs%2Fconvert%2Fparquet`, `data%2Ftrain.parquet`) and those must not be split on
the decoded `/`. See the package docstring for the endpoint list.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from urllib.parse import parse_qs, unquote, urlencode

import uvicorn
import yaml
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from .storage import (
    HubError,
    HubState,
    Repo,
    StoredFile,
    iso,
    repo_not_found,
    tree_id,
)

# Bodies the Hub answers injected / generic errors with (status -> (X-Error-Code, message)).
DEFAULT_ERRORS: dict[int, tuple[str | None, str]] = {
    400: (None, "Bad request"),
    401: (None, "Invalid credentials in Authorization header"),
    403: (None, "You don't have the rights to perform this action"),
    404: ("RepoNotFound", "Repository not found"),
    409: (None, "Conflict"),
    412: (None, "A commit has happened since. Please refresh and try again."),
    429: (None, "You have exceeded our hourly quotas for action: api. We invite you to retry later."),
    500: (None, "Internal Error - We're working hard to fix this as soon as possible!"),
    502: (None, "Bad Gateway"),
    503: (None, "Service Unavailable"),
}

INVALID_TOKEN = "Invalid credentials in Authorization header"
LFS_THRESHOLD = 10 * 1024 * 1024  # the Hub stores files above 10 MB as LFS
LFS_EXTENSIONS = (".parquet", ".arrow", ".bin", ".safetensors", ".zip", ".gz", ".zst")


@dataclass
class InjectedFailure:
    method: str | None
    path_prefix: str
    status: int
    times: int
    message: str
    code: str | None
    headers: dict[str, str]


@dataclass
class RequestRecord:
    method: str
    path: str  # decoded path, no query string
    query: str
    status: int
    user: str | None = None


@dataclass
class _Ctx:
    """What a handler needs besides its URL captures."""

    request: Request
    user: str | None
    body: bytes
    base_url: str
    extra_headers: dict[str, str] = field(default_factory=dict)


def error_response(
    status: int,
    message: str,
    code: str | None = None,
    extra: dict | None = None,
    headers: dict[str, str] | None = None,
    head: bool = False,
) -> Response:
    """The Hub's error shape: JSON `{"error": message}` plus `X-Error-Message`/`X-Error-Code` headers."""
    hdrs = {"X-Error-Message": message, **(headers or {})}
    if code:
        hdrs["X-Error-Code"] = code
    if head:
        return Response(status_code=status, headers=hdrs)
    return JSONResponse({"error": message, **(extra or {})}, status_code=status, headers=hdrs)


class FakeHubApp:
    """The ASGI application. All state lives in `self.state` (a `HubState`)."""

    def __init__(self, tokens: dict[str, str], orgs: dict[str, list[str]], upload_mode: str, page_size: int):
        if upload_mode not in ("regular", "auto"):
            raise ValueError("upload_mode must be 'regular' or 'auto'")
        self.tokens = dict(tokens)
        self.orgs = {org: list(members) for org, members in orgs.items()}
        self.upload_mode = upload_mode
        self.page_size = page_size
        self.state = HubState()
        self.failures: list[InjectedFailure] = []
        self.requests: list[RequestRecord] = []
        self.unhandled: list[str] = []  # "METHOD /path" of requests no route matched (404 answered)
        self.routes: list[tuple[str, re.Pattern, Callable]] = [
            ("GET", re.compile(r"^/api/whoami-v2$"), self.whoami),
            ("GET", re.compile(r"^/api/agent-harnesses$"), self.agent_harnesses),
            ("POST", re.compile(r"^/api/validate-yaml$"), self.validate_yaml),
            ("POST", re.compile(r"^/api/repos/create$"), self.create_repo),
            ("DELETE", re.compile(r"^/api/repos/delete$"), self.delete_repo),
            ("GET", re.compile(r"^/api/datasets$"), self.list_datasets),
            ("GET", re.compile(r"^/api/datasets/(?P<ns>[^/]+)/(?P<name>[^/]+)$"), self.dataset_info),
            (
                "GET",
                re.compile(r"^/api/datasets/(?P<ns>[^/]+)/(?P<name>[^/]+)/revision/(?P<rev>[^/]+)$"),
                self.dataset_info,
            ),
            ("PUT", re.compile(r"^/api/datasets/(?P<ns>[^/]+)/(?P<name>[^/]+)/settings$"), self.update_settings),
            (
                "GET",
                re.compile(r"^/api/datasets/(?P<ns>[^/]+)/(?P<name>[^/]+)/tree/(?P<rev>[^/]+)(?:/(?P<path>.*))?$"),
                self.tree,
            ),
            (
                "POST",
                re.compile(r"^/api/datasets/(?P<ns>[^/]+)/(?P<name>[^/]+)/paths-info/(?P<rev>[^/]+)$"),
                self.paths_info,
            ),
            ("GET", re.compile(r"^/api/datasets/(?P<ns>[^/]+)/(?P<name>[^/]+)/refs$"), self.refs),
            ("GET", re.compile(r"^/api/datasets/(?P<ns>[^/]+)/(?P<name>[^/]+)/commits/(?P<rev>[^/]+)$"), self.commits),
            (
                "POST",
                re.compile(r"^/api/datasets/(?P<ns>[^/]+)/(?P<name>[^/]+)/preupload/(?P<rev>[^/]+)$"),
                self.preupload,
            ),
            ("POST", re.compile(r"^/api/datasets/(?P<ns>[^/]+)/(?P<name>[^/]+)/commit/(?P<rev>[^/]+)$"), self.commit),
            (
                "POST",
                re.compile(r"^/datasets/(?P<ns>[^/]+)/(?P<name>[^/]+)\.git/info/lfs/objects/batch$"),
                self.lfs_batch,
            ),
            ("PUT", re.compile(r"^/__lfs/(?P<oid>[0-9a-f]{64})$"), self.lfs_put),
            (
                "GET",
                re.compile(r"^/datasets/(?P<ns>[^/]+)/(?P<name>[^/]+)/resolve/(?P<rev>[^/]+)/(?P<path>.+)$"),
                self.resolve,
            ),
            (
                "HEAD",
                re.compile(r"^/datasets/(?P<ns>[^/]+)/(?P<name>[^/]+)/resolve/(?P<rev>[^/]+)/(?P<path>.+)$"),
                self.resolve,
            ),
        ]

    # -- ASGI entry point -------------------------------------------------------------

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":  # lifespan is off; websockets are not served
            return
        request = Request(scope, receive)
        raw_path = (scope.get("raw_path") or scope["path"].encode()).decode("latin-1").split("?", 1)[0]
        method = request.method
        record = RequestRecord(method, scope["path"], scope.get("query_string", b"").decode(), 0)
        try:
            response = await self._handle(request, method, raw_path, record)
        except HubError as err:
            response = error_response(err.status, err.message, err.code, err.extra, head=method == "HEAD")
        except Exception as err:  # a bug in the fake: answer 500 like the Hub would, but keep the message
            response = error_response(500, f"FakeHub internal error: {err!r}", head=method == "HEAD")
        record.status = response.status_code
        with self.state.lock:
            self.requests.append(record)
        await response(scope, receive, send)

    async def _handle(self, request: Request, method: str, raw_path: str, record: RequestRecord) -> Response:
        failure = self._take_failure(method, request.url.path)
        if failure is not None:
            return error_response(
                failure.status, failure.message, failure.code, headers=failure.headers, head=method == "HEAD"
            )
        user = self._authenticate(request)
        record.user = user
        for route_method, pattern, handler in self.routes:
            if route_method != method:
                continue
            match = pattern.match(raw_path)
            if match is None:
                continue
            captures = {k: unquote(v) for k, v in match.groupdict().items() if v is not None}
            body = await request.body()
            base_url = f"{request.url.scheme}://{request.url.netloc}"
            return handler(_Ctx(request, user, body, base_url), **captures)
        with self.state.lock:
            self.unhandled.append(f"{method} {request.url.path}")
        return error_response(404, "Sorry, we can't find the page you are looking for.", head=method == "HEAD")

    def _take_failure(self, method: str, path: str) -> InjectedFailure | None:
        with self.state.lock:
            for failure in self.failures:
                if failure.times <= 0:
                    continue
                if failure.method is not None and failure.method != method:
                    continue
                if not path.startswith(failure.path_prefix):
                    continue
                failure.times -= 1
                return failure
        return None

    def _authenticate(self, request: Request) -> str | None:
        """None for anonymous requests; a 401 for a token the Hub does not know (on every endpoint)."""
        header = request.headers.get("authorization")
        if not header:
            return None
        scheme, _, token = header.partition(" ")
        user = self.tokens.get(token.strip()) if scheme.lower() == "bearer" else None
        if user is None:
            raise HubError(401, INVALID_TOKEN)
        return user

    # -- permissions ------------------------------------------------------------------

    def _can_write(self, user: str | None, namespace: str) -> bool:
        return user is not None and (user == namespace or user in self.orgs.get(namespace, []))

    def _readable_repo(self, ctx: _Ctx, repo_id: str) -> Repo:
        """The repo if `ctx.user` may read it; otherwise the Hub's RepoNotFound (401 anonymous, 404 signed in)."""
        with self.state.lock:
            repo = self.state.repos.get(repo_id)
            if repo is None or (repo.private and not self._can_write(ctx.user, repo.namespace)):
                err = repo_not_found()
                if ctx.user is None:
                    err.status = 401
                raise err
            return repo

    def _writable_repo(self, ctx: _Ctx, repo_id: str) -> Repo:
        repo = self._readable_repo(ctx, repo_id)
        if not self._can_write(ctx.user, repo.namespace):
            if ctx.user is None:
                raise HubError(401, "You must be authenticated to access this resource", None)
            raise HubError(403, f"You don't have the rights to write to {repo_id}", None)
        return repo

    # -- account ----------------------------------------------------------------------

    def whoami(self, ctx: _Ctx) -> Response:
        if ctx.user is None:
            raise HubError(401, "Invalid username or password.")
        orgs = [
            {"type": "org", "name": org, "fullname": org, "roleInOrg": "write", "isEnterprise": False}
            for org, members in sorted(self.orgs.items())
            if ctx.user in members
        ]
        return JSONResponse(
            {
                "type": "user",
                "id": hashlib.sha1(ctx.user.encode()).hexdigest()[:24],
                "name": ctx.user,
                "fullname": ctx.user,
                "email": f"{ctx.user}@example.invalid",
                "emailVerified": True,
                "canPay": False,
                "isPro": False,
                "periodEnd": None,
                "avatarUrl": "",
                "orgs": orgs,
                "auth": {"type": "access_token", "accessToken": {"displayName": "fakehub", "role": "write"}},
            }
        )

    def agent_harnesses(self, ctx: _Ctx) -> Response:
        # huggingface_hub fetches this once per process to build its User-Agent.
        return JSONResponse({"standardEnvVars": [], "harnesses": {}})

    def validate_yaml(self, ctx: _Ctx) -> Response:
        payload = json.loads(ctx.body or b"{}")
        content = payload.get("content", "")
        metadata = _front_matter(content)
        if isinstance(metadata, HubError):
            return JSONResponse(
                {"error": metadata.message, "errors": [{"message": metadata.message}], "warnings": []}, status_code=400
            )
        return JSONResponse({"errors": [], "warnings": []})

    # -- repos ------------------------------------------------------------------------

    def _repo_id_from_payload(self, ctx: _Ctx, payload: dict) -> str:
        name = payload.get("name")
        if not name:
            raise HubError(400, "Missing repo name")
        namespace = payload.get("organization") or ctx.user
        if namespace is None:
            raise HubError(401, "You must be authenticated to access this resource")
        return f"{namespace}/{name}"

    def create_repo(self, ctx: _Ctx) -> Response:
        payload = json.loads(ctx.body or b"{}")
        if payload.get("type", "model") != "dataset":
            raise HubError(400, "FakeHub only hosts dataset repos (pass repo_type='dataset')")
        repo_id = self._repo_id_from_payload(ctx, payload)
        namespace = repo_id.split("/")[0]
        if not self._can_write(ctx.user, namespace):
            raise HubError(403, f'You don\'t have the rights to create a dataset under the namespace "{namespace}"')
        if "visibility" in payload:
            private = payload["visibility"] != "public"
        else:
            private = bool(payload.get("private", False))
        url = f"{ctx.base_url}/datasets/{repo_id}"
        try:
            self.state.create_repo(repo_id, private=private, author=ctx.user or "")
        except HubError as err:
            err.extra = {"url": url}
            raise
        return JSONResponse({"url": url, "name": repo_id, "id": hashlib.sha1(repo_id.encode()).hexdigest()[:24]})

    def delete_repo(self, ctx: _Ctx) -> Response:
        payload = json.loads(ctx.body or b"{}")
        if payload.get("type", "model") != "dataset":
            raise repo_not_found()
        repo_id = self._repo_id_from_payload(ctx, payload)
        self._writable_repo(ctx, repo_id)
        self.state.delete_repo(repo_id)
        return Response(status_code=200)

    def update_settings(self, ctx: _Ctx, ns: str, name: str) -> Response:
        repo = self._writable_repo(ctx, f"{ns}/{name}")
        payload = json.loads(ctx.body or b"{}")
        with self.state.lock:
            if "visibility" in payload:
                repo.private = payload["visibility"] != "public"
            if "private" in payload:
                repo.private = bool(payload["private"])
            if "gated" in payload:
                repo.gated = payload["gated"]
        return JSONResponse({"private": repo.private, "gated": repo.gated})

    # -- listing and info -------------------------------------------------------------

    def _dataset_json(self, repo: Repo, revision: str = "main", *, details: bool = False, blobs: bool = False) -> dict:
        commit = repo.commit_at(revision)
        item = {
            "_id": hashlib.sha1(repo.repo_id.encode()).hexdigest()[:24],
            "id": repo.repo_id,
            "author": repo.namespace,
            "sha": commit.oid,
            "createdAt": iso(repo.created_at),
            "lastModified": iso(commit.date),
            "private": repo.private,
            "gated": repo.gated,
            "disabled": False,
            "downloads": 0,
            "likes": 0,
            "tags": [],
            "key": "",
        }
        if details:
            siblings = []
            for path, stored in sorted(commit.files.items()):
                sibling = {"rfilename": path}
                if blobs:
                    sibling.update({"size": stored.size, "blobId": stored.oid})
                    if stored.lfs:
                        sibling["lfs"] = {
                            "sha256": stored.sha256,
                            "size": stored.size,
                            "pointerSize": stored.lfs_info()["pointerSize"],
                        }
                siblings.append(sibling)
            item["siblings"] = siblings
            item["usedStorage"] = sum(f.size for f in commit.files.values())
            readme = commit.files.get("README.md")
            if readme is not None:
                metadata = _front_matter(readme.data.decode("utf-8", "replace"))
                if isinstance(metadata, dict):
                    item["cardData"] = metadata
                    item["tags"] = list(metadata.get("tags") or [])
        return item

    def list_datasets(self, ctx: _Ctx) -> Response:
        params = ctx.request.query_params
        author = params.get("author")
        searches = [s.lower() for s in params.getlist("search")]
        with self.state.lock:
            repos = [
                r
                for r in self.state.repos.values()
                if (not r.private or self._can_write(ctx.user, r.namespace))
                and (author is None or r.namespace == author)
                and all(s in r.repo_id.lower() for s in searches)
            ]
            sort = params.get("sort")
            keys = {
                "createdAt": lambda r: r.created_at,
                "lastModified": lambda r: r.last_modified,
                "id": lambda r: r.repo_id,
            }
            if sort in keys:
                repos.sort(key=keys[sort], reverse=params.get("direction", "-1") == "-1")
            else:  # stable, predictable default
                repos.sort(key=lambda r: r.repo_id)
            limit = int(params["limit"]) if "limit" in params else None
            if limit is not None:
                repos = repos[:limit]
            details = params.get("full") in ("true", "True", "1")
            items = [self._dataset_json(r, details=details) for r in repos]
        return self._paginated(ctx, items)

    def _paginated(self, ctx: _Ctx, items: list) -> Response:
        """One page of `items` with a GitHub-style `Link: <...>; rel="next"` header, as the Hub paginates."""
        start = int(ctx.request.query_params.get("cursor", "0"))
        page = items[start : start + self.page_size]
        headers = {}
        if start + self.page_size < len(items):
            query = [(k, v) for k, v in ctx.request.query_params.multi_items() if k != "cursor"]
            query.append(("cursor", str(start + self.page_size)))
            headers["Link"] = f'<{ctx.base_url}{ctx.request.url.path}?{urlencode(query)}>; rel="next"'
        return JSONResponse(page, headers=headers)

    def dataset_info(self, ctx: _Ctx, ns: str, name: str, rev: str = "main") -> Response:
        repo = self._readable_repo(ctx, f"{ns}/{name}")
        blobs = ctx.request.query_params.get("blobs") in ("true", "True", "1")
        with self.state.lock:
            return JSONResponse(self._dataset_json(repo, rev, details=True, blobs=blobs))

    def refs(self, ctx: _Ctx, ns: str, name: str) -> Response:
        repo = self._readable_repo(ctx, f"{ns}/{name}")
        return JSONResponse(
            {
                "branches": [{"name": "main", "ref": "refs/heads/main", "targetCommit": repo.sha}],
                "converts": [],
                "tags": [],
            }
        )

    def commits(self, ctx: _Ctx, ns: str, name: str, rev: str) -> Response:
        repo = self._readable_repo(ctx, f"{ns}/{name}")
        with self.state.lock:
            head = repo.commit_at(rev)
            history = repo.commits[: repo.commits.index(head) + 1][::-1]
            items = [
                {
                    "id": c.oid,
                    "title": c.title,
                    "message": c.message,
                    "date": iso(c.date),
                    "authors": [{"user": c.author}] if c.author else [],
                }
                for c in history
            ]
        return self._paginated(ctx, items)

    # -- tree -------------------------------------------------------------------------

    @staticmethod
    def _entry(path: str, files: dict[str, StoredFile]) -> dict | None:
        """The tree / paths-info entry of `path`: a file, a directory, or None if absent."""
        if path in files:
            stored = files[path]
            entry = {"type": "file", "oid": stored.oid, "size": stored.size, "path": path}
            if stored.lfs:
                entry["lfs"] = stored.lfs_info()
            return entry
        if any(p.startswith(path + "/") for p in files):
            return {"type": "directory", "oid": tree_id(path, files), "size": 0, "path": path}
        return None

    def tree(self, ctx: _Ctx, ns: str, name: str, rev: str, path: str = "") -> Response:
        repo = self._readable_repo(ctx, f"{ns}/{name}")
        recursive = ctx.request.query_params.get("recursive") in ("true", "True", "1")
        path = path.strip("/")
        with self.state.lock:
            files = repo.commit_at(rev).files
            if path and (self._entry(path, files) or {}).get("type") != "directory":
                raise HubError(404, f'Entry not found: {path} does not exist on "{rev}"', "EntryNotFound")
            prefix = path + "/" if path else ""
            paths: set[str] = set()
            for file_path in files:
                if not file_path.startswith(prefix):
                    continue
                parts = file_path[len(prefix) :].split("/")
                # every folder level below `path` (recursive) or just the first one
                for depth in range(1, len(parts) + 1 if recursive else 2):
                    paths.add(prefix + "/".join(parts[:depth]))
            items = [self._entry(p, files) for p in sorted(paths)]
            # The Hub lists folders before files at each level; callers must not rely on order.
        return self._paginated(ctx, items)

    def paths_info(self, ctx: _Ctx, ns: str, name: str, rev: str) -> Response:
        repo = self._readable_repo(ctx, f"{ns}/{name}")
        if ctx.request.headers.get("content-type", "").startswith("application/json"):
            paths = json.loads(ctx.body or b"{}").get("paths", [])
        else:
            paths = parse_qs(ctx.body.decode()).get("paths", [])
        with self.state.lock:
            files = repo.commit_at(rev).files
            entries = [self._entry(p.strip("/"), files) for p in paths]
        return JSONResponse([e for e in entries if e is not None])

    # -- upload -----------------------------------------------------------------------

    def _check_main(self, rev: str) -> None:
        if rev != "main":
            raise HubError(404, f"Invalid rev id: {rev} (FakeHub only accepts commits to main)", "RevisionNotFound")

    def _wants_lfs(self, path: str, size: int, sample: bytes) -> bool:
        if self.upload_mode == "regular":
            return False
        return size > LFS_THRESHOLD or path.endswith(LFS_EXTENSIONS) or b"\0" in sample

    def preupload(self, ctx: _Ctx, ns: str, name: str, rev: str) -> Response:
        repo = self._writable_repo(ctx, f"{ns}/{name}")
        self._check_main(rev)
        if ctx.request.query_params.get("create_pr"):
            raise HubError(400, "FakeHub does not support pull requests")
        payload = json.loads(ctx.body or b"{}")
        answers = []
        with self.state.lock:
            files = repo.head.files
            for item in payload.get("files", []):
                path = item["path"]
                mode = (
                    "lfs"
                    if self._wants_lfs(path, int(item["size"]), base64.b64decode(item.get("sample", "")))
                    else "regular"
                )
                existing = files.get(path)
                remote_oid = None
                if existing is not None:
                    remote_oid = existing.sha256 if existing.lfs else existing.oid
                answers.append({"path": path, "uploadMode": mode, "shouldIgnore": False, "oid": remote_oid})
            head = repo.sha
        return JSONResponse({"files": answers, "commitOid": head})

    def commit(self, ctx: _Ctx, ns: str, name: str, rev: str) -> Response:
        repo_id = f"{ns}/{name}"
        self._writable_repo(ctx, repo_id)
        self._check_main(rev)
        if ctx.request.query_params.get("create_pr"):
            raise HubError(400, "FakeHub does not support pull requests")
        header: dict = {}
        operations: list[tuple[str, str, object]] = []
        for line in ctx.body.splitlines():
            if not line.strip():
                continue
            item = json.loads(line)
            key, value = item.get("key"), item.get("value", {})
            if key == "header":
                header = value
            elif key == "file":
                if value.get("encoding") == "base64":
                    data = base64.b64decode(value["content"])
                else:
                    data = value["content"].encode()
                if self._wants_lfs(value["path"], len(data), data[:512]):
                    raise HubError(
                        400,
                        "Your push was rejected because it contains binary files. "
                        "Please use https://huggingface.co/docs/hub/xet to store binary files.",
                    )
                operations.append(("add", value["path"], StoredFile(data)))
            elif key == "lfsFile":
                operations.append(("lfs", value["path"], (value["oid"], value.get("size"))))
            elif key == "deletedFile":
                operations.append(("delete_file", value["path"], None))
            elif key == "deletedFolder":
                operations.append(("delete_folder", value["path"], None))
            else:
                raise HubError(400, f"Unknown commit operation key: {key!r}")
        if not header.get("summary"):
            raise HubError(400, "Commit summary is required")
        commit = self.state.commit(
            repo_id,
            author=ctx.user or "",
            title=header["summary"],
            message=header.get("description", ""),
            parent_commit=header.get("parentCommit"),
            operations=operations,
        )
        return JSONResponse(
            {
                "success": True,
                "commitOid": commit.oid,
                "commitUrl": f"{ctx.base_url}/datasets/{repo_id}/commit/{commit.oid}",
                "hookOutput": "",
            }
        )

    def lfs_batch(self, ctx: _Ctx, ns: str, name: str) -> Response:
        self._writable_repo(ctx, f"{ns}/{name}")
        payload = json.loads(ctx.body or b"{}")
        if payload.get("operation") != "upload":
            raise HubError(400, "FakeHub only implements LFS uploads")
        objects = []
        for obj in payload.get("objects", []):
            answer = {"oid": obj["oid"], "size": obj["size"], "authenticated": True}
            with self.state.lock:
                present = obj["oid"] in self.state.lfs_objects
            if not present:
                answer["actions"] = {"upload": {"href": f"{ctx.base_url}/__lfs/{obj['oid']}", "expires_in": 86400}}
            objects.append(answer)
        return JSONResponse(
            {"transfer": "basic", "objects": objects}, headers={"Content-Type": "application/vnd.git-lfs+json"}
        )

    def lfs_put(self, ctx: _Ctx, oid: str) -> Response:
        if hashlib.sha256(ctx.body).hexdigest() != oid:
            raise HubError(400, "sha256 of the uploaded content does not match the object id")
        with self.state.lock:
            self.state.lfs_objects[oid] = ctx.body
        return Response(status_code=200)

    # -- download ---------------------------------------------------------------------

    def resolve(self, ctx: _Ctx, ns: str, name: str, rev: str, path: str) -> Response:
        repo = self._readable_repo(ctx, f"{ns}/{name}")
        with self.state.lock:
            commit = repo.commit_at(rev)
            stored = commit.files.get(path)
        if stored is None:
            raise HubError(404, "Entry not found", "EntryNotFound")
        headers = {
            "ETag": f'"{stored.etag}"',
            "X-Repo-Commit": commit.oid,
            "Accept-Ranges": "bytes",
            "Content-Type": "application/octet-stream",
            "Content-Disposition": f'inline; filename="{path.rsplit("/", 1)[-1]}"',
        }
        if stored.lfs:
            headers["X-Linked-Etag"] = f'"{stored.sha256}"'
            headers["X-Linked-Size"] = str(stored.size)
        data, status = stored.data, 200
        range_header = ctx.request.headers.get("range")
        if range_header:
            span = _parse_range(range_header, len(data))
            if span is None:
                headers["Content-Range"] = f"bytes */{len(data)}"
                return Response(status_code=416, headers=headers)
            start, end = span
            headers["Content-Range"] = f"bytes {start}-{end}/{len(data)}"
            data, status = data[start : end + 1], 206
        headers["Content-Length"] = str(len(data))
        if ctx.request.method == "HEAD":
            return Response(status_code=status, headers=headers)
        return Response(content=data, status_code=status, headers=headers)


def _parse_range(header: str, size: int) -> tuple[int, int] | None:
    """'bytes=a-b' / 'bytes=a-' / 'bytes=-n' -> inclusive (start, end); None if unsatisfiable."""
    match = re.fullmatch(r"\s*bytes=(\d*)-(\d*)\s*", header)
    if match is None:
        return None
    first, last = match.groups()
    if first == "":
        if last == "":
            return None
        start, end = max(0, size - int(last)), size - 1
    else:
        start = int(first)
        end = min(int(last), size - 1) if last else size - 1
    if start >= size or start > end:
        return None
    return start, end


def _front_matter(content: str) -> dict | HubError | None:
    """The YAML block between leading '---' lines of a README, as the Hub parses it."""
    match = re.match(r"^---\s*\n(.*?)\n---\s*(\n|$)", content, flags=re.DOTALL)
    if match is None:
        return None
    try:
        metadata = yaml.safe_load(match.group(1))
    except yaml.YAMLError as err:
        return HubError(400, f"Invalid YAML in README.md metadata: {err}")
    if metadata is None:
        return {}
    if not isinstance(metadata, dict):
        return HubError(400, "README.md metadata must be a YAML mapping")
    return metadata


class FakeHub:
    """A stand-in Hugging Face Hub served on 127.0.0.1 (ephemeral port) from a background thread.

    Use as a context manager; the server is stopped on exit. See the package docstring.
    """

    def __init__(
        self,
        tokens: dict[str, str] | None = None,
        *,
        orgs: dict[str, list[str]] | None = None,
        upload_mode: str = "auto",
        page_size: int = 1000,
    ):
        self.app = FakeHubApp(tokens or {}, orgs or {}, upload_mode, page_size)
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None
        self.endpoint = ""

    # -- lifecycle --------------------------------------------------------------------

    def start(self) -> FakeHub:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self._socket = sock
        self.endpoint = f"http://127.0.0.1:{sock.getsockname()[1]}"
        config = uvicorn.Config(
            self.app, lifespan="off", log_level="warning", access_log=False, timeout_graceful_shutdown=1
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name="fakehub", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("FakeHub server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self._socket is not None:
            self._socket.close()
        self._server = self._thread = self._socket = None

    def __enter__(self) -> FakeHub:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- inspection -------------------------------------------------------------------

    @property
    def repos(self) -> dict[str, Repo]:
        """Live dataset repos by id: `.private`, `.files` (path -> bytes on main), `.commits`, `.created_at`, `.sha`."""
        return self.app.state.repos

    @property
    def requests(self) -> list[RequestRecord]:
        """Every request served, in order: `.method`, `.path` (decoded), `.query`, `.status`, `.user`."""
        return self.app.requests

    @property
    def unhandled(self) -> list[str]:
        """'METHOD /path' of requests no route matched (answered 404): what the fake lacks."""
        return self.app.unhandled

    # -- test controls ----------------------------------------------------------------

    def fail_next(
        self,
        method: str | None = None,
        path_prefix: str = "/",
        status: int = 500,
        times: int = 1,
        *,
        message: str | None = None,
        error_code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        """Answer the next `times` requests matching `method` (None = any) and the decoded path prefix
        with `status`, shaped like the Hub's errors (see DEFAULT_ERRORS). A 404 carries
        `X-Error-Code: RepoNotFound` unless `error_code` says otherwise (e.g. "EntryNotFound")."""
        default_code, default_message = DEFAULT_ERRORS.get(status, (None, f"HTTP {status}"))
        with self.app.state.lock:
            self.app.failures.append(
                InjectedFailure(
                    method=method.upper() if method else None,
                    path_prefix=path_prefix,
                    status=status,
                    times=times,
                    message=message or default_message,
                    code=error_code if error_code is not None else default_code,
                    headers=dict(headers or {}),
                )
            )

    def add_repo(
        self,
        repo_id: str,
        *,
        private: bool = False,
        files: dict[str, bytes] | None = None,
        created_at: datetime | None = None,
        lfs: bool | None = None,
    ) -> Repo:
        """Create a dataset repo directly in the state (no HTTP), optionally with one commit of `files`.
        Files are stored as LFS where this hub's `upload_mode` would require it, unless `lfs` says."""
        state = self.app.state
        with state.lock:
            namespace = repo_id.split("/", 1)[0]
            repo = state.create_repo(repo_id, private=private, author=namespace)
            if files:
                state.commit(
                    repo_id,
                    author=namespace,
                    title="Upload files",
                    message="",
                    parent_commit=None,
                    operations=[
                        (
                            "add",
                            path,
                            StoredFile(
                                data, lfs=self.app._wants_lfs(path, len(data), data[:512]) if lfs is None else lfs
                            ),
                        )
                        for path, data in files.items()
                    ],
                )
            if created_at is not None:
                self.set_created_at(repo_id, created_at)
            return repo

    def set_created_at(self, repo_id: str, when: datetime) -> None:
        """Backdate a repo's `createdAt` (what age-based cleanup reads). Naive datetimes are taken as UTC."""
        with self.app.state.lock:
            self.app.state.get(repo_id).created_at = _aware(when)

    def set_last_modified(self, repo_id: str, when: datetime) -> None:
        """Backdate a repo's `lastModified` (the date of its head commit)."""
        with self.app.state.lock:
            self.app.state.get(repo_id).head.date = _aware(when)

    def patch_inprocess(self, monkeypatch, home: str, token: str | None = None) -> None:
        """Point the already-imported `huggingface_hub` (and `datasets`, if installed) of *this*
        process at the fake, online, with caches/token files under `home`.

        Both libraries copy `HF_ENDPOINT`, `HF_HUB_OFFLINE` and cache paths into module
        constants at import time, and tests/conftest.py imports with `HF_HUB_OFFLINE=1`, so
        setting env vars afterwards is not enough: this rewrites the constants the clients read
        at call time (`huggingface_hub.constants.*`, `datasets.config.*`) through `monkeypatch`
        (pytest's fixture), so everything is restored after the test. Env vars are set too, for
        code that reads them at call time (e.g. `HF_TOKEN`) and for child processes.
        """
        import huggingface_hub.constants as hf_constants

        env = self.client_env(home, token)
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        if token is None:
            monkeypatch.delenv("HF_TOKEN", raising=False)
        for name, value in {
            "ENDPOINT": self.endpoint,
            "HUGGINGFACE_CO_URL_TEMPLATE": self.endpoint + "/{repo_id}/resolve/{revision}/{filename}",
            "HF_HUB_OFFLINE": False,
            "HF_HUB_DISABLE_XET": True,  # so upload_mode="auto" uses the LFS protocol this fake speaks
            "HF_HUB_DISABLE_TELEMETRY": True,
            "HF_HOME": home,
            "HF_HUB_CACHE": env["HF_HUB_CACHE"],
            "HF_ASSETS_CACHE": f"{home}/assets",
            "HF_XET_CACHE": env["HF_XET_CACHE"],
            "HF_TOKEN_PATH": f"{home}/token",
            "HF_STORED_TOKENS_PATH": f"{home}/stored_tokens",
            "AGENT_HARNESSES_PATH": f"{home}/.agent_harnesses.json",
        }.items():
            monkeypatch.setattr(hf_constants, name, value)
        try:
            import datasets.config as ds_config
        except ImportError:  # pragma: no cover - datasets is a smoltrace dependency
            return
        from pathlib import Path

        for name, value in {
            "HF_ENDPOINT": self.endpoint,
            "HUB_DATASETS_URL": self.endpoint + "/datasets/{repo_id}/resolve/{revision}/{path}",
            "HF_HUB_OFFLINE": False,
            "HF_DATASETS_OFFLINE": False,
            "HF_CACHE_HOME": home,
            "HF_DATASETS_CACHE": Path(env["HF_DATASETS_CACHE"]),
            "HF_MODULES_CACHE": Path(f"{home}/modules"),
            "DOWNLOADED_DATASETS_PATH": Path(env["HF_DATASETS_CACHE"]) / "downloads",
            "EXTRACTED_DATASETS_PATH": Path(env["HF_DATASETS_CACHE"]) / "downloads" / "extracted",
        }.items():
            monkeypatch.setattr(ds_config, name, value)

    def run_python(self, code: str, home: str, token: str | None = None, timeout: float = 120):
        """Run `code` in a fresh interpreter whose environment points at this fake (see `client_env`).
        The robust way to exercise `datasets.load_dataset`: nothing was imported before the env is set.
        Returns the `subprocess.CompletedProcess` (text mode, output captured)."""
        import os
        import subprocess
        import sys

        env = {k: v for k, v in os.environ.items() if k != "HF_TOKEN"}
        env.update(self.client_env(home, token))
        return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=timeout)

    def client_env(self, home: str, token: str | None = None) -> dict[str, str]:
        """Environment variables that point a *fresh* Python process (huggingface_hub, datasets)
        at this fake, online, with every cache under `home`. Merge into os.environ for a subprocess."""
        env = {
            "HF_ENDPOINT": self.endpoint,
            "HF_HOME": home,
            "HF_HUB_CACHE": f"{home}/hub",
            "HF_DATASETS_CACHE": f"{home}/datasets",
            "HF_XET_CACHE": f"{home}/xet",
            "HF_HUB_OFFLINE": "0",
            "HF_DATASETS_OFFLINE": "0",
            "TRANSFORMERS_OFFLINE": "0",
            "HF_HUB_DISABLE_TELEMETRY": "1",
            "HF_HUB_DISABLE_PROGRESS_BARS": "1",
            "HF_HUB_DISABLE_XET": "1",
            "HF_DATASETS_DISABLE_PROGRESS_BARS": "1",
        }
        if token is not None:
            env["HF_TOKEN"] = token
        return env


def _aware(when: datetime) -> datetime:
    return when if when.tzinfo is not None else when.replace(tzinfo=timezone.utc)


__all__ = ["FakeHub", "FakeHubApp", "RequestRecord", "InjectedFailure", "DEFAULT_ERRORS"]
