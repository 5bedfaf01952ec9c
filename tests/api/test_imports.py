"""Zero-copy imports: importStart, importStatus and importCancel.

Objects that already exist outside every repository (files below an allowed directory on
the local blockstore, keys of the test bucket on S3) become entries of a branch in exactly
one commit, without a byte copied: each entry points at the source object. Prefix
destinations are replaced as a whole; everything else on the branch stays. An import that
fails or is canceled leaves the branch at its old commit.

Local imports must be enabled, so the tests here run on a server of their own per backend
(``import_server``), with imports enabled below a directory of its own.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import lakefs
import lakefs_client
import lakefs_sdk
import pytest
from conftest import (
    ACCESS_KEY_ID,
    S3_BUCKET,
    SECRET_ACCESS_KEY,
    Backend,
    Server,
    assert_error,
    free_port,
    head,
    objects_url,
    upload,
    upload_url,
)
from lakefs.exceptions import ConflictException as WrapperConflictException
from lakefs_client.api.import_api import ImportApi as LegacyImportApi
from lakefs_client.exceptions import ApiException as LegacyApiException
from lakefs_client.model.commit_creation import CommitCreation as LegacyCommitCreation
from lakefs_client.model.import_creation import ImportCreation as LegacyImportCreation
from lakefs_client.model.import_location import ImportLocation as LegacyImportLocation
from lakefs_sdk.exceptions import ApiException

ALLOWED_PREFIXES_ENV = "LAKEFS_BLOCKSTORE_LOCAL_ALLOWED_EXTERNAL_PREFIXES"
# How long an import may take before a test gives up on it.
IMPORT_DEADLINE_SECONDS = 60.0
CANCELED = "import canceled"
ADMIN = "admin"

# fixtures --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def import_server(tmp_path_factory: pytest.TempPathFactory, backend: Backend) -> Iterator[Server]:
    """A server per backend with local imports enabled below a directory of its own (the
    S3 blockstore always allows imports; the local settings are then unused)."""
    allowed = tmp_path_factory.mktemp(f"import-sources-{backend.name}").resolve()
    srv = Server(
        tmp_path_factory.mktemp(f"import-server-{backend.name}"),
        free_port(),
        backend=backend,
        extra_env={"LAKEFS_BLOCKSTORE_LOCAL_IMPORT_ENABLED": "true", ALLOWED_PREFIXES_ENV: str(allowed)},
    )
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture()
def import_sdk(import_server: Server) -> Iterator[lakefs_sdk.ApiClient]:
    with import_server.sdk() as client:
        yield client


def no_server_error(response: httpx.Response) -> None:
    request = response.request
    assert response.status_code < 500, f"{request.method} {request.url} answered {response.status_code}"


@pytest.fixture()
def import_http(import_server: Server) -> Iterator[httpx.Client]:
    """The admin's plain HTTP client of ``import_server``; any 5xx answer fails the test."""
    with import_server.http() as client:
        client.event_hooks["response"].append(no_server_error)
        yield client


@pytest.fixture()
def import_repo(import_server: Server, import_sdk: lakefs_sdk.ApiClient) -> str:
    """A fresh repository on ``import_server``."""
    return new_repo(import_server, import_sdk)


# helpers ---------------------------------------------------------------------------------


def new_repo(server: Server, sdk: lakefs_sdk.ApiClient, *, read_only: bool = False) -> str:
    name = f"imp-{uuid.uuid4().hex[:12]}"
    lakefs_sdk.RepositoriesApi(sdk).create_repository(
        lakefs_sdk.RepositoryCreation(
            name=name, storage_namespace=server.namespace(name), read_only=read_only
        )
    )
    return name


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def is_local(server: Server) -> bool:
    return server.backend.blockstore_type == "local"


class Source:
    """A fresh place outside every repository holding objects to import: a directory below
    the server's allowed prefix (local) or a prefix of the test bucket (S3), outside every
    storage namespace."""

    def __init__(self, server: Server, name: str) -> None:
        self.server = server
        unique = f"{name}-{uuid.uuid4().hex[:10]}"
        self._s3: Any = None
        if is_local(server):
            self.root: Path | None = Path(server.extra_env[ALLOWED_PREFIXES_ENV]) / unique
            self.root.mkdir(parents=True)
        else:
            self.root = None
        #: The prefix, ending with "/": every object's URI starts with it.
        self.uri = f"local://{self.root}/" if self.root is not None else f"s3://{S3_BUCKET}/sources/{unique}/"

    def uri_of(self, key: str) -> str:
        return self.uri + key

    def _bucket_key(self, key: str = "") -> str:
        """The bucket's key of the source's ``key`` (S3)."""
        return self.uri_of(key).split("/", 3)[3]

    def _client(self) -> Any:
        if self._s3 is None:
            # One client for many keys (Server.write_object makes one per object).
            self._s3 = self.server._s3()
        return self._s3

    def put(self, key: str, data: bytes) -> str:
        """Store ``data`` at ``key``; its URI."""
        if self.root is not None:
            path = self.root / key
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        else:
            self._client().put_object(Bucket=S3_BUCKET, Key=self._bucket_key(key), Body=data)
        return self.uri_of(key)

    def put_all(self, objects: dict[str, bytes]) -> None:
        """Store many objects (on S3, several requests at a time through one client)."""
        if self.root is not None:
            for key, data in objects.items():
                self.put(key, data)
            return
        self._client()
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda item: self.put(*item), objects.items()))

    def remove(self, key: str) -> None:
        if self.root is not None:
            (self.root / key).unlink()
        else:
            self._client().delete_object(Bucket=S3_BUCKET, Key=self._bucket_key(key))

    def keys(self) -> list[str]:
        """Every key stored under the source, listed behind the server's back."""
        if self.root is not None:
            return sorted(str(p.relative_to(self.root)) for p in self.root.rglob("*") if not p.is_dir())
        start = len(self._bucket_key())
        paginator = self._client().get_paginator("list_objects_v2")
        pages = paginator.paginate(Bucket=S3_BUCKET, Prefix=self._bucket_key())
        return sorted(item["Key"][start:] for page in pages for item in page.get("Contents", []))

    def read(self, key: str) -> bytes:
        """The source object's bytes, read behind the server's back."""
        if self.root is not None:
            return (self.root / key).read_bytes()
        body: bytes = self._client().get_object(Bucket=S3_BUCKET, Key=self._bucket_key(key))["Body"].read()
        return body


def prefix(path: str, destination: str) -> dict[str, str]:
    return {"type": "common_prefix", "path": path, "destination": destination}


def single(path: str, destination: str) -> dict[str, str]:
    return {"type": "object", "path": path, "destination": destination}


