"""Uploads: an object's bytes received in pieces, stored, then staged on a branch.

A front end opens an :class:`Upload` (which checks the target before any byte is
received), hands it the bytes as they arrive, and finishes it with the object's content
type and user metadata. Storing and staging go through :class:`~limnos.catalog.writes.Writes`,
which makes the bytes durable before the entry that names them.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from limnos.block.adapter import BlockWriter, PutResult, join_uri
from limnos.catalog.entry import DEFAULT_CONTENT_TYPE, Entry, encode_entry
from limnos.catalog.objects import find, stored_object
from limnos.catalog.results import StoredObject
from limnos.catalog.stores import Part, Stores
from limnos.catalog.threads import run_blocking
from limnos.graveler.errors import PreconditionFailedError
from limnos.graveler.model import Branch, Repository
from limnos.graveler.names import check_path

# Received bytes are handed to storage in batches of this size, so that a small object
# costs one trip to a worker thread and a large one a bounded amount of memory.
WRITE_BATCH = 1024 * 1024
# Batches received but not yet written that an upload may hold.
IN_FLIGHT = 4


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
        self._graveler.check_branch_writable(repo, branch)  # before any byte is received
        if if_absent and find(self._stores, repo, branch_ref, path) is not None:
            raise PreconditionFailedError(f"path already exists: {path!r}")
        assert branch_ref.branch is not None
        return Upload(self._stores, repo, branch, branch_ref.branch, path, if_absent)


class Batches:
    """Bytes received in pieces, handed to a storage writer in batches of WRITE_BATCH, off
    the event loop. The writer is created (by ``open``) with the first batch, so an object
    smaller than a batch is created, written and made durable in one worker-thread call.

    Batches are written while the next ones are received, up to IN_FLIGHT of them: on a
    large upload, receiving, storing and hashing (MD5, the slowest) each take much of a
    core, and each waiting for the others had left every core mostly idle. Where the
    writer allows it, a batch is stored and hashed at once, in two threads, each step in
    batch order. At most IN_FLIGHT + 1 batches are held in memory.
    """

    def __init__(self, open_writer: Callable[[], BlockWriter]) -> None:
        self._open = open_writer
        self._pending: list[bytes] = []
        self._pending_size = 0
        # The last batch's steps (each waits for the same step of the batch before it),
        # and the batches not yet done, oldest first.
        self._storing: asyncio.Future[None] | None = None
        self._hashing: asyncio.Future[None] | None = None
        self._in_flight: deque[asyncio.Future[Any]] = deque()
        self.writer: BlockWriter | None = None

    async def add(self, data: bytes) -> None:
        """Accept the next bytes."""
        if not data:
            return
        self._pending.append(data)
        self._pending_size += len(data)
        if self._pending_size < WRITE_BATCH:
            return
        while self._in_flight and self._in_flight[0].done():
            self._in_flight.popleft()
        if len(self._in_flight) >= IN_FLIGHT:
            await asyncio.wait([self._in_flight[0]])
        if any(_failed(step) for step in (self._storing, self._hashing)):
            await self.drain()  # raises what writing raised, having removed what was written
        batch, self._pending, self._pending_size = self._pending, [], 0
        if self.writer is None:
            self.writer = await run_blocking(self._open)
        writer = self.writer
        if writer.splits_hashing:
            self._storing = asyncio.ensure_future(_after(self._storing, writer.store, batch))
            self._hashing = asyncio.ensure_future(_after(self._hashing, writer.digest, batch))
            self._in_flight.append(asyncio.gather(self._storing, self._hashing, return_exceptions=True))
        else:
            self._storing = asyncio.ensure_future(_after(self._storing, self._write, batch))
            self._in_flight.append(self._storing)

    async def drain(self) -> None:
        """Wait until every batch received is written (raising what writing raised); call
        before :meth:`commit`, :meth:`finish` or :meth:`abort_now`."""
        steps = [step for step in (self._storing, self._hashing) if step is not None]
        self._storing = self._hashing = None
        self._in_flight.clear()
        outcomes = await asyncio.gather(*steps, return_exceptions=True)
        failures = [outcome for outcome in outcomes if isinstance(outcome, BaseException)]
        if failures:
            # What was written is of no use: remove it before telling the caller.
            if self.writer is not None:
                await run_blocking(self.writer.abort)
            raise failures[0]

    def _write(self, batch: list[bytes]) -> None:
        if self.writer is None:
            self.writer = self._open()
        self.writer.write(batch[0] if len(batch) == 1 else b"".join(batch))

    def flush(self) -> BlockWriter:
        """Write what is pending (blocking, after :meth:`drain`); the writer."""
        batch, self._pending, self._pending_size = self._pending, [], 0
        if batch:
            self._write(batch)
        if self.writer is None:
            self.writer = self._open()
        return self.writer

    def commit(self) -> PutResult:
        """Write the rest and make it durable (blocking); on failure remove what was written."""
        try:
            return self.flush().commit()
        except BaseException:
            self.abort_now()
            raise

    def finish(self) -> tuple[BlockWriter, PutResult]:
        """Write the rest without waiting for durability (see BlockWriter.finish), blocking;
        on failure remove what was written."""
        try:
            writer = self.flush()
            return writer, writer.finish()
        except BaseException:
            self.abort_now()
            raise

    async def abort(self) -> None:
        """Discard whatever was received and written."""
        self._pending.clear()
        try:
            await self.drain()
        except Exception:  # noqa: BLE001 - the write being discarded failed: nothing to keep
            pass
        if self.writer is not None:
            await run_blocking(self.writer.abort)

    def abort_now(self) -> None:
        """:meth:`abort`, blocking."""
        self._pending.clear()
        if self.writer is not None:
            self.writer.abort()


class Upload:
    """One object being received: its bytes go to a fresh address of the namespace, in
    batches (see :class:`Batches`), then the entry naming them is staged."""

    def __init__(
        self, stores: Stores, repo: Repository, branch: str, known: Branch, path: str, if_absent: bool
    ) -> None:
        self._stores = stores
        self._repo = repo
        self._branch = branch
        self._known = known
        self.path = path
        self._if_absent = if_absent
        self._address = ""
        self._batches = Batches(self._open)

    async def add(self, data: bytes) -> None:
        """Accept the next bytes of the object."""
        await self._batches.add(data)

    async def abort(self) -> None:
        """Discard whatever was received and written."""
        await self._batches.abort()

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
        batches = self._batches
        await batches.drain()
        finish = batches.finish if batches.writer is None else None
        return await writes.stage(link, commit=batches.commit, discard=self._discard, finish=finish)

    def _open(self) -> BlockWriter:
        self._address, writer = self._stores.block.new_object_writer(self._repo.storage_namespace)
        return writer

    def _discard(self) -> None:
        """Remove the durable bytes that nothing names."""
        self._stores.block.delete(join_uri(self._repo.storage_namespace, self._address))


def _failed(step: asyncio.Future[None] | None) -> bool:
    return step is not None and step.done() and (step.cancelled() or step.exception() is not None)


async def _after(
    previous: asyncio.Future[None] | None, step: Callable[[list[bytes]], None], batch: list[bytes]
) -> None:
    """Run ``step(batch)`` in a worker thread once ``previous`` is done (raising what it raised)."""
    if previous is not None:
        await previous
    await run_blocking(step, batch)


class StreamedWrite:
    """Bytes received in pieces for one address (a presigned PUT, a part of a multipart
    upload): written in batches as they arrive, made durable by :meth:`finish`."""

    def __init__(
        self,
        open_writer: Callable[[], BlockWriter],
        landing: Callable[[], AbstractContextManager[None]] = nullcontext,
    ) -> None:
        self._batches = Batches(open_writer)
        self._landing = landing

    async def add(self, data: bytes) -> None:
        """Accept the next bytes."""
        await self._batches.add(data)

    async def abort(self) -> None:
        """Discard what was received."""
        await self._batches.abort()

    async def finish(self) -> str:
        """Store the bytes durably; their ETag (hex MD5)."""
        await self._batches.drain()
        return (await run_blocking(self._commit)).etag

    def _commit(self) -> PutResult:
        """Make the bytes durable at their address, inside ``landing``."""
        try:
            with self._landing():
                return self._batches.commit()
        except BaseException:
            self._batches.abort_now()
            raise
