"""What an object request names: the repository (bucket), a ref and a path, or a copy's
source; and the S3 codes a missing or unwritable one is answered with.

lakeFS answers a missing repository ``NoSuchBucket`` (every operation does), a missing
ref or object on a read ``NoSuchKey``, and a write to a branch that does not exist
``NoSuchBucket``. A write to a tag or a commit is refused (``AccessDenied``): only
branches take writes.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import NamedTuple
from urllib.parse import unquote

from starlette.responses import Response

from limnos.catalog.errors import BranchNotFoundError, NotABranchError
from limnos.gateway.errors import S3Error, not_implemented
from limnos.gateway.handlers import Handler
from limnos.gateway.request import S3Request


def no_such_key(key: str) -> S3Error:
    """The answer to a key that names nothing."""
    return S3Error("NoSuchKey", f"The specified key does not exist: {key!r}", 404)


def no_such_bucket(bucket: str) -> S3Error:
    """The answer to a bucket (repository) that does not exist."""
    return S3Error("NoSuchBucket", f"The specified bucket does not exist: {bucket!r}", 404)


def translated(err: Exception, request: S3Request, *, write: bool) -> Exception:
    """The S3 error for a write to a missing branch or to a tag or a commit; any other
    error as it is."""
    if write and isinstance(err, NotABranchError):
        return S3Error(
            "AccessDenied",
            f"{err.name!r} is a tag or a commit, not a branch: objects are written to branches only",
            403,
        )
    if write and isinstance(err, BranchNotFoundError):
        return no_such_bucket(request.bucket)
    return err


def handler(*, write: bool) -> Callable[[Handler], Handler]:
    """Decorate an operation so that missing branches answer S3's codes."""
    return functools.partial(_wrap, write=write)


def _wrap(operation: Handler, *, write: bool) -> Handler:
    @functools.wraps(operation)
    async def run(request: S3Request) -> Response:
        try:
            return await operation(request)
        except BranchNotFoundError as err:
            raise translated(err, request, write=write) from None

    return run


class CopySource(NamedTuple):
    """The object a copy reads: repository, ref and path."""

    repository: str
    ref: str
    path: str


def copy_source(header: str) -> CopySource:
    """``x-amz-copy-source`` (``[/]<repository>/<ref>/<path>``, URL-encoded) as a source;
    a version id is not served (NotImplemented), a source without a path is invalid."""
    encoded, _, query = header.partition("?")
    if query and any(part.split("=", 1)[0] == "versionId" for part in query.split("&")):
        raise not_implemented("copying a version of an object (versionId)")
    parts = unquote(encoded).lstrip("/").split("/", 2)
    if len(parts) != 3 or not all(parts):
        raise S3Error(
            "InvalidArgument",
            "Copy Source must mention the source bucket and key: sourcebucket/<ref>/sourcekey",
            400,
        )
    return CopySource(*parts)
