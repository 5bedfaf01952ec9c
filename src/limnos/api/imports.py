"""Imports: start a zero-copy import into a branch, follow it, cancel it."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from limnos.api.common import catalog, current_user, json_response, no_content, query_required, read_json
from limnos.api.shapes import commit_body, date_time
from limnos.catalog.imports import ImportSource


class ImportLocation(msgspec.Struct):
    """The contract's ImportLocation."""

    type: Literal["common_prefix", "object"]
    path: str
    destination: str


class CommitCreation(msgspec.Struct):
    """The contract's CommitCreation, as an import's commit."""

    message: str
    metadata: dict[str, str] | None = None
    date: Annotated[int, msgspec.Meta(ge=-(2**63), le=2**63 - 1)] | None = None
    allow_empty: bool | None = None
    force: bool | None = None


class ImportCreation(msgspec.Struct):
    """The contract's ImportCreation."""

    paths: list[ImportLocation]
    commit: CommitCreation
    force: bool = False


async def import_start(request: Request) -> Response:
    """importStart: check the import, start it in the background, answer its id at once."""
    body = await read_json(request, ImportCreation)
    import_id = catalog(request).imports.start(
        request.path_params["repository"],
        request.path_params["branch"],
        [ImportSource(p.type, p.path, p.destination) for p in body.paths],
        committer=current_user(request).username,
        message=body.commit.message,
        metadata=body.commit.metadata,
        date=body.commit.date,
        force=body.force,
    )
    return json_response({"id": import_id}, 202)


async def import_status(request: Request) -> Response:
    """importStatus: how the import stands."""
    state = catalog(request).imports.status(
        request.path_params["repository"], request.path_params["branch"], query_required(request, "id")
    )
    body: dict[str, Any] = {
        "completed": state.completed,
        "update_time": date_time(state.update_time),
        "ingested_objects": state.ingested_objects,
    }
    if state.metarange_id:
        body["metarange_id"] = state.metarange_id
    if state.commit is not None:
        body["commit"] = commit_body(state.commit)
    if state.error:
        body["error"] = {"message": state.error}
    return json_response(body)


async def import_cancel(request: Request) -> Response:
    """importCancel: stop a running import; no commit is made."""
    catalog(request).imports.cancel(
        request.path_params["repository"], request.path_params["branch"], query_required(request, "id")
    )
    return no_content()


_IMPORT = "/repositories/{repository}/branches/{branch}/import"

routes = [
    Route(_IMPORT, import_start, methods=["POST"]),
    Route(_IMPORT, import_status, methods=["GET"]),
    Route(_IMPORT, import_cancel, methods=["DELETE"]),
]
