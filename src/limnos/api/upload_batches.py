"""Small uploads made durable and staged in groups.

With many small uploads in flight, what an upload costs is mostly not its own work but
the disk's (an fdatasync and a directory fsync per file) and the interpreter lock's:
each blocking call of a worker thread has to win the lock back from the busy event loop,
and a thread that makes several such calls per upload waits again and again. So for a
blockstore that syncs in groups, the event loop writes each small object's file itself
(tens of microseconds on a local disk), and one thread per process then makes every file
written meanwhile durable at once and stages the lot in one transaction per branch.
A request is answered only after both, exactly as when it did them alone.
"""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass

from limnos.block.adapter import BlockAdapter, BlockWriter
from limnos.catalog.catalog import Catalog, Link
from limnos.catalog.entry import Entry
from limnos.graveler.model import Repository

# Bounds one metadata transaction; the rest waits for the next round.
MAX_GROUP = 256

_Outcome = Entry | Exception


@dataclass(slots=True)
class _Upload:
    repo: Repository
    branch: str
    link: Link
    writer: BlockWriter
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[Entry]


class UploadBatcher:
    """Stages objects written with :meth:`BlockWriter.finish`, in groups, from one thread."""

    def __init__(self, catalog: Catalog, block: BlockAdapter) -> None:
        if not block.syncs_in_groups:
            raise ValueError(f"the {block.blockstore_type} blockstore cannot sync objects in groups")
        self.catalog = catalog
        self.block = block
        self._queue: list[_Upload] = []
        self._ready = threading.Condition()
        self._thread: threading.Thread | None = None

    async def stage(
        self, repo: Repository, branch: str, link: Link, writer: BlockWriter
    ) -> Entry:
        """Make the finished object of ``writer`` durable and stage it at ``link.path``.

        Raises what staging it alone would raise; its bytes are then removed again.
        """
        loop = asyncio.get_running_loop()
        upload = _Upload(repo, branch, link, writer, loop, loop.create_future())
        with self._ready:
            self._queue.append(upload)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="limnos-uploads", daemon=True)
                self._thread.start()
            self._ready.notify()
        return await upload.future

    def _run(self) -> None:
        while True:
            with self._ready:
                while not self._queue:
                    self._ready.wait()
                group = self._queue[:MAX_GROUP]
                del self._queue[:MAX_GROUP]
            try:
                outcomes = self._stage_group(group)
            except BaseException as err:  # a bug here must not leave requests waiting forever
                failure = err if isinstance(err, Exception) else RuntimeError(str(err))
                outcomes = [failure] * len(group)
            _deliver(group, outcomes)

    def _stage_group(self, group: list[_Upload]) -> list[_Outcome]:
        outcomes: list[_Outcome]
        try:
            # Bytes first: a staged entry must never point at bytes a crash could lose.
            self.block.sync([upload.writer for upload in group])
        except Exception as err:
            outcomes = [err] * len(group)
        else:
            outcomes = self._link(group)
        for upload, outcome in zip(group, outcomes, strict=True):
            if isinstance(outcome, Exception):
                # Nothing points at these bytes: remove them rather than leave garbage behind.
                upload.writer.abort()
        return outcomes

    def _link(self, group: list[_Upload]) -> list[_Outcome]:
        """Stage the group: one transaction per branch; a failure fails only its branch."""
        by_branch: dict[tuple[str, str, str], list[int]] = {}
        for index, upload in enumerate(group):
            key = (upload.repo.name, upload.repo.instance_id, upload.branch)
            by_branch.setdefault(key, []).append(index)
        outcomes: dict[int, _Outcome] = {}
        for indices in by_branch.values():
            first = group[indices[0]]
            try:
                entries = self.catalog.link_many(first.repo, first.branch, [group[i].link for i in indices])
            except Exception as err:
                outcomes.update((i, err) for i in indices)
            else:
                outcomes.update(zip(indices, entries, strict=True))
        return [outcomes[i] for i in range(len(group))]


def _deliver(group: list[_Upload], outcomes: list[_Outcome]) -> None:
    """Hand each outcome to its request's event loop: one wake-up per loop and group."""
    by_loop: dict[asyncio.AbstractEventLoop, list[tuple[_Upload, _Outcome]]] = {}
    for upload, outcome in zip(group, outcomes, strict=True):
        by_loop.setdefault(upload.loop, []).append((upload, outcome))
    for loop, items in by_loop.items():
        try:
            loop.call_soon_threadsafe(_resolve, items)
        except RuntimeError:
            pass  # the loop has closed: nobody is waiting any more


def _resolve(items: list[tuple[_Upload, _Outcome]]) -> None:
    for upload, outcome in items:
        if upload.future.done():
            continue  # the request was cancelled (its client went away)
        if isinstance(outcome, Exception):
            upload.future.set_exception(outcome)
        else:
            upload.future.set_result(outcome)
