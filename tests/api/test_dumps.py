"""Dump and restore of a repository's refs: dumpSubmit, dumpStatus, restoreSubmit and
restoreStatus (background tasks), and the synchronous dumpRefs and restoreRefs.

A dump writes the repository's commits, tags and branches as trees into its own storage
namespace; a restore loads them into a bare repository on that namespace, typically the
same repository deleted and created again with ``bare=true``: afterwards every commit id,
branch head and tag is the dumped one and every object reads back the same bytes.
Staged changes are not dumped. Each operation is exercised through ``lakefs_sdk``, the
legacy ``lakefs_client`` (as the seed page calls them) and plain HTTP, with the status
codes the contract lists.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx
import lakefs_client
import lakefs_sdk
import pytest
from conftest import (
    ACCESS_KEY_ID,
    Server,
    assert_error,
    free_port,
    head,
    objects_url,
    status_of,
    upload_url,
)
from lakefs_client.api.internal_api import InternalApi as LegacyInternalApi
from lakefs_client.api.repositories_api import RepositoriesApi as LegacyRepositoriesApi
from lakefs_client.model.refs_restore import RefsRestore as LegacyRefsRestore
from lakefs_sdk.exceptions import ApiException

T = TypeVar("T")

# How long a dump or a restore may take before a test gives up on it.
TASK_DEADLINE_SECONDS = 60.0
BARE_ONLY = "can only restore into a bare repository"


# helpers ---------------------------------------------------------------------------------


def unique(prefix: str = "dump") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def create_repo(http: httpx.Client, name: str, namespace: str, *, bare: bool = False, **fields: Any) -> None:
    response = http.post(
        "/repositories",
        json={"name": name, "storage_namespace": namespace, **fields},
        params={"bare": "true"} if bare else {},
    )
    assert response.status_code == 201, response.text


def recreate_bare(http: httpx.Client, server: Server, name: str, **fields: Any) -> None:
    """Delete repository ``name`` and create it again, bare, on the same namespace."""
    response = http.delete(f"/repositories/{name}", params={"force": "true"})
    assert response.status_code == 204, response.text
    create_repo(http, name, server.namespace(name), bare=True, **fields)


def wait_done(read_status: Callable[[], T]) -> T:
    """Read a task's status (a model of either client) until it says done."""
    deadline = time.monotonic() + TASK_DEADLINE_SECONDS
    while True:
        status = read_status()
        if status.done:  # type: ignore[attr-defined]
            return status
        assert time.monotonic() < deadline, f"the task did not finish in {TASK_DEADLINE_SECONDS} s: {status}"
        time.sleep(0.05)


def wait_http(http: httpx.Client, url: str, task_id: str) -> dict[str, Any]:
    """Poll a task's status over HTTP until done; its body."""
    deadline = time.monotonic() + TASK_DEADLINE_SECONDS
    while True:
        response = http.get(url, params={"task_id": task_id})
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        if body["done"]:
            return body
        assert time.monotonic() < deadline, f"the task did not finish in {TASK_DEADLINE_SECONDS} s: {body}"
        time.sleep(0.05)


def upload(http: httpx.Client, repo: str, branch: str, path: str, data: bytes) -> None:
    response = http.post(
        upload_url(repo, branch),
        params={"path": path},
        content=data,
        headers={"Content-Type": "application/octet-stream"},
    )
    assert response.status_code == 201, response.text


def upload_many(server: Server, repo: str, branch: str, files: dict[str, bytes]) -> None:
    """Upload ``files`` to a branch, a few at a time."""

    def send(items: list[tuple[str, bytes]]) -> None:
        with server.http() as http:
            for path, data in items:
                upload(http, repo, branch, path, data)

    items = list(files.items())
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(send, [items[k::4] for k in range(4)]))


def commit(http: httpx.Client, repo: str, branch: str, message: str) -> str:
    response = http.post(f"/repositories/{repo}/branches/{branch}/commits", json={"message": message})
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def merge(http: httpx.Client, repo: str, source: str, dest: str) -> str:
    response = http.post(f"/repositories/{repo}/refs/{source}/merge/{dest}", json={})
    assert response.status_code == 200, response.text
    return str(response.json()["reference"])


