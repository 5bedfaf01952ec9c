"""Branch protection rules of a repository: read, replace (conditionally), add, remove.

The rules are enforced by the engine on every write (see ``graveler/protection.py``);
this part only manages them. A read-only repository refuses changes to its rules, as in
lakeFS.
"""

from __future__ import annotations

from limnos.catalog.errors import NotFound
from limnos.catalog.results import ProtectionRules
from limnos.catalog.stores import Part
from limnos.graveler import protection


class BranchProtection(Part):
    """Operations on the branch protection rules of a repository."""

    def rules(self, repository: str) -> ProtectionRules:
        """The repository's patterns and their ETag."""
        patterns = self._stores.repository(repository).protected_branches
        return ProtectionRules(patterns, protection.etag(patterns))

    async def replace(self, repository: str, patterns: list[str], *, if_match: str | None = None) -> None:
        """Make ``patterns`` the repository's rules. With ``if_match``, only while the rules
        are at that ETag ("" for no rules), else PreconditionFailed."""
        protection.normalized(patterns)  # bad input is reported first, whatever the state
        graveler = self._graveler
        await self._stores.writes.run(
            lambda: graveler.update_protected_branches(repository, lambda _: patterns, if_match=if_match)
        )

    async def add(self, repository: str, pattern: str) -> None:
        """Add one pattern (one already there is no error, as in lakeFS)."""
        protection.check_pattern(pattern)
        graveler = self._graveler
        await self._stores.writes.run(
            lambda: graveler.update_protected_branches(repository, lambda current: (*current, pattern))
        )

    async def remove(self, repository: str, pattern: str) -> None:
        """Remove one pattern (NotFound when the repository has no such rule)."""

        def without(current: tuple[str, ...]) -> tuple[str, ...]:
            if pattern not in current:
                raise NotFound(f"branch protection rule {pattern!r} of repository {repository!r} not found")
            return tuple(p for p in current if p != pattern)

        graveler = self._graveler
        await self._stores.writes.run(lambda: graveler.update_protected_branches(repository, without))

    def check_allowed(self, repository: str) -> None:
        """Whether the repository's rules may be changed by this caller (NotFound when
        there is no such repository)."""
        self._stores.repository(repository)