def import_body(paths: list[dict[str, str]], message: str = "import", **extra: Any) -> dict[str, Any]:
    return {"paths": paths, "commit": {"message": message}, **extra}


def import_url(repo: str, branch: str = "main") -> str:
    return f"/repositories/{repo}/branches/{branch}/import"


@dataclass(frozen=True)
class Listed:
    """What listObjects and statObject say of an object."""

    size_bytes: int
    checksum: str
    physical_address: str


def listed(item: dict[str, Any]) -> Listed:
    return Listed(int(item["size_bytes"]), str(item["checksum"]), str(item["physical_address"]))


def tree(http: httpx.Client, repo: str, ref: str = "main", amount: int = 1000) -> dict[str, Listed]:
    """Every object of ``ref``, paging through listObjects ``amount`` at a time."""
    found: dict[str, Listed] = {}
    after = ""
    while True:
        response = http.get(f"{objects_url(repo, ref)}/ls", params={"amount": amount, "after": after})
        assert response.status_code == 200, response.text
        body = response.json()
        for item in body["results"]:
            assert item["path_type"] == "object"
            assert item["path"] not in found
            found[item["path"]] = listed(item)
        if not body["pagination"]["has_more"]:
            return found
        after = body["pagination"]["next_offset"]


def imported(uri: str, data: bytes) -> Listed:
    """How an object imported from ``uri`` holding ``data`` is listed."""
    return Listed(len(data), md5(data), uri)


def without(old: dict[str, Listed], *destinations: str) -> dict[str, Listed]:
    """``old`` minus everything under the prefix ``destinations``."""
    return {path: item for path, item in old.items() if not path.startswith(destinations)}


def commit_files(http: httpx.Client, repo: str, files: dict[str, bytes], branch: str = "main") -> str:
    """Upload ``files`` through the API and commit them; the commit's id."""
    for path, data in files.items():
        response = http.post(
            upload_url(repo, branch),
            params={"path": path},
            content=data,
            headers={"Content-Type": "application/octet-stream"},
        )
        assert response.status_code == 201, response.text
    response = http.post(f"/repositories/{repo}/branches/{branch}/commits", json={"message": "before import"})
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def read(http: httpx.Client, repo: str, path: str, ref: str = "main") -> bytes:
    response = http.get(objects_url(repo, ref), params={"path": path})
    assert response.status_code == 200, response.text
    return response.content


def stat(http: httpx.Client, repo: str, path: str, ref: str = "main") -> httpx.Response:
    return http.get(objects_url(repo, ref) + "/stat", params={"path": path})


def log(http: httpx.Client, repo: str, ref: str = "main") -> list[dict[str, Any]]:
    response = http.get(f"/repositories/{repo}/refs/{ref}/commits", params={"amount": 1000})
    assert response.status_code == 200, response.text
    return list(response.json()["results"])


def data_files(server: Server, repo: str) -> list[str]:
    """The objects stored in the repository's namespace that are not its metadata."""
    return [uri for uri in server.stored_uris(server.namespace(repo)) if "/_lakefs/" not in uri]


def poll(read_status: Callable[[], Any], deadline_seconds: float = IMPORT_DEADLINE_SECONDS) -> Any:
    """Read an import's status until it completed or failed (a JSON body, or the model of
    any of the clients)."""
    deadline = time.monotonic() + deadline_seconds
    while True:
        status = read_status()
        if isinstance(status, dict):
            state = status
        elif hasattr(status, "_asdict"):  # the lakefs wrapper's NamedTuple
            state = status._asdict()
        else:  # a lakefs_sdk or legacy lakefs_client model
            state = status.to_dict()
        if state["completed"] or state.get("error"):
            return status
        assert time.monotonic() < deadline, f"the import did not finish in {deadline_seconds} s: {status}"
        time.sleep(0.05)


def wait_sdk(sdk: lakefs_sdk.ApiClient, repo: str, import_id: str, branch: str = "main") -> Any:
    api = lakefs_sdk.ImportApi(sdk)
    return poll(lambda: api.import_status(repo, branch, import_id))


def wait_http(http: httpx.Client, repo: str, import_id: str, branch: str = "main") -> dict[str, Any]:
    def status() -> dict[str, Any]:
        response = http.get(import_url(repo, branch), params={"id": import_id})
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    result: dict[str, Any] = poll(status)
    return result


def start(http: httpx.Client, repo: str, body: dict[str, Any], branch: str = "main") -> str:
    response = http.post(import_url(repo, branch), json=body)
    assert response.status_code == 202, response.text
    return str(response.json()["id"])


def run_import(http: httpx.Client, repo: str, body: dict[str, Any], branch: str = "main") -> dict[str, Any]:
    """Start an import and wait until it completes; its final status."""
    status = wait_http(http, repo, start(http, repo, body, branch), branch)
    assert status["completed"] is True, status
    assert "error" not in status, status
    return status


def refused(
    sdk: lakefs_sdk.ApiClient,
    http: httpx.Client,
    repo: str,
    body: Any,
    status: int,
    *words: str,
    branch: str = "main",
    head_repo: str | None = None,
) -> str:
    """importStart is refused with ``status``; the branch stays where it was."""
    checked = head_repo or repo
    before = head(sdk, checked, branch)
    response = http.post(import_url(repo, branch), json=body)
    message = assert_error(response, status, *words)
    assert head(sdk, checked, branch) == before
    return message


# the lakefs_sdk ImportApi ----------------------------------------------------------------


