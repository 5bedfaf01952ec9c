"""Repositories: create (optionally with the sample data set), read, list, delete, their
metadata, and where their ranges and metaranges are stored."""

from __future__ import annotations

import builtins
import re
from collections.abc import Callable

from limnos.block.adapter import ObjectNotFoundError, join_uri
from limnos.catalog.errors import Invalid, NotFound
from limnos.catalog.listing import take_page
from limnos.catalog.results import Page
from limnos.catalog.sample_tree import build_tree
from limnos.catalog.stores import Part
from limnos.catalog.threads import run_blocking
from limnos.graveler.committed import CommittedStore
from limnos.graveler.committed.rangefile import CorruptObjectError
from limnos.graveler.model import Repository

# Range and metarange ids are SHA-256 digests; anything else names no stored object.
_OBJECT_ID = re.compile(r"[0-9a-f]{64}")


class Repositories(Part):
    """Operations on repositories as a whole."""

    def create(
        self,
        name: str,
        storage_namespace: str,
        default_branch: str = "main",
        *,
        sample_data: bool = False,
        bare: bool = False,
        read_only: bool = False,
        storage_id: str | None = None,
        committer: str = "",
    ) -> Repository:
        """Create a repository; with ``sample_data`` its default branch holds the sample set."""
        if storage_id:
            # One blockstore per installation, whose id is empty (lakeFS's single-storage setup).
            raise Invalid(
                f"storage id: invalid value: validation error: {storage_id!r} is not a storage of this "
                "installation"
            )
        initial_tree: Callable[[str, str], str] | None = None
        if sample_data and not bare:
            from limnos.sample import sample_files

            graveler = self._graveler

            def initial_tree(namespace: str, empty_tree: str) -> str:
                return build_tree(graveler.committed, graveler.block, namespace, empty_tree, sample_files())

        # One namespace, one spelling: the record and the claim hold the canonical form.
        namespace = self._stores.block.canonical_namespace(storage_namespace)
        return self._graveler.create_repository(
            name,
            namespace,
            default_branch or "main",
            bare=bare,
            read_only=read_only,
            initial_tree=initial_tree,
            committer=committer,
        )

    def get(self, name: str) -> Repository:
        """The repository named ``name``."""
        return self._graveler.get_repository(name)

    def list(self, *, prefix: str = "", after: str = "", search: str = "", amount: int) -> Page[Repository]:
        """Repositories in name order after ``after``; ``search`` keeps names containing it."""
        repos = self._graveler.list_repositories(start=after, prefix=prefix)
        matching = (repo for repo in repos if not search or search in repo.name)
        items, has_more = take_page(matching, after, amount, lambda repo: repo.name)
        return Page(items, has_more)

    def delete(self, name: str, *, force: bool = False) -> None:
        """Delete a repository and its refs; a read-only one only with ``force``."""
        self._graveler.delete_repository(name, force=force)

    def metadata(self, name: str) -> dict[str, str]:
        """The repository's metadata map."""
        return dict(self._graveler.get_repository(name).metadata)

    def set_metadata(self, name: str, values: dict[str, str]) -> None:
        """Add or replace metadata keys."""
        self._graveler.update_repository_metadata(name, lambda current: {**current, **values})

    def delete_metadata(self, name: str, keys: builtins.list[str]) -> None:
        """Remove metadata keys (missing ones are no error)."""
        doomed = set(keys)
        self._graveler.update_repository_metadata(
            name, lambda current: {k: v for k, v in current.items() if k not in doomed}
        )

    async def metarange_location(self, name: str, metarange_id: str) -> str:
        """The URI of a stored metarange of the repository (NotFound)."""
        repo = self._graveler.get_repository(name)
        committed = self._graveler.committed
        try:
            await run_blocking(committed.check_stored, repo.storage_namespace, metarange_id)
        except (ObjectNotFoundError, CorruptObjectError):
            raise NotFound(f"metarange not found: {metarange_id!r}") from None
        return join_uri(repo.storage_namespace, CommittedStore.address(metarange_id))

    async def range_location(self, name: str, range_id: str) -> str:
        """The URI of a stored range of the repository (NotFound)."""
        repo = self._graveler.get_repository(name)
        location = join_uri(repo.storage_namespace, CommittedStore.address(range_id))
        if not _OBJECT_ID.fullmatch(range_id) or not await run_blocking(self._stores.block.exists, location):
            raise NotFound(f"range not found: {range_id!r}")
        return location
