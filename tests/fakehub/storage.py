"""In-memory state of the stand-in Hub: dataset repos, their commits and files.

Nothing here knows about HTTP. `server.py` turns requests into calls on `HubState`
and turns `HubError` into the Hub's error responses.

Object ids follow git where it is cheap to do so:

* a regular file's `oid` is the git blob sha1 of its bytes (what `huggingface_hub`
  compares against its local `sha.git_hash` to skip unchanged files);
* an LFS file's `oid` is the git blob sha1 of its LFS pointer, and its `lfs.oid` is
  the sha256 of its bytes (as on the Hub);
* commit and folder ids are sha1 digests of their content (not real git objects).
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone

# What the Hub puts in every new repo (shortened: the real file lists ~30 patterns).
DEFAULT_GITATTRIBUTES = (
    b"*.arrow filter=lfs diff=lfs merge=lfs -text\n"
    b"*.parquet filter=lfs diff=lfs merge=lfs -text\n"
    b"*.bin filter=lfs diff=lfs merge=lfs -text\n"
)


def git_blob_sha1(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def lfs_pointer(sha256: str, size: int) -> bytes:
    return f"version https://git-lfs.github.com/spec/v1\noid sha256:{sha256}\nsize {size}\n".encode()


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def iso(dt: datetime) -> str:
    """The Hub's timestamp format: '2025-01-01T00:00:00.000Z'."""
    dt = dt.astimezone(timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


class HubError(Exception):
    """An error the Hub answers with: status, `X-Error-Code` (may be None) and message."""

    def __init__(self, status: int, message: str, code: str | None = None, extra: dict | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.extra = extra or {}


def repo_not_found() -> HubError:
    return HubError(404, "Repository not found", "RepoNotFound")


@dataclass(frozen=True)
class StoredFile:
    data: bytes
    lfs: bool = False

    @property
    def size(self) -> int:
        return len(self.data)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    @property
    def oid(self) -> str:
        if self.lfs:
            return git_blob_sha1(lfs_pointer(self.sha256, self.size))
        return git_blob_sha1(self.data)

    @property
    def etag(self) -> str:
        """The ETag the Hub sends on `resolve`: sha256 for LFS files, the git blob id otherwise."""
        return self.sha256 if self.lfs else self.oid

    def lfs_info(self) -> dict | None:
        if not self.lfs:
            return None
        return {"oid": self.sha256, "size": self.size, "pointerSize": len(lfs_pointer(self.sha256, self.size))}


@dataclass
class Commit:
    oid: str
    title: str
    message: str
    author: str
    date: datetime
    parents: list[str]
    files: dict[str, StoredFile]  # full snapshot of the tree at this commit


@dataclass
class Repo:
    """One dataset repo. `files` is the content of `main` as path -> bytes."""

    repo_id: str
    private: bool
    created_at: datetime
    commits: list[Commit] = field(default_factory=list)  # oldest first; the last one is `main`
    gated: bool | str = False

    @property
    def namespace(self) -> str:
        return self.repo_id.split("/", 1)[0]

    @property
    def head(self) -> Commit:
        return self.commits[-1]

    @property
    def sha(self) -> str:
        return self.head.oid

    @property
    def last_modified(self) -> datetime:
        return self.head.date

    @property
    def files(self) -> dict[str, bytes]:
        return {path: f.data for path, f in sorted(self.head.files.items())}

    @property
    def stored_files(self) -> dict[str, StoredFile]:
        return self.head.files

    def commit_at(self, revision: str) -> Commit:
        """Resolve 'main' or a full commit sha; anything else is the Hub's RevisionNotFound."""
        if revision == "main":
            return self.head
        for commit in self.commits:
            if commit.oid == revision:
                return commit
        raise HubError(404, f"Invalid rev id: {revision}", "RevisionNotFound")


class HubState:
    """All repos plus the LFS object store. Every public method takes the lock."""

    def __init__(self):
        self.lock = threading.RLock()
        self.repos: dict[str, Repo] = {}
        self.lfs_objects: dict[str, bytes] = {}  # sha256 -> bytes uploaded through the LFS batch API

    # -- repos ------------------------------------------------------------------------

    def create_repo(self, repo_id: str, private: bool, author: str) -> Repo:
        with self.lock:
            if repo_id in self.repos:
                raise HubError(409, "You already created this dataset repo", None)
            now = utcnow()
            repo = Repo(repo_id=repo_id, private=private, created_at=now)
            repo.commits.append(
                _make_commit(
                    title="initial commit",
                    message="",
                    author=author,
                    parents=[],
                    files={".gitattributes": StoredFile(DEFAULT_GITATTRIBUTES)},
                    date=now,
                    salt=repo_id,
                )
            )
            self.repos[repo_id] = repo
            return repo

    def get(self, repo_id: str) -> Repo:
        with self.lock:
            repo = self.repos.get(repo_id)
            if repo is None:
                raise repo_not_found()
            return repo

    def delete_repo(self, repo_id: str) -> None:
        with self.lock:
            if self.repos.pop(repo_id, None) is None:
                raise repo_not_found()

    # -- commits ----------------------------------------------------------------------

    def commit(
        self,
        repo_id: str,
        *,
        author: str,
        title: str,
        message: str,
        parent_commit: str | None,
        operations: list[tuple[str, str, object]],
    ) -> Commit:
        """Apply ('add', path, StoredFile) / ('lfs', path, (sha256, size)) /
        ('delete_file', path, None) / ('delete_folder', path, None) atomically on `main`."""
        with self.lock:
            repo = self.get(repo_id)
            if parent_commit is not None and parent_commit != repo.sha:
                raise HubError(412, "A commit has happened since. Please refresh and try again.", None)
            files = dict(repo.head.files)
            for kind, path, payload in operations:
                if kind == "add":
                    files[path] = payload  # type: ignore[assignment]
                elif kind == "lfs":
                    sha256, _size = payload  # type: ignore[misc]
                    data = self.lfs_objects.get(sha256)
                    if data is None:  # a copy of an LFS file that is already in the repo
                        data = next((f.data for f in files.values() if f.lfs and f.sha256 == sha256), None)
                    if data is None:
                        raise HubError(
                            422,
                            f"Your push was rejected because an LFS pointer pointed to a file that does not exist. For instance: {path}",
                            None,
                        )
                    files[path] = StoredFile(data, lfs=True)
                elif kind == "delete_file":
                    if path not in files:
                        raise HubError(404, f"A file with this name doesn't exist: {path}", "EntryNotFound")
                    del files[path]
                elif kind == "delete_folder":
                    prefix = path.rstrip("/") + "/"
                    doomed = [p for p in files if p.startswith(prefix)]
                    if not doomed:
                        raise HubError(404, f"A folder with this name doesn't exist: {path}", "EntryNotFound")
                    for p in doomed:
                        del files[p]
                else:  # pragma: no cover - server.py only builds the kinds above
                    raise HubError(400, f"Unknown operation {kind}")
            commit = _make_commit(
                title=title,
                message=message,
                author=author,
                parents=[repo.sha],
                files=files,
                date=utcnow(),
                salt=repo_id,
            )
            repo.commits.append(commit)
            return commit


_commit_counter = 0
_counter_lock = threading.Lock()


def _make_commit(*, title, message, author, parents, files, date, salt) -> Commit:
    global _commit_counter
    with _counter_lock:
        _commit_counter += 1
        n = _commit_counter
    digest = hashlib.sha1()
    digest.update(f"{salt}\n{n}\n{title}\n{message}\n{author}\n{date.isoformat()}\n{parents}\n".encode())
    for path in sorted(files):
        digest.update(f"{path}\0{files[path].oid}\n".encode())
    return Commit(
        oid=digest.hexdigest(), title=title, message=message, author=author, date=date, parents=parents, files=files
    )


def tree_id(prefix: str, files: dict[str, StoredFile]) -> str:
    """A stable id for a folder: sha1 over the paths and oids below it."""
    digest = hashlib.sha1(b"tree\0" + prefix.encode())
    for path in sorted(files):
        if path.startswith(prefix + "/"):
            digest.update(f"{path}\0{files[path].oid}\n".encode())
    return digest.hexdigest()
