"""Two more lakeFS clients against a real server: the fsspec file system ``lakefs-spec`` and
the legacy generated client ``lakefs-client``, each through the operations Limnos serves."""

from __future__ import annotations

import hashlib
import io
import os
import uuid
from pathlib import Path
from typing import Any

import fsspec
import httpx
import lakefs
import lakefs_client
import pandas as pd
import polars as pl
import pytest
from conftest import ACCESS_KEY_ID, SECRET_ACCESS_KEY, Server
from lakefs_client import models
from lakefs_client.client import LakeFSClient
from lakefs_client.exceptions import ApiException as LegacyApiException
from lakefs_spec import LakeFSFileSystem

# fixtures and helpers ----------------------------------------------------------------------


@pytest.fixture()
def fs(server: Server) -> LakeFSFileSystem:
    """A file system of its own (fsspec caches instances by their arguments) with no
    listings cache, so that every listing asks the server rather than the client's memory."""
    return LakeFSFileSystem(
        host=server.url,
        username=ACCESS_KEY_ID,
        password=SECRET_ACCESS_KEY,
        skip_instance_cache=True,
        use_listings_cache=False,
    )


@pytest.fixture()
def legacy(server: Server, tmp_path: Path) -> LakeFSClient:
    """The legacy client, which keeps every getObject download as a file under ``tmp_path``."""
    return LakeFSClient(server.legacy_configuration(tmp_path))


def storage_options(server: Server) -> dict[str, Any]:
    """What pandas passes on to ``LakeFSFileSystem`` for a ``lakefs://`` URL."""
    return {"host": server.url, "username": ACCESS_KEY_ID, "password": SECRET_ACCESS_KEY}


def wrapper_repo(server: Server, repo: str) -> lakefs.Repository:
    client = lakefs.Client(host=server.url, username=ACCESS_KEY_ID, password=SECRET_ACCESS_KEY)
    return lakefs.Repository(repo, client=client)


def legacy_upload(legacy: LakeFSClient, repo: str, branch: str, path: str, data: bytes) -> Any:
    """Upload through the legacy client, which always sends multipart/form-data."""
    return legacy.objects_api.upload_object(repo, branch, path, content=io.BytesIO(data))


def legacy_read(legacy: LakeFSClient, repo: str, ref: str, path: str, **kwargs: Any) -> bytes:
    """getObject through the legacy client: it answers an open file it wrote the body to."""
    with legacy.objects_api.get_object(repo, ref, path, **kwargs) as downloaded:
        return bytes(downloaded.read())


def legacy_commit(legacy: LakeFSClient, repo: str, branch: str, message: str, **kwargs: Any) -> Any:
    return legacy.commits_api.commit(repo, branch, models.CommitCreation(message=message, **kwargs))


# lakefs-spec: the fsspec file system --------------------------------------------------------


def test_spec_registers_the_lakefs_protocol(server: Server) -> None:
    assert fsspec.get_filesystem_class("lakefs") is LakeFSFileSystem
    fs = fsspec.filesystem("lakefs", skip_instance_cache=True, **storage_options(server))
    assert isinstance(fs, LakeFSFileSystem)
    # the client behind it reads the server's configuration
    assert fs.client.storage_config.blockstore_type == server.backend.blockstore_type


def test_spec_list_info_and_exists(fs: LakeFSFileSystem, repo: str) -> None:
    root = f"{repo}/main"
    for path in ("a/b.txt", "a/c/d.txt", "a_b.txt", "top.txt"):
        fs.pipe(f"{root}/{path}", path.encode())

    assert fs.ls(f"{root}/", detail=False) == [f"{root}/a/", f"{root}/a_b.txt", f"{root}/top.txt"]
    detailed = {entry["name"]: entry for entry in fs.ls(f"lakefs://{root}/")}
    assert detailed[f"{root}/a/"]["type"] == "directory"
    top = detailed[f"{root}/top.txt"]
    assert (top["type"], top["size"]) == ("file", len(b"top.txt"))
    assert top["checksum"] == hashlib.md5(b"top.txt").hexdigest()
    # without the trailing slash a directory is listed too, and "a_b.txt" (a mere prefix
    # match of "a") is not part of it
    assert fs.ls(f"{root}/a", detail=False) == [f"{root}/a/b.txt", f"{root}/a/c/"]
    assert fs.find(f"{root}/a/") == [f"{root}/a/b.txt", f"{root}/a/c/d.txt"]
    assert fs.ls(f"{root}/nothing/") == []

    info = fs.info(f"{root}/a/b.txt")
    assert info["type"] == "file"
    assert info["size"] == len(b"a/b.txt")
    assert info["checksum"] == hashlib.md5(b"a/b.txt").hexdigest()
    assert info["content-type"] == "application/octet-stream"
    assert info["metadata"] == {}
    directory = fs.info(f"{root}/a")
    assert directory["type"] == "directory"
    assert directory["size"] == len(b"a/b.txt")  # the files directly in it
    with pytest.raises(FileNotFoundError):
        fs.info(f"{root}/a/missing.txt")

    assert fs.exists(f"{root}/a/b.txt")
    assert fs.exists(f"{root}/a/c")  # a prefix is a directory
    assert fs.exists(f"{root}/")  # the root of an existing branch
    assert not fs.exists(f"{root}/a/missing.txt")
    assert not fs.exists(f"{repo}/no-such-branch/")
    assert not fs.exists(f"no-such-repo-{uuid.uuid4().hex[:8]}/main/a/b.txt")
    assert fs.isfile(f"{root}/a/b.txt") and not fs.isdir(f"{root}/a/b.txt")
    assert fs.isdir(f"{root}/a/c") and not fs.isfile(f"{root}/a/c")
    with pytest.raises(FileNotFoundError):
        fs.ls(f"no-such-repo-{uuid.uuid4().hex[:8]}/main/")


