"""Tags: list, create, get, delete."""

from __future__ import annotations

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from limnos.api.common import (
    catalog,
    json_response,
    no_content,
    page_amount,
    query_bool,
    query_str,
    read_json,
)
from limnos.api.shapes import ref_body, ref_page


class TagCreation(msgspec.Struct, forbid_unknown_fields=False):
    id: str
    ref: str
    force: bool = False


async def list_tags(request: Request) -> Response:
    """listTags: tags in name order with prefix/after/amount paging."""
    page = catalog(request).tags.list(
        request.path_params["repository"],
        prefix=query_str(request, "prefix"),
        after=query_str(request, "after"),
        amount=page_amount(request),
    )
    return json_response(ref_page(page))


async def create_tag(request: Request) -> Response:
    """createTag: 201 with the new tag's Ref; 409 when the name is taken."""
    body = await read_json(request, TagCreation)
    tag = await catalog(request).tags.create(
        request.path_params["repository"], body.id, body.ref, force=body.force
    )
    return json_response(ref_body(tag), 201)


async def get_tag(request: Request) -> Response:
    """getTag: the tag's Ref."""
    tag = catalog(request).tags.get(request.path_params["repository"], request.path_params["tag"])
    return json_response(ref_body(tag))


async def delete_tag(request: Request) -> Response:
    """deleteTag: 204; 404 when the tag does not exist."""
    await catalog(request).tags.delete(
        request.path_params["repository"], request.path_params["tag"], force=query_bool(request, "force")
    )
    return no_content()


routes = [
    Route("/repositories/{repository}/tags", list_tags, methods=["GET"]),
    Route("/repositories/{repository}/tags", create_tag, methods=["POST"]),
    # Tag names may hold '/', which clients send percent-encoded.
    Route("/repositories/{repository}/tags/{tag:path}", get_tag, methods=["GET"]),
    Route("/repositories/{repository}/tags/{tag:path}", delete_tag, methods=["DELETE"]),
]
