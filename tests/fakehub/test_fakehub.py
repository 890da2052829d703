"""The stand-in Hub, driven through the real `huggingface_hub` and `datasets` clients.

In-process tests use `HfApi(endpoint=hub.endpoint, token=...)` after `hub.patch_inprocess`
(tests/conftest.py imported the clients with HF_HUB_OFFLINE=1); `datasets.load_dataset`
runs in a child interpreter whose environment points at the fake (`hub.run_python`).
"""

from __future__ import annotations

import io
import json
import socket
from datetime import datetime, timezone

import httpx
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from huggingface_hub import CommitOperationAdd, CommitOperationDelete, HfApi
from huggingface_hub.errors import HfHubHTTPError, RemoteEntryNotFoundError, RepositoryNotFoundError

from tests.fakehub import FakeHub

TOKENS = {"hf_good": "alice", "hf_bob": "bob"}
# huggingface_hub's own LFS PUT passes `data=bytes` to httpx2, which warns; not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")

README = b"---\nlicense: apache-2.0\npretty_name: smoltrace results\n---\n# Results\n"


def parquet_bytes(rows: list[dict]) -> bytes:
    buffer = io.BytesIO()
    pq.write_table(pa.Table.from_pylist(rows), buffer)
    return buffer.getvalue()


@pytest.fixture
def hub_tokens():
    return TOKENS


@pytest.fixture
def api(hub):
    return HfApi(endpoint=hub.endpoint, token="hf_good")


def test_whoami_with_good_and_bad_token(hub, api):
    me = api.whoami()
    assert me["name"] == "alice"
    assert me["type"] == "user"

    with pytest.raises(HfHubHTTPError) as excinfo:
        HfApi(endpoint=hub.endpoint, token="hf_bad").whoami()
    assert excinfo.value.response.status_code == 401
    assert excinfo.value.response.headers["X-Error-Message"] == "Invalid credentials in Authorization header"
    assert excinfo.value.response.json() == {"error": "Invalid credentials in Authorization header"}
    assert "Invalid user token." in str(excinfo.value)


def test_bad_token_is_rejected_on_every_endpoint(hub):
    with pytest.raises(HfHubHTTPError) as excinfo:
        list(HfApi(endpoint=hub.endpoint, token="hf_bad").list_datasets(author="alice"))
    assert excinfo.value.response.status_code == 401
    assert not isinstance(excinfo.value, RepositoryNotFoundError)


