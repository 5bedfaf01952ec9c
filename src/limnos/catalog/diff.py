"""Differences: a branch's uncommitted changes, and two refs compared two-dot or three-dot.

* uncommitted: what the branch's staging area changes against its head commit;
* two-dot: the left ref's commit against the right ref as it reads (a branch's staged
  changes included);
* three-dot: what the right ref changed since the merge base, as a merge of right into
  left would see it (committed data only); paths both sides changed differently are
  reported as conflicts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from limnos.catalog.entry import decode_entry
from limnos.catalog.listing import Listed, list_page
from limnos.catalog.results import Difference, DiffKind, DiffType, Page
from limnos.catalog.stores import Part
from limnos.catalog.threads import run_blocking
from limnos.graveler import revparse
from limnos.graveler.engine import Change, Graveler, change_kind
from limnos.graveler.model import Repository
from limnos.graveler.revparse import ResolvedRef

Scan = Callable[[str], Iterator[tuple[str, Difference]]]


def difference(change: Change, kind: DiffKind | None = None, *, uncommitted: bool = False) -> Difference:
    """An engine change with its entries decoded, reported as ``kind`` (default: its own).

    Its size is the object's on the side that has it, right first; an ``uncommitted``
    removal reports 0, as lakeFS does (its staging area holds only the tombstone).
    """
    left = None if change.left is None else decode_entry(change.left)
    right = None if change.right is None else decode_entry(change.right)
    shown = right or (None if uncommitted else left)
    return Difference(change.key, kind or change.kind, left, right, shown.size if shown is not None else 0)


def decoded(changes: Iterator[Change], *, uncommitted: bool = False) -> Iterator[tuple[str, Difference]]:
    """Engine changes as (path, difference) with their entries decoded."""
    for change in changes:
        yield change.key, difference(change, uncommitted=uncommitted)


def with_staged(
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
        if not g.committed.same_values(before, s.right):
            yield Change(s.key, change_kind(before, s.right), before, s.right)
        s = next(staged, None)


def since_base(
    g: Graveler, repo: Repository, base: str | None, changes: Iterator[Change]
) -> Iterator[tuple[str, Difference]]:
    """What merging right into left would change: differences right made since ``base``.

    Keys only left changed are dropped; keys both sides changed differently are
    conflicts. Without a common ancestor everything is new on both sides.
    """
    base_ref = ResolvedRef(base) if base is not None else None
    # Content decides, not entry bytes: the same bytes uploaded again are no change.
    same = g.committed.same_values
    for change in changes:
        before = g.get(repo, base_ref, change.key) if base_ref is not None else None
        if same(change.right, before):
            continue
        yield change.key, difference(change, None if same(change.left, before) else "conflict")


def refs_scan(
    g: Graveler, repo: Repository, left: ResolvedRef, right: ResolvedRef, kind: DiffType, prefix: str
) -> Scan:
    """A scan over the differences between two refs, for :func:`list_page`."""
    base: str | None = None
    if kind == "three_dot":
        base = g.merge_base(repo, left.commit_id, right.commit_id)

    def scan(start: str) -> Iterator[tuple[str, Difference]]:
        changes = g.diff(repo, left.commit_id, right.commit_id, start=start, prefix=prefix)
        if kind == "three_dot" and base != left.commit_id:
            return since_base(g, repo, base, changes)
        if kind == "two_dot" and right.branch_name is not None and right.staging_tokens:
            changes = with_staged(
                g, repo, left.commit_id, right.branch_name, changes, start=start, prefix=prefix
            )
        return decoded(changes)

    return scan


def uncommitted_scan(g: Graveler, repo: Repository, branch: str, prefix: str) -> Scan:
    """A scan over a branch's uncommitted changes, for :func:`list_page`."""

    def scan(start: str) -> Iterator[tuple[str, Difference]]:
        return decoded(g.diff_uncommitted(repo, branch, start=start, prefix=prefix), uncommitted=True)

    return scan


class Diffs(Part):
    """Listings of differences, with common prefixes folded at a delimiter."""

    def uncommitted(
        self,
        repository: str,
        branch: str,
        *,
        prefix: str = "",
        delimiter: str = "",
        after: str = "",
        amount: int,
    ) -> Page[Listed[Difference]]:
        """A page of the branch's uncommitted changes (NotFound for a missing branch, even
        with nothing to list)."""
        repo = self._stores.repository(repository)
        self._graveler.get_branch(repo, branch)
        scan = uncommitted_scan(self._graveler, repo, branch, prefix)
        items, has_more = list_page(scan, prefix=prefix, delimiter=delimiter, after=after, amount=amount)
        return Page(items, has_more)

    async def refs(
        self,
        repository: str,
        left: str,
        right: str,
        *,
        kind: DiffType = "three_dot",
        prefix: str = "",
        delimiter: str = "",
        after: str = "",
        amount: int,
    ) -> Page[Listed[Difference]]:
        """A page of the differences between two refs."""
        repo = self._stores.repository(repository)
        # Only a two-dot diff's right side may be a staging area (``main$``), as in lakeFS.
        revparse.require_commit(left)
        if kind == "three_dot":
            revparse.require_commit(right)
        left_ref = self._stores.resolve(repo, left)
        right_ref = self._stores.resolve(repo, right)

        def work() -> Page[Listed[Difference]]:
            scan = refs_scan(self._graveler, repo, left_ref, right_ref, kind, prefix)
            items, has_more = list_page(scan, prefix=prefix, delimiter=delimiter, after=after, amount=amount)
            return Page(items, has_more)

        return await run_blocking(work)
