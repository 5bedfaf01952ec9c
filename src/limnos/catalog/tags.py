"""Tags: list, create, read, delete."""

from __future__ import annotations

from limnos.catalog.listing import take_page
from limnos.catalog.results import Page, RefInfo
from limnos.catalog.stores import Part
from limnos.graveler import revparse


class Tags(Part):
    """Operations on the tags of a repository."""

    def list(self, repository: str, *, prefix: str = "", after: str = "", amount: int) -> Page[RefInfo]:
        """Tags in name order after ``after``."""
        repo = self._stores.repository(repository)
        tags = self._graveler.list_tags(repo, start=after, prefix=prefix)
        items, has_more = take_page(
            (RefInfo(n, t.commit_id) for n, t in tags), after, amount, lambda r: r.name
        )
        return Page(items, has_more)

    async def create(self, repository: str, name: str, ref: str, *, force: bool = False) -> RefInfo:
        """Create tag ``name`` at ``ref``'s commit (Conflict when the name is taken)."""
        repo = self._stores.repository(repository, force=force)
        revparse.require_commit(ref, revparse.should_point_to_a_commit)
        graveler = self._graveler
        commit_id = await self._stores.writes.run(lambda: graveler.create_tag(repo, name, ref))
        return RefInfo(name, commit_id)

    def get(self, repository: str, name: str) -> RefInfo:
        """The tag and its commit."""
        repo = self._stores.repository(repository)
        return RefInfo(name, self._graveler.get_tag(repo, name).commit_id)

    async def delete(self, repository: str, name: str, *, force: bool = False) -> None:
        """Delete a tag (NotFound when it does not exist)."""
        repo = self._stores.repository(repository, force=force)
        graveler = self._graveler
        await self._stores.writes.run(lambda: graveler.delete_tag(repo, name))
