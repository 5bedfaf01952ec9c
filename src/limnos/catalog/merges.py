"""Merges into a branch, their merge base, reverts and cherry-picks."""

from __future__ import annotations

from limnos.catalog.errors import Invalid, NotFound
from limnos.catalog.results import CommitInfo, MergeBase
from limnos.catalog.stores import Part
from limnos.catalog.threads import run_blocking
from limnos.graveler import merge as merging
from limnos.graveler import revparse

# lakeFS records the merge strategy of every merge commit under this metadata key.
STRATEGY_KEY = ".lakefs.merge.strategy"


class Merges(Part):
    """Three-way merges of committed trees onto a branch."""

    async def merge(
        self,
        repository: str,
        source: str,
        destination: str,
        *,
        committer: str,
        message: str = "",
        metadata: dict[str, str] | None = None,
        strategy: str = "",
        allow_empty: bool = False,
        squash: bool = False,
        force: bool = False,
    ) -> str:
        """Merge the committed state of ``source`` into the branch ``destination``; the
        commit id the branch then points at. ``force`` also allows an empty merge, as
        lakeFS documents."""
        repo = self._stores.repository(repository, force=force)
        chosen = merging.merge_strategy(strategy)
        recorded = {**(metadata or {}), STRATEGY_KEY: chosen or "default"}
        # Three-way merge and commit: work of unknown length, off the event loop.
        return await run_blocking(
            merging.merge,
            self._graveler,
            repo,
            source,
            destination,
            committer=committer,
            message=message,
            metadata=recorded,
            strategy=chosen,
            allow_empty=allow_empty or force,
            squash=squash,
        )

    async def base(self, repository: str, source: str, destination: str) -> MergeBase:
        """The best common ancestor of two refs (NotFound when they have none)."""
        repo = self._stores.repository(repository)
        revparse.require_commit(source)
        revparse.require_commit(destination)
        source_id = self._stores.resolve(repo, source).commit_id
        destination_id = self._stores.resolve(repo, destination).commit_id
        base = await run_blocking(self._graveler.merge_base, repo, destination_id, source_id)
        if base is None:
            raise NotFound(f"no merge base: {source!r} and {destination!r} have no common ancestor")
        return MergeBase(source_id, destination_id, base)

    async def revert(
        self,
        repository: str,
        branch: str,
        ref: str,
        *,
        committer: str,
        parent_number: int = 0,
        allow_empty: bool = False,
        message: str = "",
        metadata: dict[str, str] | None = None,
        force: bool = False,
    ) -> str:
        """Commit the inverse of ``ref``'s changes on the branch; the new commit id."""
        repo = self._stores.repository(repository, force=force)
        _check_parent_number(parent_number)
        return await run_blocking(
            merging.revert,
            self._graveler,
            repo,
            branch,
            ref,
            committer=committer,
            parent_number=parent_number,
            allow_empty=allow_empty,
            message=message,
            metadata=metadata,
        )

    async def cherry_pick(
        self,
        repository: str,
        branch: str,
        ref: str,
        *,
        committer: str,
        parent_number: int = 0,
        message: str = "",
        metadata: dict[str, str] | None = None,
        force: bool = False,
    ) -> CommitInfo:
        """Replay ``ref``'s changes on the branch as a new commit."""
        repo = self._stores.repository(repository, force=force)
        _check_parent_number(parent_number)
        g = self._graveler

        def work() -> CommitInfo:
            commit_id = merging.cherry_pick(
                g,
                repo,
                branch,
                ref,
                committer=committer,
                parent_number=parent_number,
                message=message,
                metadata=metadata,
            )
            return CommitInfo(commit_id, g.get_commit(repo, commit_id))

        return await run_blocking(work)


def _check_parent_number(value: int) -> None:
    if value < 0:
        raise Invalid(f"parent_number: invalid value: validation error: {value} is negative")