def create_branch(http: httpx.Client, repo: str, name: str, source: str, **fields: Any) -> None:
    response = http.post(f"/repositories/{repo}/branches", json={"name": name, "source": source, **fields})
    assert response.status_code == 201, response.text


def create_tag(http: httpx.Client, repo: str, name: str, ref: str) -> None:
    response = http.post(f"/repositories/{repo}/tags", json={"id": name, "ref": ref})
    assert response.status_code == 201, response.text


def pages(http: httpx.Client, url: str, **params: Any) -> Iterator[dict[str, Any]]:
    """Every result of a paginated listing."""
    after = ""
    while True:
        response = http.get(url, params={**params, "amount": 1000, "after": after})
        assert response.status_code == 200, response.text
        body = response.json()
        yield from body["results"]
        if not body["pagination"]["has_more"]:
            return
        after = body["pagination"]["next_offset"]


def refs_of(http: httpx.Client, repo: str) -> dict[str, Any]:
    """Every branch (hidden ones too) and tag with its commit, and each branch's log."""
    branches = {
        b["id"]: b["commit_id"] for b in pages(http, f"/repositories/{repo}/branches", show_hidden="true")
    }
    tags = {t["id"]: t["commit_id"] for t in pages(http, f"/repositories/{repo}/tags")}
    logs = {
        name: [c["id"] for c in pages(http, f"/repositories/{repo}/refs/{name}/commits")] for name in branches
    }
    return {"branches": branches, "tags": tags, "logs": logs}


def listing(http: httpx.Client, repo: str, ref: str) -> dict[str, str]:
    """Every object of ``ref`` with its checksum."""
    return {o["path"]: o["checksum"] for o in pages(http, f"{objects_url(repo, ref)}/ls")}


def read(http: httpx.Client, repo: str, ref: str, path: str) -> bytes:
    response = http.get(objects_url(repo, ref), params={"path": path})
    assert response.status_code == 200, response.text
    return response.content


def small_history(http: httpx.Client, repo: str) -> dict[str, str]:
    """A commit on ``main``, a branch ``dev`` with a commit of its own, a tag: the refs."""
    upload(http, repo, "main", "a.txt", b"a")
    first = commit(http, repo, "main", "first")
    create_branch(http, repo, "dev", "main")
    upload(http, repo, "dev", "b.txt", b"b")
    second = commit(http, repo, "dev", "second")
    create_tag(http, repo, "v1", first)
    return {"main": first, "dev": second, "v1": first}


def assert_refs(http: httpx.Client, repo: str, expected: dict[str, str]) -> None:
    refs = refs_of(http, repo)
    assert {**refs["branches"], **refs["tags"]} == expected


@pytest.fixture()
def legacy_client(server: Server, tmp_path: Path) -> Iterator[lakefs_client.ApiClient]:
    """The legacy client, configured as its documentation shows."""
    with lakefs_client.ApiClient(server.legacy_configuration(tmp_path)) as api_client:
        yield api_client


@pytest.fixture(scope="module")
def second_server(server: Server) -> Iterator[Server]:
    """Another server process of the same installation: the same metadata store and
    blockstore (for SQLite and local storage, the same data directory)."""
    other = Server(server.data_dir, free_port(), workers=1, backend=server.backend)
    other.start()
    yield other
    other.stop()


# the round trip ----------------------------------------------------------------------------


DELETED_ON_DEV = {f"data/a/{k:04d}" for k in range(5, 15)}


def content(path: str, version: int = 1) -> bytes:
    return f"{path} version {version}\n".encode() * 3


