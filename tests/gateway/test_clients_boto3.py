"""boto3 with its default settings (SigV4, CRC checksums in aws-chunked bodies) against the
S3 gateway: listings with delimiters and pages, a 64 MiB multipart upload, copies between
branches and from commits, commits made through the REST API read back, each error with
S3's code, and the gateway's writes seen as uncommitted changes by the REST API."""

from __future__ import annotations

import base64
import hashlib
import uuid
import zlib
from pathlib import Path
from typing import Any

import httpx
import pytest
from boto3.s3.transfer import TransferConfig
from conftest import ACCESS_KEY_ID, BIG_OBJECT_SIZE, Server, file_digest, s3_client, upload
from test_gateway_buckets import error_of

MIB = 1024 * 1024


@pytest.fixture()
def s3(server: Server) -> Any:
    return s3_client(server)


def put_tree(s3: Any, repo: str, ref: str, keys: list[str]) -> None:
    """One small object at each key under ``ref``, holding its own key."""
    for key in keys:
        s3.put_object(Bucket=repo, Key=f"{ref}/{key}", Body=key.encode())


def commit(http: httpx.Client, repo: str, branch: str = "main") -> str:
    """Commit ``branch`` through the REST API; the commit id."""
    answer = http.post(f"/repositories/{repo}/branches/{branch}/commits", json={"message": "through the API"})
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


def create_branch(http: httpx.Client, repo: str, name: str, source: str = "main") -> None:
    answer = http.post(f"/repositories/{repo}/branches", json={"name": name, "source": source})
    assert answer.status_code == 201, answer.text


def changes(http: httpx.Client, repo: str, branch: str = "main") -> dict[str, str]:
    """Uncommitted changes of ``branch`` through the REST API: path -> type."""
    answer = http.get(f"/repositories/{repo}/branches/{branch}/diff", params={"amount": 1000})
    assert answer.status_code == 200, answer.text
    return {change["path"]: change["type"] for change in answer.json()["results"]}


# listings ----------------------------------------------------------------------------------

KEYS = [
    "data/a/1.csv",
    "data/a/2.csv",
    "data/b/1.csv",
    "data/c.csv",
    "data/d.csv",
    "data/e.csv",
    "logs/x.log",
    "top.txt",
]


def test_list_v2_pages_with_a_delimiter(s3: Any, repo: str) -> None:
    put_tree(s3, repo, "main", KEYS)
    pages = list(
        s3.get_paginator("list_objects_v2").paginate(
            Bucket=repo, Prefix="main/data/", Delimiter="/", PaginationConfig={"PageSize": 2}
        )
    )
    assert len(pages) == 3
    assert all(page["KeyCount"] <= 2 for page in pages)
    prefixes = [p["Prefix"] for page in pages for p in page.get("CommonPrefixes", [])]
    keys = [o["Key"] for page in pages for o in page.get("Contents", [])]
    assert prefixes == ["main/data/a/", "main/data/b/"]
    assert keys == ["main/data/c.csv", "main/data/d.csv", "main/data/e.csv"]
    every = [
        o["Key"]
        for page in s3.get_paginator("list_objects_v2").paginate(
            Bucket=repo, Prefix="main/", PaginationConfig={"PageSize": 3}
        )
        for o in page.get("Contents", [])
    ]
    assert every == [f"main/{key}" for key in KEYS]
    after = s3.list_objects_v2(Bucket=repo, Prefix="main/", StartAfter="main/data/e.csv")
    assert [o["Key"] for o in after["Contents"]] == ["main/logs/x.log", "main/top.txt"]
    sizes = {o["Key"]: o["Size"] for o in after["Contents"]}
    assert sizes["main/top.txt"] == len("top.txt")


