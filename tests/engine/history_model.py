"""The plain model of commit history that the model tests check the engine against."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol


class ModelCommit(Protocol):
    parents: tuple[str, ...]
    generation: int


def ancestors(commits: Mapping[str, ModelCommit], commit_id: str) -> set[str]:
    """``commit_id`` and every commit reachable from it."""
    seen = {commit_id}
    todo = [commit_id]
    while todo:
        for parent in commits[todo.pop()].parents:
            if parent not in seen:
                seen.add(parent)
                todo.append(parent)
    return seen


def merge_base(commits: Mapping[str, ModelCommit], left: str, right: str) -> str | None:
    """The common ancestor of highest generation (ties: smallest id), or None."""
    common = ancestors(commits, left) & ancestors(commits, right)
    if not common:
        return None
    return min(common, key=lambda c: (-commits[c].generation, c))
