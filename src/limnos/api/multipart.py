"""Presigned multipart uploads (the contract's experimental operations): start one with
presigned part URLs, get more URLs, copy parts from other objects, complete, abort."""

from __future__ import annotations

import re
from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from limnos.api.common import (
    ApiError,
    absolute_url,
    catalog,
    json_response,
    no_content,
    query_int,
    query_required,
    read_json,
    read_optional_json,
)
from limnos.api.shapes import object_stats

_RANGE = re.compile(r"bytes=([0-9]{1,19})-([0-9]{0,19})")


class UploadPart(msgspec.Struct):
    """The contract's UploadPart: a part's number and ETag."""

    part_number: int
    etag: str


class CompletePresignMultipartUpload(msgspec.Struct):
    """The contract's CompletePresignMultipartUpload."""

    physical_address: str
    parts: list[UploadPart]
    user_metadata: dict[str, str] | None = None
    content_type: str | None = None


class UploadAddress(msgspec.Struct):
    """The contract's AbortPresignMultipartUpload and UploadPartFrom: the upload's address."""

    physical_address: str = ""


class CopyPartSource(msgspec.Struct):
    """The contract's CopyPartSource: an object of any ref, optionally a byte range of it."""

    repository: str
    ref: str
    path: str
    range: str | None = None


class UploadPartCopyFrom(msgspec.Struct):
    """The contract's UploadPartCopyFrom."""

    physical_address: str
    copy_source: CopyPartSource


def _part_number(request: Request) -> int:
    raw = request.path_params["part_number"]
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 5:
        raise ApiError(
            400, f'parameter "partNumber" in path has an error: value {raw}: not an integer from 1 to 10000'
        )
    return int(raw)


def _byte_range(text: str | None) -> tuple[int, int | None]:
    """``bytes=first-last`` (``last`` may be left out) as numbers; 400 otherwise."""
    if text is None:
        return 0, None
    match = _RANGE.fullmatch(text.strip())
    if match is None:
        raise ApiError(
            400,
            f"request body has an error: doesn't match schema: copy_source.range: {text!r} is not "
            "bytes=<first>-<last>",
        )
    return int(match[1]), int(match[2]) if match[2] else None


async def create_presign_multipart_upload(request: Request) -> Response:
    """createPresignMultipartUpload: an upload id, its address and ``parts`` presigned part URLs."""
    path = query_required(request, "path")
    parts = query_int(request, "parts", 0)
    upload = await catalog(request).multipart.create(
        request.path_params["repository"], request.path_params["branch"], path, parts=parts
    )
    body: dict[str, Any] = {"upload_id": upload.upload_id, "physical_address": upload.physical_address}
    if upload.presigned_urls:
        body["presigned_urls"] = [absolute_url(request, url) for url in upload.presigned_urls]
    return json_response(body, 201)


async def complete_presign_multipart_upload(request: Request) -> Response:
    """completePresignMultipartUpload: assemble the parts and stage the object."""
    path = query_required(request, "path")
    body = await read_json(request, CompletePresignMultipartUpload)
    obj = await catalog(request).multipart.complete(
        request.path_params["repository"],
        request.path_params["branch"],
        path,
        request.path_params["upload_id"],
        address=body.physical_address,
        parts=[(part.part_number, part.etag) for part in body.parts],
        metadata=body.user_metadata,
        content_type=body.content_type or "",
    )
    return json_response(object_stats(obj))


async def abort_presign_multipart_upload(request: Request) -> Response:
    """abortPresignMultipartUpload: remove the parts and forget the upload."""
    path = query_required(request, "path")
    body = await read_optional_json(request, UploadAddress, UploadAddress)
    await catalog(request).multipart.abort(
        request.path_params["repository"],
        request.path_params["branch"],
        path,
        request.path_params["upload_id"],
        address=body.physical_address,
    )
    return no_content()


async def upload_part(request: Request) -> Response:
    """uploadPart: a presigned URL that uploads one part."""
    path = query_required(request, "path")
    number = _part_number(request)
    body = await read_json(request, UploadAddress)
    url = catalog(request).multipart.part_url(
        request.path_params["repository"],
        request.path_params["branch"],
        path,
        request.path_params["upload_id"],
        number,
        address=body.physical_address,
    )
    return json_response({"presigned_url": absolute_url(request, url)})


async def upload_part_copy(request: Request) -> Response:
    """uploadPartCopy: upload a part by copying (a range of) another object; its ETag."""
    path = query_required(request, "path")
    number = _part_number(request)
    body = await read_json(request, UploadPartCopyFrom)
    first, last = _byte_range(body.copy_source.range)
    etag = await catalog(request).multipart.copy_part(
        request.path_params["repository"],
        request.path_params["branch"],
        path,
        request.path_params["upload_id"],
        number,
        address=body.physical_address,
        src_repository=body.copy_source.repository,
        src_ref=body.copy_source.ref,
        src_path=body.copy_source.path,
        first=first,
        last=last,
    )
    return Response(status_code=204, headers={"ETag": f'"{etag}"'})


_UPLOADS = "/repositories/{repository}/branches/{branch}/staging/pmpu"
_UPLOAD = _UPLOADS + "/{upload_id}"
_PART = _UPLOAD + "/parts/{part_number}"

routes = [
    Route(_UPLOADS, create_presign_multipart_upload, methods=["POST"]),
    Route(_UPLOAD, complete_presign_multipart_upload, methods=["PUT"]),
    Route(_UPLOAD, abort_presign_multipart_upload, methods=["DELETE"]),
    Route(_PART, upload_part, methods=["PUT"]),
    Route(_PART + "/copy", upload_part_copy, methods=["PUT"]),
]
