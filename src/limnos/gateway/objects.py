"""Object operations: GetObject, HeadObject, PutObject, CopyObject, DeleteObject and
DeleteObjects, on ``<repository>/<ref>/<path>``.

Reads take any ref; writes take branches only. Bytes stream both ways: a read hands out
the catalog's stream, a write hands the verified body to a catalog upload as it arrives
and stages the object only once the body is whole (a body that fails its checks stages
nothing).
"""

from __future__ import annotations

from email.utils import formatdate

from starlette.responses import Response, StreamingResponse

from limnos.catalog.byte_ranges import MalformedRangeError, RangeNotSatisfiableError, parse_range
from limnos.catalog.conditions import NotModifiedError, check_read_conditions, quoted_etag
from limnos.catalog.entry import Entry
from limnos.catalog.errors import BranchNotFoundError, LimnosError, NotABranchError
from limnos.gateway import metadata as amz_metadata
from limnos.gateway.errors import S3Error, as_s3_error, malformed_xml, not_implemented
from limnos.gateway.handlers import Handler
from limnos.gateway.operations import RESPONSE_OVERRIDES
from limnos.gateway.request import S3Request
from limnos.gateway.targets import copy_source, handler, no_such_key, translated
from limnos.gateway.xml import Xml, element, elements, local_name, parse_request, timestamp, xml_document

#: The most keys one DeleteObjects request takes (S3's limit).
MAX_DELETE_KEYS = 1000
#: The largest XML request body read (held in memory): DeleteObjects' 1,000 keys of S3's
#: longest (1,024 bytes) with their markup, or CompleteMultipartUpload's 10,000 parts of
#: about 100 bytes each, fit.
MAX_XML_BODY = 2 * 1024 * 1024


def xml_response(root: Xml, status: int = 200) -> Response:
    """An S3 XML document answer."""
    return Response(xml_document(root, namespace=True), status_code=status, media_type="application/xml")


def _object_headers(entry: Entry) -> dict[str, str]:
    """The headers describing an object, on GET, HEAD and 304 answers."""
    return {
        "ETag": quoted_etag(entry.checksum),
        "Last-Modified": formatdate(entry.mtime, usegmt=True),
        "Accept-Ranges": "bytes",
    }


# reads ----------------------------------------------------------------------------------


@handler(write=False)
async def get_object(request: S3Request) -> Response:
    """GetObject and HeadObject: an object's bytes (or headers only), whole or one range,
    under the conditions of the ``If-*`` headers."""
    head = request.http.method == "HEAD"
    if not request.path:
        raise no_such_key(request.key)
    objects = request.catalog.objects
    obj = objects.stat(request.bucket, request.ref, request.path)
    entry = obj.entry
    headers = _object_headers(entry)
    http_headers = request.http.headers
    try:
        check_read_conditions(
            entry,
            if_match=http_headers.get("if-match"),
            if_none_match=http_headers.get("if-none-match"),
            if_modified_since=http_headers.get("if-modified-since"),
            if_unmodified_since=http_headers.get("if-unmodified-since"),
        )
    except NotModifiedError:
        return Response(status_code=304, headers=headers)
    headers["Content-Type"] = entry.content_type
    headers.update(amz_metadata.to_headers(entry.user_metadata))
    first, last = 0, entry.size - 1
    status = 200
    range_header = http_headers.get("range")
    if range_header is not None:
        try:
            first, last = parse_range(range_header, entry.size)
            status = 206
            headers["Content-Range"] = f"bytes {first}-{last}/{entry.size}"
        except MalformedRangeError:
            pass  # S3 serves the whole object for a Range it cannot read
        except RangeNotSatisfiableError:
            raise S3Error("InvalidRange", "The requested range is not satisfiable", 416) from None
    for parameter, header_name in RESPONSE_OVERRIDES.items():
        value = request.query.get(parameter)
        if value is not None:
            headers[header_name] = value
    headers["Content-Length"] = str(last - first + 1)
    if head:
        return Response(status_code=status, headers=headers)
    data = await objects.read(obj, first, last + 1)
    if isinstance(data, bytes):
        return Response(data, status_code=status, headers=headers)
    return StreamingResponse(data, status_code=status, headers=headers)


# writes ---------------------------------------------------------------------------------


def if_absent_header(request: S3Request) -> bool:
    """Whether a write is conditional on the key being free (``If-None-Match: *``, the
    one condition S3 takes on writes besides If-Match, which is not served)."""
    headers = request.http.headers
    if "if-match" in headers:
        raise not_implemented("If-Match on writes")
    condition = headers.get("if-none-match")
    if condition is None:
        return False
    if condition.strip() != "*":
        raise not_implemented("If-None-Match other than '*' on writes")
    return True


def content_type(request: S3Request) -> str:
    """The Content-Type a client gave an object, as the text it sent ("" for none)."""
    value = request.http.headers.get("content-type", "")
    return value.encode("latin-1", errors="replace").decode("utf-8", errors="replace")