def test_list_v1_pages_with_markers(s3: Any, repo: str) -> None:
    put_tree(s3, repo, "main", KEYS)
    pages = list(
        s3.get_paginator("list_objects").paginate(
            Bucket=repo, Prefix="main/", Delimiter="/", PaginationConfig={"PageSize": 1}
        )
    )
    prefixes = [p["Prefix"] for page in pages for p in page.get("CommonPrefixes", [])]
    keys = [o["Key"] for page in pages for o in page.get("Contents", [])]
    assert prefixes == ["main/data/", "main/logs/"]
    assert keys == ["main/top.txt"]
    first = s3.list_objects(Bucket=repo, Prefix="main/data/", MaxKeys=2)
    assert first["IsTruncated"] is True
    rest = s3.list_objects(Bucket=repo, Prefix="main/data/", Marker=first["Contents"][-1]["Key"])
    assert [o["Key"] for o in first["Contents"] + rest["Contents"]] == [
        f"main/{key}" for key in KEYS if key.startswith("data/")
    ]


def test_the_first_level_of_a_key_is_the_ref(s3: Any, http: httpx.Client, repo: str) -> None:
    put_tree(s3, repo, "main", ["a.txt"])
    commit(http, repo)
    create_branch(http, repo, "dev")
    put_tree(s3, repo, "dev", ["b.txt"])
    root = s3.list_objects_v2(Bucket=repo, Delimiter="/")
    assert {p["Prefix"] for p in root["CommonPrefixes"]} == {"main/", "dev/"}
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=repo, Prefix="dev/")["Contents"]] == [
        "dev/a.txt",
        "dev/b.txt",
    ]


# multipart upload --------------------------------------------------------------------------


def test_upload_file_of_64_mib_in_8_mib_parts(s3: Any, repo: str, big_file: Path, tmp_path: Path) -> None:
    parts = TransferConfig(multipart_threshold=8 * MIB, multipart_chunksize=8 * MIB)
    s3.upload_file(str(big_file), repo, "main/big/object.bin", Config=parts)
    head = s3.head_object(Bucket=repo, Key="main/big/object.bin")
    assert head["ContentLength"] == BIG_OBJECT_SIZE
    assert head["ETag"].strip('"').endswith(f"-{BIG_OBJECT_SIZE // (8 * MIB)}")
    back = tmp_path / "back.bin"
    s3.download_file(repo, "main/big/object.bin", str(back))
    assert file_digest(back) == file_digest(big_file)
    middle = s3.get_object(Bucket=repo, Key="main/big/object.bin", Range="bytes=33554430-33554433")
    with open(big_file, "rb") as f:
        f.seek(33554430)
        assert middle["Body"].read() == f.read(4)


# copies ------------------------------------------------------------------------------------


def test_copy_object_between_branches_and_from_a_commit(s3: Any, http: httpx.Client, repo: str) -> None:
    s3.put_object(Bucket=repo, Key="main/src/a.txt", Body=b"version one")
    create_branch(http, repo, "dev")
    s3.copy_object(Bucket=repo, Key="dev/copied/a.txt", CopySource={"Bucket": repo, "Key": "main/src/a.txt"})
    assert s3.get_object(Bucket=repo, Key="dev/copied/a.txt")["Body"].read() == b"version one"
    assert changes(http, repo, "dev") == {"copied/a.txt": "added"}
    committed = commit(http, repo)
    s3.put_object(Bucket=repo, Key="main/src/a.txt", Body=b"version two")
    s3.copy_object(Bucket=repo, Key="dev/old/a.txt", CopySource=f"{repo}/{committed}/src/a.txt")
    assert s3.get_object(Bucket=repo, Key="dev/old/a.txt")["Body"].read() == b"version one"
    # a managed copy (boto3's `copy`) of a large object goes part by part
    s3.put_object(Bucket=repo, Key="main/src/big.bin", Body=b"x" * (6 * MIB))
    s3.copy(
        {"Bucket": repo, "Key": "main/src/big.bin"},
        repo,
        "dev/big.bin",
        Config=TransferConfig(multipart_threshold=5 * MIB, multipart_chunksize=5 * MIB),
    )
    assert s3.get_object(Bucket=repo, Key="dev/big.bin")["Body"].read() == b"x" * (6 * MIB)