def test_spec_listing_pages(fs: LakeFSFileSystem, repo: str) -> None:
    # more entries than one page of the server (100): the wrapper follows next_offset
    names = [f"{repo}/main/many/{i:03d}" for i in range(130)]
    fs.pipe({name: b"x" for name in names})
    assert fs.ls(f"{repo}/main/many/", detail=False) == names
    assert fs.du(f"{repo}/main/many/") == len(names)


def test_spec_reads_seeks_and_ranges(fs: LakeFSFileSystem, repo: str, tmp_path: Path) -> None:
    # larger than the server's chunk, so whole reads are streamed
    data = os.urandom(600_000)
    local = tmp_path / "data.bin"
    local.write_bytes(data)
    remote = f"{repo}/main/dir/data.bin"
    fs.put_file(str(local), remote)

    with fs.open(remote, "rb") as f:
        assert f.read(10) == data[:10]
        assert f.tell() == 10
        f.seek(300_000)
        assert f.read(5000) == data[300_000:305_000]
        f.seek(100, os.SEEK_CUR)
        assert f.read(1) == data[305_100:305_101]
        f.seek(-100, os.SEEK_END)  # needs the object's size: a statObject
        assert f.read() == data[-100:]
        assert f.read() == b""  # at the end (the size came with the last Content-Range)
        f.seek(0)
        assert f.read() == data

    assert fs.cat_file(remote) == data
    assert fs.cat_file(remote, start=1000, end=2000) == data[1000:2000]
    assert fs.cat_file(remote, start=599_990, end=700_000) == data[599_990:]
    assert fs.cat_ranges([remote, remote], [0, 500], [10, 510]) == [data[:10], data[500:510]]
    assert fs.head(remote, 7) == data[:7]
    assert fs.tail(remote, 9) == data[-9:]
    # fsspec's cat_file with a negative start asks the open file for .size, which the
    # lakeFS wrapper's reader does not have: a client limitation, whatever the server.

    fs.pipe(f"{repo}/main/text.txt", "line one\nline two\nnaïve\n".encode())
    with fs.open(f"{repo}/main/text.txt", "r") as text:
        assert text.readline() == "line one\n"
        assert text.read() == "line two\nnaïve\n"

    downloaded = tmp_path / "downloaded.bin"
    fs.get_file(remote, str(downloaded))
    assert downloaded.read_bytes() == data
    fs.get(f"{repo}/main/dir/", str(tmp_path / "tree") + "/", recursive=True)
    assert (tmp_path / "tree" / "data.bin").read_bytes() == data

    with pytest.raises(FileNotFoundError):
        fs.open(f"{repo}/main/missing.bin", "rb")


