"""A local stand-in for the Hugging Face Hub (dataset repos only), for offline tests.

`FakeHub` serves a real HTTP server (Starlette app on uvicorn, background thread) on
127.0.0.1 with an ephemeral port. The unmodified `huggingface_hub` (2.4.0) and `datasets`
(5.2.0) clients talk to it through `HfApi(endpoint=...)` / `HF_ENDPOINT`. The request and
response shapes were taken from the client source in the venv, not guessed.

Usage
-----
    from tests.fakehub import FakeHub

    with FakeHub(tokens={"hf_good": "alice"}) as hub:        # token -> username
        hub.patch_inprocess(monkeypatch, str(tmp_path))      # see "Pointing clients at it"
        api = HfApi(endpoint=hub.endpoint, token="hf_good")
        api.create_repo("alice/results", repo_type="dataset", private=True)
        ...
        hub.repos["alice/results"].files        # {path: bytes} on main
        hub.repos["alice/results"].private, .created_at, .commits, .sha
        hub.fail_next(method="POST", path_prefix="/api/repos/create", status=429, times=1)
        hub.set_created_at("alice/results", datetime(2025, 1, 1, tzinfo=timezone.utc))
        hub.add_repo("alice/old", files={"data/train.parquet": b"..."}, created_at=...)  # seed, no HTTP
        hub.requests        # every request: .method .path .query .status .user
        hub.unhandled       # requests no route matched (answered 404): what the fake lacks

Options: `orgs={"org": ["alice"]}` (members may write to the org namespace);
`page_size=1000` (list/tree page size, paginated with a `Link: <...>; rel="next"` header);
`upload_mode="auto"` (default, like the Hub: `.parquet`/`.arrow`/... files, binary samples
and files over 10 MB must go through LFS, and binary files sent inline are refused with
400) or `"regular"` (every file is accepted inline; for a client that cannot turn Xet off).

Pointing clients at it
----------------------
Both libraries copy `HF_ENDPOINT`, `HF_HUB_OFFLINE`, `HF_HUB_DISABLE_XET` and the cache paths
into module constants *at import time*, and tests/conftest.py sets `HF_HUB_OFFLINE=1` before
anything imports them. So setting env vars inside a test does nothing for this process.

* In-process (`HfApi`, `Dataset.push_to_hub`, `hf_hub_download`):
  `hub.patch_inprocess(monkeypatch, home)` rewrites `huggingface_hub.constants` and
  `datasets.config` (endpoint, offline off, Xet off, cache/token/agent-registry files under
  `home`) via pytest's monkeypatch, restored after the test. Prefer also passing
  `endpoint=hub.endpoint` and an explicit `token=` to `HfApi`.
* `datasets.load_dataset`: run it in a child interpreter, `hub.run_python(code, home, token)`,
  whose environment is `hub.client_env(home, token)`: the env is set before anything is
  imported, so nothing depends on patching `datasets` internals (download/cache code paths
  there capture more constants than `patch_inprocess` can safely list).
* Xet must be off in the client (`HF_HUB_DISABLE_XET=1` / `constants.HF_HUB_DISABLE_XET`; both
  helpers do it): with `hf_xet` installed, the client uploads LFS-mode files through Xet
  storage, which this fake does not implement. `datasets.push_to_hub` needs LFS mode (it
  deletes its temporary shard files after the LFS pre-upload), so keep `upload_mode="auto"`.

Endpoints implemented (datasets only; `{repo}` = `namespace/name`, `{rev}` percent-encoded)
-------------------------------------------------------------------------------------------
    GET    /api/whoami-v2                        401 for a missing or unknown token
    GET    /api/agent-harnesses                  (the client fetches it to build its User-Agent)
    POST   /api/validate-yaml                    README metadata check (YAML front matter)
    POST   /api/repos/create                     type=dataset, visibility/private; 409 if it exists
    DELETE /api/repos/delete                     404 RepoNotFound if missing
    PUT    /api/datasets/{repo}/settings         visibility / private / gated
    GET    /api/datasets                         author, search (substring), sort, direction, limit, full;
                                                 private repos only for their owner; Link pagination
    GET    /api/datasets/{repo}                  dataset_info: sha, private, createdAt, lastModified,
    GET    /api/datasets/{repo}/revision/{rev}   siblings (+size/blobId/lfs with blobs=true), cardData
    GET    /api/datasets/{repo}/tree/{rev}[/{path}]   recursive / non-recursive, paginated
    POST   /api/datasets/{repo}/paths-info/{rev}      form-encoded `paths`; missing paths omitted
    GET    /api/datasets/{repo}/refs             main only
    GET    /api/datasets/{repo}/commits/{rev}    history, newest first
    POST   /api/datasets/{repo}/preupload/{rev}  uploadMode regular|lfs, remote oid (skips no-op uploads)
    POST   /api/datasets/{repo}/commit/{rev}     NDJSON: header, file (base64), lfsFile, deletedFile,
                                                 deletedFolder; parentCommit (412 when stale)
    POST   /datasets/{repo}.git/info/lfs/objects/batch   LFS "basic" transfer; upload href is
    PUT    /__lfs/{sha256}                               this server (sha256 checked)
    GET    /datasets/{repo}/resolve/{rev}/{path} and HEAD: ETag, X-Repo-Commit, Content-Length,
                                                 X-Linked-Etag/-Size for LFS, Range (206/416)

Revisions: `main` or a full commit sha (`RevisionNotFound` otherwise). A new repo holds one
"initial commit" with a `.gitattributes`, as on the Hub.

Errors have the Hub's shape: status, JSON `{"error": message}`, `X-Error-Message` and, where
the Hub sends one, `X-Error-Code` (`RepoNotFound`, `EntryNotFound`, `RevisionNotFound`), so
the client raises its real types: an unknown token is a 401 "Invalid credentials in
Authorization header" on every endpoint (`HfHubHTTPError`); a missing or hidden repo is
`RepositoryNotFoundError` (401 anonymous, 404 signed in); writing elsewhere is a 403;
`fail_next` injects any status (404 carries `RepoNotFound` unless told otherwise).
Note the client itself retries 408/429/5xx on preupload, LFS and listing calls
(`http_backoff`, 1 s first wait), so inject those on create/commit/info to see them raised.

Not implemented (a request for them is answered 404 and listed in `hub.unhandled`)
-----------------------------------------------------------------------------------
Model and Space repos, branches/tags/PRs (`create_pr`, commits to anything but main), move
repo, copies from other repos, Xet storage and its token endpoints, LFS multipart, the
redirect of LFS downloads to a CDN (files are served directly), the dataset viewer
(datasets-server, parquet export `refs/convert/parquet`), gated-access requests, likes,
collections, webhooks, rate-limit headers (unless given to `fail_next(headers=...)`),
token scopes (every known token may write to its user's and orgs' namespaces).

What only the real Hub can show
-------------------------------
Real auth rules (fine-grained tokens, org roles), real rate limits and their timing, Xet
upload/download, the exact set of files the Hub treats as LFS (the fake uses extension,
binary sample and size), eventual consistency (listing right after create/delete is exact
here), dataset viewer processing, server-side card validation details, and error messages
word for word beyond the ones quoted above.
"""

from .server import DEFAULT_ERRORS, FakeHub, FakeHubApp, InjectedFailure, RequestRecord
from .storage import Commit, HubError, HubState, Repo, StoredFile

__all__ = [
    "DEFAULT_ERRORS",
    "Commit",
    "FakeHub",
    "FakeHubApp",
    "HubError",
    "HubState",
    "InjectedFailure",
    "Repo",
    "RequestRecord",
    "StoredFile",
]