# commits made through the REST API ---------------------------------------------------------


def test_read_a_commit_made_through_the_rest_api(s3: Any, http: httpx.Client, repo: str) -> None:
    s3.put_object(Bucket=repo, Key="main/table/part-0.csv", Body=b"a,b\n1,2\n")
    committed = commit(http, repo)
    s3.put_object(Bucket=repo, Key="main/table/part-0.csv", Body=b"a,b\n3,4\n")
    s3.delete_object(Bucket=repo, Key="main/table/part-0.csv")
    got = s3.get_object(Bucket=repo, Key=f"{committed}/table/part-0.csv")
    assert got["Body"].read() == b"a,b\n1,2\n"
    listed = s3.list_objects_v2(Bucket=repo, Prefix=f"{committed}/table/")
    assert [o["Key"] for o in listed["Contents"]] == [f"{committed}/table/part-0.csv"]
    assert error_of(s3.get_object, Bucket=repo, Key="main/table/part-0.csv")[0] == "NoSuchKey"
    # a ref expression: the committed data of main only
    assert s3.get_object(Bucket=repo, Key="main@/table/part-0.csv")["Body"].read() == b"a,b\n1,2\n"


# the REST API and the gateway see the same branch ------------------------------------------


def test_gateway_writes_are_uncommitted_changes_of_the_rest_api(
    s3: Any, http: httpx.Client, sdk: Any, repo: str
) -> None:
    s3.put_object(Bucket=repo, Key="main/new.txt", Body=b"through S3")
    assert changes(http, repo) == {"new.txt": "added"}
    read = http.get(f"/repositories/{repo}/refs/main/objects", params={"path": "new.txt"})
    assert read.content == b"through S3"
    upload(sdk, repo, "main", "rest.txt", b"through the REST API")
    assert s3.get_object(Bucket=repo, Key="main/rest.txt")["Body"].read() == b"through the REST API"
    commit(http, repo)
    s3.delete_object(Bucket=repo, Key="main/new.txt")
    assert changes(http, repo) == {"new.txt": "removed"}
    s3.delete_objects(Bucket=repo, Delete={"Objects": [{"Key": "main/rest.txt"}]})
    assert changes(http, repo) == {"new.txt": "removed", "rest.txt": "removed"}


def test_branch_protection_refuses_gateway_writes(s3: Any, http: httpx.Client, repo: str) -> None:
    s3.put_object(Bucket=repo, Key="main/kept.txt", Body=b"kept")
    commit(http, repo)
    rules = http.put(f"/repositories/{repo}/settings/branch_protection", json=[{"pattern": "main"}])
    assert rules.status_code == 204, rules.text
    assert error_of(s3.put_object, Bucket=repo, Key="main/x.txt", Body=b"x") == ("AccessDenied", 403)
    assert error_of(s3.delete_object, Bucket=repo, Key="main/kept.txt") == ("AccessDenied", 403)
    copy = {"Bucket": repo, "Key": "main/kept.txt"}
    assert error_of(s3.copy_object, Bucket=repo, Key="main/y.txt", CopySource=copy) == ("AccessDenied", 403)
    assert error_of(s3.create_multipart_upload, Bucket=repo, Key="main/z.bin")[0] == "AccessDenied"
    assert changes(http, repo) == {}
    assert s3.get_object(Bucket=repo, Key="main/kept.txt")["Body"].read() == b"kept"


# errors, each with S3's code ---------------------------------------------------------------


def test_missing_keys_and_buckets(s3: Any, repo: str) -> None:
    assert error_of(s3.get_object, Bucket=repo, Key="main/no/such/key") == ("NoSuchKey", 404)
    assert error_of(s3.get_object, Bucket="no-such-repository", Key="main/a") == ("NoSuchBucket", 404)
    assert error_of(s3.list_objects_v2, Bucket="no-such-repository") == ("NoSuchBucket", 404)
    assert error_of(s3.put_object, Bucket="no-such-repository", Key="main/a", Body=b"a")[0] == "NoSuchBucket"