def test_sdk_import_prefixes_and_objects(
    import_server: Server, import_sdk: lakefs_sdk.ApiClient, import_http: httpx.Client, import_repo: str
) -> None:
    """Prefixes and single objects in one import: one commit whose tree is the old tree
    with each prefix destination replaced and each object set, pointing at the sources."""
    server, sdk, http, repo = import_server, import_sdk, import_http, import_repo
    old_head = commit_files(
        http,
        repo,
        {
            "collections/old-1": b"replaced by the import",
            "collections/deep/old-2": b"replaced too",
            "collections": b"an object named like the destination, without its slash",
            "collectionsX/kept": b"beside the destination",
            "emptied/gone": b"the empty prefix empties its destination",
            "manifests/manifest.json": b"overwritten by an object source",
            "untouched/file": b"untouched",
        },
    )
    old_tree = tree(http, repo)
    data_before = data_files(server, repo)

    collections = Source(server, "collections")
    # Names that sort around "a/": "a-b" < "a.c" < "a/..." < "a0".
    prefix_objects = {
        "a/b/c/d.bin": os.urandom(3000),
        "a/x": b"x",
        "a-b": b"dash",
        "a.c": b"dot",
        "a0": b"zero",
        "part-00000.parquet": os.urandom(10_000),
        "z/y/x/w": b"",
    }
    collections.put_all(prefix_objects)
    others = Source(server, "others")
    manifest = others.put("raw/manifest.json", b'{"files": 7}')
    extra = others.put("raw/extra.csv", b"a,b\n1,2\n")
    empty = Source(server, "empty")

    api = lakefs_sdk.ImportApi(sdk)
    creation = lakefs_sdk.ImportCreation(
        paths=[
            lakefs_sdk.ImportLocation(type="common_prefix", path=collections.uri, destination="collections/"),
            lakefs_sdk.ImportLocation(type="object", path=manifest, destination="manifests/manifest.json"),
            # an object source inside a prefix destination is part of what replaces it
            lakefs_sdk.ImportLocation(type="object", path=extra, destination="collections/extra.csv"),
            lakefs_sdk.ImportLocation(type="common_prefix", path=empty.uri, destination="emptied/"),
        ],
        commit=lakefs_sdk.CommitCreation(
            message="Import daily data drop 2024-01-15",
            metadata={"created_by": "import", "source_date": "2024-01-15"},
        ),
        force=False,
    )
    created = api.import_start_with_http_info(repo, "main", creation)
    assert created.status_code == 202
    import_id = created.data.id
    assert isinstance(import_id, str) and import_id

    status = wait_sdk(sdk, repo, import_id)
    assert status.completed is True
    assert status.error is None
    assert status.update_time is not None
    assert status.ingested_objects == len(prefix_objects) + 2
    assert status.metarange_id
    commit = status.commit
    assert commit is not None
    assert commit.parents == [old_head]
    assert commit.committer == ADMIN
    assert commit.message == "Import daily data drop 2024-01-15"
    assert commit.metadata == {"created_by": "import", "source_date": "2024-01-15"}
    assert commit.meta_range_id
    # exactly one new commit, and the branch is at it
    assert head(sdk, repo, "main") == commit.id
    assert [c["id"] for c in log(http, repo)][:2] == [commit.id, old_head]
    got = lakefs_sdk.CommitsApi(sdk).get_commit(repo, commit.id)
    assert got.parents == [old_head]
    assert got.meta_range_id == commit.meta_range_id
    # the status no longer changes
    again = api.import_status(repo, "main", import_id)
    assert again.completed is True
    assert again.commit is not None and again.commit.id == commit.id
    assert again.ingested_objects == status.ingested_objects

    expected = without(old_tree, "collections/", "emptied/")
    expected.update(
        {
            f"collections/{key}": imported(collections.uri_of(key), data)
            for key, data in prefix_objects.items()
        }
    )
    expected["collections/extra.csv"] = imported(extra, b"a,b\n1,2\n")
    expected["manifests/manifest.json"] = imported(manifest, b'{"files": 7}')
    assert tree(http, repo) == expected
    assert tree(http, repo, commit.id) == expected
    # the listing of the import's own commit in pages of one
    assert tree(http, repo, commit.id, amount=1) == expected

    objects = lakefs_sdk.ObjectsApi(sdk)
    for path, item in expected.items():
        stats = objects.stat_object(repo, "main", path)
        assert stats.path == path
        assert Listed(stats.size_bytes, stats.checksum, stats.physical_address) == item
    for key, data in prefix_objects.items():
        assert read(http, repo, f"collections/{key}") == data
        assert bytes(objects.get_object(repo, commit.id, f"collections/{key}")) == data
    assert read(http, repo, "manifests/manifest.json") == b'{"files": 7}'
    assert read(http, repo, "collections/extra.csv") == b"a,b\n1,2\n"
    assert read(http, repo, "untouched/file") == b"untouched"

    # No byte copied: the namespace gained metadata only, and the sources are where they were.
    assert data_files(server, repo) == data_before
    stored = server.stored_uris(server.namespace(repo))
    assert any(uri.endswith(f"/_lakefs/{status.metarange_id}") for uri in stored), stored
    assert collections.keys() == sorted(prefix_objects)
    for key, data in prefix_objects.items():
        assert collections.read(key) == data
    assert others.keys() == ["raw/extra.csv", "raw/manifest.json"]
    assert empty.keys() == []


def test_content_types_of_imported_objects(
    import_server: Server, import_http: httpx.Client, import_repo: str
) -> None:
    """A single S3 object keeps the content type S3 reports for it; objects found by
    listing get the default, as in lakeFS (a listing reports none)."""
    source = Source(import_server, "types")
    source.put("listed.csv", b"a,b\n")
    if is_local(import_server):
        single_uri = source.put("single.csv", b"c,d\n")
        expected = "application/octet-stream"
    else:
        key = source._bucket_key("single.csv")
        source._client().put_object(Bucket=S3_BUCKET, Key=key, Body=b"c,d\n", ContentType="text/csv")
        single_uri = source.uri_of("single.csv")
        expected = "text/csv"
    body = import_body([prefix(source.uri_of("listed"), "listed"), single(single_uri, "single.csv")])
    status = run_import(import_http, import_repo, body)
    assert status["completed"], status
    assert stat(import_http, import_repo, "single.csv").json()["content_type"] == expected
    assert stat(import_http, import_repo, "listed.csv").json()["content_type"] == "application/octet-stream"


def test_import_of_an_empty_prefix_empties_its_destination(
    import_server: Server, import_sdk: lakefs_sdk.ApiClient, import_http: httpx.Client, import_repo: str
) -> None:
    """A source with no objects still completes, with one commit: its destination is emptied."""
    server, sdk, http, repo = import_server, import_sdk, import_http, import_repo
    old_head = commit_files(http, repo, {"logs/a": b"a", "logs/b/c": b"c", "logs-2": b"kept", "x": b"kept"})
    old_tree = tree(http, repo)
    empty = Source(server, "nothing")
    api = lakefs_sdk.ImportApi(sdk)
    import_id = api.import_start(
        repo,
        "main",
        lakefs_sdk.ImportCreation(
            paths=[lakefs_sdk.ImportLocation(type="common_prefix", path=empty.uri, destination="logs/")],
            commit=lakefs_sdk.CommitCreation(message="nothing to import"),
        ),
    ).id
    status = wait_sdk(sdk, repo, import_id)
    assert status.completed is True and status.error is None
    assert status.ingested_objects == 0
    assert status.commit is not None
    assert status.commit.parents == [old_head]
    assert status.commit.message == "nothing to import"
    assert head(sdk, repo, "main") == status.commit.id
    assert tree(http, repo) == without(old_tree, "logs/")
    assert set(tree(http, repo)) == {"logs-2", "x"}