def test_private_dataset_roundtrip_through_load_dataset(hub, api, home):
    repo_id = "alice/smoltrace-results-20250101_000000"
    rows = [{"task_id": "t1", "success": True, "tokens": 120}, {"task_id": "t2", "success": False, "tokens": 7}]

    url = api.create_repo(repo_id, repo_type="dataset", private=True)
    assert url == f"{hub.endpoint}/datasets/{repo_id}"
    assert url.repo_id == repo_id and url.repo_type == "dataset"

    commit = api.create_commit(
        repo_id,
        repo_type="dataset",
        operations=[
            CommitOperationAdd("data/train-00000-of-00001.parquet", parquet_bytes(rows)),
            CommitOperationAdd("README.md", README),
        ],
        commit_message="Upload results",
    )
    repo = hub.repos[repo_id]
    assert commit.oid == repo.sha
    assert repo.private is True
    assert sorted(repo.files) == [".gitattributes", "README.md", "data/train-00000-of-00001.parquet"]
    assert repo.files["README.md"] == README
    assert pq.read_table(io.BytesIO(repo.files["data/train-00000-of-00001.parquet"])).to_pylist() == rows
    assert [c.title for c in repo.commits] == ["initial commit", "Upload results"]
    assert repo.commits[-1].author == "alice"

    listed = list(api.list_datasets(author="alice"))
    assert [(d.id, d.private, d.sha) for d in listed] == [(repo_id, True, repo.sha)]
    assert listed[0].created_at == repo.created_at.replace(microsecond=repo.created_at.microsecond // 1000 * 1000)
    # private: invisible to anonymous callers and to other users
    assert list(HfApi(endpoint=hub.endpoint, token=False).list_datasets(author="alice")) == []
    assert list(HfApi(endpoint=hub.endpoint, token="hf_bob").list_datasets(author="alice")) == []

    info = api.dataset_info(repo_id, files_metadata=True)
    assert info.card_data["license"] == "apache-2.0"
    assert {s.rfilename: s.size for s in info.siblings} == {
        ".gitattributes": len(repo.files[".gitattributes"]),
        "README.md": len(README),
        "data/train-00000-of-00001.parquet": len(repo.files["data/train-00000-of-00001.parquet"]),
    }

    # one child interpreter: load with the token, then without one (own cache_dir: datasets would
    # otherwise fall back to its cached copy), where the private repo must not exist
    code = (
        "import json, datasets\n"
        f"ds = datasets.load_dataset({repo_id!r}, split='train')\n"
        "print(json.dumps(ds.to_list()))\n"
        "try:\n"
        f"    datasets.load_dataset({repo_id!r}, split='train', token=False, cache_dir={home + '/anon'!r})\n"
        "    print('anonymous: loaded')\n"
        "except Exception as err:\n"
        "    print('anonymous:', type(err).__name__)\n"
    )
    result = hub.run_python(code, home, token="hf_good")
    assert result.returncode == 0, result.stderr[-3000:]
    loaded, anonymous = result.stdout.strip().splitlines()[-2:]
    assert json.loads(loaded) == rows
    assert anonymous == "anonymous: RepositoryNotFoundError"
    assert hub.unhandled == []


def test_upload_file_then_unchanged_upload_is_skipped(hub, api):
    repo_id = "alice/runs"
    api.create_repo(repo_id, repo_type="dataset")
    api.upload_file(path_or_fileobj=b"a,b\n1,2\n", path_in_repo="data/x.csv", repo_id=repo_id, repo_type="dataset")
    before = len(hub.repos[repo_id].commits)
    api.upload_file(path_or_fileobj=b"a,b\n1,2\n", path_in_repo="data/x.csv", repo_id=repo_id, repo_type="dataset")
    # the preupload answer carries the remote oid, so the client skips the no-op commit
    assert len(hub.repos[repo_id].commits) == before
    assert hub.repos[repo_id].files["data/x.csv"] == b"a,b\n1,2\n"


def test_push_to_hub_from_datasets_in_process(hub, home):
    import datasets

    rows = [{"model": "m1", "score": 0.5}, {"model": "m2", "score": 1.0}]
    datasets.Dataset.from_list(rows).push_to_hub("alice/pushed", private=True, token="hf_good")
    repo = hub.repos["alice/pushed"]
    assert repo.private is True
    parquet_paths = [p for p in repo.files if p.endswith(".parquet")]
    assert parquet_paths == ["data/train-00000-of-00001.parquet"]
    assert pq.read_table(io.BytesIO(repo.files[parquet_paths[0]])).to_pylist() == rows
    assert "README.md" in repo.files


def test_lfs_upload_and_download(monkeypatch, home, tmp_path):
    rows = [{"x": 1}, {"x": 2}]
    data = parquet_bytes(rows)
    with FakeHub(tokens=TOKENS) as hub:  # upload_mode="auto": parquet goes through LFS, as on the Hub
        hub.patch_inprocess(monkeypatch, home)
        api = HfApi(endpoint=hub.endpoint, token="hf_good")
        api.create_repo("alice/lfs", repo_type="dataset")
        api.upload_file(
            path_or_fileobj=data, path_in_repo="data/train.parquet", repo_id="alice/lfs", repo_type="dataset"
        )
        stored = hub.repos["alice/lfs"].stored_files["data/train.parquet"]
        assert stored.lfs is True and stored.data == data
        assert [(r.method, r.path) for r in hub.requests[-4:]] == [
            ("POST", "/api/datasets/alice/lfs/preupload/main"),
            ("POST", "/datasets/alice/lfs.git/info/lfs/objects/batch"),
            ("PUT", f"/__lfs/{stored.sha256}"),
            ("POST", "/api/datasets/alice/lfs/commit/main"),
        ]
        [entry] = api.get_paths_info("alice/lfs", ["data/train.parquet"], repo_type="dataset")
        assert entry.lfs.sha256 == stored.sha256 and entry.size == len(data)

        path = api.hf_hub_download(
            "alice/lfs", "data/train.parquet", repo_type="dataset", cache_dir=str(tmp_path / "cache")
        )
        assert open(path, "rb").read() == data

        # like the Hub, this mode refuses binary files committed inline instead of through LFS
        refused = httpx.post(
            f"{hub.endpoint}/api/datasets/alice/lfs/commit/main",
            headers={"Authorization": "Bearer hf_good", "Content-Type": "application/x-ndjson"},
            content=b'{"key":"header","value":{"summary":"x"}}\n'
            b'{"key":"file","value":{"path":"a.bin","encoding":"base64","content":"AAEC"}}\n',
        )
        assert refused.status_code == 400
        assert refused.json()["error"].startswith("Your push was rejected because it contains binary files")


def test_regular_upload_mode_inlines_everything(monkeypatch, home):
    data = parquet_bytes([{"x": 1}])
    with FakeHub(tokens=TOKENS, upload_mode="regular") as hub:
        hub.patch_inprocess(monkeypatch, home)
        api = HfApi(endpoint=hub.endpoint, token="hf_good")
        api.create_repo("alice/inline", repo_type="dataset")
        api.upload_file(
            path_or_fileobj=data, path_in_repo="data/train.parquet", repo_id="alice/inline", repo_type="dataset"
        )
        stored = hub.repos["alice/inline"].stored_files["data/train.parquet"]
        assert stored.lfs is False and stored.data == data
        assert not any("/lfs/" in r.path for r in hub.requests)


def test_delete_repo(hub, api):
    api.create_repo("alice/old", repo_type="dataset")
    api.delete_repo("alice/old", repo_type="dataset")
    assert "alice/old" not in hub.repos
    assert list(api.list_datasets(author="alice")) == []

    with pytest.raises(RepositoryNotFoundError) as excinfo:
        api.delete_repo("alice/old", repo_type="dataset")
    assert excinfo.value.response.status_code == 404
    api.delete_repo("alice/old", repo_type="dataset", missing_ok=True)

    with pytest.raises(RepositoryNotFoundError):
        api.dataset_info("alice/old")


def test_create_conflicts_and_permissions(hub, api):
    api.create_repo("alice/dup", repo_type="dataset")
    with pytest.raises(HfHubHTTPError) as excinfo:
        api.create_repo("alice/dup", repo_type="dataset")
    assert excinfo.value.response.status_code == 409
    assert api.create_repo("alice/dup", repo_type="dataset", exist_ok=True).repo_id == "alice/dup"

    with pytest.raises(HfHubHTTPError) as excinfo:
        api.create_repo("bob/mine", repo_type="dataset")
    assert excinfo.value.response.status_code == 403
    assert "bob/mine" not in hub.repos

    with pytest.raises(HfHubHTTPError) as excinfo:  # bob can see alice's public repo but not write it
        HfApi(endpoint=hub.endpoint, token="hf_bob").upload_file(
            path_or_fileobj=b"x", path_in_repo="x.txt", repo_id="alice/dup", repo_type="dataset"
        )
    assert excinfo.value.response.status_code == 403


def test_private_repo_visibility_and_settings(hub, api):
    api.create_repo("alice/secret", repo_type="dataset", private=True)

    with pytest.raises(RepositoryNotFoundError) as excinfo:
        HfApi(endpoint=hub.endpoint, token=False).dataset_info("alice/secret")
    assert excinfo.value.response.status_code == 401
    with pytest.raises(RepositoryNotFoundError) as excinfo:
        HfApi(endpoint=hub.endpoint, token="hf_bob").dataset_info("alice/secret")
    assert excinfo.value.response.status_code == 404

    api.update_repo_settings("alice/secret", repo_type="dataset", private=False)
    assert hub.repos["alice/secret"].private is False
    assert HfApi(endpoint=hub.endpoint, token=False).dataset_info("alice/secret").private is False


@pytest.mark.parametrize(
    ("status", "error_type"),
    [(429, HfHubHTTPError), (500, HfHubHTTPError), (401, HfHubHTTPError), (404, RepositoryNotFoundError)],
)
def test_injected_errors_surface_as_client_exceptions(hub, api, status, error_type):
    hub.fail_next(method="POST", path_prefix="/api/repos/create", status=status, times=1)
    with pytest.raises(error_type) as excinfo:
        api.create_repo("alice/flaky", repo_type="dataset")
    assert type(excinfo.value) is error_type
    assert excinfo.value.response.status_code == status
    assert "alice/flaky" not in hub.repos
    # consumed: the next call goes through
    api.create_repo("alice/flaky", repo_type="dataset")
    assert "alice/flaky" in hub.repos
    assert [r.status for r in hub.requests if r.path == "/api/repos/create"] == [status, 200]


def test_injected_errors_on_commit_and_info(hub, api):
    api.create_repo("alice/x", repo_type="dataset")

    hub.fail_next(method="POST", path_prefix="/api/datasets/alice/x/commit", status=500)
    with pytest.raises(HfHubHTTPError) as excinfo:
        api.upload_file(path_or_fileobj=b"1", path_in_repo="a.txt", repo_id="alice/x", repo_type="dataset")
    assert excinfo.value.response.status_code == 500
    assert "a.txt" not in hub.repos["alice/x"].files

    hub.fail_next(method="GET", path_prefix="/api/datasets/alice/x", status=404)
    with pytest.raises(RepositoryNotFoundError):
        api.dataset_info("alice/x")

    hub.fail_next(method="GET", path_prefix="/api/datasets/alice/x", status=401)
    with pytest.raises(HfHubHTTPError) as excinfo:
        api.dataset_info("alice/x")
    assert excinfo.value.response.status_code == 401
    assert not isinstance(excinfo.value, RepositoryNotFoundError)


def test_transient_error_on_retried_endpoint_is_absorbed_by_the_client(hub, api):
    # preupload goes through huggingface_hub's http_backoff: one 429 is retried (after ~1 s)
    api.create_repo("alice/retry", repo_type="dataset")
    hub.fail_next(method="POST", path_prefix="/api/datasets/alice/retry/preupload", status=429)
    api.upload_file(path_or_fileobj=b"ok", path_in_repo="a.txt", repo_id="alice/retry", repo_type="dataset")
    assert hub.repos["alice/retry"].files["a.txt"] == b"ok"
    assert [r.status for r in hub.requests if "/preupload/" in r.path] == [429, 200]


def test_created_at_and_listing_for_cleanup(hub, api):
    old = datetime(2025, 1, 1, tzinfo=timezone.utc)
    hub.add_repo(
        "alice/smoltrace-results-20250101_000000",
        private=True,
        created_at=old,
        files={"data/train.parquet": parquet_bytes([{"a": 1}])},
    )
    api.create_repo("alice/smoltrace-results-new", repo_type="dataset")
    api.create_repo("alice/unrelated", repo_type="dataset")
    hub.add_repo("bob/smoltrace-results-20250101_000000")

    found = list(api.list_datasets(author="alice", search="smoltrace-results"))
    assert [d.id for d in found] == ["alice/smoltrace-results-20250101_000000", "alice/smoltrace-results-new"]
    assert found[0].created_at == old and found[0].private is True

    hub.set_created_at("alice/smoltrace-results-new", datetime(2025, 6, 1, 12, 30))
    newest_first = list(api.list_datasets(author="alice", sort="created_at"))
    assert [d.id for d in newest_first][:2] == ["alice/unrelated", "alice/smoltrace-results-new"]
    assert newest_first[1].created_at == datetime(2025, 6, 1, 12, 30, tzinfo=timezone.utc)


def test_pagination_follows_link_header(monkeypatch, home):
    with FakeHub(tokens=TOKENS, page_size=2) as hub:
        hub.patch_inprocess(monkeypatch, home)
        for i in range(5):
            hub.add_repo(f"alice/r{i}")
        api = HfApi(endpoint=hub.endpoint, token="hf_good")
        assert [d.id for d in api.list_datasets(author="alice")] == [f"alice/r{i}" for i in range(5)]
        assert len([r for r in hub.requests if r.path == "/api/datasets"]) == 3


def test_tree_paths_info_and_ranged_resolve(hub, api):
    hub.add_repo("alice/tree", files={"README.md": b"# hi\n", "data/a/x.parquet": b"PAR1", "data/b.txt": b"0123456789"})

    top = sorted(e.path for e in api.list_repo_tree("alice/tree", repo_type="dataset"))
    assert top == [".gitattributes", "README.md", "data"]
    deep = sorted(e.path for e in api.list_repo_tree("alice/tree", "data", repo_type="dataset", recursive=True))
    assert deep == ["data/a", "data/a/x.parquet", "data/b.txt"]
    with pytest.raises(RemoteEntryNotFoundError) as excinfo:
        list(api.list_repo_tree("alice/tree", "nope", repo_type="dataset"))
    assert excinfo.value.response.status_code == 404
    assert excinfo.value.response.headers["X-Error-Code"] == "EntryNotFound"

    infos = api.get_paths_info("alice/tree", ["data", "data/b.txt", "missing"], repo_type="dataset")
    assert [(type(i).__name__, i.path) for i in infos] == [("RepoFolder", "data"), ("RepoFile", "data/b.txt")]
    assert api.file_exists("alice/tree", "data/b.txt", repo_type="dataset") is True
    assert api.file_exists("alice/tree", "data/c.txt", repo_type="dataset") is False

    url = f"{hub.endpoint}/datasets/alice/tree/resolve/main/data/b.txt"
    ranged = httpx.get(url, headers={"Range": "bytes=2-4"})
    assert ranged.status_code == 206 and ranged.content == b"234"
    assert ranged.headers["Content-Range"] == "bytes 2-4/10"
    head = httpx.head(url)
    assert head.headers["Content-Length"] == "10"
    assert head.headers["X-Repo-Commit"] == hub.repos["alice/tree"].sha
    assert head.headers["ETag"] == f'"{hub.repos["alice/tree"].stored_files["data/b.txt"].oid}"'


def test_commit_deletes_and_parent_commit(hub, api):
    hub.add_repo("alice/del", files={"a.txt": b"a", "data/1.parquet": b"1", "data/2.parquet": b"2"})
    parent = hub.repos["alice/del"].sha
    api.create_commit(
        "alice/del",
        repo_type="dataset",
        commit_message="prune",
        parent_commit=parent,
        operations=[CommitOperationDelete("a.txt"), CommitOperationDelete("data/")],
    )
    assert sorted(hub.repos["alice/del"].files) == [".gitattributes"]

    with pytest.raises(HfHubHTTPError) as excinfo:  # stale parent commit
        api.create_commit(
            "alice/del",
            repo_type="dataset",
            commit_message="late",
            parent_commit=parent,
            operations=[CommitOperationAdd("b.txt", b"b")],
        )
    assert excinfo.value.response.status_code == 412

    with pytest.raises(HfHubHTTPError) as excinfo:
        api.create_commit(
            "alice/del", repo_type="dataset", commit_message="x", operations=[CommitOperationDelete("nope.txt")]
        )
    assert excinfo.value.response.status_code == 404


def test_server_stops_on_exit():
    with FakeHub(tokens=TOKENS) as hub:
        port = int(hub.endpoint.rsplit(":", 1)[1])
        assert httpx.get(f"{hub.endpoint}/api/datasets").status_code == 200
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
