"""Staging: an address to upload an object's bytes to directly, and linking them to a path."""

from __future__ import annotations

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
    query_bool,
    query_required,
    read_json,
    upload_if_absent,
)
from limnos.api.shapes import object_stats
from limnos.catalog.results import StagingLocation


class StagingLocationBody(msgspec.Struct):
    """The contract's StagingLocation, as a client sends it back."""

    physical_address: str | None = None
    presigned_url: str | None = None
    presigned_url_expiry: int | None = None


class StagingMetadata(msgspec.Struct):
    """The contract's StagingMetadata: what was uploaded, and where."""

    staging: StagingLocationBody
    checksum: str
    size_bytes: int
    user_metadata: dict[str, str] | None = None
    content_type: str | None = None
    mtime: int | None = None
    force: bool = False


def staging_location(request: Request, location: StagingLocation) -> dict[str, Any]:
    """The contract's StagingLocation, its presigned URL absolute."""
    body: dict[str, Any] = {"physical_address": location.physical_address}
    if location.presigned_url is not None:
        body["presigned_url"] = absolute_url(request, location.presigned_url)
        body["presigned_url_expiry"] = location.presigned_url_expiry
    return body


async def get_physical_address(request: Request) -> Response:
    """getPhysicalAddress: a fresh address for ``path``, and with ``presign`` a URL that writes it."""
    path = query_required(request, "path")
    location = await catalog(request).staging.physical_address(
        request.path_params["repository"],
        request.path_params["branch"],
        path,
        presign=query_bool(request, "presign"),
    )
    return json_response(staging_location(request, location))


async def link_physical_address(request: Request) -> Response:
    """linkPhysicalAddress: stage the bytes stored at an address as the object at ``path``."""
    path = query_required(request, "path")
    if_absent = upload_if_absent(request)
    body = await read_json(request, StagingMetadata)
    if not body.staging.physical_address:
        raise ApiError(
            400, "request body has an error: value is required but missing: staging.physical_address"
        )
    obj = await catalog(request).staging.link(
        request.path_params["repository"],
        request.path_params["branch"],
        path,
        address=body.staging.physical_address,
        checksum=body.checksum,
        size=body.size_bytes,
        metadata=body.user_metadata,
        content_type=body.content_type or "",
        mtime=body.mtime,
        if_absent=if_absent,
        force=body.force,
    )
    return json_response(object_stats(obj))


_BACKING = "/repositories/{repository}/branches/{branch}/staging/backing"

routes = [
    Route(_BACKING, get_physical_address, methods=["GET"]),
    Route(_BACKING, link_physical_address, methods=["PUT"]),
]
