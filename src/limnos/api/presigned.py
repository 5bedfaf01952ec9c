"""The presigned URLs this server signs for its own blockstore (local, mem): a GET reads
an object, a PUT writes one, or one part of a multipart upload. The URL's signature is
the credential, so these routes sit outside ``/api/v1`` and its authentication."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from limnos.api.common import catalog, json_response, query_params
from limnos.api.upload_body import receive_raw, receiving
from limnos.catalog.byte_ranges import RangeNotSatisfiableError, parse_range
from limnos.catalog.presigned import SELF_SERVED_PATH


async def read(request: Request) -> Response:
    """GET (or HEAD) through a presigned URL: the object's bytes, or a range of them."""
    presigned = catalog(request).presigned
    target = presigned.open(request.method, query_params(request))
    size = presigned.size(target)
    headers = {"Accept-Ranges": "bytes", "Content-Type": "application/octet-stream"}
    status, first, last = 200, 0, size - 1
    range_header = request.headers.get("range")
    if range_header is not None:
        try:
            first, last = parse_range(range_header, size)
        except RangeNotSatisfiableError:
            return json_response(
                {"message": "Requested Range Not Satisfiable"}, 416, {"Content-Range": f"bytes */{size}"}
            )
        status = 206
        headers["Content-Range"] = f"bytes {first}-{last}/{size}"
    headers["Content-Length"] = str(last - first + 1)
    if request.method == "HEAD":
        return Response(status_code=status, headers=headers)
    data = await presigned.read(target, first, last + 1)
    if isinstance(data, bytes):
        return Response(data, status_code=status, headers=headers)
    return StreamingResponse(data, status_code=status, headers=headers)


async def write(request: Request) -> Response:
    """PUT through a presigned URL: store the body; its ETag, as S3 answers."""
    target = catalog(request).presigned.open(request.method, query_params(request))
    receiver = catalog(request).presigned.receive(target)
    async with receiving(receiver):
        await receive_raw(request, receiver)
    etag = await receiver.finish()
    return Response(status_code=200, headers={"ETag": f'"{etag}"'})


routes = [
    Route(SELF_SERVED_PATH, read, methods=["GET", "HEAD"]),
    Route(SELF_SERVED_PATH, write, methods=["PUT"]),
]
