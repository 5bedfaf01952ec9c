"""GC rules of a repository: how long each branch keeps the objects that only its older
commits reference. Garbage collection reads them with :meth:`GarbageCollectionRules.rules`.

A read-only repository refuses changes to its rules, as in lakeFS.
"""

from __future__ import annotations

import builtins

from limnos.catalog.errors import NotFound
from limnos.catalog.results import GCRules
from limnos.catalog.stores import Part, Stores
from limnos.graveler.gc_rules import GCRulesStore
from limnos.kv.store import KVStore


class GarbageCollectionRules(Part):
    """Operations on the GC rules of a repository."""

    def __init__(self, stores: Stores, kv: KVStore) -> None:
        super().__init__(stores)
        self._store = GCRulesStore(kv)

    def rules(self, repository: str) -> GCRules | None:
        """The repository's rules; None while none are set."""
        return self._store.get(self._stores.repository(repository))

    def get(self, repository: str) -> GCRules:
        """The repository's rules (NotFound while none are set, as in lakeFS)."""
        rules = self.rules(repository)
        if rules is None:
            raise NotFound(f"GC rules of repository {repository!r} not found: none are set")
        return rules

    async def set(
        self, repository: str, default_retention_days: int, branches: builtins.list[tuple[str, int]]
    ) -> None:
        """Replace the repository's rules: a default retention in days, and (branch,
        days) pairs overriding it (Invalid when a period is negative or a branch twice)."""
        rules = GCRules.of(default_retention_days, branches)
        repo = self._stores.repository(repository)
        self._graveler.check_writable(repo)
        await self._stores.writes.run(lambda: self._store.set(repo, rules))

    async def delete(self, repository: str) -> None:
        """Remove the repository's rules (none set is no error, as in lakeFS)."""
        repo = self._stores.repository(repository)
        self._graveler.check_writable(repo)
        await self._stores.writes.run(lambda: self._store.delete(repo))

    def check_allowed(self, repository: str) -> None:
        """Whether the repository's rules may be changed by this caller (NotFound when
        there is no such repository)."""
        self._stores.repository(repository)
