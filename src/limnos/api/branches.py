"""Branches: list, create, get, delete, reset, revert, cherry-pick, diff, hard reset."""

from __future__ import annotations

from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from limnos.api.common import (
    catalog,
    current_user,
    json_response,
    no_content,
    page_amount,
    paginated,
    query_bool,
    query_required,
    query_str,
    read_json,
)
from limnos.api.shapes import commit_body, ref_body, ref_page
from limnos.catalog.branches import ResetScope
from limnos.catalog.listing import Listed
from limnos.catalog.results import Difference


class BranchCreation(msgspec.Struct, forbid_unknown_fields=False):
    name: str
    source: str
    force: bool = False
    # Hidden branches are not kept apart: every branch is listed.
    hidden: bool = False


class ResetCreation(msgspec.Struct, forbid_unknown_fields=False):
    type: ResetScope
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


async def list_branches(request: Request) -> Response:
    """listBranches: branches in name order with prefix/after/amount paging."""
    page = catalog(request).branches.list(
        request.path_params["repository"],
        prefix=query_str(request, "prefix"),
        after=query_str(request, "after"),
        amount=page_amount(request),
        show_hidden=query_bool(request, "show_hidden"),
    )
    return json_response(ref_page(page))


async def create_branch(request: Request) -> Response:
    """createBranch: 201 with the new branch's commit id as a text body."""
    body = await read_json(request, BranchCreation)
    commit_id = await catalog(request).branches.create(
        request.path_params["repository"], body.name, body.source, force=body.force, hidden=body.hidden
    )
    return Response(commit_id, status_code=201, media_type="text/html")


async def get_branch(request: Request) -> Response:
    """getBranch: the branch's Ref."""
    branch = catalog(request).branches.get(request.path_params["repository"], request.path_params["branch"])
    return json_response(ref_body(branch))


async def delete_branch(request: Request) -> Response:
    """deleteBranch: 204; the default branch is refused with 403."""
    await catalog(request).branches.delete(
        request.path_params["repository"], request.path_params["branch"], force=query_bool(request, "force")
    )
    return no_content()


async def reset_branch(request: Request) -> Response:
    """resetBranch: drop uncommitted changes of one object, a prefix, or the whole branch."""
    body = await read_json(request, ResetCreation)
    catalog(request).branches.reset(
        request.path_params["repository"],
        request.path_params["branch"],
        body.type,
        body.path or "",
        force=body.force,
    )
    return no_content()


async def hard_reset_branch(request: Request) -> Response:
    """hardResetBranch: point the branch at ``ref``; refused while dirty unless ``force``."""
    catalog(request).branches.hard_reset(
        request.path_params["repository"],
        request.path_params["branch"],
        query_required(request, "ref"),
        force=query_bool(request, "force"),
    )
    return no_content()


async def revert_branch(request: Request) -> Response:
    """revertBranch: commit the inverse of a commit's changes on the branch; 204."""
    body = await read_json(request, RevertCreation)
    overrides = body.commit_overrides or CommitOverrides()
    await catalog(request).merges.revert(
        request.path_params["repository"],
        request.path_params["branch"],
        body.ref,
        committer=current_user(request).username,
        parent_number=body.parent_number,
        allow_empty=body.allow_empty,
        message=overrides.message or "",
        metadata=overrides.metadata,
        force=body.force,
    )
    return no_content()


async def cherry_pick(request: Request) -> Response:
    """cherryPick: replay a commit's changes on the branch; 201 with the new Commit."""
    body = await read_json(request, CherryPickCreation)
    overrides = body.commit_overrides or CommitOverrides()
    commit = await catalog(request).merges.cherry_pick(
        request.path_params["repository"],
        request.path_params["branch"],
        body.ref,
        committer=current_user(request).username,
        parent_number=body.parent_number or 0,
        message=overrides.message or "",
        metadata=overrides.metadata,
        force=body.force,
    )
    return json_response(commit_body(commit), 201)


def _diff_body(item: Listed[Difference]) -> dict[str, Any]:
    """The contract's Diff object of an uncommitted change or a folded common prefix."""
    if item.value is None:
        # Telling whether a whole prefix was added or removed would need a full scan.
        return {"type": "prefix_changed", "path": item.path, "path_type": "common_prefix"}
    change = item.value
    return {"type": change.kind, "path": item.path, "path_type": "object", "size_bytes": change.size}


async def diff_branch(request: Request) -> Response:
    """diffBranch: uncommitted changes, optionally folded into common prefixes."""
    page = catalog(request).diffs.uncommitted(
        request.path_params["repository"],
        request.path_params["branch"],
        prefix=query_str(request, "prefix"),
        delimiter=query_str(request, "delimiter"),
        after=query_str(request, "after"),
        amount=page_amount(request),
    )
    results = [_diff_body(item) for item in page.items]
    next_offset = page.items[-1].path if page.items else ""
    return json_response(paginated(results, page.has_more, next_offset))


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