def build_history(server: Server, http: httpx.Client, repo: str) -> dict[str, bytes]:
    """Branches, tags, merges and 1,000 objects; what ``main`` holds at the end."""
    main = {f"data/a/{k:04d}": content(f"data/a/{k:04d}") for k in range(400)}
    upload_many(server, repo, "main", main)
    commit(http, repo, "main", "first 400")
    create_tag(http, repo, "v1", "main")

    create_branch(http, repo, "dev", "main")
    dev = {f"data/b/{k:04d}": content(f"data/b/{k:04d}") for k in range(300)}
    upload_many(server, repo, "dev", dev)
    commit(http, repo, "dev", "300 on dev")
    merge(http, repo, "dev", "main")

    create_branch(http, repo, "feature", "main")
    feature = {f"data/c/{k:04d}": content(f"data/c/{k:04d}") for k in range(300)}
    feature.update({f"data/a/{k:04d}": content(f"data/a/{k:04d}", 2) for k in range(5)})
    upload_many(server, repo, "feature", feature)
    commit(http, repo, "feature", "300 on feature, 5 overwritten")
    merge(http, repo, "feature", "main")
    create_tag(http, repo, "v2", "main")

    # Not the paths feature overwrote: dev merges into main again after the restore.
    for path in DELETED_ON_DEV:
        assert http.delete(upload_url(repo, "dev"), params={"path": path}).status_code == 204
    commit(http, repo, "dev", "10 deleted on dev")
    create_tag(http, repo, "dev-tip", "dev")
    create_branch(http, repo, "scratch", "feature", hidden=True)
    # Staged, never committed: not part of a dump.
    upload(http, repo, "dev", "staged-only.txt", b"staged")
    return {**main, **dev, **feature}


def test_round_trip_through_the_sdk(server: Server, sdk: lakefs_sdk.ApiClient, http: httpx.Client) -> None:
    repo = unique("trip")
    create_repo(http, repo, server.namespace(repo))
    on_main = build_history(server, http, repo)
    assert len(on_main) == 1000
    before = refs_of(http, repo)
    assert set(before["branches"]) == {"main", "dev", "feature", "scratch"}
    listings = {ref: listing(http, repo, ref) for ref in [*before["branches"], *before["tags"]]}
    # Staged changes are not dumped.
    assert listings["dev"].pop("staged-only.txt")

    api = lakefs_sdk.RepositoriesApi(sdk)
    task = api.dump_submit(repo)
    assert task.id
    dumped = wait_done(lambda: api.dump_status(repo, task.id))
    assert dumped.id == task.id and dumped.error is None
    assert isinstance(dumped.update_time, datetime)
    assert dumped.refs is not None
    refs = dumped.refs
    for tree_id in (refs.commits_meta_range_id, refs.tags_meta_range_id, refs.branches_meta_range_id):
        assert f"{server.namespace(repo)}/_lakefs/{tree_id}" in server.stored_uris(server.namespace(repo))

    recreate_bare(http, server, repo)
    assert refs_of(http, repo) == {"branches": {}, "tags": {}, "logs": {}}
    restoring = api.restore_submit(
        repo,
        lakefs_sdk.RefsRestore(
            commits_meta_range_id=refs.commits_meta_range_id,
            tags_meta_range_id=refs.tags_meta_range_id,
            branches_meta_range_id=refs.branches_meta_range_id,
        ),
    )
    restored = wait_done(lambda: api.restore_status(repo, restoring.id))
    assert restored.id == restoring.id and restored.error is None

    assert refs_of(http, repo) == before
    assert {ref: listing(http, repo, ref) for ref in listings} == listings
    for path, data in on_main.items():
        assert read(http, repo, "main", path) == data
    for k in range(5):
        assert read(http, repo, "v1", f"data/a/{k:04d}") == content(f"data/a/{k:04d}")
    listed = [b["id"] for b in pages(http, f"/repositories/{repo}/branches")]
    assert "scratch" not in listed and "main" in listed  # still hidden

    # dev is clean, at its last commit.
    assert list(pages(http, f"/repositories/{repo}/branches/dev/diff")) == []
    # The restored repository works as any other: diff, commit, merge.
    diff = list(pages(http, f"/repositories/{repo}/refs/main/diff/dev"))
    assert {d["path"] for d in diff} == DELETED_ON_DEV
    upload(http, repo, "dev", "after-restore.txt", b"new")
    new_head = commit(http, repo, "dev", "after the restore")
    response = http.get(f"/repositories/{repo}/commits/{new_head}")
    assert response.json()["parents"] == [before["branches"]["dev"]]
    merged = merge(http, repo, "dev", "main")
    assert read(http, repo, merged, "after-restore.txt") == b"new"
    assert not DELETED_ON_DEV & set(listing(http, repo, "main"))


