"""Objects: read (with ranges), upload (streamed), stat, list, delete, copy, user metadata."""

from __future__ import annotations

from email.utils import formatdate
from typing import Any
from urllib.parse import quote

import msgspec
from python_multipart.multipart import parse_options_header
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from limnos.api.common import (
    ApiError,
    absolute_url,
    catalog,
    header_text,
    header_value,
    json_response,
    no_content,
    page_amount,
    paginated,
    query_bool,
    query_required,
    query_str,
    read_json,
    upload_if_absent,
)
from limnos.api.errors import error_body
from limnos.api.shapes import common_prefix_stats, object_stats
from limnos.api.upload_body import receive_multipart, receive_raw, receiving
from limnos.catalog.byte_ranges import RangeNotSatisfiableError, parse_range
from limnos.catalog.conditions import etag_matches, quoted_etag
from limnos.catalog.entry import Entry

_META_PREFIX = "x-lakefs-meta-"
_INTERNAL_PREFIX = "x-lakefs-internal-"
_INTERNAL_KEY_PREFIX = "::lakefs::"
_RANGE_NOT_SATISFIABLE = "Requested Range Not Satisfiable"
# Content types a browser may show inline; everything else is served as an attachment.
_INLINE_TYPES = frozenset(
    {
        "image/jpeg",
        "image/jpg",
        "image/png",
        "image/gif",
        "image/webp",
        "image/svg+xml",
        "application/pdf",
        "text/plain",
        "text/markdown",
        "text/x-markdown",
        "text/html",
        "text/css",
        "text/javascript",
        "application/javascript",
        "application/json",
        "application/xml",
        "text/xml",
        "video/mp4",
        "video/webm",
        "audio/mpeg",
        "audio/wav",
        "audio/webm",
    }
)
# Characters the ASCII filename of a Content-Disposition keeps as they are: printable
# ASCII but space, quotes and backslash, at which the generated clients' parsing stops.
_FILENAME_CHARS = frozenset(chr(c) for c in range(0x21, 0x7F)) - set("\"'\\")


class PathList(msgspec.Struct):
    """The contract's PathList: the paths of a bulk delete."""

    paths: list[str]


class ObjectCopyCreation(msgspec.Struct):
    """The contract's ObjectCopyCreation: the source of a copy."""

    src_path: str
    src_ref: str | None = None
    force: bool = False
    shallow: bool = False


class UpdateObjectUserMetadata(msgspec.Struct):
    """The contract's UpdateObjectUserMetadata: the complete new user metadata."""

    set_: dict[str, str] = msgspec.field(name="set")


# response bodies -----------------------------------------------------------------------


# request helpers -----------------------------------------------------------------------


def _user_metadata_headers(request: Request) -> dict[str, str]:
    """User metadata from ``X-Lakefs-Meta-*`` headers (keys lower-cased, as lakeFS stores them),
    and internal metadata from ``X-Lakefs-Internal-*`` under the ``::lakefs::`` key prefix."""
    metadata: dict[str, str] = {}
    for name, value in request.headers.items():
        # Header names arrive lower-cased; the first of repeated headers wins, as in lakeFS.
        if name.startswith(_META_PREFIX):
            metadata.setdefault(name[len(_META_PREFIX) :], header_text(value))
        elif name.startswith(_INTERNAL_PREFIX):
            metadata.setdefault(_INTERNAL_KEY_PREFIX + name[len(_INTERNAL_PREFIX) :], header_text(value))
    return metadata


def _range_not_satisfiable(size: int, *, head: bool) -> Response:
    # Content-Range tells the client the object's size (clients use it to stop reading at the end).
    headers = {"Content-Range": f"bytes */{size}"}
    if head:
        return Response(status_code=416, headers=headers)
    return json_response({"message": _RANGE_NOT_SATISFIABLE}, 416, headers)


def _object_headers(entry: Entry) -> dict[str, str]:
    """Headers describing an object, shared by GET, HEAD and 304 answers."""
    return {
        "ETag": quoted_etag(entry.checksum),
        "Last-Modified": formatdate(entry.mtime, usegmt=True),
        "Accept-Ranges": "bytes",
        # Object bytes are private data: no caching by browsers or proxies on the way.
        "Cache-Control": "no-store, must-revalidate",
        "Expires": "0",
    }


