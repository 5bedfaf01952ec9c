"""Refs: diff two refs, merge a ref into a branch, find the merge base of two refs."""

from __future__ import annotations

from typing import Any, get_args

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from limnos.api import convertors  # noqa: F401 - registers the {name:ref} path convertor
from limnos.api.common import (
    ApiError,
    catalog,
    current_user,
    json_response,
    page_amount,
    paginated,
    parameter_error,
    query_bool,
    query_str,
    read_optional_json,
)
from limnos.catalog.listing import Listed
from limnos.catalog.results import Difference, DiffType

_DIFF_TYPES: tuple[DiffType, ...] = get_args(DiffType)


def _diff_body(item: Listed[Difference], right_stats: bool) -> dict[str, Any]:
    """The contract's Diff object."""
    if item.value is None:
        return {"type": "prefix_changed", "path": item.path, "path_type": "common_prefix"}
    change = item.value
    body: dict[str, Any] = {
        "type": change.kind,
        "path": change.path,
        "path_type": "object",
        "size_bytes": change.size,
    }
    if right_stats and change.right is not None:
        body["right"] = {
            "checksum": change.right.checksum,
            "mtime": change.right.mtime,
            "content_type": change.right.content_type,
            "metadata": change.right.user_metadata,
        }
    return body


def _diff_type(request: Request) -> DiffType:
    kind = query_str(request, "type") or "three_dot"
    for known in _DIFF_TYPES:
        if kind == known:
            return known
    allowed = ", ".join(_DIFF_TYPES)
    raise ApiError(400, parameter_error("type", f"value {kind} is not one of the allowed values [{allowed}]"))


async def diff_refs(request: Request) -> Response:
    right_stats = query_bool(request, "include_right_stats")
    page = await catalog(request).diffs.refs(
        request.path_params["repository"],
        request.path_params["leftRef"],
        request.path_params["rightRef"],
        kind=_diff_type(request),
        prefix=query_str(request, "prefix"),
        delimiter=query_str(request, "delimiter"),
        after=query_str(request, "after"),
        amount=page_amount(request),
    )
    results = [_diff_body(item, right_stats) for item in page.items]
    next_offset = page.items[-1].path if page.items else ""
    return json_response(paginated(results, page.has_more, next_offset))


class MergeBody(msgspec.Struct, forbid_unknown_fields=False):
    message: str | None = None
    metadata: dict[str, str] | None = None
    strategy: str | None = None
    force: bool | None = None
    allow_empty: bool | None = None
    squash_merge: bool | None = None


async def merge_into_branch(request: Request) -> Response:
    body = await read_optional_json(request, MergeBody, MergeBody)
    commit_id = await catalog(request).merges.merge(
        request.path_params["repository"],
        request.path_params["sourceRef"],
        request.path_params["destinationBranch"],
        committer=current_user(request).username,
        message=body.message or "",
        metadata=body.metadata,
        strategy=body.strategy or "",
        allow_empty=bool(body.allow_empty),
        squash=bool(body.squash_merge),
        force=bool(body.force),
    )
    return json_response({"reference": commit_id})


async def find_merge_base(request: Request) -> Response:
    base = await catalog(request).merges.base(
        request.path_params["repository"],
        request.path_params["sourceRef"],
        request.path_params["destinationBranch"],
    )
    return json_response(
        {
            "source_commit_id": base.source_commit_id,
            "destination_commit_id": base.destination_commit_id,
            "base_commit_id": base.base_commit_id,
        }
    )


routes = [
    Route("/repositories/{repository}/refs/{leftRef:ref}/diff/{rightRef:ref}", diff_refs, methods=["GET"]),
    Route(
        "/repositories/{repository}/refs/{sourceRef:ref}/merge/{destinationBranch}",
        merge_into_branch,
        methods=["POST"],
    ),
    Route(
        "/repositories/{repository}/refs/{sourceRef:ref}/merge/{destinationBranch}",
        find_merge_base,
        methods=["GET"],
    ),
]
