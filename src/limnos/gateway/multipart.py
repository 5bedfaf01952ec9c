"""Multipart uploads: CreateMultipartUpload, UploadPart, UploadPartCopy,
CompleteMultipartUpload, AbortMultipartUpload and ListParts, to branches.

Upload ids are the catalog's (the blockstore's own on S3). Parts follow S3's rules on
every blockstore: numbered 1 to 10,000, every part but the last at least 5 MiB.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable

from starlette.responses import Response

from limnos.catalog.conditions import quoted_etag
from limnos.catalog.errors import Invalid, NotFound
from limnos.gateway import metadata as amz_metadata
from limnos.gateway.errors import S3Error, malformed_xml
from limnos.gateway.handlers import Handler
from limnos.gateway.objects import content_type, if_absent_header, read_body, xml_response
from limnos.gateway.request import S3Request
from limnos.gateway.targets import copy_source, handler
from limnos.gateway.xml import Xml, element, elements, local_name, parse_request, timestamp

#: S3's default and largest page of ListParts.
MAX_PARTS_LISTED = 1000
# S3 codes the catalog's and the stores' messages about parts start with.
_PART_CODES = ("InvalidPartOrder", "InvalidPart", "EntityTooSmall", "InvalidRange", "NoSuchUpload")
_COPY_RANGE = re.compile(r"bytes=(\d{1,19})-(\d{1,19})")


def _s3_codes(err: Exception) -> Exception:
    """An error of a part or an upload with S3's precise code, where its message names one."""
    message = str(err)
    for code in _PART_CODES:
        if message.startswith(code):
            status = 404 if code == "NoSuchUpload" else 416 if code == "InvalidRange" else 400
            return S3Error(code, message, status)
    return err


def _upload_id(request: S3Request) -> str:
    return request.query.get("uploadId", "")


def _part_number(request: S3Request) -> int:
    text = request.query.get("partNumber", "")
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= 10_000:
        raise S3Error("InvalidArgument", "Part number must be an integer between 1 and 10000, inclusive", 400)
    return int(text)


def _multipart_handler(*, write: bool) -> Callable[[Handler], Handler]:
    """:func:`handler`, with the S3 codes of parts and uploads."""
    outer = handler(write=write)

    def wrap(operation: Handler) -> Handler:
        async def run(request: S3Request) -> Response:
            try:
                return await operation(request)
            except (Invalid, NotFound) as err:
                raise _s3_codes(err) from None

        run.__doc__ = operation.__doc__
        return outer(run)

    return wrap


@handler(write=True)
async def create_multipart_upload(request: S3Request) -> Response:
    """CreateMultipartUpload: start an upload to the key's path of the branch, with the
    object's content type and user metadata."""
    upload_id = await request.catalog.multipart.start(
        request.bucket,
        request.ref,
        request.path,
        content_type=content_type(request),
        metadata=amz_metadata.from_headers(request.http.headers.items()),
    )
    result = element(
        "InitiateMultipartUploadResult",
        element("Bucket", request.bucket),
        element("Key", request.key),
        element("UploadId", upload_id),
    )
    return xml_response(result)


async def _upload_part(request: S3Request) -> Response:
    """UploadPart: store one part's bytes; its ETag."""
    number = _part_number(request)
    part = request.catalog.multipart.receive_part(
        request.bucket, request.ref, request.path, _upload_id(request), number
    )
    try:
        async for chunk in request.body:
            await part.add(chunk)
    except BaseException:
        await part.abort()
        raise
    etag = await part.finish()
    return Response(status_code=200, headers={"ETag": quoted_etag(etag)})


async def _upload_part_copy(request: S3Request) -> Response:
    """UploadPartCopy: one part copied from (a range of) an object of any ref."""
    number = _part_number(request)
    source = copy_source(request.http.headers["x-amz-copy-source"])
    first, last = 0, None
    range_header = request.http.headers.get("x-amz-copy-source-range")
    if range_header is not None:
        match = _COPY_RANGE.fullmatch(range_header.strip())
        if match is None or int(match[1]) > int(match[2]):
            raise S3Error(
                "InvalidArgument",
                "The x-amz-copy-source-range value must be of the form bytes=first-last",
                400,
            )
        first, last = int(match[1]), int(match[2])
    etag = await request.catalog.multipart.copy_part(
        request.bucket,
        request.ref,
        request.path,
        _upload_id(request),
        number,
        src_repository=source.repository,
        src_ref=source.ref,
        src_path=source.path,
        first=first,
        last=last,
    )
    result = element(
        "CopyPartResult", element("LastModified", timestamp(time.time())), element("ETag", quoted_etag(etag))
    )
    return xml_response(result)