def content_disposition(disposition: str, path: str) -> str:
    """A Content-Disposition value naming the object's base name (RFC 6266).

    lakeFS sends the bare disposition, but the legacy generated client ``lakefs-client``
    reads a downloaded object's Content-Disposition with a regular expression that needs
    ``filename=``, and its getObject fails on a bare one. ``filename`` is the base
    name in plain ASCII (other characters become ``_``; a name of dots alone, which a
    client would take for a directory, becomes ``download``); when that is not the name
    itself, ``filename*`` gives it exactly, in UTF-8.
    """
    name = path.rstrip("/").rsplit("/", 1)[-1]
    if not name.strip("."):
        return f'{disposition}; filename="download"'
    fallback = "".join(c if c in _FILENAME_CHARS else "_" for c in name)
    value = f'{disposition}; filename="{fallback}"'
    if fallback != name:
        value += f"; filename*=UTF-8''{quote(name, safe='')}"
    return value


# reads ---------------------------------------------------------------------------------


async def get_object(request: Request) -> Response:
    """getObject and headObject: the bytes of an object (or only its headers), optionally a range."""
    head = request.method == "HEAD"
    objects = catalog(request).objects
    path = query_required(request, "path")
    presign = not head and query_bool(request, "presign")
    obj = objects.stat(request.path_params["repository"], request.path_params["ref"], path, presign=presign)
    entry = obj.entry
    headers = _object_headers(entry)
    if not head:
        if_none_match = request.headers.get("if-none-match")
        if if_none_match is not None and etag_matches(if_none_match, entry.checksum):
            return Response(status_code=304, headers=headers)
        if presign:
            # The bytes are read from where the URL points, not through this server's API.
            return Response(
                status_code=302, headers={"Location": absolute_url(request, obj.physical_address)}
            )
    headers["Content-Type"] = header_value(entry.content_type)
    status = 200
    first, last = 0, entry.size - 1
    range_header = request.headers.get("range")
    if range_header is not None:
        try:
            first, last = parse_range(range_header, entry.size)
        except RangeNotSatisfiableError:
            return _range_not_satisfiable(entry.size, head=head)
        status = 206
        headers["Content-Range"] = f"bytes {first}-{last}/{entry.size}"
    headers["Content-Length"] = str(last - first + 1)
    if head:
        return Response(status_code=status, headers=headers)
    disposition = "inline" if entry.content_type in _INLINE_TYPES else "attachment"
    headers.update(
        {
            "Content-Disposition": content_disposition(disposition, path),
            "X-Content-Type-Options": "nosniff",
            "X-Frame-Options": "SAMEORIGIN",
            "Content-Security-Policy": "default-src 'none'",
        }
    )
    data = await objects.read(obj, first, last + 1)
    if isinstance(data, bytes):
        return Response(data, status_code=status, headers=headers)
    return StreamingResponse(data, status_code=status, headers=headers)


async def stat_object(request: Request) -> Response:
    """statObject: the ObjectStats of one object."""
    path = query_required(request, "path")
    with_metadata = query_bool(request, "user_metadata", True)
    presign = query_bool(request, "presign")
    obj = catalog(request).objects.stat(
        request.path_params["repository"], request.path_params["ref"], path, presign=presign
    )
    body = object_stats(obj, request=request)
    if not with_metadata:
        # lakeFS always sends the metadata field, empty when it was not asked for.
        body["metadata"] = {}
    return json_response(body)


async def list_objects(request: Request) -> Response:
    """listObjects: a page of objects and common prefixes under a prefix."""
    amount = page_amount(request)
    prefix = query_str(request, "prefix")
    delimiter = query_str(request, "delimiter")
    after = query_str(request, "after")
    with_metadata = query_bool(request, "user_metadata", True)
    page = catalog(request).objects.list(
        request.path_params["repository"],
        request.path_params["ref"],
        prefix=prefix,
        delimiter=delimiter,
        after=after,
        amount=amount,
        presign=query_bool(request, "presign"),
    )
    results: list[dict[str, Any]] = []
    for item in page.items:
        if item.value is None:
            results.append(common_prefix_stats(item.path))
        else:
            # As lakeFS: the metadata field appears only for objects that have some.
            shown = with_metadata and bool(item.value.entry.metadata)
            results.append(object_stats(item.value, with_metadata=shown, request=request))
    next_offset = results[-1]["path"] if results else ""
    return json_response(paginated(results, page.has_more, next_offset))


async def get_underlying_properties(request: Request) -> Response:
    """getUnderlyingProperties: storage properties of an object's bytes (no storage classes here)."""
    path = query_required(request, "path")
    catalog(request).objects.stat(request.path_params["repository"], request.path_params["ref"], path)
    return json_response({"storage_class": None})


# uploads -------------------------------------------------------------------------------