def test_spec_uploads(fs: LakeFSFileSystem, server: Server, repo: str, tmp_path: Path) -> None:
    root = f"{repo}/main"
    with fs.open(f"{root}/w/written.json", "wb", content_type="application/json", metadata={"k": "v"}) as f:
        f.write(b'{"a": ')
        f.write(b"1}")
    info = fs.info(f"{root}/w/written.json")
    assert info["size"] == len(b'{"a": 1}')
    assert info["content-type"] == "application/json"
    assert info["metadata"] == {"k": "v"}
    assert fs.cat(f"{root}/w/written.json") == b'{"a": 1}'

    with fs.open(f"{root}/w/text.txt", "w") as text:
        text.write("naïve text")
    assert fs.cat(f"{root}/w/text.txt") == "naïve text".encode()

    fs.pipe(f"{root}/w/empty", b"")
    assert fs.info(f"{root}/w/empty")["size"] == 0
    assert fs.cat(f"{root}/w/empty") == b""

    data = os.urandom(70_000)
    local = tmp_path / "up.bin"
    local.write_bytes(data)
    fs.put_file(str(local), f"{root}/w/up.bin")
    # put_file and get_file skip a transfer when the checksums match: the server's
    # checksum must be the MD5 of the bytes for that
    assert fs.checksum(f"{root}/w/up.bin") == hashlib.md5(data).hexdigest()
    with pytest.raises(FileExistsError):
        fs.put_file(str(local), f"{root}/w/up.bin", mode="create")
    fs.put(str(tmp_path) + "/", f"{root}/put/", recursive=True)
    assert fs.cat(f"{root}/put/up.bin") == data

    # "x" mode refuses an existing object, and creates a new one
    with pytest.raises(FileExistsError):
        fs.open(f"{root}/w/up.bin", "xb")
    with fs.open(f"{root}/w/new.bin", "xb") as f:
        f.write(b"new")
    assert fs.cat(f"{root}/w/new.bin") == b"new"

    # a write to a branch that does not exist creates it from source_branch ("main")
    fs.pipe(f"{repo}/feature/f.txt", b"f")
    branch = wrapper_repo(server, repo).branch("feature")
    assert branch.head.id == wrapper_repo(server, repo).branch("main").head.id
    assert fs.cat(f"{repo}/feature/f.txt") == b"f"
    assert not fs.exists(f"{root}/f.txt")


def test_spec_writes_to_read_only_repository_are_refused(server: Server, read_only_repo: str) -> None:
    fs = LakeFSFileSystem(
        host=server.url,
        username=ACCESS_KEY_ID,
        password=SECRET_ACCESS_KEY,
        skip_instance_cache=True,
        use_listings_cache=False,
        create_branch_ok=False,
    )
    with pytest.raises(PermissionError):
        fs.pipe(f"{read_only_repo}/main/x", b"x")
    assert not fs.exists(f"{read_only_repo}/main/x")


def test_spec_touch(fs: LakeFSFileSystem, repo: str) -> None:
    # lakefs-spec allows touch() only on servers reporting lakeFS 1.3.1 or later.
    fs.pipe(f"{repo}/main/t", b"old")
    fs.touch(f"{repo}/main/t")
    assert fs.cat(f"{repo}/main/t") == b""


def test_spec_copy_move_and_remove(fs: LakeFSFileSystem, server: Server, repo: str) -> None:
    root = f"{repo}/main"
    fs.pipe({f"{root}/src.txt": b"source", f"{root}/d/1": b"1", f"{root}/d/2": b"2", f"{root}/d/e/3": b"3"})

    fs.cp_file(f"{root}/src.txt", f"{root}/copy.txt")
    assert fs.cat(f"{root}/copy.txt") == b"source"
    assert fs.info(f"{root}/copy.txt")["checksum"] == fs.info(f"{root}/src.txt")["checksum"]
    # across branches of one repository
    wrapper_repo(server, repo).branch("other").create("main")
    fs.cp_file(f"{root}/src.txt", f"{repo}/other/from-main.txt")
    assert fs.cat(f"{repo}/other/from-main.txt") == b"source"
    with pytest.raises(FileNotFoundError):
        fs.cp_file(f"{root}/src.txt", f"{repo}/no-such-branch/x.txt")
    with pytest.raises(FileNotFoundError):
        fs.cp_file(f"{root}/missing.txt", f"{root}/x.txt")

    fs.mv(f"{root}/copy.txt", f"{root}/moved.txt")
    assert not fs.exists(f"{root}/copy.txt")
    assert fs.cat(f"{root}/moved.txt") == b"source"

    fs.rm_file(f"{root}/moved.txt")
    assert not fs.exists(f"{root}/moved.txt")
    # not recursive: only the objects directly under the prefix
    fs.rm(f"{root}/d/")
    assert fs.find(f"{root}/d/") == [f"{root}/d/e/3"]
    fs.rm(f"{root}/d/", recursive=True)
    assert not fs.exists(f"{root}/d/")
    assert fs.ls(f"{root}/", detail=False) == [f"{root}/src.txt"]


def test_spec_reads_through_refs(fs: LakeFSFileSystem, server: Server, repo: str) -> None:
    main = wrapper_repo(server, repo).branch("main")
    fs.pipe(f"{repo}/main/f.txt", b"one")
    first = main.commit("first").get_commit().id
    fs.pipe(f"{repo}/main/f.txt", b"two")
    main.commit("second")
    wrapper_repo(server, repo).tag("v1").create(first)
    fs.pipe(f"{repo}/main/f.txt", b"staged")

    assert fs.cat(f"{repo}/main/f.txt") == b"staged"
    assert fs.cat(f"{repo}/main@/f.txt") == b"two"  # the committed state only
    assert fs.cat(f"{repo}/main~1/f.txt") == b"one"
    assert fs.cat(f"{repo}/v1/f.txt") == b"one"
    assert fs.cat(f"{repo}/{first}/f.txt") == b"one"
    assert fs.cat(f"{repo}/{first[:12]}/f.txt") == b"one"
    assert fs.ls(f"{repo}/v1/", detail=False) == [f"{repo}/v1/f.txt"]