def _completed_parts(body: bytes) -> list[tuple[int, str]]:
    """The parts (number, ETag) of a CompleteMultipartUpload body; MalformedXML otherwise."""
    root = parse_request(body, "CompleteMultipartUpload")
    if root is None:
        raise malformed_xml()
    parts: list[tuple[int, str]] = []
    for child in root:
        if local_name(child.tag) != "Part":
            continue
        fields = {local_name(item.tag): (item.text or "").strip() for item in child}
        number, etag = fields.get("PartNumber", ""), fields.get("ETag", "")
        if not (number.isascii() and number.isdigit()) or not etag:
            raise malformed_xml()
        parts.append((int(number), etag.strip('"')))
    if not parts:
        raise malformed_xml()
    return parts


async def _complete_multipart_upload(request: S3Request) -> Response:
    """CompleteMultipartUpload: assemble the listed parts into the object and stage it."""
    if_absent = if_absent_header(request)
    parts = _completed_parts(await read_body(request))
    obj = await request.catalog.multipart.finish(
        request.bucket, request.ref, request.path, _upload_id(request), parts, if_absent=if_absent
    )
    location = f"{request.http.base_url}{request.bucket}/{request.key}"
    result = element(
        "CompleteMultipartUploadResult",
        element("Location", location),
        element("Bucket", request.bucket),
        element("Key", request.key),
        element("ETag", quoted_etag(obj.entry.checksum)),
    )
    return xml_response(result)


async def _abort_multipart_upload(request: S3Request) -> Response:
    """AbortMultipartUpload: remove the parts and forget the upload."""
    await request.catalog.multipart.cancel(request.bucket, request.ref, request.path, _upload_id(request))
    return Response(status_code=204)


async def _list_parts(request: S3Request) -> Response:
    """ListParts: the parts uploaded so far, after ``part-number-marker``, up to
    ``max-parts``."""
    query = request.query
    marker_text = query.get("part-number-marker", "0") or "0"
    amount_text = query.get("max-parts", str(MAX_PARTS_LISTED))
    if not (marker_text.isascii() and marker_text.isdigit()):
        raise S3Error("InvalidArgument", "part-number-marker must be a non-negative integer", 400)
    if not (amount_text.isascii() and amount_text.isdigit()):
        raise S3Error("InvalidArgument", "max-parts must be a non-negative integer", 400)
    marker, amount = int(marker_text), min(int(amount_text), MAX_PARTS_LISTED)
    upload_id = _upload_id(request)
    uploaded = await request.catalog.multipart.parts(request.bucket, request.ref, request.path, upload_id)
    following = [part for part in uploaded if part.number > marker]
    page, truncated = following[:amount], len(following) > amount
    owner = element("ID", request.user.username), element("DisplayName", request.user.username)
    listed: list[Xml] = [
        element(
            "Part",
            element("PartNumber", part.number),
            element("LastModified", timestamp(part.mtime.timestamp())),
            element("ETag", quoted_etag(part.etag)),
            element("Size", part.size),
        )
        for part in page
    ]
    result = element(
        "ListPartsResult",
        element("Bucket", request.bucket),
        element("Key", request.key),
        element("UploadId", upload_id),
        element("Initiator", *owner),
        element("Owner", *owner),
        element("StorageClass", "STANDARD"),
        element("PartNumberMarker", marker),
        element("NextPartNumberMarker", page[-1].number if page else marker),
        element("MaxParts", amount),
        element("IsTruncated", truncated),
        elements(listed),
    )
    return xml_response(result)


handlers: dict[str, Handler] = {
    "CreateMultipartUpload": create_multipart_upload,
    "UploadPart": _multipart_handler(write=True)(_upload_part),
    "UploadPartCopy": _multipart_handler(write=True)(_upload_part_copy),
    "CompleteMultipartUpload": _multipart_handler(write=True)(_complete_multipart_upload),
    "AbortMultipartUpload": _multipart_handler(write=True)(_abort_multipart_upload),
    "ListParts": _multipart_handler(write=False)(_list_parts),
}