async def upload_object(request: Request) -> Response:
    """uploadObject: stream the request body into storage and stage it at ``path``.

    The deprecated ``storageClass`` parameter is accepted and has no effect: the stores
    behind Limnos have no storage classes to choose from.
    """
    path = query_required(request, "path")
    upload = catalog(request).uploads.begin(
        request.path_params["repository"],
        request.path_params["branch"],
        path,
        force=query_bool(request, "force"),
        if_absent=upload_if_absent(request),
    )
    metadata = _user_metadata_headers(request)
    request_type = request.headers.get("content-type", "")
    media_type, options = parse_options_header(request_type)
    async with receiving(upload):
        if media_type == b"multipart/form-data":
            boundary = options.get(b"boundary")
            if not boundary:
                raise ApiError(400, "multipart/form-data body without a boundary")
            content_type = await receive_multipart(request, upload, boundary)
        else:
            await receive_raw(request, upload)
            content_type = request_type
    # Stored as the text the client sent: UTF-8 bytes, not Starlette's Latin-1 reading.
    obj = await upload.finish(content_type=header_text(content_type), metadata=metadata)
    return json_response(object_stats(obj), 201)


async def upload_object_preflight(request: Request) -> Response:
    """uploadObjectPreflight: 204 when an upload to ``path`` of the branch may be attempted."""
    path = query_required(request, "path")
    catalog(request).uploads.check(request.path_params["repository"], request.path_params["branch"], path)
    return no_content()


# deletes, copies, metadata -------------------------------------------------------------


async def delete_object(request: Request) -> Response:
    """deleteObject: stage the deletion of one object; a missing object is not an error."""
    path = query_required(request, "path")
    force = query_bool(request, "force")
    query_bool(request, "no_tombstone")  # validated; deletions always stage a tombstone
    await catalog(request).objects.delete(
        request.path_params["repository"], request.path_params["branch"], path, force=force
    )
    return no_content()


async def delete_objects(request: Request) -> Response:
    """deleteObjects: stage the deletion of up to 1000 paths; per-path errors in the answer."""
    force = query_bool(request, "force")
    query_bool(request, "no_tombstone")  # validated; deletions always stage a tombstone
    body = await read_json(request, PathList)
    refused = await catalog(request).objects.delete_many(
        request.path_params["repository"], request.path_params["branch"], body.paths, force=force
    )
    errors = [{"path": item.path, **error_body(item.error)} for item in refused]
    return json_response({"errors": errors})


async def copy_object(request: Request) -> Response:
    """copyObject: copy an object from any ref of the repository to ``dest_path`` of the branch.

    ``shallow`` copies are accepted and made as full copies: storage shares the bytes where
    it can anyway, and the copy stays independent of the source's lifetime.
    """
    dest_path = query_required(request, "dest_path")
    body = await read_json(request, ObjectCopyCreation)
    obj = await catalog(request).objects.copy(
        request.path_params["repository"],
        request.path_params["branch"],
        dest_path,
        body.src_path,
        src_ref=body.src_ref or "",
        force=body.force,
    )
    return json_response(object_stats(obj), 201)


async def update_object_user_metadata(request: Request) -> Response:
    """updateObjectUserMetadata: replace all user metadata of an object on a branch."""
    path = query_required(request, "path")
    body = await read_json(request, UpdateObjectUserMetadata)
    await catalog(request).objects.update_metadata(
        request.path_params["repository"], request.path_params["branch"], path, body.set_
    )
    return Response(status_code=201)


# Tags may contain "/", so the ref takes the rest of the path up to the operation.
_REF_OBJECTS = "/repositories/{repository}/refs/{ref:path}/objects"
_BRANCH_OBJECTS = "/repositories/{repository}/branches/{branch}/objects"

routes = [
    Route(_REF_OBJECTS, get_object, methods=["GET", "HEAD"]),
    Route(_REF_OBJECTS + "/stat", stat_object, methods=["GET"]),
    Route(_REF_OBJECTS + "/ls", list_objects, methods=["GET"]),
    Route(_REF_OBJECTS + "/underlyingProperties", get_underlying_properties, methods=["GET"]),
    Route(_BRANCH_OBJECTS, upload_object, methods=["POST"]),
    Route(_BRANCH_OBJECTS, delete_object, methods=["DELETE"]),
    Route(_BRANCH_OBJECTS + "/stage_allowed", upload_object_preflight, methods=["GET"]),
    Route(_BRANCH_OBJECTS + "/delete", delete_objects, methods=["POST"]),
    Route(_BRANCH_OBJECTS + "/copy", copy_object, methods=["POST"]),
    Route(_BRANCH_OBJECTS + "/stat/user_metadata", update_object_user_metadata, methods=["PUT"]),
]