def test_spec_transaction_commits_and_merges(fs: LakeFSFileSystem, server: Server, repo: str) -> None:
    with fs.transaction(repo, "main") as tx:
        branch = tx.branch.id
        fs.pipe(f"{repo}/{branch}/t/one.txt", b"one")
        first = tx.commit("add one", metadata={"who": "test"})
        # a file written in a transaction goes up to its branch when it is closed
        with fs.open(f"{repo}/{branch}/t/two.txt", "wb") as f:
            f.write(b"two")
        tx.commit("add two")
        tx.tag(first, "tx-first")
        assert tx.rev_parse("tx-first").id == first.id
        # nothing reached main yet
        assert not fs.exists(f"{repo}/main/t/one.txt")

    assert fs.cat(f"{repo}/main/t/one.txt") == b"one"
    assert fs.cat(f"{repo}/main/t/two.txt") == b"two"
    assert fs.cat(f"{repo}/tx-first/t/one.txt") == b"one"
    assert not fs.exists(f"{repo}/tx-first/t/two.txt")
    repository = wrapper_repo(server, repo)
    # the ephemeral branch is merged and then deleted
    assert [b.id for b in repository.branches()] == ["main"]
    log = list(repository.branch("main").log())
    assert len(log[0].parents) == 2  # the merge commit
    assert [c.message for c in log[1:3]] == ["add two", "add one"]
    assert log[2].metadata == {"who": "test"}


def test_spec_transaction_merge_revert_and_failure(fs: LakeFSFileSystem, server: Server, repo: str) -> None:
    repository = wrapper_repo(server, repo)
    fs.pipe(f"{repo}/main/base.txt", b"base")
    repository.branch("main").commit("base")
    repository.branch("side").create("main")
    fs.pipe(f"{repo}/side/side.txt", b"side")
    repository.branch("side").commit("side")

    with fs.transaction(repo, "main", automerge=False, delete="never") as tx:
        merged = tx.merge("side", tx.branch)
        assert fs.cat(f"{repo}/{tx.branch.id}/side.txt") == b"side"
        assert merged.id == tx.branch.head.id
        reverted = tx.revert(tx.branch, tx.branch.head, parent_number=1)
        assert reverted.parents == [merged.id]
        assert not fs.exists(f"{repo}/{tx.branch.id}/side.txt")
        kept = tx.branch.id
    # without automerge main is untouched; delete="never" keeps the branch
    assert not fs.exists(f"{repo}/main/side.txt")
    assert kept in [b.id for b in repository.branches()]

    # a transaction that fails keeps its branch (for inspection) and merges nothing
    with pytest.raises(RuntimeError), fs.transaction(repo, "main", branch_name="failed-tx") as tx:
        fs.pipe(f"{repo}/failed-tx/oops.txt", b"oops")
        tx.commit("oops")
        raise RuntimeError("the work failed")
    assert not fs.exists(f"{repo}/main/oops.txt")
    assert fs.cat(f"{repo}/failed-tx/oops.txt") == b"oops"


def test_spec_dataframes_through_lakefs_urls(server: Server, repo: str) -> None:
    options = storage_options(server)
    frame = pd.DataFrame({"n": [1, 2, 3], "s": ["a", "b", "ü"]})
    frame.to_csv(f"lakefs://{repo}/main/frames/f.csv", index=False, storage_options=options)
    frame.to_parquet(f"lakefs://{repo}/main/frames/f.parquet", storage_options=options)
    pd.testing.assert_frame_equal(
        pd.read_csv(f"lakefs://{repo}/main/frames/f.csv", storage_options=options), frame
    )
    pd.testing.assert_frame_equal(
        pd.read_parquet(f"lakefs://{repo}/main/frames/f.parquet", storage_options=options), frame
    )
    # read from a commit, through a tag
    wrapper_repo(server, repo).branch("main").commit("frames")
    wrapper_repo(server, repo).tag("frames-v1").create("main")
    read = pd.read_parquet(f"lakefs://{repo}/frames-v1/frames/f.parquet", storage_options=options)
    pd.testing.assert_frame_equal(read, frame)

    # polars reads lakefs:// URLs only through an fsspec file object
    polars_frame = pl.DataFrame({"x": [1.5, 2.5], "y": ["p", "q"]})
    with fsspec.open(f"lakefs://{repo}/main/frames/p.parquet", "wb", **options) as f:
        polars_frame.write_parquet(f)
    with fsspec.open(f"lakefs://{repo}/main/frames/p.parquet", "rb", **options) as f:
        assert pl.read_parquet(f).equals(polars_frame)
    with fsspec.open(f"lakefs://{repo}/frames-v1/frames/f.csv", "rb", **options) as f:
        assert pl.read_csv(f)["n"].to_list() == [1, 2, 3]


