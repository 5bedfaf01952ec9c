"""Presigned URLs and multipart uploads at the blockstore: the URL signer, and the same
multipart contract on local, mem and s3 (on a moto server)."""

from __future__ import annotations

import hashlib
import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
from conftest import S3_BUCKET

from limnos.block.adapter import MIN_PART_SIZE, BlockAdapter, InvalidPartError, NoSuchUploadError
from limnos.block.local import LocalAdapter
from limnos.block.mem import MemAdapter
from limnos.block.presign import SELF_SERVED_PATH, PresignRefusedError, SignedTarget, UrlSigner
from limnos.block.s3 import S3Adapter, S3Settings

KEY = b"k" * 32
SIGNER = UrlSigner(KEY)


def query_of(url: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(url).query))


# the signer ----------------------------------------------------------------------------------


def test_a_signed_url_allows_its_method_address_and_time() -> None:
    expires = int(time.time()) + 60
    url = SIGNER.url(SignedTarget("PUT", "local://ns/data/ab/x", expires))
    assert url.startswith(SELF_SERVED_PATH + "?")
    target = SIGNER.verify("PUT", query_of(url))
    assert (target.uri, target.expires, target.is_part) == ("local://ns/data/ab/x", expires, False)
    part = SIGNER.url(SignedTarget("PUT", "local://ns/data/ab/x", expires, "up1", 7))
    verified = SIGNER.verify("PUT", query_of(part))
    assert (verified.upload_id, verified.part_number, verified.is_part) == ("up1", 7, True)
    get = SIGNER.url(SignedTarget("GET", "mem://b/k", expires))
    assert SIGNER.verify("HEAD", query_of(get)).uri == "mem://b/k"  # HEAD goes where GET may


@pytest.mark.parametrize(
    "change",
    [
        {"address": "local://ns/data/ab/y"},
        {"expires": "9999999999"},
        {"signature": "A" * 43},
        {"upload_id": "up1", "part_number": "1"},
        {"expires": "١٢٣"},  # digits of another script
        {"expires": "-5"},
    ],
)
def test_an_altered_url_is_refused(change: dict[str, str]) -> None:
    url = SIGNER.url(SignedTarget("PUT", "local://ns/data/ab/x", int(time.time()) + 60))
    with pytest.raises(PresignRefusedError):
        SIGNER.verify("PUT", {**query_of(url), **change})


def test_an_expired_or_method_swapped_or_foreign_url_is_refused() -> None:
    now = time.time()
    url = SIGNER.url(SignedTarget("GET", "local://ns/x", int(now) + 60))
    with pytest.raises(PresignRefusedError, match="signature"):
        SIGNER.verify("PUT", query_of(url))
    with pytest.raises(PresignRefusedError, match="expired"):
        SIGNER.verify("GET", query_of(url), now=now + 61)
    with pytest.raises(PresignRefusedError):
        UrlSigner(b"another key").verify("GET", query_of(url))
    with pytest.raises(PresignRefusedError, match="malformed"):
        SIGNER.verify("GET", {"address": "local://ns/x"})


# multipart uploads on every adapter ------------------------------------------------------------


@pytest.fixture(params=["local", "mem", "s3"])
def adapter_and_root(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[BlockAdapter, str]]:
    """An adapter that offers presigned URLs, and a fresh namespace URI on it."""
    name = uuid.uuid4().hex[:8]
    if request.param == "local":
        yield LocalAdapter(tmp_path / "root", signer=SIGNER), f"local://ns-{name}"
    elif request.param == "mem":
        yield MemAdapter(signer=SIGNER), f"mem://bucket/ns-{name}"
    else:
        adapter = S3Adapter(
            S3Settings(
                endpoint=request.getfixturevalue("moto_endpoint"),
                force_path_style=True,
                access_key_id="limnos-test",
                secret_access_key="limnos-test-secret",
            )
        )
        yield adapter, f"s3://{S3_BUCKET}/ns-{name}"
        adapter.close()