# legacy lakefs_client -----------------------------------------------------------------------


def test_legacy_client_dump_and_restore(
    server: Server, http: httpx.Client, legacy_client: lakefs_client.ApiClient
) -> None:
    repo = unique("legacy")
    create_repo(http, repo, server.namespace(repo))
    expected = small_history(http, repo)
    api = LegacyRepositoriesApi(legacy_client)

    task = api.dump_submit(repo)
    status = wait_done(lambda: api.dump_status(repo, task.id))
    assert status.id == task.id and "error" not in status.to_dict()
    assert isinstance(status.update_time, datetime)
    refs = status.refs

    recreate_bare(http, server, repo)
    restoring = api.restore_submit(
        repo,
        LegacyRefsRestore(
            commits_meta_range_id=refs.commits_meta_range_id,
            tags_meta_range_id=refs.tags_meta_range_id,
            branches_meta_range_id=refs.branches_meta_range_id,
            force=False,
        ),
    )
    restored = wait_done(lambda: api.restore_status(repo, restoring.id))
    assert "error" not in restored.to_dict()
    assert_refs(http, repo, expected)

    # The internal, synchronous pair.
    internal = LegacyInternalApi(legacy_client)
    dumped = internal.dump_refs(repo)
    assert dumped.commits_meta_range_id == refs.commits_meta_range_id
    assert dumped.tags_meta_range_id == refs.tags_meta_range_id
    assert dumped.branches_meta_range_id == refs.branches_meta_range_id
    recreate_bare(http, server, repo)
    internal.restore_refs(
        repo,
        LegacyRefsRestore(
            commits_meta_range_id=dumped.commits_meta_range_id,
            tags_meta_range_id=dumped.tags_meta_range_id,
            branches_meta_range_id=dumped.branches_meta_range_id,
        ),
    )
    assert_refs(http, repo, expected)
    assert read(http, repo, "dev", "b.txt") == b"b"


def test_legacy_client_status_codes(
    server: Server, http: httpx.Client, legacy_client: lakefs_client.ApiClient, tmp_path: Path
) -> None:
    repo = unique("legacy-codes")
    create_repo(http, repo, server.namespace(repo))
    small_history(http, repo)
    api = LegacyRepositoriesApi(legacy_client)
    dumped = LegacyInternalApi(legacy_client).dump_refs(repo)
    body = LegacyRefsRestore(
        commits_meta_range_id=dumped.commits_meta_range_id,
        tags_meta_range_id=dumped.tags_meta_range_id,
        branches_meta_range_id=dumped.branches_meta_range_id,
    )

    missing = unique("missing")
    assert status_of(lambda: api.dump_submit(missing)) == 404
    assert status_of(lambda: api.dump_status(repo, uuid.uuid4().hex)) == 404
    assert status_of(lambda: api.dump_status(missing, uuid.uuid4().hex)) == 404
    assert status_of(lambda: api.restore_status(repo, uuid.uuid4().hex)) == 404
    assert status_of(lambda: api.restore_submit(missing, body)) == 404
    assert status_of(lambda: api.restore_submit(repo, body)) == 400  # not bare
    assert status_of(lambda: api.restore_status(repo, "")) == 400
    assert status_of(lambda: api.dump_status(repo, "")) == 400
    read_only = unique("legacy-ro")
    create_repo(http, read_only, server.namespace(read_only), bare=True, read_only=True)
    assert status_of(lambda: api.restore_submit(read_only, body)) == 403

    configuration = server.legacy_configuration(tmp_path)
    configuration.password = "not-the-secret"
    with lakefs_client.ApiClient(configuration) as stranger:
        intruder = LegacyRepositoriesApi(stranger)
        assert status_of(lambda: intruder.dump_submit(repo)) == 401
        assert status_of(lambda: intruder.dump_status(repo, "x")) == 401
        assert status_of(lambda: intruder.restore_submit(repo, body)) == 401
        assert status_of(lambda: intruder.restore_status(repo, "x")) == 401
        assert status_of(lambda: LegacyInternalApi(stranger).dump_refs(repo)) == 401


