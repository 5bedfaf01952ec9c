"""Multipart uploads through the S3 gateway with boto3: create, upload parts (and copies
of parts), list parts, complete, abort, and each error's S3 code."""

from __future__ import annotations

import hashlib
import os
from typing import Any

import httpx
import pytest
from boto3.s3.transfer import TransferConfig
from conftest import Server, objects_url, s3_client
from test_gateway_buckets import error_of

MIB = 1024 * 1024


@pytest.fixture()
def s3(server: Server) -> Any:
    return s3_client(server)


def s3_etag(parts: list[bytes]) -> str:
    """The ETag S3 gives an object assembled from ``parts``."""
    digests = b"".join(hashlib.md5(part).digest() for part in parts)
    return f'"{hashlib.md5(digests).hexdigest()}-{len(parts)}"'


def test_64_mib_in_8_mib_parts(s3: Any, repo: str, http: httpx.Client) -> None:
    data = os.urandom(64 * MIB)
    config = TransferConfig(multipart_threshold=8 * MIB, multipart_chunksize=8 * MIB, max_concurrency=4)
    s3.upload_fileobj(_Reader(data), repo, "main/big/64.bin", Config=config)
    head = s3.head_object(Bucket=repo, Key="main/big/64.bin")
    assert head["ContentLength"] == len(data)
    assert head["ETag"] == s3_etag([data[i : i + 8 * MIB] for i in range(0, len(data), 8 * MIB)])
    got = s3.get_object(Bucket=repo, Key="main/big/64.bin")["Body"].read()
    assert hashlib.sha256(got).digest() == hashlib.sha256(data).digest()
    stat = http.get(objects_url(repo) + "/stat", params={"path": "big/64.bin"}).json()
    assert stat["size_bytes"] == len(data)


class _Reader:
    """A file-like object over bytes (boto3's transfer reads it in parts)."""

    def __init__(self, data: bytes) -> None:
        self._data = memoryview(data)
        self._at = 0

    def read(self, amount: int = -1) -> bytes:
        end = len(self._data) if amount < 0 else min(len(self._data), self._at + amount)
        chunk = bytes(self._data[self._at : end])
        self._at = end
        return chunk


def test_parts_listed_completed_with_metadata(s3: Any, repo: str) -> None:
    created = s3.create_multipart_upload(
        Bucket=repo, Key="main/mp.bin", ContentType="application/x-parquet", Metadata={"source": "test"}
    )
    upload_id = created["UploadId"]
    assert created["Key"] == "main/mp.bin"
    first, second = os.urandom(5 * MIB), b"tail"
    etag1 = s3.upload_part(Bucket=repo, Key="main/mp.bin", UploadId=upload_id, PartNumber=1, Body=first)[
        "ETag"
    ]
    etag2 = s3.upload_part(Bucket=repo, Key="main/mp.bin", UploadId=upload_id, PartNumber=2, Body=second)[
        "ETag"
    ]
    assert etag1 == f'"{hashlib.md5(first).hexdigest()}"'
    listed = s3.list_parts(Bucket=repo, Key="main/mp.bin", UploadId=upload_id)
    assert [(part["PartNumber"], part["ETag"], part["Size"]) for part in listed["Parts"]] == [
        (1, etag1, len(first)),
        (2, etag2, len(second)),
    ]
    page = s3.list_parts(Bucket=repo, Key="main/mp.bin", UploadId=upload_id, MaxParts=1)
    assert page["IsTruncated"] is True
    assert [part["PartNumber"] for part in page["Parts"]] == [1]
    rest = s3.list_parts(
        Bucket=repo, Key="main/mp.bin", UploadId=upload_id, PartNumberMarker=page["NextPartNumberMarker"]
    )
    assert [part["PartNumber"] for part in rest["Parts"]] == [2]
    done = s3.complete_multipart_upload(
        Bucket=repo,
        Key="main/mp.bin",
        UploadId=upload_id,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag1}, {"PartNumber": 2, "ETag": etag2}]},
    )
    assert done["ETag"] == s3_etag([first, second])
    got = s3.get_object(Bucket=repo, Key="main/mp.bin")
    assert got["Body"].read() == first + second
    assert got["ContentType"] == "application/x-parquet"
    assert got["Metadata"] == {"source": "test"}
    # A completed upload is gone.
    code = error_of(s3.list_parts, Bucket=repo, Key="main/mp.bin", UploadId=upload_id)
    assert code == ("NoSuchUpload", 404)


