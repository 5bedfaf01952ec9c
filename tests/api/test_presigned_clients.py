"""The clients' own direct-to-storage paths: the ``lakefs`` wrapper and ``lakefs-spec``
write and read through presigned URLs whenever the server offers them, on every blockstore."""

from __future__ import annotations

import os
import uuid

import lakefs
import lakefs_sdk
import pytest
from conftest import ACCESS_KEY_ID, SECRET_ACCESS_KEY, Server
from lakefs.exceptions import ObjectExistsException
from lakefs_spec import LakeFSFileSystem

# Several of the server's 1 MiB write batches, and a small object read whole.
SIZES = [0, 11, 3 * 1024 * 1024 + 17]


def wrapper_branch(server: Server, repo: str) -> lakefs.Branch:
    client = lakefs.Client(host=server.url, username=ACCESS_KEY_ID, password=SECRET_ACCESS_KEY)
    return lakefs.Repository(repo, client=client).branch("main")


def test_the_server_offers_presigned_urls(sdk: lakefs_sdk.ApiClient) -> None:
    storage = lakefs_sdk.ConfigApi(sdk).get_config().storage_config
    assert storage is not None
    assert storage.pre_sign_support is True
    assert storage.pre_sign_multipart_upload is True
    assert lakefs_sdk.InternalApi(sdk).get_storage_config().pre_sign_multipart_upload is True


@pytest.mark.parametrize("size", SIZES)
def test_wrapper_bytes_are_the_same_with_and_without_presign(server: Server, repo: str, size: int) -> None:
    branch = wrapper_branch(server, repo)
    data = os.urandom(size)
    branch.object("signed.bin").upload(data=data, pre_sign=True, content_type="application/x-test")
    branch.object("plain.bin").upload(data=data, pre_sign=False, content_type="application/x-test")
    for path in ("signed.bin", "plain.bin"):
        for pre_sign in (True, False):
            with branch.object(path).reader(pre_sign=pre_sign) as reader:
                assert reader.read() == data, (path, pre_sign)
    signed, plain = branch.object("signed.bin").stat(), branch.object("plain.bin").stat()
    assert signed.size_bytes == plain.size_bytes == size
    assert signed.checksum.strip('"') == plain.checksum.strip('"')
    assert signed.content_type == plain.content_type == "application/x-test"
    # A direct upload is an uncommitted change like any other.
    assert {change.path for change in branch.uncommitted()} == {"signed.bin", "plain.bin"}
    branch.commit(message="both ways")
    with branch.object("signed.bin").reader(pre_sign=True) as reader:
        assert reader.read() == data


def test_wrapper_presigned_ranged_reads(server: Server, repo: str) -> None:
    branch = wrapper_branch(server, repo)
    data = os.urandom(300_000)
    branch.object("ranged.bin").upload(data=data, pre_sign=True)
    with branch.object("ranged.bin").reader(pre_sign=True) as reader:
        reader.seek(1000)
        assert reader.read(5000) == data[1000:6000]
        reader.seek(len(data) - 10)
        assert reader.read() == data[-10:]


def test_wrapper_presigned_exclusive_write(server: Server, repo: str) -> None:
    branch = wrapper_branch(server, repo)
    branch.object("once.txt").upload(data=b"first", pre_sign=True, mode="xb")
    with pytest.raises(ObjectExistsException):
        branch.object("once.txt").upload(data=b"second", pre_sign=True, mode="xb")
    with branch.object("once.txt").reader(pre_sign=True) as reader:
        assert reader.read() == b"first"


def test_wrapper_presigned_metadata(server: Server, repo: str) -> None:
    branch = wrapper_branch(server, repo)
    branch.object("meta.txt").upload(data=b"m", pre_sign=True, metadata={"owner": "ml-team"})
    assert branch.object("meta.txt").stat().metadata == {"owner": "ml-team"}


def test_lakefs_spec_reads_and_writes_both_ways(server: Server, repo: str) -> None:
    data = os.urandom(2 * 1024 * 1024 + 5)
    for pre_sign in (True, False):
        fs = LakeFSFileSystem(
            host=server.url, username=ACCESS_KEY_ID, password=SECRET_ACCESS_KEY, pre_sign=pre_sign
        )
        path = f"{repo}/main/spec-{pre_sign}-{uuid.uuid4().hex[:6]}.bin"
        with fs.open(path, "wb") as f:
            f.write(data)
        with fs.open(path, "rb") as f:
            assert f.read() == data
        assert fs.cat_file(path, start=10, end=20) == data[10:20]
        assert fs.info(path)["size"] == len(data)