# lakefs-client: the legacy generated client ----------------------------------------------------


def test_legacy_health_config_and_setup(legacy: LakeFSClient, server: Server) -> None:
    assert legacy.health_check_api.health_check() is None
    config = legacy.config_api.get_config()
    # read field by field: the legacy model cannot print a Config, whose storage_config_list
    # (a list of objects it has no model for) breaks its to_dict; lakeFS sends that list too
    assert isinstance(config.version_config.version, str) and config.version_config.version
    assert config.storage_config.blockstore_type == server.backend.blockstore_type
    storage = legacy.internal_api.get_storage_config()
    assert storage.blockstore_type == server.backend.blockstore_type
    assert storage.pre_sign_support is True
    assert legacy.internal_api.get_lake_fs_version().version == config.version_config.version
    assert legacy.internal_api.get_setup_state().state == "initialized"
    assert legacy.auth_api.get_current_user().user.id == "admin"

    # a host without the API's path gets /api/v1 from the client
    bare = lakefs_client.Configuration(host=server.url, username=ACCESS_KEY_ID, password=SECRET_ACCESS_KEY)
    assert LakeFSClient(bare).internal_api.get_setup_state().state == "initialized"


def test_legacy_repositories(legacy: LakeFSClient, server: Server) -> None:
    api = legacy.repositories_api
    prefix = f"legacy-{uuid.uuid4().hex[:8]}"
    names = [f"{prefix}-{i}" for i in range(3)]
    for name in names:
        created = api.create_repository(
            models.RepositoryCreation(
                name=name, storage_namespace=server.namespace(name), default_branch="trunk"
            )
        )
        assert (created.id, created.default_branch) == (name, "trunk")
        assert created.storage_namespace == server.namespace(name)
    got = api.get_repository(names[0])
    assert (got.id, got.default_branch, got.storage_namespace) == (
        names[0],
        "trunk",
        server.namespace(names[0]),
    )
    assert legacy.branches_api.get_branch(names[0], "trunk").id == "trunk"

    first = api.list_repositories(prefix=prefix, amount=2)
    assert [r.id for r in first.results] == names[:2]
    assert first.pagination.has_more is True
    rest = api.list_repositories(prefix=prefix, after=first.pagination.next_offset)
    assert [r.id for r in rest.results] == names[2:]
    assert rest.pagination.has_more is False

    with pytest.raises(LegacyApiException) as err:
        api.create_repository(
            models.RepositoryCreation(name=names[0], storage_namespace=server.namespace("x"))
        )
    assert err.value.status == 409

    # a bare repository has no commit at all, not even the first one
    bare = f"{prefix}-bare"
    api.create_repository(
        models.RepositoryCreation(name=bare, storage_namespace=server.namespace(bare)), bare=True
    )
    with pytest.raises(LegacyApiException) as err:
        legacy.branches_api.get_branch(bare, "main")
    assert err.value.status == 404

    assert api.get_repository_metadata(names[1]).to_dict() == {}
    legacy.internal_api.set_repository_metadata(
        names[1], models.RepositoryMetadataSet(metadata={"team": "x"})
    )
    assert api.get_repository_metadata(names[1]).to_dict() == {"team": "x"}

    for name in [*names, bare]:
        api.delete_repository(name)
    with pytest.raises(LegacyApiException) as err:
        api.get_repository(names[0])
    assert err.value.status == 404
    assert api.list_repositories(prefix=prefix).results == []