def test_upload_part_copy(s3: Any, repo: str) -> None:
    source = os.urandom(6 * MIB)
    s3.put_object(Bucket=repo, Key="main/source.bin", Body=source)
    upload_id = s3.create_multipart_upload(Bucket=repo, Key="main/copied.bin")["UploadId"]
    whole = s3.upload_part_copy(
        Bucket=repo,
        Key="main/copied.bin",
        UploadId=upload_id,
        PartNumber=1,
        CopySource=f"{repo}/main/source.bin",
    )
    ranged = s3.upload_part_copy(
        Bucket=repo,
        Key="main/copied.bin",
        UploadId=upload_id,
        PartNumber=2,
        CopySource={"Bucket": repo, "Key": "main/source.bin"},
        CopySourceRange="bytes=0-99",
    )
    parts = [
        {"PartNumber": 1, "ETag": whole["CopyPartResult"]["ETag"]},
        {"PartNumber": 2, "ETag": ranged["CopyPartResult"]["ETag"]},
    ]
    s3.complete_multipart_upload(
        Bucket=repo, Key="main/copied.bin", UploadId=upload_id, MultipartUpload={"Parts": parts}
    )
    assert s3.get_object(Bucket=repo, Key="main/copied.bin")["Body"].read() == source + source[:100]


def test_abort(s3: Any, repo: str) -> None:
    upload_id = s3.create_multipart_upload(Bucket=repo, Key="main/aborted")["UploadId"]
    s3.upload_part(Bucket=repo, Key="main/aborted", UploadId=upload_id, PartNumber=1, Body=b"x" * 1024)
    answer = s3.abort_multipart_upload(Bucket=repo, Key="main/aborted", UploadId=upload_id)
    assert answer["ResponseMetadata"]["HTTPStatusCode"] == 204
    code = error_of(
        s3.upload_part, Bucket=repo, Key="main/aborted", UploadId=upload_id, PartNumber=2, Body=b"y"
    )
    assert code == ("NoSuchUpload", 404)
    assert error_of(s3.head_object, Bucket=repo, Key="main/aborted")[1] == 404


def test_multipart_errors(s3: Any, repo: str) -> None:
    key = "main/errors.bin"
    upload_id = s3.create_multipart_upload(Bucket=repo, Key=key)["UploadId"]
    small = s3.upload_part(Bucket=repo, Key=key, UploadId=upload_id, PartNumber=1, Body=b"small")["ETag"]
    last = s3.upload_part(Bucket=repo, Key=key, UploadId=upload_id, PartNumber=2, Body=b"last")["ETag"]
    complete = s3.complete_multipart_upload
    too_small = {"Parts": [{"PartNumber": 1, "ETag": small}, {"PartNumber": 2, "ETag": last}]}
    assert error_of(complete, Bucket=repo, Key=key, UploadId=upload_id, MultipartUpload=too_small) == (
        "EntityTooSmall",
        400,
    )
    wrong_order = {"Parts": [{"PartNumber": 2, "ETag": last}, {"PartNumber": 1, "ETag": small}]}
    assert error_of(complete, Bucket=repo, Key=key, UploadId=upload_id, MultipartUpload=wrong_order) == (
        "InvalidPartOrder",
        400,
    )
    unknown = {"Parts": [{"PartNumber": 1, "ETag": '"0123456789abcdef0123456789abcdef"'}]}
    assert error_of(complete, Bucket=repo, Key=key, UploadId=upload_id, MultipartUpload=unknown) == (
        "InvalidPart",
        400,
    )
    # The failed completions left the upload open: it still completes.
    single = {"Parts": [{"PartNumber": 1, "ETag": small}]}
    complete(Bucket=repo, Key=key, UploadId=upload_id, MultipartUpload=single)
    assert s3.get_object(Bucket=repo, Key=key)["Body"].read() == b"small"
    assert error_of(
        s3.upload_part, Bucket=repo, Key=key, UploadId="no-such-upload", PartNumber=1, Body=b"x"
    ) == ("NoSuchUpload", 404)
    other = s3.create_multipart_upload(Bucket=repo, Key="main/other")["UploadId"]
    assert error_of(s3.upload_part, Bucket=repo, Key=key, UploadId=other, PartNumber=1, Body=b"x") == (
        "NoSuchUpload",
        404,
    )
    code = error_of(
        s3.upload_part, Bucket=repo, Key="main/other", UploadId=other, PartNumber=10001, Body=b"x"
    )
    assert code == ("InvalidArgument", 400)
    assert error_of(s3.create_multipart_upload, Bucket=repo, Key="no-branch/x") == ("NoSuchBucket", 404)


def test_complete_if_none_match(s3: Any, repo: str) -> None:
    s3.put_object(Bucket=repo, Key="main/taken", Body=b"first")
    upload_id = s3.create_multipart_upload(Bucket=repo, Key="main/taken")["UploadId"]
    etag = s3.upload_part(Bucket=repo, Key="main/taken", UploadId=upload_id, PartNumber=1, Body=b"second")[
        "ETag"
    ]
    code = error_of(
        s3.complete_multipart_upload,
        Bucket=repo,
        Key="main/taken",
        UploadId=upload_id,
        IfNoneMatch="*",
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]},
    )
    assert code == ("PreconditionFailed", 412)
    assert s3.get_object(Bucket=repo, Key="main/taken")["Body"].read() == b"first"