def test_writes_to_a_tag_or_a_commit_are_denied(s3: Any, http: httpx.Client, repo: str) -> None:
    s3.put_object(Bucket=repo, Key="main/a.txt", Body=b"a")
    committed = commit(http, repo)
    tagged = http.post(f"/repositories/{repo}/tags", json={"id": "v1", "ref": committed})
    assert tagged.status_code == 201, tagged.text
    for ref in ("v1", committed):
        assert error_of(s3.put_object, Bucket=repo, Key=f"{ref}/b.txt", Body=b"b") == ("AccessDenied", 403)
        assert error_of(s3.delete_object, Bucket=repo, Key=f"{ref}/a.txt")[0] == "AccessDenied"
    assert s3.get_object(Bucket=repo, Key="v1/a.txt")["Body"].read() == b"a"


def test_bad_credentials(server: Server, repo: str) -> None:
    def client(key: str, secret: str) -> Any:
        return s3_client(server, key, secret)

    wrong_secret = client(ACCESS_KEY_ID, "not-the-secret-access-key")
    assert error_of(wrong_secret.list_objects_v2, Bucket=repo) == ("SignatureDoesNotMatch", 403)
    assert error_of(wrong_secret.put_object, Bucket=repo, Key="main/a", Body=b"a") == (
        "SignatureDoesNotMatch",
        403,
    )
    unknown = client("AKIAUNKNOWNKEY000000", "whatever-secret")
    assert error_of(unknown.list_objects_v2, Bucket=repo) == ("SignatureDoesNotMatch", 403)
    assert error_of(unknown.list_buckets) == ("SignatureDoesNotMatch", 403)


def test_operations_not_served(s3: Any, repo: str) -> None:
    s3.put_object(Bucket=repo, Key="main/a.txt", Body=b"a")
    tagging = {"TagSet": [{"Key": "k", "Value": "v"}]}
    assert error_of(s3.put_object_tagging, Bucket=repo, Key="main/a.txt", Tagging=tagging) == (
        "NotImplemented",
        501,
    )
    assert error_of(s3.list_object_versions, Bucket=repo) == ("NotImplemented", 501)
    assert error_of(s3.get_object_acl, Bucket=repo, Key="main/a.txt") == ("NotImplemented", 501)
    assert error_of(s3.get_bucket_lifecycle_configuration, Bucket=repo)[0] == "NotImplemented"


def test_preconditions_and_ranges(s3: Any, repo: str) -> None:
    data = b"0123456789"
    etag = s3.put_object(Bucket=repo, Key="main/digits.txt", Body=data)["ETag"]
    assert etag == f'"{hashlib.md5(data).hexdigest()}"'
    wrong = '"' + "0" * 32 + '"'
    assert error_of(s3.get_object, Bucket=repo, Key="main/digits.txt", IfMatch=wrong) == (
        "PreconditionFailed",
        412,
    )
    assert s3.get_object(Bucket=repo, Key="main/digits.txt", IfMatch=etag)["Body"].read() == data
    assert error_of(s3.get_object, Bucket=repo, Key="main/digits.txt", Range="bytes=100-200") == (
        "InvalidRange",
        416,
    )
    assert s3.get_object(Bucket=repo, Key="main/digits.txt", Range="bytes=-3")["Body"].read() == b"789"


def test_checksums_boto3_sends_and_asks_for(s3: Any, repo: str) -> None:
    key = f"main/{uuid.uuid4().hex}.bin"
    data = b"checksummed" * 1000
    crc32 = base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()
    put = s3.put_object(Bucket=repo, Key=key, Body=data, ChecksumAlgorithm="CRC32")
    assert put.get("ChecksumCRC32", crc32) == crc32
    got = s3.get_object(Bucket=repo, Key=key, ChecksumMode="ENABLED")
    assert got["Body"].read() == data
    assert got.get("ChecksumCRC32", crc32) == crc32
