"""The S3 gateway's object operations through boto3 (path-style, default checksum
settings): reads, writes, copies and deletions, and their round trips with the REST API."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime, timedelta
from email.header import decode_header, make_header
from typing import Any

import httpx
import lakefs_sdk
import pytest
from conftest import Server, objects_url, s3_client, upload_url
from test_gateway_buckets import error_of


@pytest.fixture()
def s3(server: Server) -> Any:
    return s3_client(server)


def commit(sdk: lakefs_sdk.ApiClient, repo: str, branch: str = "main") -> str:
    """Commit the branch through the REST API; the commit id."""
    done = lakefs_sdk.CommitsApi(sdk).commit(
        repo, branch, lakefs_sdk.CommitCreation(message="through the API")
    )
    return str(done.id)


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


# PutObject and GetObject -----------------------------------------------------------------


def test_put_then_get_and_head(s3: Any, repo: str) -> None:
    data = b"hello, gateway\n" * 100
    put = s3.put_object(
        Bucket=repo,
        Key="main/dir/hello.txt",
        Body=data,
        ContentType="text/plain",
        Metadata={"Owner": "me"},
    )
    assert put["ETag"] == f'"{md5(data)}"'
    got = s3.get_object(Bucket=repo, Key="main/dir/hello.txt")
    assert got["Body"].read() == data
    assert got["ETag"] == f'"{md5(data)}"'
    assert got["ContentType"] == "text/plain"
    assert got["ContentLength"] == len(data)
    assert got["Metadata"]["owner"] == "me"
    assert abs(got["LastModified"] - datetime.now(UTC)) < timedelta(minutes=5)
    head = s3.head_object(Bucket=repo, Key="main/dir/hello.txt")
    assert head["ContentLength"] == len(data)
    assert head["ETag"] == put["ETag"]
    assert head["Metadata"]["owner"] == "me"


def test_non_ascii_metadata_round_trips(s3: Any, repo: str, http: httpx.Client) -> None:
    # Clients send values outside ASCII as RFC 2047 encoded words, as S3 takes them.
    s3.put_object(Bucket=repo, Key="main/m", Body=b"x", Metadata={"city": "=?UTF-8?B?WsO8cmljaA==?="})
    stat = http.get(objects_url(repo) + "/stat", params={"path": "m"}).json()
    assert stat["metadata"] == {"X-Amz-Meta-city": "Zürich"}
    raw = s3.head_object(Bucket=repo, Key="main/m")["Metadata"]["city"]
    assert str(make_header(decode_header(raw))) == "Zürich"


def test_empty_object(s3: Any, repo: str) -> None:
    s3.put_object(Bucket=repo, Key="main/empty", Body=b"")
    got = s3.get_object(Bucket=repo, Key="main/empty")
    assert got["Body"].read() == b""
    assert got["ContentLength"] == 0
    assert got["ContentType"] == "application/octet-stream"


def test_large_object_streams_both_ways(s3: Any, repo: str) -> None:
    data = uuid.uuid4().bytes * (3 * 1024 * 1024 // 16 + 7)
    s3.put_object(Bucket=repo, Key="main/big.bin", Body=data)
    assert s3.get_object(Bucket=repo, Key="main/big.bin")["Body"].read() == data


def test_ranges(s3: Any, repo: str) -> None:
    data = bytes(range(256)) * 4
    s3.put_object(Bucket=repo, Key="main/r", Body=data)
    part = s3.get_object(Bucket=repo, Key="main/r", Range="bytes=10-19")
    assert part["Body"].read() == data[10:20]
    assert part["ContentRange"] == f"bytes 10-19/{len(data)}"
    assert part["ResponseMetadata"]["HTTPStatusCode"] == 206
    assert s3.get_object(Bucket=repo, Key="main/r", Range="bytes=-5")["Body"].read() == data[-5:]
    assert s3.get_object(Bucket=repo, Key="main/r", Range="bytes=1000-")["Body"].read() == data[1000:]
    head = s3.head_object(Bucket=repo, Key="main/r", Range="bytes=0-0")
    assert head["ContentLength"] == 1
    assert error_of(s3.get_object, Bucket=repo, Key="main/r", Range="bytes=5000-") == ("InvalidRange", 416)
    # A Range S3 cannot read is ignored: the whole object.
    whole = s3.get_object(Bucket=repo, Key="main/r", Range="lines=1-2")
    assert whole["Body"].read() == data


def test_conditional_reads(s3: Any, repo: str) -> None:
    put = s3.put_object(Bucket=repo, Key="main/c", Body=b"conditional")
    etag = put["ETag"]
    assert s3.get_object(Bucket=repo, Key="main/c", IfMatch=etag)["Body"].read() == b"conditional"
    assert error_of(s3.get_object, Bucket=repo, Key="main/c", IfMatch='"0000"') == ("PreconditionFailed", 412)
    assert error_of(s3.get_object, Bucket=repo, Key="main/c", IfNoneMatch=etag)[1] == 304
    assert error_of(s3.head_object, Bucket=repo, Key="main/c", IfNoneMatch=etag)[1] == 304
    past = datetime.now(UTC) - timedelta(days=1)
    future = datetime.now(UTC) + timedelta(days=1)
    assert error_of(s3.get_object, Bucket=repo, Key="main/c", IfModifiedSince=future)[1] == 304
    assert s3.get_object(Bucket=repo, Key="main/c", IfModifiedSince=past)["Body"].read() == b"conditional"
    code = error_of(s3.get_object, Bucket=repo, Key="main/c", IfUnmodifiedSince=past)
    assert code == ("PreconditionFailed", 412)


def test_response_overrides(s3: Any, repo: str) -> None:
    s3.put_object(Bucket=repo, Key="main/o", Body=b"x", ContentType="text/plain")
    got = s3.get_object(
        Bucket=repo,
        Key="main/o",
        ResponseContentType="application/json",
        ResponseContentDisposition='attachment; filename="o.json"',
        ResponseCacheControl="no-cache",
    )
    assert got["ContentType"] == "application/json"
    assert got["ContentDisposition"] == 'attachment; filename="o.json"'
    assert got["CacheControl"] == "no-cache"


def test_read_errors(s3: Any, repo: str) -> None:
    assert error_of(s3.get_object, Bucket=repo, Key="main/missing") == ("NoSuchKey", 404)
    assert error_of(s3.get_object, Bucket=repo, Key="no-such-ref/x") == ("NoSuchKey", 404)
    assert error_of(s3.get_object, Bucket=repo, Key="main/") == ("NoSuchKey", 404)
    assert error_of(s3.head_object, Bucket=repo, Key="main/missing")[1] == 404
    missing = f"missing-{uuid.uuid4().hex[:8]}"
    assert error_of(s3.get_object, Bucket=missing, Key="main/x") == ("NoSuchBucket", 404)


def test_conditional_write(s3: Any, repo: str) -> None:
    s3.put_object(Bucket=repo, Key="main/once", Body=b"first", IfNoneMatch="*")
    code = error_of(s3.put_object, Bucket=repo, Key="main/once", Body=b"second", IfNoneMatch="*")
    assert code == ("PreconditionFailed", 412)
    assert s3.get_object(Bucket=repo, Key="main/once")["Body"].read() == b"first"


def test_writes_go_to_branches_only(s3: Any, repo: str, sdk: lakefs_sdk.ApiClient) -> None:
    s3.put_object(Bucket=repo, Key="main/a", Body=b"a")
    commit_id = commit(sdk, repo)
    lakefs_sdk.TagsApi(sdk).create_tag(repo, lakefs_sdk.TagCreation(id="v1", ref="main"))
    for ref in ("v1", commit_id):
        assert error_of(s3.put_object, Bucket=repo, Key=f"{ref}/b", Body=b"b") == ("AccessDenied", 403)
        assert error_of(s3.delete_object, Bucket=repo, Key=f"{ref}/a") == ("AccessDenied", 403)
        code = error_of(s3.copy_object, Bucket=repo, Key=f"{ref}/c", CopySource=f"{repo}/main/a")
        assert code == ("AccessDenied", 403)
    assert error_of(s3.put_object, Bucket=repo, Key="no-branch/b", Body=b"b") == ("NoSuchBucket", 404)
    missing = f"missing-{uuid.uuid4().hex[:8]}"
    assert error_of(s3.put_object, Bucket=missing, Key="main/b", Body=b"b") == ("NoSuchBucket", 404)


def test_protected_branch_and_read_only_repository(
    s3: Any, repo: str, read_only_repo: str, sdk: lakefs_sdk.ApiClient
) -> None:
    lakefs_sdk.RepositoriesApi(sdk).set_branch_protection_rules(
        repo, [lakefs_sdk.BranchProtectionRule(pattern="main")]
    )
    assert error_of(s3.put_object, Bucket=repo, Key="main/p", Body=b"p") == ("AccessDenied", 403)
    assert error_of(s3.delete_object, Bucket=repo, Key="main/p") == ("AccessDenied", 403)
    assert error_of(s3.put_object, Bucket=read_only_repo, Key="main/p", Body=b"p") == ("AccessDenied", 403)
    upload = error_of(s3.create_multipart_upload, Bucket=read_only_repo, Key="main/p")
    assert upload == ("AccessDenied", 403)


def test_metadata_too_large(s3: Any, repo: str) -> None:
    code = error_of(s3.put_object, Bucket=repo, Key="main/m", Body=b"x", Metadata={"big": "v" * 3000})
    assert code == ("MetadataTooLarge", 400)
    assert error_of(s3.head_object, Bucket=repo, Key="main/m")[1] == 404


def test_a_body_failing_its_checksum_stages_nothing(server: Server, repo: str, http: httpx.Client) -> None:
    s3 = s3_client(server)
    with pytest.raises(Exception):  # noqa: B017, PT011 - the client reports the gateway's error
        s3.put_object(Bucket=repo, Key="main/bad", Body=b"payload", ContentMD5="AAAAAAAAAAAAAAAAAAAAAA==")
    assert http.get(objects_url(repo) + "/stat", params={"path": "bad"}).status_code == 404


# round trips with the REST API -----------------------------------------------------------


def test_gateway_writes_are_read_by_the_rest_api(s3: Any, repo: str, http: httpx.Client) -> None:
    s3.put_object(
        Bucket=repo, Key="main/x/y.csv", Body=b"a,b\n1,2\n", ContentType="text/csv", Metadata={"k": "v"}
    )
    stat = http.get(objects_url(repo) + "/stat", params={"path": "x/y.csv"}).json()
    assert stat["content_type"] == "text/csv"
    assert stat["size_bytes"] == 8
    assert stat["metadata"] == {"X-Amz-Meta-k": "v"}
    assert http.get(objects_url(repo), params={"path": "x/y.csv"}).content == b"a,b\n1,2\n"
    diff = http.get(f"/repositories/{repo}/branches/main/diff").json()["results"]
    assert [(item["path"], item["type"]) for item in diff] == [("x/y.csv", "added")]


def test_rest_writes_are_read_by_the_gateway(s3: Any, repo: str, http: httpx.Client) -> None:
    answer = http.post(
        upload_url(repo),
        params={"path": "from/api.txt"},
        content=b"from the API",
        headers={"Content-Type": "text/plain", "X-Lakefs-Meta-Team": "data"},
    )
    assert answer.status_code == 201
    got = s3.get_object(Bucket=repo, Key="main/from/api.txt")
    assert got["Body"].read() == b"from the API"
    assert got["ContentType"] == "text/plain"
    assert got["Metadata"] == {"team": "data"}


def test_read_a_commit_and_a_tag_through_the_gateway(s3: Any, repo: str, sdk: lakefs_sdk.ApiClient) -> None:
    s3.put_object(Bucket=repo, Key="main/data/v.txt", Body=b"version 1")
    commit_id = commit(sdk, repo)
    lakefs_sdk.TagsApi(sdk).create_tag(repo, lakefs_sdk.TagCreation(id="release", ref=commit_id))
    s3.put_object(Bucket=repo, Key="main/data/v.txt", Body=b"version 2")
    assert s3.get_object(Bucket=repo, Key=f"{commit_id}/data/v.txt")["Body"].read() == b"version 1"
    assert s3.get_object(Bucket=repo, Key=f"{commit_id[:12]}/data/v.txt")["Body"].read() == b"version 1"
    assert s3.get_object(Bucket=repo, Key="release/data/v.txt")["Body"].read() == b"version 1"
    assert s3.get_object(Bucket=repo, Key="main/data/v.txt")["Body"].read() == b"version 2"
    assert s3.get_object(Bucket=repo, Key="main@/data/v.txt")["Body"].read() == b"version 1"


# CopyObject --------------------------------------------------------------------------------


def test_copy_between_branches_and_from_a_commit(s3: Any, repo: str, sdk: lakefs_sdk.ApiClient) -> None:
    s3.put_object(
        Bucket=repo, Key="main/src.txt", Body=b"source", ContentType="text/plain", Metadata={"a": "1"}
    )
    commit_id = commit(sdk, repo)
    lakefs_sdk.BranchesApi(sdk).create_branch(repo, lakefs_sdk.BranchCreation(name="dev", source="main"))
    copied = s3.copy_object(
        Bucket=repo, Key="dev/copy.txt", CopySource={"Bucket": repo, "Key": "main/src.txt"}
    )
    assert copied["CopyObjectResult"]["ETag"] == f'"{md5(b"source")}"'
    got = s3.get_object(Bucket=repo, Key="dev/copy.txt")
    assert got["Body"].read() == b"source"
    assert got["ContentType"] == "text/plain"
    assert got["Metadata"] == {"a": "1"}
    s3.put_object(Bucket=repo, Key="main/src.txt", Body=b"changed")
    s3.copy_object(Bucket=repo, Key="main/old.txt", CopySource=f"/{repo}/{commit_id}/src.txt")
    assert s3.get_object(Bucket=repo, Key="main/old.txt")["Body"].read() == b"source"


def test_copy_replacing_metadata_and_keys_needing_encoding(s3: Any, repo: str) -> None:
    key = "main/a dir/ü+name?.txt"
    s3.put_object(Bucket=repo, Key=key, Body=b"odd", Metadata={"a": "1"})
    s3.copy_object(
        Bucket=repo,
        Key="main/replaced",
        CopySource={"Bucket": repo, "Key": key},
        MetadataDirective="REPLACE",
        Metadata={"b": "2"},
        ContentType="text/markdown",
    )
    head = s3.head_object(Bucket=repo, Key="main/replaced")
    assert head["Metadata"] == {"b": "2"}
    assert head["ContentType"] == "text/markdown"


def test_copy_from_another_repository(s3: Any, repo: str, server: Server, sdk: lakefs_sdk.ApiClient) -> None:
    other = f"other-{uuid.uuid4().hex[:10]}"
    lakefs_sdk.RepositoriesApi(sdk).create_repository(
        lakefs_sdk.RepositoryCreation(name=other, storage_namespace=server.namespace(other))
    )
    s3.put_object(Bucket=other, Key="main/there", Body=b"elsewhere")
    s3.copy_object(Bucket=repo, Key="main/here", CopySource=f"{other}/main/there")
    assert s3.get_object(Bucket=repo, Key="main/here")["Body"].read() == b"elsewhere"


def test_copy_errors(s3: Any, repo: str) -> None:
    assert error_of(s3.copy_object, Bucket=repo, Key="main/d", CopySource=f"{repo}/main/nothing") == (
        "NoSuchKey",
        404,
    )
    assert (
        error_of(s3.copy_object, Bucket=repo, Key="main/d", CopySource=f"{repo}/main")[0] == "InvalidArgument"
    )
    s3.put_object(Bucket=repo, Key="main/s", Body=b"s")
    versioned = {"Bucket": repo, "Key": "main/s", "VersionId": "v1"}
    assert error_of(s3.copy_object, Bucket=repo, Key="main/d", CopySource=versioned) == (
        "NotImplemented",
        501,
    )
    missing = f"missing-{uuid.uuid4().hex[:8]}"
    code = error_of(s3.copy_object, Bucket=repo, Key="main/d", CopySource=f"{missing}/main/s")
    assert code == ("NoSuchBucket", 404)


# DeleteObject and DeleteObjects ------------------------------------------------------------


def test_delete_object(s3: Any, repo: str) -> None:
    s3.put_object(Bucket=repo, Key="main/gone", Body=b"x")
    assert s3.delete_object(Bucket=repo, Key="main/gone")["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert error_of(s3.head_object, Bucket=repo, Key="main/gone")[1] == 404
    # Deleting what is not there succeeds, as in S3.
    assert s3.delete_object(Bucket=repo, Key="main/gone")["ResponseMetadata"]["HTTPStatusCode"] == 204


def test_delete_objects(s3: Any, repo: str, sdk: lakefs_sdk.ApiClient) -> None:
    for name in ("a", "b", "c"):
        s3.put_object(Bucket=repo, Key=f"main/{name}", Body=name.encode())
    commit(sdk, repo)
    lakefs_sdk.TagsApi(sdk).create_tag(repo, lakefs_sdk.TagCreation(id="t1", ref="main"))
    answer = s3.delete_objects(
        Bucket=repo,
        Delete={"Objects": [{"Key": "main/a"}, {"Key": "main/b"}, {"Key": "main/missing"}, {"Key": "t1/c"}]},
    )
    assert sorted(item["Key"] for item in answer["Deleted"]) == ["main/a", "main/b", "main/missing"]
    assert [(item["Key"], item["Code"]) for item in answer["Errors"]] == [("t1/c", "AccessDenied")]
    assert error_of(s3.head_object, Bucket=repo, Key="main/a")[1] == 404
    assert s3.head_object(Bucket=repo, Key="main/c")["ContentLength"] == 1
    quiet = s3.delete_objects(Bucket=repo, Delete={"Objects": [{"Key": "main/c"}], "Quiet": True})
    assert "Deleted" not in quiet
    assert "Errors" not in quiet
    assert error_of(s3.head_object, Bucket=repo, Key="main/c")[1] == 404


def test_delete_objects_on_a_protected_branch_reports_each_key(
    s3: Any, repo: str, sdk: lakefs_sdk.ApiClient
) -> None:
    s3.put_object(Bucket=repo, Key="main/a", Body=b"a")
    lakefs_sdk.RepositoriesApi(sdk).set_branch_protection_rules(
        repo, [lakefs_sdk.BranchProtectionRule(pattern="main")]
    )
    answer = s3.delete_objects(Bucket=repo, Delete={"Objects": [{"Key": "main/a"}]})
    assert [(item["Key"], item["Code"]) for item in answer["Errors"]] == [("main/a", "AccessDenied")]
    assert s3.head_object(Bucket=repo, Key="main/a")["ContentLength"] == 1


def test_delete_objects_malformed(server: Server, repo: str) -> None:
    s3 = s3_client(server)
    too_many = {"Objects": [{"Key": f"main/{n}"} for n in range(1001)]}
    assert error_of(s3.delete_objects, Bucket=repo, Delete=too_many) == ("MalformedXML", 400)
