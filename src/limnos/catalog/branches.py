"""Branches: list, create, read, delete, and resetting what they hold."""

from __future__ import annotations

from typing import Literal

from limnos.catalog.listing import take_page
from limnos.catalog.results import Page, RefInfo
from limnos.catalog.stores import Part
from limnos.graveler import revparse
from limnos.graveler.names import check_path

#: What a reset drops: one object's uncommitted change, those under a prefix, or all.
ResetScope = Literal["object", "common_prefix", "reset"]


class Branches(Part):
    """Operations on the branches of a repository."""

    def list(
        self, repository: str, *, prefix: str = "", after: str = "", amount: int, show_hidden: bool = False
    ) -> Page[RefInfo]:
        """Branches in name order after ``after``; hidden ones only with ``show_hidden``."""
        repo = self._stores.repository(repository)
        branches = self._graveler.list_branches(repo, start=after, prefix=prefix)
        shown = (RefInfo(n, b.commit_id) for n, b in branches if show_hidden or not b.hidden)
        items, has_more = take_page(shown, after, amount, lambda ref: ref.name)
        return Page(items, has_more)

    async def create(
        self, repository: str, name: str, source: str, *, force: bool = False, hidden: bool = False
    ) -> str:
        """Create branch ``name`` at the committed state of ``source``; its commit id."""
        repo = self._stores.repository(repository, force=force)
        revparse.require_commit(source, _no_commit)
        graveler = self._graveler
        return await self._stores.writes.run(
            lambda: graveler.create_branch(repo, name, source, hidden=hidden)
        )

    def get(self, repository: str, name: str) -> RefInfo:
        """The branch and its head commit."""
        repo = self._stores.repository(repository)
        return RefInfo(name, self._graveler.get_branch(repo, name).commit_id)

    async def delete(self, repository: str, name: str, *, force: bool = False) -> None:
        """Delete a branch and its uncommitted changes; never the default branch (Forbidden)."""
        repo = self._stores.repository(repository, force=force)
        graveler = self._graveler
        await self._stores.writes.run(lambda: graveler.delete_branch(repo, name))

    def reset(
        self, repository: str, name: str, scope: ResetScope, path: str = "", *, force: bool = False
    ) -> None:
        """Drop uncommitted changes: of the object at ``path``, under the prefix ``path``,
        or of the whole branch."""
        repo = self._stores.repository(repository, force=force)
        if scope == "reset":
            self._graveler.reset_branch(repo, name)
        elif scope == "common_prefix":
            self._graveler.reset_prefix(repo, name, path)
        else:
            check_path(path)
            self._graveler.reset_key(repo, name, path)

    def hard_reset(self, repository: str, name: str, ref: str, *, force: bool = False) -> None:
        """Point the branch at ``ref``'s commit; refused while it has uncommitted changes
        unless ``force``."""
        repo = self._stores.repository(repository, force=force)
        revparse.require_commit(ref)
        self._graveler.hard_reset(repo, name, ref, force=force)


def _no_commit(source: str) -> str:
    """What a client is told when a branch would start from a staging area (``main$``)."""
    return f"source reference {source!r}: can't create a branch without commit"
