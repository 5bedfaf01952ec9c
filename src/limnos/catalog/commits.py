"""Commits: commit a branch's changes or a given metarange, read a commit, walk the log."""

from __future__ import annotations

from limnos.catalog.log import LogQuery, log_page
from limnos.catalog.results import CommitInfo, Page
from limnos.catalog.stores import Part
from limnos.catalog.threads import run_blocking
from limnos.graveler import revparse
from limnos.graveler.engine import Graveler
from limnos.graveler.errors import DirtyBranchError, TooManyRequestsError
from limnos.graveler.model import Repository
from limnos.kv.retry import retry


class Commits(Part):
    """Operations that create or read commits."""

    async def commit(
        self,
        repository: str,
        branch: str,
        *,
        committer: str,
        message: str,
        metadata: dict[str, str] | None = None,
        date: int | None = None,
        allow_empty: bool = False,
        force: bool = False,
        source_metarange: str = "",
    ) -> CommitInfo:
        """Commit the branch's uncommitted changes, or with ``source_metarange`` make that
        stored metarange the branch's new tree (the branch must then have no uncommitted
        changes)."""
        repo = self._stores.repository(repository, force=force)
        self._stores.resolve_branch(repo, branch)
        g = self._graveler

        def work() -> CommitInfo:
            if source_metarange:
                commit_id = commit_metarange(
                    g,
                    repo,
                    branch,
                    source_metarange,
                    committer=committer,
                    message=message,
                    metadata=metadata,
                    date=date,
                    allow_empty=allow_empty,
                )
            else:
                commit_id = g.commit(
                    repo,
                    branch,
                    committer=committer,
                    message=message,
                    metadata=metadata,
                    date=date,
                    allow_empty=allow_empty,
                )
            return CommitInfo(commit_id, g.get_commit(repo, commit_id))

        # A commit writes ranges: work of unknown length, off the event loop.
        return await run_blocking(work)

    def get(self, repository: str, ref: str) -> CommitInfo:
        """The commit a ref expression names."""
        repo = self._stores.repository(repository)
        revparse.require_commit(ref, revparse.should_point_to_a_commit)
        commit_id = self._stores.resolve(repo, ref).commit_id
        return CommitInfo(commit_id, self._graveler.get_commit(repo, commit_id))

    async def log(self, repository: str, ref: str, query: LogQuery) -> Page[CommitInfo]:
        """A page of the history of ``ref``, newest first, filtered by ``query``."""
        repo = self._stores.repository(repository)
        start = self._stores.resolve(repo, ref).commit_id
        after = self._stores.resolve(repo, query.after).commit_id if query.after else ""
        stop_at = self._stores.resolve(repo, query.stop_at).commit_id if query.stop_at else ""
        items, has_more = await run_blocking(
            log_page, self._graveler, repo, start, query, after=after, stop_at=stop_at
        )
        return Page(items, has_more)


def commit_metarange(
    g: Graveler,
    repo: Repository,
    branch: str,
    tree_id: str,
    *,
    committer: str,
    message: str,
    metadata: dict[str, str] | None,
    date: int | None,
    allow_empty: bool,
) -> str:
    """Commit an existing metarange of the repository as the branch's new tree.

    The branch must have no uncommitted changes. A metarange that is not stored in the
    repository's storage namespace is refused as bad input.
    """
    g.require_metarange(repo, tree_id)

    def attempt() -> str | None:
        try:
            return g.commit_tree(
                repo,
                branch,
                tree_id,
                expected_head=g.get_branch(repo, branch).commit_id,
                committer=committer,
                message=message,
                metadata=metadata,
                date=date,
                allow_empty=allow_empty,
            )
        except DirtyBranchError:
            # lakeFS words this refusal apart from a merge's into a dirty branch.
            raise DirtyBranchError(
                f"branch {branch!r}: cannot use source MetaRange on a branch with uncommitted changes"
            ) from None

    busy = f"Too many attempts, try again later: branch {branch!r} kept moving"
    return retry(attempt, busy=busy, error=TooManyRequestsError)