# lakefs_sdk: every operation and status code ---------------------------------------------


def sdk_restore(refs: Any, *, force: bool | None = None) -> lakefs_sdk.RefsRestore:
    return lakefs_sdk.RefsRestore(
        commits_meta_range_id=refs.commits_meta_range_id,
        tags_meta_range_id=refs.tags_meta_range_id,
        branches_meta_range_id=refs.branches_meta_range_id,
        force=force,
    )


def test_sdk_internal_dump_refs_and_restore_refs(
    server: Server, sdk: lakefs_sdk.ApiClient, http: httpx.Client
) -> None:
    repo = unique("internal")
    create_repo(http, repo, server.namespace(repo))
    expected = small_history(http, repo)
    internal = lakefs_sdk.InternalApi(sdk)
    answer = internal.dump_refs_with_http_info(repo)
    assert answer.status_code == 201
    refs = answer.data
    manifest = server.read_object(f"{server.namespace(repo)}/_lakefs/refs_manifest.json")
    assert lakefs_sdk.RefsDump.from_json(manifest.decode()) == refs

    recreate_bare(http, server, repo)
    restored = internal.restore_refs_with_http_info(repo, sdk_restore(refs))
    assert restored.status_code == 200
    assert_refs(http, repo, expected)
    # Not bare any more.
    with pytest.raises(ApiException) as refused:
        internal.restore_refs(repo, sdk_restore(refs))
    assert refused.value.status == 400 and BARE_ONLY in refused.value.body


def test_sdk_status_codes(server: Server, sdk: lakefs_sdk.ApiClient, http: httpx.Client) -> None:
    repo = unique("codes")
    create_repo(http, repo, server.namespace(repo))
    small_history(http, repo)
    api = lakefs_sdk.RepositoriesApi(sdk)
    submitted = api.dump_submit_with_http_info(repo)
    assert submitted.status_code == 202
    answer = api.dump_status_with_http_info(repo, submitted.data.id)
    assert answer.status_code == 200
    refs = wait_done(lambda: api.dump_status(repo, submitted.data.id)).refs

    missing = unique("missing")
    assert status_of(lambda: api.dump_submit(missing)) == 404
    assert status_of(lambda: api.dump_status(missing, submitted.data.id)) == 404
    assert status_of(lambda: api.dump_status(repo, uuid.uuid4().hex)) == 404
    assert status_of(lambda: api.dump_status(repo, "")) == 400
    assert status_of(lambda: api.restore_submit(missing, sdk_restore(refs))) == 404
    assert status_of(lambda: api.restore_submit(repo, sdk_restore(refs))) == 400
    assert status_of(lambda: api.restore_status(repo, "")) == 400
    # A dump's task id is no restore's.
    assert status_of(lambda: api.restore_status(repo, submitted.data.id)) == 404
    read_only = unique("ro-bare")
    create_repo(http, read_only, server.namespace(read_only), bare=True, read_only=True)
    assert status_of(lambda: api.restore_submit(read_only, sdk_restore(refs))) == 403

    restoring = api.restore_submit_with_http_info(repo, sdk_restore(refs, force=True))
    assert restoring.status_code == 202
    status = api.restore_status_with_http_info(repo, restoring.data.id)
    assert status.status_code == 200
    assert wait_done(lambda: api.restore_status(repo, restoring.data.id)).error is None

    configuration = lakefs_sdk.Configuration(host=server.api, username=ACCESS_KEY_ID, password="wrong")
    with lakefs_sdk.ApiClient(configuration) as stranger:
        intruder = lakefs_sdk.RepositoriesApi(stranger)
        assert status_of(lambda: intruder.dump_submit(repo)) == 401
        assert status_of(lambda: intruder.dump_status(repo, "x")) == 401
        assert status_of(lambda: intruder.restore_submit(repo, sdk_restore(refs))) == 401
        assert status_of(lambda: intruder.restore_status(repo, "x")) == 401
        assert (
            status_of(lambda: lakefs_sdk.InternalApi(stranger).restore_refs(repo, sdk_restore(refs))) == 401
        )


