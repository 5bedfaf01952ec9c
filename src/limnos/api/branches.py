"""Branches: list, create, get, delete, reset, revert, cherry-pick, diff, hard reset."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Literal

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from limnos.api.common import (
    ApiError,
    current_user,
    json_response,
    no_content,
    page_amount,
    paginated,
    query_bool,
    query_required,
    query_str,
    read_json,
    repository,
    run_write,
    services,
    writable,
)
from limnos.api.shapes import commit_body, ref_body, ref_page
from limnos.api.threads import run_blocking
from limnos.catalog.catalog import EntryChange
from limnos.catalog.listing import list_page
from limnos.graveler import merge
from limnos.graveler.names import check_path


class BranchCreation(msgspec.Struct, forbid_unknown_fields=False):
    name: str
    source: str
    force: bool = False
    # Hidden branches are not kept apart: every branch is listed.
    hidden: bool = False


class ResetCreation(msgspec.Struct, forbid_unknown_fields=False):
    type: Literal["object", "common_prefix", "reset"]
    path: str | None = None
    force: bool = False


class CommitOverrides(msgspec.Struct, forbid_unknown_fields=False):
    message: str | None = None
    metadata: dict[str, str] | None = None


class RevertCreation(msgspec.Struct, forbid_unknown_fields=False):
    ref: str
    # The contract marks it required, yet clients send 0 for "not a merge commit".
    parent_number: int = 0
    force: bool = False
    allow_empty: bool = False
    commit_overrides: CommitOverrides | None = None


class CherryPickCreation(msgspec.Struct, forbid_unknown_fields=False):
    ref: str
    parent_number: int | None = None
    force: bool = False
    commit_overrides: CommitOverrides | None = None


def _check_parent_number(value: int | None) -> int:
    if value is None:
        return 0
    if value < 0:
        raise ApiError(400, "parent_number must not be negative")
    return value


async def list_branches(request: Request) -> Response:
    """listBranches: branches in name order with prefix/after/amount paging."""
    repo = repository(request)
    after = query_str(request, "after")
    prefix = query_str(request, "prefix")
    amount = page_amount(request)
    show_hidden = query_bool(request, "show_hidden")
    branches = services(request).graveler.list_branches(repo, start=after, prefix=prefix)
    shown = ((n, b.commit_id) for n, b in branches if show_hidden or not b.hidden)
    return json_response(ref_page(shown, after, amount))


async def create_branch(request: Request) -> Response:
    """createBranch: 201 with the new branch's commit id as a text body."""
    repo = repository(request)
    body = await read_json(request, BranchCreation)
    create = services(request).graveler.create_branch
    commit_id = await run_write(
        request, create, writable(repo, body.force), body.name, body.source, hidden=body.hidden
    )
    return Response(commit_id, status_code=201, media_type="text/html")


async def get_branch(request: Request) -> Response:
    """getBranch: the branch's Ref."""
    repo = repository(request)
    name = request.path_params["branch"]
    branch = services(request).graveler.get_branch(repo, name)
    return json_response(ref_body(name, branch.commit_id))


async def delete_branch(request: Request) -> Response:
    """deleteBranch: 204; the default branch is refused with 403."""
    repo = writable(repository(request), query_bool(request, "force"))
    await run_write(request, services(request).graveler.delete_branch, repo, request.path_params["branch"])
    return no_content()


async def reset_branch(request: Request) -> Response:
    """resetBranch: drop uncommitted changes of one object, a prefix, or the whole branch."""
    repo = repository(request)
    name = request.path_params["branch"]
    body = await read_json(request, ResetCreation)
    repo = writable(repo, body.force)
    graveler = services(request).graveler
    if body.type == "reset":
        graveler.reset_branch(repo, name)
    elif body.type == "common_prefix":
        graveler.reset_prefix(repo, name, body.path or "")
    else:
        path = body.path or ""
        check_path(path)
        graveler.reset_key(repo, name, path)
    return no_content()


