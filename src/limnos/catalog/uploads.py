"""Uploads: an object's bytes received in pieces, stored, then staged on a branch.

A front end opens an :class:`Upload` (which checks the target before any byte is
received), hands it the bytes as they arrive, and finishes it with the object's content
type and user metadata. Storing and staging go through :class:`~limnos.catalog.writes.Writes`,
which makes the bytes durable before the entry that names them.
"""

from __future__ import annotations

from limnos.block.adapter import BlockWriter, PutResult, join_uri
from limnos.catalog.entry import Entry, encode_entry
from limnos.catalog.objects import find, stored_object
from limnos.catalog.results import StoredObject
from limnos.catalog.stores import Part, Stores
from limnos.catalog.threads import run_blocking
from limnos.graveler.errors import PreconditionFailedError
from limnos.graveler.model import Branch, Repository
from limnos.graveler.names import check_path

DEFAULT_CONTENT_TYPE = "application/octet-stream"
# Received bytes are handed to storage in batches of this size, so that a small object
# costs one trip to a worker thread and a large one a bounded amount of memory.
WRITE_BATCH = 1024 * 1024


class Uploads(Part):
    """Opens uploads to branches."""

    def check(self, repository: str, branch: str, path: str) -> None:
        """Whether an upload to ``path`` of the branch may be attempted (raises if not)."""
        repo = self._stores.repository(repository)
        self._stores.branch(repo, branch)
        check_path(path)

    def begin(
        self, repository: str, branch: str, path: str, *, force: bool = False, if_absent: bool = False
    ) -> Upload:
        """An upload to ``path`` of the branch. With ``if_absent`` a path that exists is
        refused now, before any byte is received (and again, atomically, when staging)."""
        repo = self._stores.repository(repository, force=force)
        branch_ref = self._stores.branch(repo, branch)
        check_path(path)
        if if_absent and find(self._stores, repo, branch_ref, path) is not None:
            raise PreconditionFailedError("path already exists")
        assert branch_ref.branch is not None
        return Upload(self._stores, repo, branch, branch_ref.branch, path, if_absent)


class Upload:
    """One object being received: its bytes are written to storage in batches, off the
    event loop. The storage writer is created with the first batch, so an object smaller
    than a batch is created, written and made durable in a single worker-thread call (or
    with a group of others)."""

    def __init__(
        self, stores: Stores, repo: Repository, branch: str, known: Branch, path: str, if_absent: bool
    ) -> None:
        self._stores = stores
        self._repo = repo
        self._branch = branch
        self._known = known
        self.path = path
        self._if_absent = if_absent
        self._pending: list[bytes] = []
        self._pending_size = 0
        self._address = ""
        self._writer: BlockWriter | None = None

    async def add(self, data: bytes) -> None:
        """Accept the next bytes of the object."""
        if not data:
            return
        self._pending.append(data)
        self._pending_size += len(data)
        if self._pending_size >= WRITE_BATCH:
            await run_blocking(self._flush)

    async def abort(self) -> None:
        """Discard whatever was received and written."""
        self._pending.clear()
        if self._writer is not None:
            await run_blocking(self._writer.abort)

    async def finish(self, *, content_type: str = "", metadata: dict[str, str] | None = None) -> StoredObject:
        """Store the object and stage it at its path; what was staged."""
        writes = self._stores.writes

        def link(stored: PutResult) -> StoredObject:
            entry = Entry.stored(
                self._address,
                stored,
                content_type=content_type or DEFAULT_CONTENT_TYPE,
                metadata=metadata,
            )
            self._stores.graveler.set(
                self._repo,
                self._branch,
                self.path,
                encode_entry(entry),
                if_absent=self._if_absent,
                known=self._known,
            )
            return stored_object(self._repo, self.path, entry)

        # A body still wholly in memory can be written and synced with other requests'.
        finish = self._finish_unsynced if self._writer is None else None
        return await writes.stage(link, commit=self._commit, discard=self._discard, finish=finish)

    def _flush(self) -> None:
        if self._writer is None:
            self._address, self._writer = self._stores.block.new_object_writer(self._repo.storage_namespace)
        if self._pending:
            data = b"".join(self._pending)
            self._pending.clear()
            self._pending_size = 0
            self._writer.write(data)

    def _commit(self) -> PutResult:
        """Make the object durable at its address; on failure remove what was written."""
        try:
            self._flush()
            assert self._writer is not None
            return self._writer.commit()
        except BaseException:
            if self._writer is not None:
                self._writer.abort()
            raise

    def _finish_unsynced(self) -> tuple[BlockWriter, PutResult]:
        """Write the object without waiting for durability (see BlockWriter.finish); on
        failure remove what was written."""
        try:
            self._flush()
            assert self._writer is not None
            return self._writer, self._writer.finish()
        except BaseException:
            if self._writer is not None:
                self._writer.abort()
            raise

    def _discard(self) -> None:
        """Remove the durable bytes that nothing names."""
        self._stores.block.delete(join_uri(self._repo.storage_namespace, self._address))
