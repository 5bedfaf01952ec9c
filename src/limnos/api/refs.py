"""Refs: diff two refs, merge a ref into a branch, find the merge base of two refs."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from limnos.api import convertors  # noqa: F401 - registers the {name:ref} path convertor
from limnos.api.common import (
    ApiError,
    current_user,
    json_response,
    page_amount,
    paginated,
    query_bool,
    query_str,
    read_optional_json,
    repository,
    resolve_ref,
    services,
    writable,
)
from limnos.api.threads import run_blocking
from limnos.catalog.catalog import Catalog, EntryChange
from limnos.catalog.listing import Listed, list_page
from limnos.graveler import merge as merging
from limnos.graveler.engine import Change, Graveler, change_kind
from limnos.graveler.model import Repository
from limnos.graveler.revparse import ResolvedRef

DIFF_TYPES = ("two_dot", "three_dot")
# lakeFS records the merge strategy of every merge commit under this metadata key.
STRATEGY_KEY = ".lakefs.merge.strategy"


def _with_staged(
    g: Graveler,
    repo: Repository,
    left_commit: str,
    branch: str,
    committed: Iterator[Change],
    *,
    start: str,
    prefix: str,
) -> Iterator[Change]:
    """Committed differences against a branch's head, updated with its staged changes.

    For a staged key the right side is the staged value, compared with the left
    commit's own value; other keys keep their committed difference.
    """
    left = ResolvedRef(left_commit)
    staged = g.diff_uncommitted(repo, branch, start=start, prefix=prefix)
    c = next(committed, None)
    s = next(staged, None)
    while c is not None or s is not None:
        if s is None or (c is not None and c.key < s.key):
            assert c is not None
            yield c
            c = next(committed, None)
            continue
        if c is not None and c.key == s.key:
            c = next(committed, None)
        before = g.get(repo, left, s.key)
        if before != s.right:
            yield Change(s.key, change_kind(before, s.right), before, s.right)
        s = next(staged, None)


def _compared(g: Graveler, base: str | None, repo: Repository, changes: Iterator[Change]) -> Iterator[Change]:
    """What merging right into left would change: differences right made since ``base``.

    Keys only left changed are dropped; keys both sides changed differently are
    reported as conflicts. Without a common ancestor everything is new on both sides.
    """
    base_ref = ResolvedRef(base) if base is not None else None
    for change in changes:
        before = g.get(repo, base_ref, change.key) if base_ref is not None else None
        if change.right == before:
            continue
        if change.left == before:
            yield change
        else:
            yield Change(change.key, "conflict", change.left, change.right)


def diff_scan(
    g: Graveler,
    repo: Repository,
    left: ResolvedRef,
    right: ResolvedRef,
    kind: str,
    prefix: str,
) -> Callable[[str], Iterator[tuple[str, EntryChange]]]:
    """A scan over the differences between two refs, for :func:`list_page`.

    ``two_dot`` compares left's commit with right as it reads (a branch's staged
    changes included); ``three_dot`` shows what right changed since the merge base,
    as a merge of right into left would see it (committed data only).
    """
    base: str | None = None
    if kind == "three_dot":
        base = g.merge_base(repo, left.commit_id, right.commit_id)

    def scan(start: str) -> Iterator[tuple[str, EntryChange]]:
        changes = g.diff(repo, left.commit_id, right.commit_id, start=start, prefix=prefix)
        if kind == "three_dot":
            if base != left.commit_id:
                changes = _compared(g, base, repo, changes)
        elif right.branch_name is not None and right.staging_tokens:
            changes = _with_staged(
                g, repo, left.commit_id, right.branch_name, changes, start=start, prefix=prefix
            )
        for change in Catalog.decode_changes(changes):
            yield change.path, change

    return scan


def _diff_body(item: Listed[EntryChange], right_stats: bool) -> dict[str, Any]:
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


async def diff_refs(request: Request) -> Response:
    repo = repository(request)
    kind = query_str(request, "type", "three_dot") or "three_dot"
    if kind not in DIFF_TYPES:
        raise ApiError(400, f"query parameter 'type' must be one of {', '.join(DIFF_TYPES)}")
    left = resolve_ref(request, repo, request.path_params["leftRef"])
    right = resolve_ref(request, repo, request.path_params["rightRef"])
    prefix = query_str(request, "prefix")
    delimiter = query_str(request, "delimiter")
    after = query_str(request, "after")
    amount = page_amount(request)
    right_stats = query_bool(request, "include_right_stats")
    g = services(request).graveler

    def work() -> tuple[list[Listed[EntryChange]], bool]:
        scan = diff_scan(g, repo, left, right, kind, prefix)
        return list_page(scan, prefix=prefix, delimiter=delimiter, after=after, amount=amount)

    page, has_more = await run_blocking(work)
    results = [_diff_body(item, right_stats) for item in page]
    next_offset = page[-1].path if page else ""
    return json_response(paginated(results, has_more, next_offset))


class MergeBody(msgspec.Struct, forbid_unknown_fields=False):
    message: str | None = None
    metadata: dict[str, str] | None = None
    strategy: str | None = None
    force: bool | None = None
    allow_empty: bool | None = None
    squash_merge: bool | None = None


async def merge_into_branch(request: Request) -> Response:
    body = await read_optional_json(request, MergeBody, MergeBody)
    repo = writable(repository(request), body.force)
    source = request.path_params["sourceRef"]
    destination = request.path_params["destinationBranch"]
    strategy = body.strategy or ""
    if strategy not in merging.STRATEGIES:
        raise ApiError(400, f"strategy {strategy!r} is invalid: use 'dest-wins' or 'source-wins'")
    metadata = {**(body.metadata or {}), STRATEGY_KEY: strategy or "default"}
    g = services(request).graveler
    committer = current_user(request).username

    def work() -> str:
        return merging.merge(
            g,
            repo,
            source,
            destination,
            committer=committer,
            message=body.message or "",
            metadata=metadata,
            strategy=strategy,
            # lakeFS documents force as also allowing a merge that changes nothing.
            allow_empty=bool(body.allow_empty or body.force),
            squash=bool(body.squash_merge),
        )

    commit_id = await run_blocking(work)
    return json_response({"reference": commit_id})


async def find_merge_base(request: Request) -> Response:
    repo = repository(request)
    source = resolve_ref(request, repo, request.path_params["sourceRef"]).commit_id
    destination = resolve_ref(request, repo, request.path_params["destinationBranch"]).commit_id
    g = services(request).graveler
    base = await run_blocking(g.merge_base, repo, destination, source)
    if base is None:
        raise ApiError(404, "the two refs have no common ancestor")
    return json_response(
        {
            "source_commit_id": source,
            "destination_commit_id": destination,
            "base_commit_id": base,
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