def test_legacy_objects(legacy: LakeFSClient, server: Server, repo: str) -> None:
    api = legacy.objects_api
    data = os.urandom(300_000)
    stats = legacy_upload(legacy, repo, "main", "o/data.bin", data)
    assert (stats.path, stats.path_type, stats.size_bytes) == ("o/data.bin", "object", len(data))
    assert stats.checksum == hashlib.md5(data).hexdigest()
    assert stats.physical_address.startswith(server.namespace(repo) + "/")
    # the multipart part's type (from the file's name) becomes the object's content type
    named = io.BytesIO(b"a,b\n1,2\n")
    named.name = "table.csv"
    assert api.upload_object(repo, "main", "o/table.csv", content=named).content_type == "text/csv"
    assert legacy_upload(legacy, repo, "main", "o/empty", b"").size_bytes == 0
    # If-None-Match: * refuses an existing path
    with pytest.raises(LegacyApiException) as err:
        api.upload_object(repo, "main", "o/data.bin", content=io.BytesIO(b"x"), if_none_match="*")
    assert err.value.status == 412
    assert (
        api.upload_object(repo, "main", "o/fresh", content=io.BytesIO(b"f"), if_none_match="*").size_bytes
        == 1
    )

    assert legacy_read(legacy, repo, "main", "o/data.bin") == data
    assert legacy_read(legacy, repo, "main", "o/data.bin", range="bytes=100-199") == data[100:200]
    assert legacy_read(legacy, repo, "main", "o/data.bin", range="bytes=-10") == data[-10:]
    assert legacy_read(legacy, repo, "main", "o/empty") == b""
    with pytest.raises(LegacyApiException) as err:
        legacy_read(legacy, repo, "main", "o/data.bin", range="bytes=400000-")
    assert err.value.status == 416
    with pytest.raises(LegacyApiException) as err:
        legacy_read(legacy, repo, "main", "o/missing")
    assert err.value.status == 404
    assert api.head_object(repo, "main", "o/data.bin") is None
    with pytest.raises(LegacyApiException) as err:
        api.head_object(repo, "main", "o/missing")
    assert err.value.status == 404

    stat = api.stat_object(repo, "main", "o/data.bin")
    assert (stat.checksum, stat.size_bytes, stat.mtime) == (stats.checksum, len(data), stats.mtime)
    api.update_object_user_metadata(
        repo,
        "main",
        "o/data.bin",
        models.UpdateObjectUserMetadata(set=models.ObjectUserMetadata(owner="me", stage="raw")),
    )
    assert api.stat_object(repo, "main", "o/data.bin", user_metadata=True).metadata.to_dict() == {
        "owner": "me",
        "stage": "raw",
    }
    assert api.get_underlying_properties(repo, "main", "o/data.bin") is not None

    listing = api.list_objects(repo, "main", prefix="o/", amount=2)
    assert [o.path for o in listing.results] == ["o/data.bin", "o/empty"]
    assert listing.pagination.has_more is True
    rest = api.list_objects(repo, "main", prefix="o/", after=listing.pagination.next_offset)
    assert [o.path for o in rest.results] == ["o/fresh", "o/table.csv"]
    top = api.list_objects(repo, "main", delimiter="/")
    assert [(o.path, o.path_type) for o in top.results] == [("o/", "common_prefix")]
    with_metadata = api.list_objects(repo, "main", prefix="o/data", user_metadata=True)
    assert with_metadata.results[0].metadata.to_dict() == {"owner": "me", "stage": "raw"}

    copied = api.copy_object(repo, "main", "c/copy.bin", models.ObjectCopyCreation(src_path="o/data.bin"))
    assert (copied.path, copied.checksum, copied.size_bytes) == ("c/copy.bin", stats.checksum, len(data))
    assert legacy_read(legacy, repo, "main", "c/copy.bin") == data
    with pytest.raises(LegacyApiException) as err:
        api.copy_object(repo, "main", "c/x", models.ObjectCopyCreation(src_path="o/missing"))
    assert err.value.status == 404

    api.delete_object(repo, "main", "c/copy.bin")
    api.delete_object(repo, "main", "c/never-there")  # 204 as well
    result = api.delete_objects(repo, "main", models.PathList(paths=["o/empty", "o/fresh", "o/nope"]))
    assert result.errors == []
    remaining = api.list_objects(repo, "main").results
    assert [o.path for o in remaining] == ["o/data.bin", "o/table.csv"]


def test_legacy_download_file_names(
    legacy: LakeFSClient, http: httpx.Client, repo: str, tmp_path: Path
) -> None:
    # The legacy client saves a download under the filename of the Content-Disposition,
    # which it parses with a regular expression that fails on a bare "attachment".
    for path in ("plain/name.txt", "dir/naïve €.csv", 'quote/it\'s "here".bin', "dots/..", "slash/"):
        legacy_upload(legacy, repo, "main", path, path.encode())
        with legacy.objects_api.get_object(repo, "main", path) as downloaded:
            assert downloaded.read() == path.encode()
            assert Path(downloaded.name).parent == tmp_path

    def disposition(path: str) -> str:
        response = http.get(f"/repositories/{repo}/refs/main/objects", params={"path": path})
        assert response.status_code == 200, response.text
        return response.headers["content-disposition"]

    assert disposition("plain/name.txt") == 'attachment; filename="name.txt"'
    # the exact name in UTF-8 as well, for clients that read filename*
    assert disposition("dir/naïve €.csv") == (
        "attachment; filename=\"na_ve__.csv\"; filename*=UTF-8''na%C3%AFve%20%E2%82%AC.csv"
    )
    # a safe content type is shown inline, as lakeFS does
    response = http.post(
        f"/repositories/{repo}/branches/main/objects",
        params={"path": "plain/page.txt"},
        content=b"text",
        headers={"Content-Type": "text/plain"},
    )
    assert response.status_code == 201, response.text
    assert disposition("plain/page.txt") == 'inline; filename="page.txt"'


