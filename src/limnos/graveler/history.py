"""Walking commit history: log order and merge bases."""

from __future__ import annotations

import heapq
from collections.abc import Iterator

from limnos.graveler.model import Commit, Repository
from limnos.graveler.refs import RefStore


def walk(
    refs: RefStore, repo: Repository, start: str, *, first_parent: bool = False
) -> Iterator[tuple[str, Commit]]:
    """Commits reachable from ``start``, newest first (generation, then date).

    With ``first_parent`` only the chain of first parents is followed.
    """
    if first_parent:
        commit_id: str | None = start
        while commit_id is not None:
            commit = refs.get_commit(repo, commit_id)
            yield commit_id, commit
            commit_id = commit.parents[0] if commit.parents else None
        return
    seen = {start}
    first = refs.get_commit(repo, start)
    queue: list[tuple[int, int, str, Commit]] = [(-first.generation, -first.creation_date, start, first)]
    while queue:
        _, _, commit_id, commit = heapq.heappop(queue)
        yield commit_id, commit
        for parent_id in commit.parents:
            if parent_id in seen:
                continue
            seen.add(parent_id)
            parent = refs.get_commit(repo, parent_id)
            heapq.heappush(queue, (-parent.generation, -parent.creation_date, parent_id, parent))


def merge_base(refs: RefStore, repo: Repository, left: str, right: str) -> str | None:
    """The best common ancestor of two commits (highest generation), or None."""
    if left == right:
        return left
    left_bit, right_bit = 1, 2
    marks: dict[str, int] = {left: left_bit, right: right_bit}
    queue: list[tuple[int, str]] = []
    for commit_id in (left, right):
        commit = refs.get_commit(repo, commit_id)
        heapq.heappush(queue, (-commit.generation, commit_id))
    while queue:
        _, commit_id = heapq.heappop(queue)
        mark = marks[commit_id]
        if mark == left_bit | right_bit:
            return commit_id
        for parent_id in refs.get_commit(repo, commit_id).parents:
            before = marks.get(parent_id, 0)
            after = before | mark
            if after != before:
                marks[parent_id] = after
                parent = refs.get_commit(repo, parent_id)
                heapq.heappush(queue, (-parent.generation, parent_id))
    return None
