"""The blockstore contract on every adapter: local, mem, and s3 (on a moto server)."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import S3_BUCKET

from limnos.block.adapter import BlockAdapter, InvalidAddressError, ObjectNotFoundError
from limnos.block.local import LocalAdapter
from limnos.block.mem import MemAdapter
from limnos.block.s3 import PART_SIZE, S3Adapter, S3Settings


@pytest.fixture(params=["local", "mem", "s3"])
def adapter_and_root(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[BlockAdapter, str]]:
    """An adapter and a fresh namespace URI on it."""
    name = uuid.uuid4().hex[:8]
    if request.param == "local":
        yield LocalAdapter(tmp_path / "root"), f"local://ns-{name}"
    elif request.param == "mem":
        yield MemAdapter(), f"mem://bucket/ns-{name}"
    else:
        endpoint = request.getfixturevalue("moto_endpoint")
        adapter = S3Adapter(
            S3Settings(
                endpoint=endpoint,
                force_path_style=True,
                access_key_id="limnos-test",
                secret_access_key="limnos-test-secret",
            )
        )
        yield adapter, f"s3://{S3_BUCKET}/ns-{name}"
        adapter.close()


def test_put_get_ranges_head_delete(adapter_and_root: tuple[BlockAdapter, str]) -> None:
    adapter, root = adapter_and_root
    uri = f"{root}/a/b.bin"
    data = os.urandom(100_000)
    stored = adapter.put_bytes(uri, data)
    assert stored.size == len(data)
    assert adapter.get_bytes(uri) == data
    assert b"".join(adapter.get(uri, 10, 20)) == data[10:20]
    assert b"".join(adapter.get(uri, 99_990)) == data[99_990:]
    info = adapter.head(uri)
    assert info.size == len(data)
    assert adapter.exists(uri)
    adapter.delete(uri)
    adapter.delete(uri)  # deleting twice is fine
    assert not adapter.exists(uri)
    with pytest.raises(ObjectNotFoundError):
        adapter.get_bytes(uri)
    with pytest.raises(ObjectNotFoundError):
        adapter.head(uri)


def test_writer_is_all_or_nothing(adapter_and_root: tuple[BlockAdapter, str]) -> None:
    adapter, root = adapter_and_root
    uri = f"{root}/w/obj"
    writer = adapter.writer(uri)
    writer.write(b"half")
    assert not adapter.exists(uri)
    writer.abort()
    assert not adapter.exists(uri)
    big = os.urandom(PART_SIZE + 12345)  # more than one S3 part: a native multipart upload
    address, writer = adapter.new_object_writer(root)
    uri = f"{root}/{address}"
    assert address.startswith("data/")
    for offset in range(0, len(big), 1 << 20):
        writer.write(big[offset : offset + (1 << 20)])
    stored = writer.commit()
    writer.abort()  # after commit, abort must not undo it
    assert stored.size == len(big)
    assert adapter.get_bytes(uri) == big
    # Fresh addresses are never handed out twice, and an aborted one holds nothing.
    seen = {address}
    for _ in range(200):
        other, pending = adapter.new_object_writer(root)
        assert other not in seen
        seen.add(other)
        pending.write(b"partial")
        pending.abort()
        assert not adapter.exists(f"{root}/{other}") or adapter.get_bytes(f"{root}/{other}") == b""


def test_objects_finished_then_synced_in_a_group(adapter_and_root: tuple[BlockAdapter, str]) -> None:
    adapter, root = adapter_and_root
    if not adapter.syncs_in_groups:
        # Adapters without group durability refuse the deferred path outright.
        _, writer = adapter.new_object_writer(root)
        with pytest.raises(NotImplementedError):
            writer.finish()
        writer.abort()
        with pytest.raises(NotImplementedError):
            adapter.sync([writer])
        return
    finished = []
    for i in range(5):
        address, writer = adapter.new_object_writer(root)
        writer.write(f"object {i}".encode())
        stored = writer.finish()
        assert stored.size == len(f"object {i}")
        finished.append((address, writer))
    adapter.sync([writer for _, writer in finished])
    for i, (address, _) in enumerate(finished):
        assert adapter.get_bytes(f"{root}/{address}") == f"object {i}".encode()
    # A finished object nothing came to point at is removed by abort, synced or not.
    address, writer = finished[0]
    writer.abort()
    assert not adapter.exists(f"{root}/{address}")


def test_reads_at_hand_come_whole_or_not_at_all(adapter_and_root: tuple[BlockAdapter, str]) -> None:
    adapter, root = adapter_and_root
    uri = f"{root}/cached/obj"
    data = os.urandom(5000)
    adapter.put_bytes(uri, data)
    if isinstance(adapter, S3Adapter):
        assert adapter.read_cached(uri, 0, 10) is None  # always a network round trip
        return
    # Just written, so in memory or in the page cache.
    assert adapter.read_cached(uri, 0, len(data)) == data
    assert adapter.read_cached(uri, 100, 300) == data[100:300]
    # More than the object holds is not at hand: the ordinary read decides.
    assert adapter.read_cached(uri, 0, len(data) + 10) in (None, data)
    with pytest.raises(ObjectNotFoundError):
        adapter.read_cached(f"{root}/cached/missing", 0, 10)
    # A directory is no object: refused, or left to the ordinary read, which refuses it.
    try:
        assert adapter.read_cached(f"{root}/cached", 0, 10) is None
    except ObjectNotFoundError:
        pass


def test_copy_and_list(adapter_and_root: tuple[BlockAdapter, str]) -> None:
    adapter, root = adapter_and_root
    for name in ("x/1", "x/2", "x/sub/3", "y/4"):
        adapter.put_bytes(f"{root}/{name}", name.encode())
    adapter.copy(f"{root}/x/1", f"{root}/z/copy")
    assert adapter.get_bytes(f"{root}/z/copy") == b"x/1"
    listed = [info.uri for info in adapter.list(f"{root}/x/")]
    assert listed == [f"{root}/x/1", f"{root}/x/2", f"{root}/x/sub/3"]
    after = [info.uri for info in adapter.list(f"{root}/x/", after=f"{root}/x/1")]
    assert after == [f"{root}/x/2", f"{root}/x/sub/3"]
    with pytest.raises(ObjectNotFoundError):
        adapter.copy(f"{root}/missing", f"{root}/z/none")


def test_local_refuses_addresses_outside_its_root(tmp_path: Path) -> None:
    adapter = LocalAdapter(tmp_path / "root", allowed_external_prefixes=[str(tmp_path / "import")])
    outside = tmp_path / "secret.txt"
    outside.write_text("secret")
    (tmp_path / "import").mkdir()
    (tmp_path / "import" / "ok.txt").write_text("ok")
    for uri in (
        "local://../secret.txt",
        "local://ns/../../secret.txt",
        f"local://{outside}",
        "s3://bucket/key",
        "local://ns/\x00",
    ):
        with pytest.raises(InvalidAddressError):
            adapter.get_bytes(uri)
        with pytest.raises(InvalidAddressError):
            adapter.put_bytes(uri, b"x")
    os.symlink(outside, tmp_path / "root" / "link")
    with pytest.raises(InvalidAddressError):
        adapter.get_bytes("local://link")
    # Allowed external prefixes may be read (import), never written.
    assert adapter.get_bytes(f"local://{tmp_path / 'import' / 'ok.txt'}") == b"ok"
    with pytest.raises(InvalidAddressError):
        adapter.put_bytes(f"local://{tmp_path / 'import' / 'new.txt'}", b"x")
    assert outside.read_text() == "secret"


def test_namespaces_must_match_the_blockstore(tmp_path: Path) -> None:
    local = LocalAdapter(tmp_path / "root")
    local.validate_namespace("local://repo")
    for bad in ("s3://bucket/repo", "local://", "local:///abs", "repo", "local://../x"):
        with pytest.raises(InvalidAddressError):
            local.validate_namespace(bad)


def test_each_namespace_has_one_canonical_form(tmp_path: Path) -> None:
    """However a client spells a namespace, a repository records and claims one form; the
    local root (every repository's parent) and bucket-less URIs are no namespace."""
    local = LocalAdapter(tmp_path / "root")
    for spelling in ("local://x", "local:///x", "local://x/", "local://./x", "local://x/.", "local://.//x//"):
        assert local.canonical_namespace(spelling) == "local://x"
    assert local.canonical_namespace("local:///a/./b/") == "local://a/b"
    s3 = S3Adapter(S3Settings())
    for spelling in ("s3://b/p", "s3://b/p/", "s3://b//p", "s3://b//p//"):
        assert s3.canonical_namespace(spelling) == "s3://b/p"
    assert s3.canonical_namespace("s3://b/") == "s3://b"
    assert MemAdapter().canonical_namespace("mem://bucket//ns/") == "mem://bucket/ns"
    refused = {
        local: ("local://", "local:///", "local://.", "local://./", "local://x/../..", "s3://b/p", "x"),
        s3: ("s3://", "s3:///", "s3:///p", "s3://b/../p", "local://x"),
    }
    for adapter, spellings in refused.items():
        for spelling in spellings:
            with pytest.raises(InvalidAddressError, match="invalid namespace"):
                adapter.canonical_namespace(spelling)


def test_s3_presigned_urls_read_and_write_without_credentials(moto_endpoint: str) -> None:
    import httpx

    adapter = S3Adapter(
        S3Settings(
            endpoint=moto_endpoint,
            force_path_style=True,
            access_key_id="limnos-test",
            secret_access_key="limnos-test-secret",
            pre_signed_expiry_seconds=60,
        )
    )
    uri = f"s3://{S3_BUCKET}/presign-{uuid.uuid4().hex[:8]}/object"
    expires = int(time.time()) + 60
    put_url = adapter.presign(uri, "PUT", expires)
    assert httpx.put(put_url, content=b"through a presigned URL").status_code == 200
    assert adapter.get_bytes(uri) == b"through a presigned URL"
    got = httpx.get(adapter.presign(uri, "GET", expires))
    assert got.status_code == 200
    assert got.content == b"through a presigned URL"
    adapter.close()


def test_local_listing_stays_inside_the_allowed_directories(tmp_path: Path) -> None:
    """A prefix naming an allowed directory that does not exist lists nothing, not the
    files of a sibling whose name merely starts the same."""
    secret = tmp_path / "lake-private" / "secret.txt"
    secret.parent.mkdir()
    secret.write_bytes(b"not to be seen")
    allowed = tmp_path / "lake"
    adapter = LocalAdapter(tmp_path / "root", allowed_external_prefixes=[str(allowed)])
    assert list(adapter.list(f"local://{allowed}")) == []
    allowed.mkdir()
    (allowed / "a.txt").write_bytes(b"a")
    assert [info.uri for info in adapter.list(f"local://{allowed}")] == [f"local://{allowed}/a.txt"]