@handler(write=True)
async def put_object(request: S3Request) -> Response:
    """PutObject: store the body and stage it at the key's path of the branch."""
    if_absent = if_absent_header(request)
    metadata = amz_metadata.from_headers(request.http.headers.items())
    upload = request.catalog.uploads.begin(request.bucket, request.ref, request.path, if_absent=if_absent)
    try:
        async for chunk in request.body:
            await upload.add(chunk)
    except BaseException:
        # The body failed its checks or the client went away: nothing was staged.
        await upload.abort()
        raise
    obj = await upload.finish(content_type=content_type(request), metadata=metadata)
    return Response(status_code=200, headers={"ETag": quoted_etag(obj.entry.checksum)})


@handler(write=True)
async def copy_object(request: S3Request) -> Response:
    """CopyObject: copy an object of any ref (of this or another repository) to the key's
    path of the branch; ``x-amz-metadata-directive: REPLACE`` takes the request's content
    type and user metadata instead of the source's."""
    source = copy_source(request.http.headers["x-amz-copy-source"])
    directive = request.http.headers.get("x-amz-metadata-directive", "COPY").upper()
    if directive not in ("COPY", "REPLACE"):
        raise S3Error("InvalidArgument", f"Unknown metadata directive: {directive!r}", 400)
    replace = directive == "REPLACE"
    obj = await request.catalog.objects.copy(
        request.bucket,
        request.ref,
        request.path,
        source.path,
        src_ref=source.ref,
        src_repository=source.repository,
        metadata=amz_metadata.from_headers(request.http.headers.items()) if replace else None,
        content_type=content_type(request) if replace else "",
    )
    result = element(
        "CopyObjectResult",
        element("LastModified", timestamp(obj.entry.mtime)),
        element("ETag", quoted_etag(obj.entry.checksum)),
    )
    return xml_response(result)


@handler(write=True)
async def delete_object(request: S3Request) -> Response:
    """DeleteObject: stage the deletion of the key's path; a missing object, or a missing
    branch as with lakeFS, is no error."""
    if request.path:
        try:
            await request.catalog.objects.delete(request.bucket, request.ref, request.path)
        except NotABranchError:
            raise
        except BranchNotFoundError:
            pass
    return Response(status_code=204)


def _delete_keys(body: bytes) -> tuple[list[str], bool]:
    """The keys and the Quiet flag of a DeleteObjects body; MalformedXML otherwise."""
    root = parse_request(body, "Delete")
    if root is None:
        raise malformed_xml()
    keys: list[str] = []
    quiet = False
    for child in root:
        name = local_name(child.tag)
        if name == "Quiet":
            quiet = (child.text or "").strip().lower() == "true"
        elif name == "Object":
            key = next((item.text or "" for item in child if local_name(item.tag) == "Key"), None)
            if key is None:
                raise malformed_xml()
            keys.append(key)
    if not keys or len(keys) > MAX_DELETE_KEYS:
        raise malformed_xml()
    return keys, quiet


def _s3_error(err: Exception) -> S3Error:
    """The S3 error of one key's failure."""
    return as_s3_error(err) or S3Error("InternalError", "internal error", 500)


def _too_big() -> S3Error:
    return S3Error("MaxMessageLengthExceeded", f"Your request was too big (over {MAX_XML_BODY} bytes).", 400)


async def read_body(request: S3Request) -> bytes:
    """The whole XML body of a request, refused beyond :data:`MAX_XML_BODY` bytes: on the
    declared length before any of it is read, or as soon as a chunked body crosses it."""
    headers = request.http.headers
    # An aws-chunked body declares its payload apart from its framing.
    declared = headers.get("x-amz-decoded-content-length") or headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_XML_BODY:
        raise _too_big()
    data = bytearray()
    async for chunk in request.body:
        data += chunk
        if len(data) > MAX_XML_BODY:
            raise _too_big()
    return bytes(data)


async def delete_objects(request: S3Request) -> Response:
    """DeleteObjects: stage the deletion of up to 1,000 keys, of one or several branches;
    each key's failure is reported in the result, the others are deleted."""
    keys, quiet = _delete_keys(await read_body(request))
    by_ref: dict[str, list[str]] = {}
    for key in keys:
        ref, _, path = key.partition("/")
        by_ref.setdefault(ref, []).append(path)
    failed: dict[str, S3Error] = {}
    for ref, paths in by_ref.items():
        try:
            refused = await request.catalog.objects.delete_many(request.bucket, ref, paths)
        except LimnosError as err:
            if isinstance(err, BranchNotFoundError) and not isinstance(err, NotABranchError):
                continue  # nothing to delete there, as with lakeFS
            error = _s3_error(translated(err, request, write=True))
            if error.code == "NoSuchBucket":
                raise error from None
            failed.update((f"{ref}/{path}", error) for path in paths)
            continue
        for item in refused:
            failed[f"{ref}/{item.path}"] = _s3_error(item.error)
    results: list[Xml] = []
    for key in dict.fromkeys(keys):
        refusal = failed.get(key)
        if refusal is not None:
            results.append(
                element(
                    "Error",
                    element("Key", key),
                    element("Code", refusal.code),
                    element("Message", refusal.message),
                )
            )
        elif not quiet:
            results.append(element("Deleted", element("Key", key)))
    return xml_response(element("DeleteResult", elements(results)))


handlers: dict[str, Handler] = {
    "GetObject": get_object,
    "HeadObject": get_object,
    "PutObject": put_object,
    "CopyObject": copy_object,
    "DeleteObject": delete_object,
    "DeleteObjects": delete_objects,
}