def test_legacy_branches_commits_and_log(legacy: LakeFSClient, repo: str) -> None:
    branches, commits, refs = legacy.branches_api, legacy.commits_api, legacy.refs_api
    legacy_upload(legacy, repo, "main", "a/1", b"1")
    legacy_upload(legacy, repo, "main", "b/2", b"2")
    diff = branches.diff_branch(repo, "main")
    assert [(d.path, d.type) for d in diff.results] == [("a/1", "added"), ("b/2", "added")]
    by_prefix = branches.diff_branch(repo, "main", delimiter="/")
    assert [(d.path, d.path_type, d.type) for d in by_prefix.results] == [
        ("a/", "common_prefix", "prefix_changed"),
        ("b/", "common_prefix", "prefix_changed"),
    ]
    first = legacy_commit(legacy, repo, "main", "first", metadata={"k": "v"})
    assert (first.message, first.metadata, first.committer) == ("first", {"k": "v"}, "admin")
    assert branches.diff_branch(repo, "main").results == []
    got = commits.get_commit(repo, first.id)
    assert (got.id, got.parents, got.meta_range_id) == (first.id, first.parents, first.meta_range_id)
    with pytest.raises(LegacyApiException) as err:
        legacy_commit(legacy, repo, "main", "nothing")
    assert err.value.status == 400
    empty = legacy_commit(legacy, repo, "main", "empty", allow_empty=True)
    legacy_upload(legacy, repo, "main", "a/1", b"changed")
    third = legacy_commit(legacy, repo, "main", "third")

    log = refs.log_commits(repo, "main")
    assert [c.message for c in log.results] == ["third", "empty", "first", "Repository created"]
    paged = refs.log_commits(repo, "main", amount=2)
    assert [c.id for c in paged.results] == [third.id, empty.id]
    assert paged.pagination.has_more is True
    assert [c.id for c in refs.log_commits(repo, "main", objects=["a/1"]).results] == [third.id, first.id]
    assert [c.id for c in refs.log_commits(repo, "main", prefixes=["b/"]).results] == [first.id]
    assert [c.id for c in refs.log_commits(repo, "main", objects=["a/1"], amount=1, limit=True).results] == [
        third.id
    ]
    assert [c.id for c in refs.log_commits(repo, "main", stop_at=empty.id).results] == [third.id, empty.id]

    # branches: create from refs, list with paging, get, delete
    assert branches.create_branch(repo, models.BranchCreation(name="from-first", source=first.id)) == first.id
    branches.create_branch(repo, models.BranchCreation(name="from-tilde", source="main~1"))
    assert branches.get_branch(repo, "from-tilde").commit_id == empty.id
    page = branches.list_branches(repo, amount=2)
    assert [b.id for b in page.results] == ["from-first", "from-tilde"]
    assert [b.id for b in branches.list_branches(repo, after=page.pagination.next_offset).results] == ["main"]
    assert [b.id for b in branches.list_branches(repo, prefix="from-").results] == [
        "from-first",
        "from-tilde",
    ]
    with pytest.raises(LegacyApiException) as err:
        branches.create_branch(repo, models.BranchCreation(name="main", source="main"))
    assert err.value.status == 409
    branches.delete_branch(repo, "from-tilde")
    with pytest.raises(LegacyApiException) as err:
        branches.get_branch(repo, "from-tilde")
    assert err.value.status == 404


def test_legacy_reset_revert_and_cherry_pick(legacy: LakeFSClient, repo: str) -> None:
    branches = legacy.branches_api
    legacy_upload(legacy, repo, "main", "keep", b"keep")
    legacy_commit(legacy, repo, "main", "keep")

    # reset: one object, a prefix, then everything
    for path in ("x", "d/1", "d/2", "y"):
        legacy_upload(legacy, repo, "main", path, path.encode())
    branches.reset_branch(repo, "main", models.ResetCreation(type="object", path="x"))
    assert [d.path for d in branches.diff_branch(repo, "main").results] == ["d/1", "d/2", "y"]
    branches.reset_branch(repo, "main", models.ResetCreation(type="common_prefix", path="d/"))
    assert [d.path for d in branches.diff_branch(repo, "main").results] == ["y"]
    branches.reset_branch(repo, "main", models.ResetCreation(type="reset"))
    assert branches.diff_branch(repo, "main").results == []

    legacy_upload(legacy, repo, "main", "keep", b"changed")
    change = legacy_commit(legacy, repo, "main", "change")
    # revert: a new commit undoing the change
    branches.revert_branch(repo, "main", models.RevertCreation(ref=change.id, parent_number=0))
    assert legacy_read(legacy, repo, "main", "keep") == b"keep"
    reverted = legacy.commits_api.get_commit(repo, "main")
    assert reverted.parents == [change.id]

    # cherry-pick the change back onto another branch
    branches.create_branch(repo, models.BranchCreation(name="pick", source="main"))
    picked = branches.cherry_pick(repo, "pick", models.CherryPickCreation(ref=change.id))
    assert picked.parents == [reverted.id]
    assert picked.message == "change"
    assert legacy_read(legacy, repo, "pick", "keep") == b"changed"
    assert legacy_read(legacy, repo, "main", "keep") == b"keep"


