"""Commits: create a commit, read one, and walk the log of a ref."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

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
    query_params,
    query_str,
    read_json,
    repository,
    resolve_branch,
    resolve_ref,
    services,
    writable,
)
from limnos.api.shapes import commit_body
from limnos.api.threads import run_blocking
from limnos.block.adapter import ObjectNotFoundError
from limnos.graveler.committed.rangefile import CorruptObjectError
from limnos.graveler.engine import MAX_ATTEMPTS, Graveler
from limnos.graveler.errors import TooManyRequestsError
from limnos.graveler.model import Commit, Repository
from limnos.graveler.revparse import ResolvedRef


class CommitCreation(msgspec.Struct, forbid_unknown_fields=False):
    message: str
    metadata: dict[str, str] | None = None
    date: Annotated[int, msgspec.Meta(ge=-(2**63), le=2**63 - 1)] | None = None  # int64 seconds
    allow_empty: bool | None = None
    force: bool | None = None


def commit_metarange(
    g: Graveler,
    repo: Repository,
    branch: str,
    tree_id: str,
    *,
    committer: str,
    message: str,
    metadata: dict[str, str] | None,
    date: int | None,
    allow_empty: bool,
) -> str:
    """Commit an existing metarange of the repository as the branch's new tree.

    The branch must have no uncommitted changes. A metarange that is not stored in the
    repository's storage namespace is refused with 400, as bad input.
    """
    try:
        g.committed.check_stored(repo.storage_namespace, tree_id)
    except (ObjectNotFoundError, CorruptObjectError):
        raise ApiError(
            400, f"metarange {tree_id!r} does not exist in the repository's storage namespace"
        ) from None
    for _ in range(MAX_ATTEMPTS):
        head = g.get_branch(repo, branch).commit_id
        commit_id = g.commit_tree(
            repo,
            branch,
            tree_id,
            expected_head=head,
            committer=committer,
            message=message,
            metadata=metadata,
            date=date,
            allow_empty=allow_empty,
        )
        if commit_id is not None:
            return commit_id
    raise TooManyRequestsError(f"branch {branch!r} kept moving, try again")


async def create_commit(request: Request) -> Response:
    body = await read_json(request, CommitCreation)
    repo = writable(repository(request), body.force)
    branch = request.path_params["branch"]
    resolve_branch(request, repo, branch)
    g = services(request).graveler
    committer = current_user(request).username
    source = query_str(request, "source_metarange")

    def work() -> str:
        if source:
            return commit_metarange(
                g,
                repo,
                branch,
                source,
                committer=committer,
                message=body.message,
                metadata=body.metadata,
                date=body.date,
                allow_empty=bool(body.allow_empty),
            )
        return g.commit(
            repo,
            branch,
            committer=committer,
            message=body.message,
            metadata=body.metadata,
            date=body.date,
            allow_empty=bool(body.allow_empty),
        )

    commit_id = await run_blocking(work)
    return json_response(commit_body(commit_id, g.get_commit(repo, commit_id)), 201)


async def get_commit(request: Request) -> Response:
    repo = repository(request)
    commit_id = resolve_ref(request, repo, request.path_params["commitId"]).commit_id
    commit = services(request).graveler.get_commit(repo, commit_id)
    return json_response(commit_body(commit_id, commit))


@dataclass(frozen=True, slots=True)
class LogQuery:
    """What a log request asks for, parsed."""

    after: str
    amount: int
    objects: tuple[str, ...]
    prefixes: tuple[str, ...]
    limit: bool
    first_parent: bool
    since: float | None
    stop_at: str


def _parse_since(raw: str) -> float | None:
    """The ``since`` date-time as epoch seconds; naive times are taken as UTC."""
    if not raw:
        return None
    try:
        moment = datetime.fromisoformat(raw.replace(" ", "+"))
    except ValueError:
        raise ApiError(400, f"query parameter 'since' is not a date-time: {raw!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def _since_pruned(
    walk: Iterator[tuple[str, Commit]], start: str, since: float, first_parent: bool
) -> Iterator[tuple[str, Commit]]:
    """Drop commits older than ``since`` and whatever is reachable only through them.

    The walk yields every child before its parents (generation order), so a commit
    that no kept child points at when it comes up is never wanted, and the walk ends
    once no kept commit has a parent left to visit.
    """
    pending = {start}
    for commit_id, commit in walk:
        if commit_id not in pending:
            continue
        pending.discard(commit_id)
        if commit.creation_date >= since:
            yield commit_id, commit
            pending.update(commit.parents[:1] if first_parent else commit.parents)
        if not pending:
            return


def _touches(g: Graveler, repo: Repository, commit_id: str, commit: Commit, query: LogQuery) -> bool:
    """Whether a commit changed any of the requested objects or prefixes.

    Merge commits are left out, as in lakeFS; a root commit changed whatever it holds.
    """
    if len(commit.parents) > 1:
        return False
    this = ResolvedRef(commit_id)
    if not commit.parents:
        return any(g.get(repo, this, key) is not None for key in query.objects) or any(
            next(g.iterate(repo, this, prefix=prefix), None) is not None for prefix in query.prefixes
        )
    parent_id = commit.parents[0]
    if g.tree_of(repo, parent_id) == commit.tree_id:
        return False
    parent = ResolvedRef(parent_id)
    return any(g.get(repo, parent, key) != g.get(repo, this, key) for key in query.objects) or any(
        next(g.diff(repo, parent_id, commit_id, prefix=prefix), None) is not None for prefix in query.prefixes
    )


def log_page(g: Graveler, repo: Repository, start: str, query: LogQuery) -> tuple[list[dict[str, Any]], bool]:
    """One page of the log from commit ``start`` and whether more follow."""
    walk = g.log(repo, start, first_parent=query.first_parent)
    if query.since is not None:
        walk = _since_pruned(walk, start, query.since, query.first_parent)
    if query.after:
        for commit_id, _ in walk:
            if commit_id == query.after:
                break
    filtered = bool(query.objects or query.prefixes)
    results: list[dict[str, Any]] = []
    for commit_id, commit in walk:
        if not filtered or _touches(g, repo, commit_id, commit, query):
            if len(results) == query.amount:
                return results, True
            results.append(commit_body(commit_id, commit))
            if query.limit and len(results) == query.amount:
                break
        if commit_id == query.stop_at:
            break
    return results, False


async def log_commits(request: Request) -> Response:
    repo = repository(request)
    start = resolve_ref(request, repo, request.path_params["ref"]).commit_id
    after = query_str(request, "after")
    stop_at = query_str(request, "stop_at")
    query = LogQuery(
        after=resolve_ref(request, repo, after).commit_id if after else "",
        amount=page_amount(request),
        objects=tuple(p for p in query_params(request).getlist("objects") if p),
        prefixes=tuple(p for p in query_params(request).getlist("prefixes") if p),
        limit=query_bool(request, "limit"),
        first_parent=query_bool(request, "first_parent"),
        since=_parse_since(query_str(request, "since")),
        stop_at=resolve_ref(request, repo, stop_at).commit_id if stop_at else "",
    )
    g = services(request).graveler
    results, has_more = await run_blocking(log_page, g, repo, start, query)
    next_offset = results[-1]["id"] if results else ""
    return json_response(paginated(results, has_more, next_offset))


routes = [
    Route("/repositories/{repository}/branches/{branch}/commits", create_commit, methods=["POST"]),
    Route("/repositories/{repository}/commits/{commitId:ref}", get_commit, methods=["GET"]),
    Route("/repositories/{repository}/refs/{ref:ref}/commits", log_commits, methods=["GET"]),
]