def upload_part(adapter: BlockAdapter, uri: str, upload_id: str, number: int, data: bytes) -> str:
    """Upload a part as a client would: to S3 through its presigned URL, to the others
    through the writer that serves Limnos's own URLs."""
    if not adapter.serves_presigned:
        url = adapter.presign_part(uri, upload_id, number, int(time.time()) + 60)
        response = httpx.put(url, content=data)
        assert response.status_code == 200, response.text
        return response.headers["etag"]
    writer = adapter.part_writer(uri, upload_id, number)
    writer.write(data)
    return writer.commit().etag


def test_parts_assemble_into_the_object(adapter_and_root: tuple[BlockAdapter, str]) -> None:
    adapter, root = adapter_and_root
    uri = f"{root}/data/aa/object"
    upload_id = adapter.create_multipart(uri)
    parts = [os.urandom(MIN_PART_SIZE), os.urandom(MIN_PART_SIZE), os.urandom(1000)]
    etags = [upload_part(adapter, uri, upload_id, n, data) for n, data in enumerate(parts, start=1)]
    assert [etag.strip('"') for etag in etags] == [hashlib.md5(part).hexdigest() for part in parts]
    stored = adapter.complete_multipart(uri, upload_id, list(enumerate(etags, start=1)))
    assert stored.size == sum(map(len, parts))
    digest = hashlib.md5(b"".join(bytes.fromhex(e.strip('"')) for e in etags)).hexdigest()
    assert stored.etag == f"{digest}-3"
    assert adapter.get_bytes(uri) == b"".join(parts)
    # Nothing of the upload is left but the object.
    assert [info.uri for info in adapter.list(root)] == [uri]


def test_wrong_parts_are_refused_and_the_upload_stays(adapter_and_root: tuple[BlockAdapter, str]) -> None:
    adapter, root = adapter_and_root
    uri = f"{root}/data/bb/object"
    upload_id = adapter.create_multipart(uri)
    small = [upload_part(adapter, uri, upload_id, n, os.urandom(100)) for n in (1, 2)]
    with pytest.raises(InvalidPartError):
        adapter.complete_multipart(uri, upload_id, [(1, small[0]), (2, small[1])])  # part 1 too small
    with pytest.raises(InvalidPartError):
        adapter.complete_multipart(uri, upload_id, [(3, small[0])])  # never uploaded
    assert not adapter.exists(uri)
    assert adapter.complete_multipart(uri, upload_id, [(2, small[1])]).size == 100


def test_abort_removes_the_parts(adapter_and_root: tuple[BlockAdapter, str]) -> None:
    adapter, root = adapter_and_root
    uri = f"{root}/data/cc/object"
    upload_id = adapter.create_multipart(uri)
    upload_part(adapter, uri, upload_id, 1, b"part")
    adapter.abort_multipart(uri, upload_id)
    assert list(adapter.list(root)) == []
    if not adapter.serves_presigned:  # S3 forgets the upload; ours are known to the catalog
        with pytest.raises(NoSuchUploadError):
            adapter.abort_multipart(uri, upload_id)


def test_copy_part_takes_a_range(adapter_and_root: tuple[BlockAdapter, str]) -> None:
    adapter, root = adapter_and_root
    source = os.urandom(MIN_PART_SIZE + 500)
    adapter.put_bytes(f"{root}/source", source)
    uri = f"{root}/data/dd/object"
    upload_id = adapter.create_multipart(uri)
    first = adapter.copy_part(f"{root}/source", 0, MIN_PART_SIZE - 1, uri, upload_id, 1)
    second = adapter.copy_part(f"{root}/source", MIN_PART_SIZE, None, uri, upload_id, 2)
    adapter.complete_multipart(uri, upload_id, [(1, first), (2, second)])
    assert adapter.get_bytes(uri) == source