# force, read-only repositories, bad dumps --------------------------------------------------


def test_force_replaces_the_refs_of_the_dump_and_keeps_the_others(
    server: Server, sdk: lakefs_sdk.ApiClient, http: httpx.Client
) -> None:
    repo = unique("force")
    create_repo(http, repo, server.namespace(repo))
    dumped_refs = small_history(http, repo)
    api = lakefs_sdk.RepositoriesApi(sdk)
    refs = lakefs_sdk.InternalApi(sdk).dump_refs(repo)

    # Life goes on after the dump: main moves, a branch and a tag appear, dev has staged work.
    upload(http, repo, "main", "later.txt", b"later")
    later = commit(http, repo, "main", "later")
    create_branch(http, repo, "extra", "main")
    create_tag(http, repo, "v2", "main")
    upload(http, repo, "dev", "staged.txt", b"staged")

    with pytest.raises(ApiException) as refused:
        api.restore_submit(repo, sdk_restore(refs))
    assert refused.value.status == 400 and BARE_ONLY in refused.value.body
    assert head(sdk, repo, "main") == later

    task = api.restore_submit(repo, sdk_restore(refs, force=True))
    assert wait_done(lambda: api.restore_status(repo, task.id)).error is None
    assert_refs(http, repo, {**dumped_refs, "extra": later, "v2": later})
    assert "staged.txt" not in listing(http, repo, "dev")
    assert list(pages(http, f"/repositories/{repo}/branches/dev/diff")) == []
    assert read(http, repo, "extra", "later.txt") == b"later"


def test_read_only_bare_repository_is_restored_only_with_force(
    server: Server, sdk: lakefs_sdk.ApiClient, http: httpx.Client
) -> None:
    repo = unique("ro")
    create_repo(http, repo, server.namespace(repo))
    expected = small_history(http, repo)
    refs = lakefs_sdk.InternalApi(sdk).dump_refs(repo)
    recreate_bare(http, server, repo, read_only=True)
    body = {**refs.to_dict()}
    assert_error(http.post(f"/repositories/{repo}/restore", json=body), 403, "read-only")
    assert_error(http.put(f"/repositories/{repo}/refs/restore", json=body), 403, "read-only")
    response = http.post(f"/repositories/{repo}/restore", json={**body, "force": True})
    assert response.status_code == 202, response.text
    status = wait_http(http, f"/repositories/{repo}/restore", response.json()["id"])
    assert "error" not in status
    assert_refs(http, repo, expected)
    # Still read-only: writes need force.
    assert_error(http.post(f"/repositories/{repo}/branches", json={"name": "x", "source": "main"}), 403)


def test_a_read_only_repository_can_be_dumped(
    read_only_repo: str, sdk: lakefs_sdk.ApiClient, http: httpx.Client
) -> None:
    api = lakefs_sdk.RepositoriesApi(sdk)
    task = api.dump_submit(read_only_repo)
    status = wait_done(lambda: api.dump_status(read_only_repo, task.id))
    assert status.error is None and status.refs is not None