# the legacy lakefs_client ImportApi --------------------------------------------------------


@pytest.fixture()
def legacy_imports(import_server: Server, tmp_path: Path) -> Iterator[LegacyImportApi]:
    """The legacy client's ImportApi, configured as its documentation shows."""
    with lakefs_client.ApiClient(import_server.legacy_configuration(tmp_path)) as api_client:
        yield LegacyImportApi(api_client)


def test_legacy_client_import(
    import_server: Server,
    import_sdk: lakefs_sdk.ApiClient,
    import_http: httpx.Client,
    import_repo: str,
    legacy_imports: LegacyImportApi,
) -> None:
    server, sdk, http, repo = import_server, import_sdk, import_http, import_repo
    old_head = commit_files(http, repo, {"collections/stale": b"stale", "other": b"other"})
    old_tree = tree(http, repo)
    source = Source(server, "legacy")
    files = {"one.txt": b"one", "sub/two.txt": b"two"}
    source.put_all(files)
    file1 = source.put("file1", b"single object")

    response = legacy_imports.import_start(
        repo,
        "main",
        LegacyImportCreation(
            paths=[
                LegacyImportLocation(type="common_prefix", path=source.uri, destination="collections/"),
                LegacyImportLocation(type="object", path=file1, destination="collections/file1"),
            ],
            commit=LegacyCommitCreation(message="legacy import", metadata={"key": "key_example"}, date=1),
        ),
    )
    import_id = response.id
    assert isinstance(import_id, str) and import_id

    def legacy_status() -> Any:
        return legacy_imports.import_status(repo, "main", import_id)

    status = poll(legacy_status)
    assert status.completed is True
    assert "error" not in status.to_dict()
    assert status.ingested_objects == 3
    assert status.commit.parents == [old_head]
    assert status.commit.committer == ADMIN
    assert status.commit.message == "legacy import"
    assert dict(status.commit.metadata) == {"key": "key_example"}
    assert status.commit.creation_date == 1
    assert head(sdk, repo, "main") == status.commit.id

    expected = without(old_tree, "collections/")
    expected.update({f"collections/{k}": imported(source.uri_of(k), v) for k, v in files.items()})
    expected["collections/file1"] = imported(file1, b"single object")
    assert tree(http, repo) == expected
    assert read(http, repo, "collections/sub/two.txt") == b"two"

    with pytest.raises(LegacyApiException) as conflict:
        legacy_imports.import_cancel(repo, "main", import_id)
    assert conflict.value.status == 409
    with pytest.raises(LegacyApiException) as missing:
        legacy_imports.import_status(repo, "main", uuid.uuid4().hex)
    assert missing.value.status == 404
    with pytest.raises(LegacyApiException) as missing:
        legacy_imports.import_cancel(repo, "main", uuid.uuid4().hex)
    assert missing.value.status == 404


# the lakefs wrapper's ImportManager ----------------------------------------------------------


def wrapper_branch(server: Server, repo: str, branch: str = "main") -> lakefs.Branch:
    client = lakefs.Client(host=server.url, username=ACCESS_KEY_ID, password=SECRET_ACCESS_KEY)
    return lakefs.Repository(repo, client=client).branch(branch)


def test_wrapper_import_manager_run(
    import_server: Server, import_sdk: lakefs_sdk.ApiClient, import_http: httpx.Client, import_repo: str
) -> None:
    server, sdk, http, repo = import_server, import_sdk, import_http, import_repo
    old_head = commit_files(http, repo, {"import-prefix/old": b"old", "keep": b"keep"})
    old_tree = tree(http, repo)
    data1 = Source(server, "data1")
    files = {f"part-{i}": os.urandom(100 + i) for i in range(5)}
    data1.put_all(files)
    data2 = Source(server, "data2")
    single_uri = data2.put("imported_file", b"imported file")

    branch = wrapper_branch(server, repo)
    manager = branch.import_data(commit_message="my imported data", metadata={"foo": "bar"})
    manager.prefix(object_store_uri=data1.uri, destination="import-prefix/").object(
        object_store_uri=single_uri, destination="import-prefix/imported_file"
    )
    status = manager.run(poll_interval=timedelta(seconds=0.05))
    assert status.completed is True
    assert status.error is None
    assert status.ingested_objects == 6
    assert status.commit is not None
    assert status.commit.parents == [old_head]
    assert status.commit.committer == ADMIN
    assert status.commit.message == "my imported data"
    assert status.commit.metadata == {"foo": "bar"}
    assert manager.import_id is not None
    assert branch.get_commit().id == status.commit.id == head(sdk, repo, "main")

    expected = without(old_tree, "import-prefix/")
    expected.update({f"import-prefix/{k}": imported(data1.uri_of(k), v) for k, v in files.items()})
    expected["import-prefix/imported_file"] = imported(single_uri, b"imported file")
    assert tree(http, repo) == expected
    for key, data in files.items():
        assert branch.object(f"import-prefix/{key}").reader(mode="rb").read() == data
    assert branch.object("import-prefix/imported_file").reader(mode="rb").read() == b"imported file"

    with pytest.raises(WrapperConflictException):
        manager.cancel()


def test_wrapper_import_manager_start_status_cancel(
    import_server: Server, import_sdk: lakefs_sdk.ApiClient, import_http: httpx.Client, import_repo: str
) -> None:
    server, sdk, http, repo = import_server, import_sdk, import_http, import_repo
    commit_files(http, repo, {"wrapped/old": b"old"})
    source = Source(server, "wrapped")
    files = {f"f{i:02}": b"%d" % i for i in range(20)}
    source.put_all(files)
    branch = wrapper_branch(server, repo)

    # start, then status until completed
    manager = branch.import_data(commit_message="started", metadata={"how": "start"})
    import_id = manager.prefix(source.uri, destination="wrapped/").start()
    assert import_id == manager.import_id
    deadline = time.monotonic() + IMPORT_DEADLINE_SECONDS
    status = manager.status()
    while not status.completed:
        assert status.error is None, status
        assert time.monotonic() < deadline, status
        time.sleep(0.05)
        status = manager.status()
    assert status.ingested_objects == len(files)
    assert status.commit is not None and status.commit.message == "started"
    assert branch.get_commit().id == status.commit.id
    assert set(tree(http, repo)) == {f"wrapped/{k}" for k in files}
    with pytest.raises(WrapperConflictException):
        manager.cancel()

    # start, then cancel at once: canceled with no commit, or already completed (409)
    many = Source(server, "wrapped-many")
    many_files = {f"d{i // 100:02}/f{i % 100:02}": b"w" for i in range(3000)}
    many.put_all(many_files)
    before = head(sdk, repo, "main")
    before_tree = tree(http, repo)
    manager = branch.import_data(commit_message="canceled", metadata={"how": "cancel"})
    manager.prefix(many.uri, destination="many/").start()
    try:
        manager.cancel()
    except WrapperConflictException:
        final = poll(manager.status)
        assert final.completed is True and final.commit is not None
        assert final.commit.parents == [before]
        assert head(sdk, repo, "main") == final.commit.id
        return
    status = manager.status()
    assert status.completed is False
    assert status.error is not None and status.error.message == CANCELED
    assert status.commit is None
    assert head(sdk, repo, "main") == before
    assert tree(http, repo) == before_tree