async def hard_reset_branch(request: Request) -> Response:
    """hardResetBranch: point the branch at ``ref``; refused while dirty unless ``force``."""
    repo = repository(request)
    ref = query_required(request, "ref")
    force = query_bool(request, "force")
    services(request).graveler.hard_reset(
        writable(repo, force), request.path_params["branch"], ref, force=force
    )
    return no_content()


async def revert_branch(request: Request) -> Response:
    """revertBranch: commit the inverse of a commit's changes on the branch; 204."""
    repo = repository(request)
    name = request.path_params["branch"]
    body = await read_json(request, RevertCreation)
    overrides = body.commit_overrides or CommitOverrides()
    # A revert is a three-way merge and a commit: work of unknown length, off the event loop.
    await run_blocking(
        merge.revert,
        services(request).graveler,
        writable(repo, body.force),
        name,
        body.ref,
        committer=current_user(request).username,
        parent_number=_check_parent_number(body.parent_number),
        allow_empty=body.allow_empty,
        message=overrides.message or "",
        metadata=overrides.metadata,
    )
    return no_content()


async def cherry_pick(request: Request) -> Response:
    """cherryPick: replay a commit's changes on the branch; 201 with the new Commit."""
    repo = repository(request)
    name = request.path_params["branch"]
    body = await read_json(request, CherryPickCreation)
    overrides = body.commit_overrides or CommitOverrides()
    graveler = services(request).graveler
    commit_id = await run_blocking(
        merge.cherry_pick,
        graveler,
        writable(repo, body.force),
        name,
        body.ref,
        committer=current_user(request).username,
        parent_number=_check_parent_number(body.parent_number),
        message=overrides.message or "",
        metadata=overrides.metadata,
    )
    return json_response(commit_body(commit_id, graveler.get_commit(repo, commit_id)), 201)


def _diff_body(change: EntryChange | None, path: str) -> dict[str, Any]:
    """The contract's Diff object; ``change`` is None for a folded common prefix."""
    if change is None:
        # Telling whether a whole prefix was added or removed would need a full scan.
        return {"type": "prefix_changed", "path": path, "path_type": "common_prefix"}
    body: dict[str, Any] = {"type": change.kind, "path": path, "path_type": "object"}
    if change.size is not None:
        body["size_bytes"] = change.size
    return body


async def diff_branch(request: Request) -> Response:
    """diffBranch: uncommitted changes, optionally folded into common prefixes."""
    repo = repository(request)
    name = request.path_params["branch"]
    after = query_str(request, "after")
    prefix = query_str(request, "prefix")
    delimiter = query_str(request, "delimiter")
    amount = page_amount(request)
    svc = services(request)
    # 404 for a missing branch even when it has nothing to list.
    svc.graveler.get_branch(repo, name)

    def scan(start: str) -> Iterator[tuple[str, EntryChange]]:
        changes = svc.graveler.diff_uncommitted(repo, name, start=start, prefix=prefix)
        for change in svc.catalog.decode_changes(changes):
            yield change.path, change

    page, has_more = list_page(scan, prefix=prefix, delimiter=delimiter, after=after, amount=amount)
    results = [_diff_body(item.value, item.path) for item in page]
    next_offset = page[-1].path if page else ""
    return json_response(paginated(results, has_more, next_offset))


routes = [
    Route("/repositories/{repository}/branches", list_branches, methods=["GET"]),
    Route("/repositories/{repository}/branches", create_branch, methods=["POST"]),
    Route("/repositories/{repository}/branches/{branch}", get_branch, methods=["GET"]),
    Route("/repositories/{repository}/branches/{branch}", delete_branch, methods=["DELETE"]),
    Route("/repositories/{repository}/branches/{branch}", reset_branch, methods=["PUT"]),
    Route(
        "/repositories/{repository}/branches/{branch}/hard_reset",
        hard_reset_branch,
        methods=["PUT"],
    ),
    Route("/repositories/{repository}/branches/{branch}/revert", revert_branch, methods=["POST"]),
    Route("/repositories/{repository}/branches/{branch}/cherry-pick", cherry_pick, methods=["POST"]),
    Route("/repositories/{repository}/branches/{branch}/diff", diff_branch, methods=["GET"]),
]