def test_bad_metarange_ids_are_refused(server: Server, http: httpx.Client) -> None:
    repo = unique("bad-ids")
    create_repo(http, repo, server.namespace(repo))
    small_history(http, repo)
    response = http.put(f"/repositories/{repo}/refs/dump")
    assert response.status_code == 201, response.text
    refs = response.json()
    assert set(refs) == {"commits_meta_range_id", "tags_meta_range_id", "branches_meta_range_id"}
    recreate_bare(http, server, repo)

    for field in refs:
        for bad in ("not-an-id", "0" * 64, "../../etc/passwd", ""):
            body = {**refs, field: bad}
            for method, url in (("POST", "restore"), ("PUT", "refs/restore")):
                answer = http.request(method, f"/repositories/{repo}/{url}", json=body)
                assert_error(answer, 400, "metarange not found", repr(bad))
    # Missing fields and bodies that are not JSON.
    for method, url in (("POST", "restore"), ("PUT", "refs/restore")):
        assert_error(http.request(method, f"/repositories/{repo}/{url}", json={}), 400)
        assert_error(http.request(method, f"/repositories/{repo}/{url}", content=b"{"), 400)
        assert_error(http.request(method, f"/repositories/{repo}/{url}"), 400)
    assert_error(http.get(f"/repositories/{repo}/dump"), 400, "task_id")
    assert_error(http.get(f"/repositories/{repo}/restore"), 400, "task_id")
    # Nothing was restored.
    assert refs_of(http, repo) == {"branches": {}, "tags": {}, "logs": {}}


def test_trees_that_are_no_dump_fail_the_restore_and_restore_nothing(
    server: Server, http: httpx.Client
) -> None:
    repo = unique("no-dump")
    create_repo(http, repo, server.namespace(repo))
    small_history(http, repo)
    refs = http.put(f"/repositories/{repo}/refs/dump").json()
    # The tree of a commit holds objects, not commits.
    main = http.get(f"/repositories/{repo}/branches/main").json()["commit_id"]
    objects_tree = http.get(f"/repositories/{repo}/commits/{main}").json()["meta_range_id"]
    recreate_bare(http, server, repo)

    wrong = [
        ({**refs, "commits_meta_range_id": objects_tree}, "not a dump of commits"),
        ({**refs, "commits_meta_range_id": refs["tags_meta_range_id"]}, "not a dump of commits"),
        ({**refs, "tags_meta_range_id": refs["branches_meta_range_id"]}, "not a dump of tags"),
        ({**refs, "branches_meta_range_id": refs["tags_meta_range_id"]}, "not a dump of branches"),
    ]
    for body, words in wrong:
        response = http.post(f"/repositories/{repo}/restore", json=body)
        assert response.status_code == 202, response.text
        status = wait_http(http, f"/repositories/{repo}/restore", response.json()["id"])
        assert words in status["error"], status
        assert_error(http.put(f"/repositories/{repo}/refs/restore", json=body), 400, words)
        branches = list(pages(http, f"/repositories/{repo}/branches", show_hidden="true"))
        assert branches == [] and list(pages(http, f"/repositories/{repo}/tags")) == []
    # The right dump still restores (no force needed: nothing visible was written).
    response = http.put(f"/repositories/{repo}/refs/restore", json=refs)
    assert response.status_code == 200, response.text
    assert read(http, repo, "dev", "b.txt") == b"b"


# several server processes ------------------------------------------------------------------


def test_any_server_answers_for_a_task(
    server: Server, second_server: Server, sdk: lakefs_sdk.ApiClient, http: httpx.Client
) -> None:
    repo = unique("scale")
    create_repo(http, repo, server.namespace(repo))
    expected = small_history(http, repo)
    api = lakefs_sdk.RepositoriesApi(sdk)
    with second_server.sdk() as other_sdk:
        other = lakefs_sdk.RepositoriesApi(other_sdk)
        task = api.dump_submit(repo)
        refs = wait_done(lambda: other.dump_status(repo, task.id)).refs
        recreate_bare(http, server, repo)
        restoring = other.restore_submit(repo, sdk_restore(refs))
        assert wait_done(lambda: api.restore_status(repo, restoring.id)).error is None
    assert_refs(http, repo, expected)
