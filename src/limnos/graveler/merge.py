"""Merge, revert and cherry-pick: three-way merges of committed trees onto a branch."""

from __future__ import annotations

from collections.abc import Callable

from limnos.graveler import revparse
from limnos.graveler.committed.merge import STRATEGIES as STRATEGIES
from limnos.graveler.committed.merge import MergeStrategy as MergeStrategy
from limnos.graveler.engine import Graveler
from limnos.graveler.errors import (
    ConflictError,
    DirtyBranchError,
    GravelerError,
    TooManyRequestsError,
    ValidationError,
)
from limnos.graveler.model import Commit, Repository
from limnos.kv.retry import retry

# Metadata keys a cherry-picked commit records about its origin (lakeFS's names).
CHERRY_PICK_ORIGIN = "cherry-pick-origin"
CHERRY_PICK_COMMITTER = "cherry-pick-committer"


def merge_strategy(name: str) -> MergeStrategy:
    """The merge strategy named ``name`` ("" for the default); ValidationError otherwise."""
    for strategy in STRATEGIES:
        if name == strategy:
            return strategy
    raise ValidationError(f"invalid merge strategy: {name!r} (use 'dest-wins' or 'source-wins')")


def _clean_head(g: Graveler, repo: Repository, branch_name: str) -> str:
    """The head commit of a branch that must have no staged changes (checked first, so a
    dirty branch is reported as such rather than as a conflict)."""
    branch = g.get_branch(repo, branch_name)
    if g.is_dirty(branch):
        raise DirtyBranchError(f"branch {branch_name!r}: uncommitted changes (dirty branch)")
    return branch.commit_id


def _until_landed(branch_name: str, attempt: Callable[[], str | None]) -> str:
    """Repeat ``attempt`` (compute a tree against the head, commit it) until it lands."""
    busy = f"Too many attempts, try again later: branch {branch_name!r} kept moving"
    return retry(attempt, busy=busy, error=TooManyRequestsError)


def merge(
    g: Graveler,
    repo: Repository,
    source_ref: str,
    dest_branch: str,
    *,
    committer: str,
    message: str = "",
    metadata: dict[str, str] | None = None,
    strategy: MergeStrategy = "",
    allow_empty: bool = False,
    squash: bool = False,
) -> str:
    """Merge the committed state of ``source_ref`` into ``dest_branch``; returns the commit.

    Raises MergeConflictError (conflicts), DirtyBranchError (staged changes on the
    destination) or NoChangesError (nothing to merge, unless ``allow_empty``).
    """
    merge_strategy(strategy)
    g.check_writable(repo)  # before any tree is computed; a protected branch takes merges
    revparse.require_commit(source_ref)
    source = g.resolve(repo, source_ref).commit_id
    ns = repo.storage_namespace
    message = message or f"Merge '{source_ref}' into '{dest_branch}'"

    def attempt() -> str | None:
        head = _clean_head(g, repo, dest_branch)
        base = g.merge_base(repo, head, source)
        base_tree = g.tree_of(repo, base) if base is not None else g.committed.empty_tree(ns)
        tree = g.committed.merge(ns, base_tree, g.tree_of(repo, head), g.tree_of(repo, source), strategy)
        return g.commit_tree(
            repo,
            dest_branch,
            tree,
            expected_head=head,
            committer=committer,
            message=message,
            metadata=metadata,
            extra_parent=None if squash else source,
            allow_empty=allow_empty,
            merging=True,
        )

    return _until_landed(dest_branch, attempt)


def _parent_tree(
    g: Graveler,
    repo: Repository,
    commit: Commit,
    parent_number: int,
    ref: str,
    no_parent_chosen: type[GravelerError],
    operation: str,
) -> str:
    """The tree of the chosen parent (the empty tree for a root commit).

    A merge commit needs ``parent_number``; without it ``no_parent_chosen`` is raised
    (lakeFS answers 409 for a revert and 400 for a cherry-pick), naming the ``operation``.
    """
    if len(commit.parents) > 1 and parent_number < 1:
        raise no_parent_chosen(
            f"must specify 1-based parent number for {operation} merge commit: {ref!r} "
            f"has {len(commit.parents)} parents"
        )
    if parent_number > max(1, len(commit.parents)):
        raise ValidationError(
            f"given commit does not have the given parent number: {ref!r} has no parent {parent_number}"
        )
    if not commit.parents:
        return g.committed.empty_tree(repo.storage_namespace)
    return g.tree_of(repo, commit.parents[max(parent_number, 1) - 1])


def revert(
    g: Graveler,
    repo: Repository,
    branch_name: str,
    ref: str,
    *,
    committer: str,
    parent_number: int = 0,
    allow_empty: bool = False,
    message: str = "",
    metadata: dict[str, str] | None = None,
) -> str:
    """Commit the inverse of ``ref``'s changes on top of a branch (not a protected one)."""
    g.check_branch_committable(repo, branch_name)
    revparse.require_commit(ref)
    target = g.resolve(repo, ref).commit_id
    commit = g.get_commit(repo, target)
    parent_tree = _parent_tree(g, repo, commit, parent_number, ref, ConflictError, "reverting")

    def attempt() -> str | None:
        head = _clean_head(g, repo, branch_name)
        tree = g.committed.merge(repo.storage_namespace, commit.tree_id, g.tree_of(repo, head), parent_tree)
        return g.commit_tree(
            repo,
            branch_name,
            tree,
            expected_head=head,
            committer=committer,
            message=message or f"Revert {ref}",
            metadata=metadata,
            allow_empty=allow_empty,
        )

    return _until_landed(branch_name, attempt)


def cherry_pick(
    g: Graveler,
    repo: Repository,
    branch_name: str,
    ref: str,
    *,
    committer: str,
    parent_number: int = 0,
    message: str = "",
    metadata: dict[str, str] | None = None,
) -> str:
    """Apply ``ref``'s changes on top of a branch as a new commit.

    The commit keeps ``ref``'s message and metadata unless ``message`` / ``metadata``
    replace them, and records where it came from, as lakeFS does: ``cherry-pick-origin``
    (the picked commit's id) and ``cherry-pick-committer`` (its committer). A protected
    branch takes no cherry-picks: only merges.
    """
    g.check_branch_committable(repo, branch_name)
    revparse.require_commit(ref)
    target = g.resolve(repo, ref).commit_id
    commit = g.get_commit(repo, target)
    parent_tree = _parent_tree(g, repo, commit, parent_number, ref, ValidationError, "cherry-picking")
    base_metadata = {
        **(commit.metadata_dict if metadata is None else metadata),
        CHERRY_PICK_ORIGIN: target,
        CHERRY_PICK_COMMITTER: commit.committer,
    }

    def attempt() -> str | None:
        head = _clean_head(g, repo, branch_name)
        tree = g.committed.merge(repo.storage_namespace, parent_tree, g.tree_of(repo, head), commit.tree_id)
        return g.commit_tree(
            repo,
            branch_name,
            tree,
            expected_head=head,
            committer=committer,
            message=message or commit.message,
            metadata=base_metadata,
        )

    return _until_landed(branch_name, attempt)
