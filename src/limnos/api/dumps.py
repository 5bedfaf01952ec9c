"""Dump and restore: a repository's refs written to its storage namespace and loaded
back, as background tasks (dumpSubmit, dumpStatus, restoreSubmit, restoreStatus) or in
one call (dumpRefs, restoreRefs)."""

from __future__ import annotations

from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from limnos.api.common import catalog, json_response, query_required, read_json
from limnos.api.shapes import date_time
from limnos.catalog.results import RefsDump, TaskState


class RefsRestore(msgspec.Struct):
    """The contract's RefsRestore."""

    commits_meta_range_id: str
    tags_meta_range_id: str
    branches_meta_range_id: str
    force: bool | None = None

    def refs(self) -> RefsDump:
        """The dump it names."""
        return RefsDump(
            commits_meta_range_id=self.commits_meta_range_id,
            tags_meta_range_id=self.tags_meta_range_id,
            branches_meta_range_id=self.branches_meta_range_id,
        )


def refs_dump_body(refs: RefsDump) -> dict[str, str]:
    """The contract's RefsDump."""
    return msgspec.structs.asdict(refs)


def _task_body(state: TaskState) -> dict[str, Any]:
    """The contract's RepositoryDumpStatus and RepositoryRestoreStatus."""
    body: dict[str, Any] = {"id": state.id, "done": state.done, "update_time": date_time(state.update_time)}
    if state.error:
        body["error"] = state.error
    if state.refs is not None:
        body["refs"] = refs_dump_body(state.refs)
    return body


async def dump_submit(request: Request) -> Response:
    """dumpSubmit: start a dump in the background, answer its task id at once."""
    task_id = catalog(request).dumps.start_dump(request.path_params["repository"])
    return json_response({"id": task_id}, 202)


async def dump_status(request: Request) -> Response:
    """dumpStatus: how the dump stands; once done, the ids of its trees."""
    state = catalog(request).dumps.dump_status(
        request.path_params["repository"], query_required(request, "task_id")
    )
    return json_response(_task_body(state))


async def restore_submit(request: Request) -> Response:
    """restoreSubmit: check a restore, start it in the background, answer its task id."""
    body = await read_json(request, RefsRestore)
    task_id = await catalog(request).dumps.start_restore(
        request.path_params["repository"], body.refs(), force=bool(body.force)
    )
    return json_response({"id": task_id}, 202)


async def restore_status(request: Request) -> Response:
    """restoreStatus: how the restore stands."""
    state = catalog(request).dumps.restore_status(
        request.path_params["repository"], query_required(request, "task_id")
    )
    return json_response(_task_body(state))


async def dump_refs(request: Request) -> Response:
    """dumpRefs: dump the refs and answer the ids of the dump's trees."""
    refs = await catalog(request).dumps.dump(request.path_params["repository"])
    return json_response(refs_dump_body(refs), 201)


async def restore_refs(request: Request) -> Response:
    """restoreRefs: restore a dump, answering once it is in place."""
    body = await read_json(request, RefsRestore)
    await catalog(request).dumps.restore(
        request.path_params["repository"], body.refs(), force=bool(body.force)
    )
    return Response(status_code=200)


routes = [
    Route("/repositories/{repository}/dump", dump_submit, methods=["POST"]),
    Route("/repositories/{repository}/dump", dump_status, methods=["GET"]),
    Route("/repositories/{repository}/restore", restore_submit, methods=["POST"]),
    Route("/repositories/{repository}/restore", restore_status, methods=["GET"]),
    Route("/repositories/{repository}/refs/dump", dump_refs, methods=["PUT"]),
    Route("/repositories/{repository}/refs/restore", restore_refs, methods=["PUT"]),
]