def test_legacy_diff_and_merge(legacy: LakeFSClient, repo: str) -> None:
    refs = legacy.refs_api
    legacy_upload(legacy, repo, "main", "shared", b"base")
    base = legacy_commit(legacy, repo, "main", "base")
    legacy.branches_api.create_branch(repo, models.BranchCreation(name="feature", source="main"))
    legacy_upload(legacy, repo, "feature", "dir/new", b"new")
    legacy_upload(legacy, repo, "feature", "shared", b"feature")
    feature = legacy_commit(legacy, repo, "feature", "feature work")
    legacy_upload(legacy, repo, "main", "main-only", b"m")
    legacy_commit(legacy, repo, "main", "main work")

    three_dot = refs.diff_refs(repo, "main", "feature")
    assert [(d.path, d.type) for d in three_dot.results] == [("dir/new", "added"), ("shared", "changed")]
    two_dot = refs.diff_refs(repo, "main", "feature", type="two_dot")
    assert [(d.path, d.type) for d in two_dot.results] == [
        ("dir/new", "added"),
        ("main-only", "removed"),
        ("shared", "changed"),
    ]
    by_prefix = refs.diff_refs(repo, "main", "feature", delimiter="/", amount=1)
    assert [(d.path, d.type) for d in by_prefix.results] == [("dir/", "prefix_changed")]
    assert by_prefix.pagination.has_more is True

    merge_base = refs.find_merge_base(repo, "feature", "main")
    assert (merge_base.base_commit_id, merge_base.source_commit_id) == (base.id, feature.id)

    result = refs.merge_into_branch(
        repo, "feature", "main", merge=models.Merge(message="merge feature", metadata={"m": "1"})
    )
    merged = legacy.commits_api.get_commit(repo, "main")
    assert merged.id == result.reference
    assert (merged.message, merged.metadata["m"]) == ("merge feature", "1")
    assert merged.parents[1] == feature.id
    assert legacy_read(legacy, repo, "main", "shared") == b"feature"
    # merging again changes nothing: refused unless allowed
    with pytest.raises(LegacyApiException) as err:
        refs.merge_into_branch(repo, "feature", "main")
    assert err.value.status == 400

    # a conflict answers 409, and a strategy settles it
    legacy_upload(legacy, repo, "main", "shared", b"main again")
    legacy_commit(legacy, repo, "main", "main again")
    legacy_upload(legacy, repo, "feature", "shared", b"feature again")
    legacy_commit(legacy, repo, "feature", "feature again")
    with pytest.raises(LegacyApiException) as err:
        refs.merge_into_branch(repo, "feature", "main")
    assert err.value.status == 409
    refs.merge_into_branch(repo, "feature", "main", merge=models.Merge(strategy="source-wins"))
    assert legacy_read(legacy, repo, "main", "shared") == b"feature again"


def test_legacy_tags(legacy: LakeFSClient, repo: str) -> None:
    api = legacy.tags_api
    legacy_upload(legacy, repo, "main", "f", b"1")
    first = legacy_commit(legacy, repo, "main", "one")
    legacy_upload(legacy, repo, "main", "f", b"2")
    second = legacy_commit(legacy, repo, "main", "two")

    assert api.create_tag(repo, models.TagCreation(id="v1", ref=first.id)).commit_id == first.id
    assert api.create_tag(repo, models.TagCreation(id="v2", ref="main")).commit_id == second.id
    assert api.create_tag(repo, models.TagCreation(id="v0", ref="main~2")).commit_id == first.parents[0]
    assert api.get_tag(repo, "v1").commit_id == first.id
    page = api.list_tags(repo, amount=2)
    assert [t.id for t in page.results] == ["v0", "v1"]
    assert [t.id for t in api.list_tags(repo, after=page.pagination.next_offset).results] == ["v2"]
    assert legacy_read(legacy, repo, "v1", "f") == b"1"
    with pytest.raises(LegacyApiException) as err:
        api.create_tag(repo, models.TagCreation(id="v1", ref="main"))
    assert err.value.status == 409

    api.delete_tag(repo, "v1")
    with pytest.raises(LegacyApiException) as err:
        api.get_tag(repo, "v1")
    assert err.value.status == 404
    assert [t.id for t in api.list_tags(repo).results] == ["v0", "v2"]