# cancel and failure midway -------------------------------------------------------------------


def test_cancel_midway(
    import_server: Server, import_sdk: lakefs_sdk.ApiClient, import_http: httpx.Client, import_repo: str
) -> None:
    """An import of 3000 objects canceled right after it started makes no commit (cancel
    answers 204, the status says "import canceled"); when it completed first, cancel
    answers 409 and there is its one commit. Up to three attempts, at least one of which
    must have been canceled in time."""
    server, sdk, http, repo = import_server, import_sdk, import_http, import_repo
    commit_files(http, repo, {"bulk/old": b"old", "other": b"other"})
    source = Source(server, "bulk")
    source.put_all({f"d{i // 100:02}/f{i % 100:02}.bin": b"%d" % i for i in range(3000)})
    api = lakefs_sdk.ImportApi(sdk)
    creation = lakefs_sdk.ImportCreation(
        paths=[lakefs_sdk.ImportLocation(type="common_prefix", path=source.uri, destination="bulk/")],
        commit=lakefs_sdk.CommitCreation(message="to be canceled"),
    )
    canceled: list[str] = []
    for _ in range(3):
        before = head(sdk, repo, "main")
        before_tree = tree(http, repo)
        import_id = api.import_start(repo, "main", creation).id
        try:
            answer = api.import_cancel_with_http_info(repo, "main", import_id)
        except ApiException as err:
            assert err.status == 409, err
            status = wait_sdk(sdk, repo, import_id)
            assert status.completed is True and status.error is None
            assert status.commit is not None and status.commit.parents == [before]
            assert head(sdk, repo, "main") == status.commit.id
            continue
        assert answer.status_code == 204
        status = api.import_status(repo, "main", import_id)
        assert status.completed is False
        assert status.error is not None and status.error.message == CANCELED
        assert status.commit is None
        assert head(sdk, repo, "main") == before
        assert tree(http, repo) == before_tree
        canceled.append(import_id)
        break
    assert canceled, "every cancellation came after its import had completed"

    # The branch takes the next import on top of where it was; the canceled one never commits.
    before = head(sdk, repo, "main")
    next_id = start(http, repo, import_body([prefix(source.uri, "bulk/")], "after the cancel"))
    done = wait_http(http, repo, next_id)
    assert done["completed"] is True, done
    assert done["commit"]["parents"] == [before]
    assert done["ingested_objects"] == 3000
    status = api.import_status(repo, "main", canceled[0])
    assert status.completed is False and status.error is not None and status.error.message == CANCELED
    assert len(tree(http, repo)) == 3001
    with pytest.raises(ApiException) as too_late:
        api.import_cancel(repo, "main", next_id)
    assert too_late.value.status == 409


def test_failed_import_leaves_the_branch(
    import_server: Server, import_sdk: lakefs_sdk.ApiClient, import_http: httpx.Client, import_repo: str
) -> None:
    """A source object that does not exist (gone, or a prefix rather than an object) fails
    the whole import: the status has an error, nothing is committed."""
    server, sdk, http, repo = import_server, import_sdk, import_http, import_repo
    old_head = commit_files(http, repo, {"data/old": b"old", "kept": b"kept"})
    old_tree = tree(http, repo)
    source = Source(server, "failing")
    source.put_all({"good/a": b"a", "good/b": b"b", "dir/inside": b"inside"})
    gone = source.put("gone.bin", b"soon gone")
    source.remove("gone.bin")

    for missing in (gone, source.uri_of("never-there"), source.uri_of("dir")):
        body = import_body([prefix(source.uri_of("good/"), "data/"), single(missing, "data/missing")])
        import_id = start(http, repo, body)
        status = wait_http(http, repo, import_id)
        assert status["completed"] is False, status
        assert missing in status["error"]["message"], status
        assert "commit" not in status
        assert head(sdk, repo, "main") == old_head
        assert tree(http, repo) == old_tree
        # and it stays failed
        again = http.get(import_url(repo), params={"id": import_id}).json()
        assert again["completed"] is False and again["error"] == status["error"]
        # a failed import is no longer running: cancelling it (whatever the answer) commits nothing
        cancel = http.delete(import_url(repo), params={"id": import_id})
        assert cancel.status_code == 409, cancel.text
        assert head(sdk, repo, "main") == old_head


# force ---------------------------------------------------------------------------------------


def test_force_imports_into_a_dirty_branch(
    import_server: Server, import_sdk: lakefs_sdk.ApiClient, import_http: httpx.Client, import_repo: str
) -> None:
    """Uncommitted changes refuse an import (400, nothing started) unless ``force``: then
    the import commits on top of the head and the changes stay staged."""
    server, sdk, http, repo = import_server, import_sdk, import_http, import_repo
    old_head = commit_files(http, repo, {"data/old": b"old", "keep/y": b"keep", "z": b"z"})
    source = Source(server, "forced")
    files = {"a": b"imported a", "b/c": b"imported c"}
    source.put_all(files)
    upload(sdk, repo, "main", "staged/new", b"staged, not committed")
    upload(sdk, repo, "main", "data/staged", b"staged under the destination")
    assert http.delete(upload_url(repo), params={"path": "keep/y"}).status_code == 204

    def uncommitted() -> list[tuple[str, str]]:
        response = http.get(f"/repositories/{repo}/branches/main/diff", params={"amount": 1000})
        assert response.status_code == 200, response.text
        return sorted((item["type"], item["path"]) for item in response.json()["results"])

    staged = uncommitted()
    assert staged == [("added", "data/staged"), ("added", "staged/new"), ("removed", "keep/y")]

    body = import_body([prefix(source.uri, "data/")], "forced import")
    refused(sdk, http, repo, body, 400, "uncommitted")
    refused(sdk, http, repo, {**body, "force": False}, 400, "uncommitted")
    assert uncommitted() == staged

    sdk_status = lakefs_sdk.ImportApi(sdk).import_start(
        repo,
        "main",
        lakefs_sdk.ImportCreation(
            paths=[lakefs_sdk.ImportLocation(type="common_prefix", path=source.uri, destination="data/")],
            commit=lakefs_sdk.CommitCreation(message="forced import"),
            force=True,
        ),
    )
    status = wait_sdk(sdk, repo, sdk_status.id)
    assert status.completed is True and status.error is None
    assert status.commit is not None and status.commit.parents == [old_head]
    assert head(sdk, repo, "main") == status.commit.id

    # the commit holds the head's tree with data/ replaced, and none of the staged changes
    committed = tree(http, repo, status.commit.id)
    assert set(committed) == {"data/a", "data/b/c", "keep/y", "z"}
    assert committed["data/a"] == imported(source.uri_of("a"), b"imported a")
    # the staged changes are still staged, on top of it
    assert uncommitted() == staged
    assert read(http, repo, "staged/new") == b"staged, not committed"
    assert read(http, repo, "data/staged") == b"staged under the destination"
    assert stat(http, repo, "keep/y").status_code == 404
    assert set(tree(http, repo)) == {"data/a", "data/b/c", "data/staged", "staged/new", "z"}


