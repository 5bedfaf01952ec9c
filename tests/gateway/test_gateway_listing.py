"""ListObjects v1 and v2 through the S3 gateway with boto3: the first level of a key is
the ref; prefixes, delimiters, pagination, markers and URL-encoded keys."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import unquote_plus

import lakefs_sdk
import pytest
from conftest import Server, s3_client
from test_gateway_buckets import error_of


@pytest.fixture()
def s3(server: Server) -> Any:
    return s3_client(server)


KEYS = ["a.txt", "dir/1.txt", "dir/2.txt", "dir/sub/3.txt", "other/4.txt", "z.txt"]


@pytest.fixture()
def filled(s3: Any, repo: str) -> str:
    for key in KEYS:
        s3.put_object(Bucket=repo, Key=f"main/{key}", Body=key.encode())
    return repo


def test_list_everything_of_a_ref(s3: Any, filled: str) -> None:
    for call in (s3.list_objects, s3.list_objects_v2):
        answer = call(Bucket=filled, Prefix="main/")
        assert [item["Key"] for item in answer["Contents"]] == [f"main/{key}" for key in KEYS]
        assert answer["IsTruncated"] is False
        first = answer["Contents"][0]
        assert first["Size"] == len("a.txt")
        assert first["ETag"].startswith('"')
    assert s3.list_objects_v2(Bucket=filled, Prefix="main/")["KeyCount"] == len(KEYS)


def test_delimiter_folds_common_prefixes(s3: Any, filled: str) -> None:
    answer = s3.list_objects_v2(Bucket=filled, Prefix="main/", Delimiter="/")
    assert [item["Key"] for item in answer["Contents"]] == ["main/a.txt", "main/z.txt"]
    assert [item["Prefix"] for item in answer["CommonPrefixes"]] == ["main/dir/", "main/other/"]
    assert answer["KeyCount"] == 4
    inner = s3.list_objects(Bucket=filled, Prefix="main/dir/", Delimiter="/")
    assert [item["Key"] for item in inner["Contents"]] == ["main/dir/1.txt", "main/dir/2.txt"]
    assert [item["Prefix"] for item in inner["CommonPrefixes"]] == ["main/dir/sub/"]


def test_no_ref_in_the_prefix_lists_branches(s3: Any, filled: str, sdk: lakefs_sdk.ApiClient) -> None:
    branches = lakefs_sdk.BranchesApi(sdk)
    for name in ("dev", "feature-x"):
        branches.create_branch(filled, lakefs_sdk.BranchCreation(name=name, source="main"))
    answer = s3.list_objects_v2(Bucket=filled, Delimiter="/")
    assert [item["Prefix"] for item in answer["CommonPrefixes"]] == ["dev/", "feature-x/", "main/"]
    assert "Contents" not in answer
    only_f = s3.list_objects(Bucket=filled, Prefix="f", Delimiter="/")
    assert [item["Prefix"] for item in only_f["CommonPrefixes"]] == ["feature-x/"]
    paged = s3.list_objects_v2(Bucket=filled, Delimiter="/", MaxKeys=2)
    assert paged["IsTruncated"] is True
    rest = s3.list_objects_v2(Bucket=filled, Delimiter="/", ContinuationToken=paged["NextContinuationToken"])
    assert [item["Prefix"] for item in rest["CommonPrefixes"]] == ["main/"]


def test_v2_pages_with_continuation_tokens(s3: Any, filled: str) -> None:
    seen: list[str] = []
    kwargs: dict[str, Any] = {"Bucket": filled, "Prefix": "main/", "MaxKeys": 2}
    pages = 0
    while True:
        answer = s3.list_objects_v2(**kwargs)
        pages += 1
        seen.extend(item["Key"] for item in answer.get("Contents", []))
        assert answer["KeyCount"] <= 2
        if not answer["IsTruncated"]:
            break
        kwargs["ContinuationToken"] = answer["NextContinuationToken"]
    assert seen == [f"main/{key}" for key in KEYS]
    assert pages == 3
    paginated = s3.get_paginator("list_objects_v2").paginate(
        Bucket=filled, Prefix="main/", Delimiter="/", PaginationConfig={"PageSize": 1}
    )
    keys, prefixes = [], []
    for page in paginated:
        keys.extend(item["Key"] for item in page.get("Contents", []))
        prefixes.extend(item["Prefix"] for item in page.get("CommonPrefixes", []))
    assert keys == ["main/a.txt", "main/z.txt"]
    assert prefixes == ["main/dir/", "main/other/"]


def test_v1_pages_with_markers(s3: Any, filled: str) -> None:
    first = s3.list_objects(Bucket=filled, Prefix="main/", MaxKeys=3)
    assert first["IsTruncated"] is True
    assert "NextMarker" not in first  # only with a delimiter, as in S3
    rest = s3.list_objects(Bucket=filled, Prefix="main/", Marker=first["Contents"][-1]["Key"])
    assert [item["Key"] for item in first["Contents"] + rest["Contents"]] == [f"main/{key}" for key in KEYS]
    folded = s3.list_objects(Bucket=filled, Prefix="main/", Delimiter="/", MaxKeys=2)
    assert folded["NextMarker"] == "main/dir/"
    after = s3.list_objects(Bucket=filled, Prefix="main/", Delimiter="/", Marker=folded["NextMarker"])
    assert [item["Key"] for item in after["Contents"]] == ["main/z.txt"]
    assert [item["Prefix"] for item in after["CommonPrefixes"]] == ["main/other/"]
    everything = [
        key
        for page in s3.get_paginator("list_objects").paginate(
            Bucket=filled, Prefix="main/", PaginationConfig={"PageSize": 2}
        )
        for key in (item["Key"] for item in page["Contents"])
    ]
    assert everything == [f"main/{key}" for key in KEYS]


def test_start_after(s3: Any, filled: str) -> None:
    answer = s3.list_objects_v2(Bucket=filled, Prefix="main/", StartAfter="main/dir/2.txt")
    assert [item["Key"] for item in answer["Contents"]] == [
        "main/dir/sub/3.txt",
        "main/other/4.txt",
        "main/z.txt",
    ]
    assert answer["StartAfter"] == "main/dir/2.txt"
    before = s3.list_objects_v2(Bucket=filled, Prefix="main/", StartAfter="a")
    assert len(before["Contents"]) == len(KEYS)
    past = s3.list_objects_v2(Bucket=filled, Prefix="main/", StartAfter="zzz")
    assert "Contents" not in past


def test_keys_needing_encoding(s3: Any, repo: str) -> None:
    odd = ["main/a b/+plus.txt", "main/ü/ß.txt", "main/q?x=1&y", "main/<tag>.xml"]
    for key in odd:
        s3.put_object(Bucket=repo, Key=key, Body=b"x")
    listed = s3.list_objects_v2(Bucket=repo, Prefix="main/")
    assert [item["Key"] for item in listed["Contents"]] == sorted(odd)
    v1 = s3.list_objects(Bucket=repo, Prefix="main/", Delimiter="/")
    assert sorted(item["Prefix"] for item in v1["CommonPrefixes"]) == ["main/a b/", "main/ü/"]
    # Asked for explicitly, encoded keys reach the caller as they are sent.
    encoded = s3.list_objects_v2(Bucket=repo, Prefix="main/", EncodingType="url")
    assert encoded["EncodingType"] == "url"
    assert "main/%3Ctag%3E.xml" in [item["Key"] for item in encoded["Contents"]]
    assert sorted(unquote_plus(item["Key"]) for item in encoded["Contents"]) == sorted(odd)


def test_fetch_owner(s3: Any, filled: str) -> None:
    without = s3.list_objects_v2(Bucket=filled, Prefix="main/a")
    assert "Owner" not in without["Contents"][0]
    with_owner = s3.list_objects_v2(Bucket=filled, Prefix="main/a", FetchOwner=True)
    assert with_owner["Contents"][0]["Owner"]["ID"] == "admin"


def test_a_commit_and_a_missing_ref(s3: Any, filled: str, sdk: lakefs_sdk.ApiClient) -> None:
    commit = lakefs_sdk.CommitsApi(sdk).commit(filled, "main", lakefs_sdk.CommitCreation(message="c"))
    s3.put_object(Bucket=filled, Key="main/new.txt", Body=b"n")
    answer = s3.list_objects_v2(Bucket=filled, Prefix=f"{commit.id}/")
    assert [item["Key"] for item in answer["Contents"]] == [f"{commit.id}/{key}" for key in KEYS]
    assert "Contents" not in s3.list_objects_v2(Bucket=filled, Prefix="no-such-ref/")


def test_listing_errors(s3: Any, filled: str) -> None:
    missing = f"missing-{uuid.uuid4().hex[:8]}"
    assert error_of(s3.list_objects_v2, Bucket=missing, Prefix="main/") == ("NoSuchBucket", 404)
    assert error_of(s3.list_objects, Bucket=missing) == ("NoSuchBucket", 404)
    assert error_of(s3.list_objects_v2, Bucket=filled, Prefix="main/", MaxKeys=-1) == ("InvalidArgument", 400)
    capped = s3.list_objects_v2(Bucket=filled, Prefix="main/", MaxKeys=5000)
    assert capped["MaxKeys"] == 1000
    assert s3.list_objects_v2(Bucket=filled, Prefix="main/", MaxKeys=0)["KeyCount"] == 0
