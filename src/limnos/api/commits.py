"""Commits: create a commit, read one, and walk the log of a ref."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

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
    query_params,
    query_str,
    read_json,
)
from limnos.api.shapes import commit_body
from limnos.catalog.log import LogQuery


class CommitCreation(msgspec.Struct, forbid_unknown_fields=False):
    message: str
    metadata: dict[str, str] | None = None
    date: Annotated[int, msgspec.Meta(ge=-(2**63), le=2**63 - 1)] | None = None  # int64 seconds
    allow_empty: bool | None = None
    force: bool | None = None


async def create_commit(request: Request) -> Response:
    body = await read_json(request, CommitCreation)
    commit = await catalog(request).commits.commit(
        request.path_params["repository"],
        request.path_params["branch"],
        committer=current_user(request).username,
        message=body.message,
        metadata=body.metadata,
        date=body.date,
        allow_empty=bool(body.allow_empty),
        force=bool(body.force),
        source_metarange=query_str(request, "source_metarange"),
    )
    return json_response(commit_body(commit), 201)


async def get_commit(request: Request) -> Response:
    commit = catalog(request).commits.get(request.path_params["repository"], request.path_params["commitId"])
    return json_response(commit_body(commit))


def _parse_since(raw: str) -> float | None:
    """The ``since`` date-time as epoch seconds; naive times are taken as UTC."""
    if not raw:
        return None
    try:
        moment = datetime.fromisoformat(raw.replace(" ", "+"))
    except ValueError:
        raise ApiError(400, parameter_error("since", f"value {raw}: not a date-time")) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


async def log_commits(request: Request) -> Response:
    params = query_params(request)
    query = LogQuery(
        amount=page_amount(request),
        after=query_str(request, "after"),
        objects=tuple(p for p in params.getlist("objects") if p),
        prefixes=tuple(p for p in params.getlist("prefixes") if p),
        limit=query_bool(request, "limit"),
        first_parent=query_bool(request, "first_parent"),
        since=_parse_since(query_str(request, "since")),
        stop_at=query_str(request, "stop_at"),
    )
    page = await catalog(request).commits.log(
        request.path_params["repository"], request.path_params["ref"], query
    )
    results = [commit_body(commit) for commit in page.items]
    next_offset = results[-1]["id"] if results else ""
    return json_response(paginated(results, page.has_more, next_offset))


routes = [
    Route("/repositories/{repository}/branches/{branch}/commits", create_commit, methods=["POST"]),
    Route("/repositories/{repository}/commits/{commitId:ref}", get_commit, methods=["GET"]),
    Route("/repositories/{repository}/refs/{ref:ref}/commits", log_commits, methods=["GET"]),
]