# refusals --------------------------------------------------------------------------------------


def test_start_refusals(
    import_server: Server, import_sdk: lakefs_sdk.ApiClient, import_http: httpx.Client, import_repo: str
) -> None:
    """Every refused importStart starts nothing: the branch stays, and the one import
    started afterwards is the only new commit."""
    server, sdk, http, repo = import_server, import_sdk, import_http, import_repo
    commit_files(http, repo, {"data/old": b"old"})
    source = Source(server, "refused")
    good = source.put("good.bin", b"good")
    ok = prefix(source.uri, "data/")

    def refuse(body: Any, status: int = 400, *words: str, branch: str = "main") -> str:
        return refused(sdk, http, repo, body, status, *words, branch=branch)

    refuse(import_body([]), 400, "path")
    refuse({"commit": {"message": "no paths"}})
    refuse({"paths": [ok]})
    refuse({"paths": [ok], "commit": {}})
    refuse({"paths": [ok], "commit": {"message": "m", "metadata": {"a": 1}}})
    refuse({"paths": [ok], "commit": {"message": "m"}, "force": "yes"})
    refuse(import_body([{"type": "directory", "path": source.uri, "destination": "data/"}]))
    refuse(import_body([{"type": "", "path": source.uri, "destination": "data/"}]))
    refuse(import_body([{"path": source.uri, "destination": "data/"}]))
    refuse(import_body([{"type": "common_prefix", "destination": "data/"}]))
    refuse(import_body([{"type": "object", "path": good}]))
    refuse(import_body([prefix(source.uri, "/data/")]))
    refuse(import_body([single(good, "/data/good.bin")]))
    refuse(import_body([single(good, "")]))
    refuse(import_body([ok, single(good, "")]))
    # another blockstore's sources
    foreign = "s3://bucket/data/" if is_local(server) else f"local://{source.uri.split('/', 3)[3]}"
    refuse(import_body([prefix(foreign, "data/")]))
    refuse(import_body([single(foreign + "x", "data/x")]))
    refuse(import_body([prefix("gs://bucket/data/", "data/")]))
    refuse(import_body([prefix("data/", "data/")]))
    # the repository's own storage namespace, or a prefix containing it
    namespace = server.namespace(repo)
    refuse(import_body([prefix(namespace + "/", "data/")]))
    refuse(import_body([prefix(namespace + "/data/", "data/")]))
    refuse(import_body([prefix(namespace, "data/")]))
    refuse(import_body([single(namespace + "/_lakefs/repository.json", "data/x")]))
    if not is_local(server):
        parent = namespace.rsplit("/", 1)[0] + "/"
        refuse(import_body([prefix(parent, "data/")]), 400, "namespace")
        refuse(import_body([prefix(f"s3://{S3_BUCKET}/", "data/")]), 400, "namespace")
        refuse(import_body([prefix(namespace + "/", "data/")]), 400, "namespace")
    # missing repository or branch
    refused(sdk, http, f"no-repo-{uuid.uuid4().hex[:8]}", import_body([ok]), 404, head_repo=repo)
    response = http.post(import_url(repo, "no-such-branch"), json=import_body([ok]))
    assert_error(response, 404)

    # the refusals started nothing: one import now makes the only new commit
    commits_before = [c["id"] for c in log(http, repo)]
    done = run_import(http, repo, import_body([ok], "the one import"))
    assert [c["id"] for c in log(http, repo)] == [done["commit"]["id"], *commits_before]
    assert tree(http, repo) == {"data/good.bin": imported(good, b"good")}


def test_start_refuses_local_sources_outside_the_allowed_prefix(
    import_server: Server,
    import_sdk: lakefs_sdk.ApiClient,
    import_http: httpx.Client,
    import_repo: str,
    tmp_path: Path,
) -> None:
    """Only local:///absolute/paths below blockstore.local.allowed_external_prefixes are
    imported; anything else is refused with 400 and the branch stays."""
    if not is_local(import_server):
        pytest.skip("local:// sources and allowed_external_prefixes are of the local blockstore only")
    server, sdk, http, repo = import_server, import_sdk, import_http, import_repo
    commit_files(http, repo, {"data/old": b"old"})
    allowed = Path(server.extra_env[ALLOWED_PREFIXES_ENV])
    outside = tmp_path / "outside"
    (outside / "sub").mkdir(parents=True)
    (outside / "sub" / "file").write_bytes(b"outside")
    source = Source(server, "inside")
    source.put("file", b"inside")
    assert source.root is not None
    up_and_out = os.path.relpath(outside, source.root)
    (allowed.parent / f"{allowed.name}-sibling").mkdir(exist_ok=True)
    (allowed.parent / f"{allowed.name}-sibling" / "file").write_bytes(b"sibling")
    (source.root / "link").symlink_to(outside / "sub")

    bodies = [
        import_body([prefix(f"local://{outside}/", "data/")]),
        import_body([single(f"local://{outside}/sub/file", "data/file")]),
        # relative addresses are in the blockstore's own directory
        import_body([prefix("local://elsewhere/", "data/")]),
        import_body([prefix(f"local://{str(outside).lstrip('/')}/", "data/")]),
        # out through ".." or a symbolic link
        import_body([prefix(f"{source.uri}{up_and_out}/", "data/")]),
        import_body([single(f"{source.uri}{up_and_out}/sub/file", "data/file")]),
        import_body([single(f"{source.uri}../{source.root.name}/file", "data/file")]),
        import_body([single(f"{source.uri}link/file", "data/file")]),
        # a sibling directory whose name merely starts like the allowed one
        import_body([prefix(f"local://{allowed}-sibling/", "data/")]),
        # the server's own blockstore, by its absolute path
        import_body([prefix(f"local://{server.data_dir.resolve() / 'block'}/", "data/")]),
    ]
    for body in bodies:
        refused(sdk, http, repo, body, 400)
    assert set(tree(http, repo)) == {"data/old"}

    # A prefix below the allowed one imports its files, never what a symbolic link in it
    # leads to.
    done = run_import(http, repo, import_body([prefix(source.uri, "data/")]))
    assert done["ingested_objects"] == 1
    assert tree(http, repo) == {"data/file": imported(source.uri_of("file"), b"inside")}


