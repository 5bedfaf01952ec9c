"""ListObjects (v1) and ListObjectsV2: the keys of a bucket, whose first level is the ref.

As with lakeFS, a prefix without ``/`` lists the branches whose names start with it, as
common prefixes (``main/``); a prefix ``<ref>/...`` lists that ref's objects under the
rest, folded at the delimiter. Markers, continuation tokens and start-after are keys:
one of another ref is before or after every key of this ref.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import quote

from starlette.responses import Response

from limnos.catalog.conditions import quoted_etag
from limnos.catalog.errors import NotFound, RepositoryNotFoundError
from limnos.catalog.listing import Listed
from limnos.catalog.results import StoredObject
from limnos.gateway.errors import S3Error
from limnos.gateway.handlers import Handler
from limnos.gateway.objects import xml_response
from limnos.gateway.request import S3Request
from limnos.gateway.xml import Xml, element, elements, timestamp

#: How keys are written in an answer (as they are, or URL-encoded).
Encode = Callable[[str], str]
#: S3's default and largest page.
MAX_KEYS = 1000


def _max_keys(request: S3Request) -> int:
    text = request.query.get("max-keys")
    if text is None:
        return MAX_KEYS
    if not (text.isascii() and text.isdigit()):
        raise S3Error("InvalidArgument", "Provided max-keys not an integer or within integer range", 400)
    return min(int(text), MAX_KEYS)


def _encoder(request: S3Request) -> tuple[str | None, Encode]:
    """The encoding-type answered and the function that encodes keys with it."""
    encoding = request.query.get("encoding-type")
    if encoding is None:
        return None, str
    if encoding.lower() != "url":
        raise S3Error("InvalidArgument", "Invalid Encoding Method specified in Request", 400)
    return "url", lambda text: quote(text, safe="/")


class _Page:
    """One page of a listing: its keys and common prefixes (full keys, with the ref), and
    the last of them when more follow."""

    def __init__(self) -> None:
        self.items: list[Listed[StoredObject]] = []
        self.prefixes: list[str] = []
        self.next: str | None = None


def _page(request: S3Request, prefix: str, delimiter: str, after: str, amount: int) -> _Page:
    """The page after ``after`` (a full key) of the keys under ``prefix``."""
    page = _Page()
    if amount == 0:
        return page
    ref, slash, path_prefix = prefix.partition("/")
    if not slash:
        # No ref in the prefix: the branches starting with it, as common prefixes.
        branches = request.catalog.branches.list(
            request.bucket, prefix=ref, after=after.split("/", 1)[0] if after else "", amount=amount
        )
        page.prefixes = [f"{branch.name}/" for branch in branches.items]
        if branches.has_more:
            page.next = branches.items[-1].name
        return page
    base = f"{ref}/"
    if after and not after.startswith(base):
        if after > base:
            return page  # past every key of this ref
        after = ""
    try:
        listed = request.catalog.objects.list(
            request.bucket,
            ref,
            prefix=path_prefix,
            delimiter=delimiter,
            after=after[len(base) :],
            amount=amount,
        )
    except RepositoryNotFoundError:
        raise
    except NotFound:
        return page  # a ref that names nothing holds no keys
    for item in listed.items:
        if item.value is None:
            page.prefixes.append(base + item.path)
        else:
            page.items.append(item)
    if listed.has_more and listed.items:
        page.next = base + listed.items[-1].path
    return page


def _contents(ref: str, item: Listed[StoredObject], encode: Encode, owner: Xml | None) -> Xml:
    assert item.value is not None
    entry = item.value.entry
    return element(
        "Contents",
        element("Key", encode(f"{ref}/{item.path}")),
        element("LastModified", timestamp(entry.mtime)),
        element("ETag", quoted_etag(entry.checksum)),
        element("Size", entry.size),
        owner,
        element("StorageClass", "STANDARD"),
    )


def _entries(request: S3Request, page: _Page, prefix: str, encode: Encode, owner: Xml | None) -> list[Xml]:
    ref = prefix.split("/", 1)[0]
    contents = [_contents(ref, item, encode, owner) for item in page.items]
    prefixes = [element("CommonPrefixes", element("Prefix", encode(common))) for common in page.prefixes]
    return contents + prefixes


def _owner(request: S3Request) -> Xml:
    name = request.user.username
    return element("Owner", element("ID", name), element("DisplayName", name))


async def list_objects(request: S3Request) -> Response:
    """ListObjects (v1): ``prefix``, ``delimiter``, ``marker``, ``max-keys``,
    ``encoding-type``; NextMarker when a delimiter is given and more follow."""
    query = request.query
    prefix = query.get("prefix", "")
    delimiter = query.get("delimiter", "")
    marker = query.get("marker", "")
    amount = _max_keys(request)
    encoding, encode = _encoder(request)
    page = _page(request, prefix, delimiter, marker, amount)
    result = element(
        "ListBucketResult",
        element("Name", request.bucket),
        element("Prefix", encode(prefix)),
        element("Marker", encode(marker)),
        element("NextMarker", encode(page.next)) if page.next is not None and delimiter else None,
        element("MaxKeys", amount),
        element("Delimiter", encode(delimiter)) if delimiter else None,
        element("IsTruncated", page.next is not None),
        element("EncodingType", encoding) if encoding else None,
        elements(_entries(request, page, prefix, encode, _owner(request))),
    )
    return xml_response(result)


async def list_objects_v2(request: S3Request) -> Response:
    """ListObjectsV2: ``prefix``, ``delimiter``, ``continuation-token`` (the last key of
    the page before), ``start-after``, ``max-keys``, ``fetch-owner``, ``encoding-type``."""
    query = request.query
    prefix = query.get("prefix", "")
    delimiter = query.get("delimiter", "")
    token = query.get("continuation-token")
    start_after = query.get("start-after", "")
    if token == "":
        raise S3Error("InvalidArgument", "The continuation token provided is incorrect", 400)
    amount = _max_keys(request)
    encoding, encode = _encoder(request)
    after = token if token is not None else start_after
    page = _page(request, prefix, delimiter, after, amount)
    owner = _owner(request) if query.get("fetch-owner", "").lower() == "true" else None
    result = element(
        "ListBucketResult",
        element("Name", request.bucket),
        element("Prefix", encode(prefix)),
        element("Delimiter", encode(delimiter)) if delimiter else None,
        element("MaxKeys", amount),
        element("KeyCount", len(page.items) + len(page.prefixes)),
        element("IsTruncated", page.next is not None),
        element("ContinuationToken", token) if token is not None else None,
        element("NextContinuationToken", page.next) if page.next is not None else None,
        element("StartAfter", encode(start_after)) if start_after else None,
        element("EncodingType", encoding) if encoding else None,
        elements(_entries(request, page, prefix, encode, owner)),
    )
    return xml_response(result)


handlers: dict[str, Handler] = {
    "ListObjects": list_objects,
    "ListObjectsV2": list_objects_v2,
}
