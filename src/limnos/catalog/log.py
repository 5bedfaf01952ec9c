"""The log of a ref: history newest first, with lakeFS's filters.

Filters: by the objects or prefixes a commit changed, by date (``since``), first parents
only, a commit to stop at, and paging after a commit id.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from limnos.catalog.results import CommitInfo
from limnos.graveler.engine import Graveler
from limnos.graveler.model import Commit, Repository
from limnos.graveler.revparse import ResolvedRef


@dataclass(frozen=True, slots=True)
class LogQuery:
    """What a log asks for. ``after`` and ``stop_at`` are ref expressions ("" for none);
    ``since`` is epoch seconds."""

    amount: int
    after: str = ""
    objects: tuple[str, ...] = ()
    prefixes: tuple[str, ...] = ()
    limit: bool = False
    first_parent: bool = False
    since: float | None = None
    stop_at: str = ""


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


def touches(
    g: Graveler,
    repo: Repository,
    commit_id: str,
    commit: Commit,
    objects: tuple[str, ...],
    prefixes: tuple[str, ...],
) -> bool:
    """Whether a commit changed any of ``objects`` or anything under ``prefixes``.

    Merge commits are left out, as in lakeFS; a root commit changed whatever it holds.
    """
    if len(commit.parents) > 1:
        return False
    this = ResolvedRef(commit_id)
    if not commit.parents:
        return any(g.get(repo, this, key) is not None for key in objects) or any(
            next(g.iterate(repo, this, prefix=prefix), None) is not None for prefix in prefixes
        )
    parent_id = commit.parents[0]
    if g.tree_of(repo, parent_id) == commit.tree_id:
        return False
    parent = ResolvedRef(parent_id)
    same = g.committed.same_values
    return any(not same(g.get(repo, parent, key), g.get(repo, this, key)) for key in objects) or any(
        next(g.diff(repo, parent_id, commit_id, prefix=prefix), None) is not None for prefix in prefixes
    )


def log_page(
    g: Graveler, repo: Repository, start: str, query: LogQuery, *, after: str = "", stop_at: str = ""
) -> tuple[list[CommitInfo], bool]:
    """One page of the log from commit ``start`` and whether more follow; ``after`` and
    ``stop_at`` are the commit ids the query's refs resolved to."""
    walk = g.log(repo, start, first_parent=query.first_parent)
    if query.since is not None:
        walk = _since_pruned(walk, start, query.since, query.first_parent)
    if after:
        for commit_id, _ in walk:
            if commit_id == after:
                break
    filtered = bool(query.objects or query.prefixes)
    results: list[CommitInfo] = []
    for commit_id, commit in walk:
        if not filtered or touches(g, repo, commit_id, commit, query.objects, query.prefixes):
            if len(results) == query.amount:
                return results, True
            results.append(CommitInfo(commit_id, commit))
            if query.limit and len(results) == query.amount:
                break
        if commit_id == stop_at:
            break
    return results, False