def test_start_refused_on_a_read_only_repository(
    import_server: Server, import_sdk: lakefs_sdk.ApiClient, import_http: httpx.Client
) -> None:
    server, sdk, http = import_server, import_sdk, import_http
    repo = new_repo(server, sdk, read_only=True)
    source = Source(server, "read-only")
    source.put("a", b"a")
    refused(sdk, http, repo, import_body([prefix(source.uri, "data/")]), 403, "read-only repository", repo)
    assert tree(http, repo) == {}


def test_force_imports_into_a_read_only_repository(
    import_server: Server, import_sdk: lakefs_sdk.ApiClient, import_http: httpx.Client
) -> None:
    """``force`` lifts the read-only flag of an import, as in lakeFS: imports are how such
    repositories are filled."""
    server, sdk, http = import_server, import_sdk, import_http
    repo = new_repo(server, sdk, read_only=True)
    source = Source(server, "read-only-forced")
    source.put("a", b"a")
    done = run_import(http, repo, import_body([prefix(source.uri, "data/")], force=True))
    assert done["completed"] is True
    assert tree(http, repo) == {"data/a": imported(source.uri_of("a"), b"a")}


def test_start_refused_on_a_protected_branch(
    import_server: Server, import_sdk: lakefs_sdk.ApiClient, import_http: httpx.Client, import_repo: str
) -> None:
    """An import commits directly: a protected branch refuses it, even with force."""
    sdk, http, repo = import_sdk, import_http, import_repo
    protected = http.put(f"/repositories/{repo}/settings/branch_protection", json=[{"pattern": "main"}])
    assert protected.status_code == 204
    source = Source(import_server, "protected")
    source.put("a", b"a")
    for body in (
        import_body([prefix(source.uri, "data/")]),
        import_body([prefix(source.uri, "data/")], force=True),
    ):
        refused(sdk, http, repo, body, 403, "cannot commit to protected branch", repo)
    assert tree(http, repo) == {}


def test_imports_disabled_by_default(backend: Backend, request: pytest.FixtureRequest) -> None:
    """The default server's local blockstore has imports disabled: 403 in lakeFS's words,
    naming the key."""
    if backend.blockstore_type != "local":
        pytest.skip("only the local blockstore has imports disabled by default; S3 always allows them")
    server: Server = request.getfixturevalue("server")
    sdk: lakefs_sdk.ApiClient = request.getfixturevalue("sdk")
    http: httpx.Client = request.getfixturevalue("http")
    repo: str = request.getfixturevalue("repo")
    storage = http.get("/config/storage")
    assert storage.status_code == 200
    assert storage.json()["import_support"] is False
    source = server.data_dir / f"disabled-{uuid.uuid4().hex[:8]}"
    source.mkdir()
    (source / "a").write_bytes(b"a")
    body = import_body([prefix(f"local://{source.resolve()}/", "data/")])
    refused(sdk, http, repo, body, 403, "import is not supported for this storage", "import_enabled")
    assert tree(http, repo) == {}


def test_storage_config_announces_imports(import_http: httpx.Client) -> None:
    storage = import_http.get("/config/storage")
    assert storage.status_code == 200
    assert storage.json()["import_support"] is True


def test_status_and_cancel_refusals(
    import_server: Server, import_sdk: lakefs_sdk.ApiClient, import_http: httpx.Client, import_repo: str
) -> None:
    server, sdk, http, repo = import_server, import_sdk, import_http, import_repo
    branches = lakefs_sdk.BranchesApi(sdk)
    branches.create_branch(repo, lakefs_sdk.BranchCreation(name="other", source="main"))
    source = Source(server, "statuses")
    source.put("a", b"a")
    import_id = start(http, repo, import_body([prefix(source.uri, "data/")]))
    done = wait_http(http, repo, import_id)
    assert done["completed"] is True, done
    after = head(sdk, repo, "main")

    for method in ("GET", "DELETE"):
        assert_error(http.request(method, import_url(repo), params={"id": uuid.uuid4().hex}), 404)
        assert_error(http.request(method, import_url(repo), params={"id": ""}), 400)
        assert_error(http.request(method, import_url(repo)), 400, "id")
        # an import of another branch is not one of this branch
        assert_error(http.request(method, import_url(repo, "other"), params={"id": import_id}), 404)
        assert_error(http.request(method, import_url(repo, "nope"), params={"id": import_id}), 404)
        missing_repo = f"no-repo-{uuid.uuid4().hex[:8]}"
        assert_error(http.request(method, import_url(missing_repo), params={"id": import_id}), 404)

    # too late to cancel a completed import: 409, and it stays completed
    assert_error(http.delete(import_url(repo), params={"id": import_id}), 409)
    assert http.get(import_url(repo), params={"id": import_id}).json() == done
    assert head(sdk, repo, "main") == after
    api = lakefs_sdk.ImportApi(sdk)
    with pytest.raises(ApiException) as conflict:
        api.import_cancel(repo, "main", import_id)
    assert conflict.value.status == 409
    for call in (api.import_status, api.import_cancel):
        with pytest.raises(ApiException) as missing:
            call(repo, "main", uuid.uuid4().hex)
        assert missing.value.status == 404
    assert head(sdk, repo, "main") == after


# status from another worker process --------------------------------------------------------------


def process_tree(pid: int) -> list[int]:
    """``pid`` and every process below it."""
    found = [pid]
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            children = (task / "children").read_text().split()
        except OSError:
            continue
        for child in children:
            found.extend(process_tree(int(child)))
    return found


