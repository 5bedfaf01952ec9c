"""Tags: list, create, get, delete."""

from __future__ import annotations

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from limnos.api.common import (
    json_response,
    no_content,
    page_amount,
    query_bool,
    query_str,
    read_json,
    repository,
    run_write,
    services,
    writable,
)
from limnos.api.shapes import ref_body, ref_page


class TagCreation(msgspec.Struct, forbid_unknown_fields=False):
    id: str
    ref: str
    force: bool = False


async def list_tags(request: Request) -> Response:
    """listTags: tags in name order with prefix/after/amount paging."""
    repo = repository(request)
    after = query_str(request, "after")
    prefix = query_str(request, "prefix")
    amount = page_amount(request)
    tags = services(request).graveler.list_tags(repo, start=after, prefix=prefix)
    return json_response(ref_page(((n, t.commit_id) for n, t in tags), after, amount))


async def create_tag(request: Request) -> Response:
    """createTag: 201 with the new tag's Ref; 409 when the name is taken."""
    repo = repository(request)
    body = await read_json(request, TagCreation)
    graveler = services(request).graveler
    commit_id = await run_write(request, graveler.create_tag, writable(repo, body.force), body.id, body.ref)
    return json_response(ref_body(body.id, commit_id), 201)


async def get_tag(request: Request) -> Response:
    """getTag: the tag's Ref."""
    repo = repository(request)
    name = request.path_params["tag"]
    tag = services(request).graveler.get_tag(repo, name)
    return json_response(ref_body(name, tag.commit_id))


async def delete_tag(request: Request) -> Response:
    """deleteTag: 204; 404 when the tag does not exist."""
    repo = writable(repository(request), query_bool(request, "force"))
    await run_write(request, services(request).graveler.delete_tag, repo, request.path_params["tag"])
    return no_content()


routes = [
    Route("/repositories/{repository}/tags", list_tags, methods=["GET"]),
    Route("/repositories/{repository}/tags", create_tag, methods=["POST"]),
    # Tag names may hold '/', which clients send percent-encoded.
    Route("/repositories/{repository}/tags/{tag:path}", get_tag, methods=["GET"]),
    Route("/repositories/{repository}/tags/{tag:path}", delete_tag, methods=["DELETE"]),
]
