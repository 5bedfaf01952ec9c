"""The S3 gateway's bucket-level operations through boto3 (SigV4 with its default settings)."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError
from conftest import Server, s3_client


@pytest.fixture()
def s3(server: Server) -> Any:
    return s3_client(server)


def error_of(call: Any, **kwargs: Any) -> tuple[str, int]:
    """The S3 error code and HTTP status of a call that must fail."""
    with pytest.raises(ClientError) as raised:
        call(**kwargs)
    response = raised.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


def test_list_buckets_lists_the_repositories(s3: Any, repo: str) -> None:
    answer = s3.list_buckets()
    names = [bucket["Name"] for bucket in answer["Buckets"]]
    assert repo in names
    assert names == sorted(names)
    mine = next(bucket for bucket in answer["Buckets"] if bucket["Name"] == repo)
    assert mine["CreationDate"].year >= 2024
    assert answer["Owner"]["ID"] == "admin"


def test_list_buckets_pages_and_filters_by_prefix(s3: Any, repo: str, sdk: Any, server: Server) -> None:
    import lakefs_sdk

    second = repo + "-b"
    lakefs_sdk.RepositoriesApi(sdk).create_repository(
        lakefs_sdk.RepositoryCreation(name=second, storage_namespace=server.namespace(second))
    )
    first = s3.list_buckets(Prefix=repo, MaxBuckets=1)
    assert [bucket["Name"] for bucket in first["Buckets"]] == [repo]
    rest = s3.list_buckets(Prefix=repo, MaxBuckets=1, ContinuationToken=first["ContinuationToken"])
    assert [bucket["Name"] for bucket in rest["Buckets"]] == [second]
    assert "ContinuationToken" not in rest


def test_head_bucket(s3: Any, repo: str) -> None:
    answer = s3.head_bucket(Bucket=repo)
    assert answer["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert answer["ResponseMetadata"]["HTTPHeaders"]["x-amz-bucket-region"] == "us-east-1"
    assert error_of(s3.head_bucket, Bucket="no-such-repository") == ("404", 404)


def test_get_bucket_location_is_empty_for_us_east_1(s3: Any, repo: str) -> None:
    assert s3.get_bucket_location(Bucket=repo).get("LocationConstraint") is None
    assert error_of(s3.get_bucket_location, Bucket="no-such-repository") == ("NoSuchBucket", 404)


def test_bucket_versioning_is_never_enabled(s3: Any, repo: str) -> None:
    assert "Status" not in s3.get_bucket_versioning(Bucket=repo)


def test_create_bucket_answers_as_lakefs(s3: Any, repo: str) -> None:
    assert error_of(s3.create_bucket, Bucket=repo) == ("BucketAlreadyExists", 409)
    assert error_of(s3.create_bucket, Bucket="no-such-repository") == ("NoSuchBucket", 404)


def test_delete_bucket_is_not_served(s3: Any, repo: str) -> None:
    assert error_of(s3.delete_bucket, Bucket=repo) == ("NotImplemented", 501)
    assert error_of(s3.delete_bucket, Bucket="no-such-repository") == ("NoSuchBucket", 404)
    assert repo in [bucket["Name"] for bucket in s3.list_buckets()["Buckets"]]


@pytest.mark.parametrize(
    ("call", "kwargs"),
    [
        ("get_bucket_tagging", {}),
        ("get_bucket_acl", {}),
        ("get_bucket_lifecycle_configuration", {}),
        ("get_bucket_policy", {}),
        ("list_object_versions", {}),
        ("put_bucket_versioning", {"VersioningConfiguration": {"Status": "Enabled"}}),
    ],
)
def test_bucket_operations_not_served_answer_not_implemented(
    s3: Any, repo: str, call: str, kwargs: dict[str, Any]
) -> None:
    assert error_of(getattr(s3, call), Bucket=repo, **kwargs) == ("NotImplemented", 501)


@pytest.mark.parametrize(
    ("call", "kwargs"),
    [
        ("get_object_tagging", {}),
        ("get_object_acl", {}),
        ("get_object", {"PartNumber": 1}),
        ("head_object", {"PartNumber": 1}),
        ("get_object", {"VersionId": "v1"}),
        ("get_object_attributes", {"ObjectAttributes": ["ETag"]}),
        ("put_object_tagging", {"Tagging": {"TagSet": []}}),
        ("restore_object", {}),
    ],
)
def test_object_operations_not_served_answer_not_implemented(
    s3: Any, repo: str, call: str, kwargs: dict[str, Any]
) -> None:
    code, status = error_of(getattr(s3, call), Bucket=repo, Key="main/a.txt", **kwargs)
    assert status == 501
    # A HEAD answer has no body to name the code in.
    assert code == ("501" if call == "head_object" else "NotImplemented")