def serving_process(server: Server, client_port: int) -> int:
    """The process of ``server`` holding the accepted end of the connection from
    ``client_port`` (found through /proc: the socket's inode, then whose descriptor it is)."""
    inode = ""
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            local_port = int(fields[1].rsplit(":", 1)[1], 16)
            remote_port = int(fields[2].rsplit(":", 1)[1], 16)
            if local_port == server.port and remote_port == client_port:
                inode = fields[9]
    assert inode, f"no server socket for the connection from port {client_port}"
    assert server.process is not None
    for pid in process_tree(server.process.pid):
        for fd in Path(f"/proc/{pid}/fd").glob("*"):
            try:
                if os.readlink(fd) == f"socket:[{inode}]":
                    return pid
            except OSError:
                continue
    raise AssertionError(f"no process of the server holds socket {inode}")


def answered_by(server: Server, response: httpx.Response) -> int:
    """The server process that answered ``response`` (its connection still open)."""
    _, port = response.extensions["network_stream"].get_extra_info("client_addr")
    return serving_process(server, int(port))


def test_status_from_every_worker(
    import_server: Server, import_sdk: lakefs_sdk.ApiClient, import_http: httpx.Client, import_repo: str
) -> None:
    """The import runs in the worker that started it; its status, read over fresh
    connections (which the other worker takes while the first keeps its connection), is
    the same import's from every worker, while it runs and once it completed."""
    server, sdk, http, repo = import_server, import_sdk, import_http, import_repo
    old_head = commit_files(http, repo, {"many/old": b"old"})
    source = Source(server, "workers")
    source.put_all({f"d{i // 100:02}/f{i % 100:02}": b"%d" % i for i in range(3000)})
    response = http.post(import_url(repo), json=import_body([prefix(source.uri, "many/")], "workers"))
    assert response.status_code == 202, response.text
    import_id = response.json()["id"]
    starter = answered_by(server, response)

    workers: set[int] = set()
    answers: list[dict[str, Any]] = []
    deadline = time.monotonic() + IMPORT_DEADLINE_SECONDS
    while len(answers) < 20 or not answers[-1]["completed"]:
        assert time.monotonic() < deadline, answers[-1:]
        with httpx.Client(base_url=server.api, auth=(ACCESS_KEY_ID, SECRET_ACCESS_KEY), timeout=60) as fresh:
            status = fresh.get(import_url(repo), params={"id": import_id})
            assert status.status_code == 200, status.text
            workers.add(answered_by(server, status))
        answers.append(status.json())
    assert workers - {starter}, "every status was answered by the worker running the import"

    counts = [answer["ingested_objects"] for answer in answers]
    assert counts == sorted(counts)
    assert all("error" not in answer for answer in answers), answers
    first_done = next(i for i, answer in enumerate(answers) if answer["completed"])
    done = answers[first_done:]
    assert all(answer["completed"] for answer in done)
    commits = {answer["commit"]["id"] for answer in done}
    assert len(commits) == 1
    assert all(answer["ingested_objects"] == 3000 for answer in done)
    assert done[0]["commit"]["parents"] == [old_head]
    assert head(sdk, repo, "main") == commits.pop()


# a large import --------------------------------------------------------------------------------


def vm_rss_kib(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total


class MemorySampler:
    """The summed resident memory of a process tree, sampled every 0.1 s."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak_kib = 0
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def sample(self) -> int:
        rss = vm_rss_kib(process_tree(self.pid))
        self.peak_kib = max(self.peak_kib, rss)
        self.samples += 1
        return rss

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(0.1)

    def __enter__(self) -> MemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.sample()


LARGE_COUNT = 100_000
LARGE_DIRECTORIES = 100
# The server's whole process tree (parent and two workers) during the import, and how
# much of it the import may add to what the tree held when it started.
MEMORY_BOUND_MIB = 600
MEMORY_GROWTH_BOUND_MIB = 256


def test_import_of_100k_objects(
    import_server: Server, import_sdk: lakefs_sdk.ApiClient, import_http: httpx.Client, import_repo: str
) -> None:
    """100,000 files in 100 directories import in one commit, listed back in full, while
    the server's process tree (parent and two workers, summed VmRSS sampled every 0.1 s)
    stays under 600 MiB in all and grows by less than 256 MiB over what it held when the
    import started: the listing and the tree are streamed, not held in memory."""
    if not is_local(import_server):
        pytest.skip("100,000 keys are written to moto one request each: too slow; local files cover it")
    server, sdk, http, repo = import_server, import_sdk, import_http, import_repo
    old_head = commit_files(http, repo, {"large/old": b"old", "beside": b"beside"})
    data_before = data_files(server, repo)
    source = Source(server, "large")
    assert source.root is not None
    per_directory = LARGE_COUNT // LARGE_DIRECTORIES
    try:
        for d in range(LARGE_DIRECTORIES):
            directory = source.root / f"d{d:03}"
            directory.mkdir()
            for i in range(per_directory):
                fd = os.open(directory / f"f{i:05}", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
                try:
                    os.write(fd, b"%d/%d" % (d, i))
                finally:
                    os.close(fd)

        assert server.process is not None
        with MemorySampler(server.process.pid) as memory:
            baseline_kib = memory.sample()
            started = time.monotonic()
            import_id = start(http, repo, import_body([prefix(source.uri, "large/")], "100k objects"))
            status = wait_http(http, repo, import_id)
            duration = time.monotonic() - started
        assert status["completed"] is True, status
        assert "error" not in status
        assert status["ingested_objects"] == LARGE_COUNT
        assert status["commit"]["parents"] == [old_head]
        assert head(sdk, repo, "main") == status["commit"]["id"]
        peak_mib = memory.peak_kib / 1024
        print(
            f"\n100k import: {duration:.1f} s, {memory.samples} samples, "
            f"baseline {baseline_kib / 1024:.0f} MiB, peak {peak_mib:.0f} MiB"
        )
        assert memory.samples >= 2
        assert peak_mib < MEMORY_BOUND_MIB, f"peak {peak_mib:.0f} MiB"
        growth_mib = (memory.peak_kib - baseline_kib) / 1024
        assert growth_mib < MEMORY_GROWTH_BOUND_MIB, f"grew by {growth_mib:.0f} MiB"

        listing = tree(http, repo, status["commit"]["id"], amount=1000)
        assert len(listing) == LARGE_COUNT + 1
        assert "beside" in listing and "large/old" not in listing
        for d, i in ((0, 0), (0, per_directory - 1), (42, 123), (LARGE_DIRECTORIES - 1, per_directory - 1)):
            path = f"large/d{d:03}/f{i:05}"
            data = b"%d/%d" % (d, i)
            assert listing[path] == imported(source.uri_of(f"d{d:03}/f{i:05}"), data)
            assert read(http, repo, path) == data
        assert data_files(server, repo) == data_before
    finally:
        shutil.rmtree(source.root, ignore_errors=True)
