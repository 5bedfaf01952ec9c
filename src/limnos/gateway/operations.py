"""Which S3 operation a request is: by method, by what it addresses (the service, a
bucket, an object) and by its query's subresources and copy-source header.

Every request gets exactly one operation name; one the gateway does not serve answers
``NotImplemented`` rather than being served as another (a ``?versions`` listing is not a
plain listing).
"""

from __future__ import annotations

from collections.abc import Mapping

#: GetObject's query parameters that override a header of its answer, and that header.
RESPONSE_OVERRIDES = {
    "response-content-type": "Content-Type",
    "response-content-language": "Content-Language",
    "response-expires": "Expires",
    "response-cache-control": "Cache-Control",
    "response-content-disposition": "Content-Disposition",
    "response-content-encoding": "Content-Encoding",
}

# Query parameters that are arguments of an operation, not subresources selecting one.
ARGUMENTS = RESPONSE_OVERRIDES.keys() | frozenset(
    {
        "prefix",
        "delimiter",
        "max-keys",
        "marker",
        "continuation-token",
        "start-after",
        "fetch-owner",
        "encoding-type",
        "list-type",
        "max-parts",
        "part-number-marker",
        "max-uploads",
        "key-marker",
        "upload-id-marker",
        "partNumber",
        "uploadId",
        "x-id",
        "max-buckets",
        "bucket-region",
        "X-Amz-Algorithm",
        "X-Amz-Credential",
        "X-Amz-Date",
        "X-Amz-Expires",
        "X-Amz-SignedHeaders",
        "X-Amz-Signature",
        "X-Amz-Security-Token",
        "X-Amz-Content-Sha256",
        "AWSAccessKeyId",
        "Signature",
        "Expires",
    }
)


def operation(
    method: str, bucket: str, key: str, query: Mapping[str, str], headers: Mapping[str, str]
) -> str:
    """The S3 operation name of a request (``NotImplemented:<what>`` when none is served)."""
    subresources = sorted(name for name in query if name not in ARGUMENTS)
    copy = "x-amz-copy-source" in headers
    if not bucket:
        return "ListBuckets" if method == "GET" and not subresources else f"NotImplemented:{method} /"
    if not key:
        return _bucket_operation(method, subresources, query)
    return _object_operation(method, subresources, query, copy)


def _bucket_operation(method: str, subresources: list[str], query: Mapping[str, str]) -> str:
    if method == "HEAD" and not subresources:
        return "HeadBucket"
    if method == "GET":
        if subresources == ["location"]:
            return "GetBucketLocation"
        if subresources == ["uploads"]:
            return "ListMultipartUploads"
        if subresources == ["versioning"]:
            return "GetBucketVersioning"
        if not subresources:
            return "ListObjectsV2" if query.get("list-type") == "2" else "ListObjects"
    if method == "PUT" and not subresources:
        return "CreateBucket"
    if method == "POST" and subresources == ["delete"]:
        return "DeleteObjects"
    if method == "DELETE" and not subresources:
        return "DeleteBucket"
    return f"NotImplemented:{method} bucket {'&'.join(subresources) or ''}".rstrip()


def _object_operation(method: str, subresources: list[str], query: Mapping[str, str], copy: bool) -> str:
    upload = "uploadId" in query
    if subresources == ["uploads"] and method == "POST" and not upload:
        return "CreateMultipartUpload"
    if subresources:
        return f"NotImplemented:{method} object {'&'.join(subresources)}"
    if method in ("GET", "HEAD") and "partNumber" in query and not upload:
        # Reading one part of a multipart object is not reading the object.
        return f"NotImplemented:{method} object partNumber"
    if method == "GET":
        return "ListParts" if upload else "GetObject"
    if method == "HEAD" and not upload:
        return "HeadObject"
    if method == "PUT":
        if upload and "partNumber" in query:
            return "UploadPartCopy" if copy else "UploadPart"
        if not upload:
            return "CopyObject" if copy else "PutObject"
    if method == "POST" and upload:
        return "CompleteMultipartUpload"
    if method == "DELETE":
        return "AbortMultipartUpload" if upload else "DeleteObject"
    return f"NotImplemented:{method} object"
