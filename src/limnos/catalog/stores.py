"""What every part of the catalog works with: the engine, the blockstore, the writes,
and the lookups each operation starts with."""

from __future__ import annotations

import time

import msgspec

from limnos.block.adapter import BlockAdapter
from limnos.catalog.errors import Invalid, NotABranchError
from limnos.catalog.writes import Writes
from limnos.graveler.engine import Graveler
from limnos.graveler.errors import NotFoundError
from limnos.graveler.model import Repository
from limnos.graveler.revparse import ResolvedRef


class Stores:
    """The engine, the blockstore and the writes of one process, with shared lookups."""

    def __init__(self, graveler: Graveler, block: BlockAdapter, writes: Writes) -> None:
        self.graveler = graveler
        self.block = block
        self.writes = writes

    def repository(self, name: str, *, force: bool | None = None) -> Repository:
        """The repository named ``name`` (NotFound). ``force`` lifts its read-only flag for
        this one call: lakeFS lets forced writes, commits and merges into a read-only
        repository, which is how such repositories are filled."""
        repo = self.graveler.get_repository(name)
        if force and repo.read_only:
            return msgspec.structs.replace(repo, read_only=False)
        return repo

    def require_presign(self) -> None:
        """Raise Invalid when the blockstore offers no presigned URLs."""
        if not self.block.can_presign:
            raise Invalid("operation not supported: presigned URLs are not supported by this blockstore")

    def presign_expiry(self, limit: int | None = None) -> int:
        """When a presigned URL made now stops working (Unix seconds): after the
        blockstore's presign lifetime, and not after ``limit``."""
        expires = int(time.time()) + self.block.presign_expiry_seconds
        return expires if limit is None else min(expires, limit)

    def resolve(self, repo: Repository, ref: str) -> ResolvedRef:
        """A ref expression resolved (NotFound, Invalid)."""
        return self.graveler.resolve(repo, ref)

    def branch(self, repo: Repository, name: str) -> ResolvedRef:
        """A plain branch name as a ref that sees its staging area.

        Tags, commits and expressions such as ``main@`` cannot be written to, and are
        NotFound like any missing branch.
        """
        try:
            branch = self.graveler.get_branch(repo, name)
        except NotFoundError:
            if self._resolves(repo, name):
                raise NotABranchError(name) from None
            raise
        return ResolvedRef(branch.commit_id, name, branch)

    def _resolves(self, repo: Repository, ref: str) -> bool:
        """Whether ``ref`` names something (a tag, a commit) though not a branch."""
        try:
            self.graveler.resolve(repo, ref)
        except (NotFoundError, Invalid):
            return False
        return True

    def resolve_branch(self, repo: Repository, name: str) -> ResolvedRef:
        """Resolve ``name`` and require a branch (NotFound otherwise)."""
        try:
            resolved = self.graveler.resolve(repo, name)
        except NotFoundError:
            raise NotFoundError(f"branch not found: {name!r}") from None
        if resolved.branch is None:
            raise NotFoundError(f"branch not found: {name!r}")
        return resolved


class Part:
    """A part of the catalog: the operations on one kind of thing, over the shared stores."""

    def __init__(self, stores: Stores) -> None:
        self._stores = stores
        self._graveler = stores.graveler


def relative_address(repo: Repository, address: str) -> str | None:
    """``address`` relative to the repository's storage namespace; None when outside it."""
    prefix = repo.storage_namespace.rstrip("/") + "/"
    return address[len(prefix) :] if address.startswith(prefix) else None
