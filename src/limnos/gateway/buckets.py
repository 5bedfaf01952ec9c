"""Bucket-level operations: the repositories as S3 buckets.

Repositories are created and deleted through the REST API, as with lakeFS: CreateBucket
answers ``BucketAlreadyExists`` for an existing repository (``NoSuchBucket`` otherwise)
and DeleteBucket is not served.
"""

from __future__ import annotations

from starlette.responses import Response

from limnos.gateway.errors import S3Error, not_implemented
from limnos.gateway.handlers import Handler
from limnos.gateway.request import S3Request
from limnos.gateway.xml import element, elements, timestamp, xml_document

# S3's default and largest page of ListBuckets.
_MAX_BUCKETS = 10000
# The region S3 reports as an empty LocationConstraint.
_DEFAULT_REGION = "us-east-1"


def _xml(body: bytes) -> Response:
    return Response(body, media_type="application/xml")


def _max_buckets(request: S3Request) -> int:
    text = request.query.get("max-buckets")
    if text is None:
        return _MAX_BUCKETS
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= _MAX_BUCKETS:
        raise S3Error("InvalidArgument", "max-buckets must be an integer between 1 and 10000", 400)
    return int(text)


async def list_buckets(request: S3Request) -> Response:
    """ListBuckets: the repositories in name order (``prefix``, ``max-buckets`` and
    ``continuation-token``, which is the last name of the page before)."""
    prefix = request.query.get("prefix", "")
    token = request.query.get("continuation-token", "")
    page = request.catalog.repositories.list(prefix=prefix, after=token, amount=_max_buckets(request))
    buckets = [
        element("Bucket", element("Name", repo.name), element("CreationDate", timestamp(repo.creation_date)))
        for repo in page.items
    ]
    username = request.user.username
    result = element(
        "ListAllMyBucketsResult",
        element("Owner", element("ID", username), element("DisplayName", username)),
        element("Buckets", elements(buckets)),
        element("ContinuationToken", page.items[-1].name) if page.has_more else None,
        element("Prefix", prefix) if "prefix" in request.query else None,
    )
    return _xml(xml_document(result, namespace=True))


async def head_bucket(request: S3Request) -> Response:
    """HeadBucket: 200 with the region for an existing repository."""
    request.catalog.repositories.get(request.bucket)
    return Response(status_code=200, headers={"x-amz-bucket-region": request.region})


async def get_bucket_location(request: S3Request) -> Response:
    """GetBucketLocation: the gateway's region (empty for us-east-1, as S3 answers)."""
    request.catalog.repositories.get(request.bucket)
    region = "" if request.region == _DEFAULT_REGION else request.region
    return _xml(xml_document(element("LocationConstraint", region), namespace=True))


async def get_bucket_versioning(request: S3Request) -> Response:
    """GetBucketVersioning: versioning of S3's kind is never enabled on a repository."""
    request.catalog.repositories.get(request.bucket)
    return _xml(xml_document(element("VersioningConfiguration"), namespace=True))


async def create_bucket(request: S3Request) -> Response:
    """CreateBucket: repositories are created through the REST API. The body (a
    CreateBucketConfiguration) is read, so a request S3 would refuse for its body is
    refused for it here too."""
    async for _ in request.body:
        pass
    request.catalog.repositories.get(request.bucket)
    raise S3Error(
        "BucketAlreadyExists",
        "The requested bucket name is not available. Repositories are created through the Limnos API.",
        409,
    )


async def delete_bucket(request: S3Request) -> Response:
    """DeleteBucket: repositories are deleted through the REST API."""
    request.catalog.repositories.get(request.bucket)
    raise not_implemented("DeleteBucket")


handlers: dict[str, Handler] = {
    "ListBuckets": list_buckets,
    "HeadBucket": head_bucket,
    "GetBucketLocation": get_bucket_location,
    "GetBucketVersioning": get_bucket_versioning,
    "CreateBucket": create_bucket,
    "DeleteBucket": delete_bucket,
}
