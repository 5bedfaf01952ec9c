"""Where the catalog's writes run, and the one order that keeps them durable.

A short engine write (create a branch, stage a deletion) and the staging of a new
object go through :class:`Writes`. Its rule: **an entry is staged only once the bytes it
names are durable**, and bytes that end up named by nothing are removed. This module is
the only place that orders the two; everything that stores bytes for an entry (uploads,
copies) hands both steps to it.

Under load, what a small write costs is mostly not its own work but the disk's (a sync
per request) and the interpreter lock's: every blocking call a worker thread makes has to
win the lock back from the busy event loop, and a request that makes several such calls
waits again and again. Where the metadata store allows it (SQLite), :class:`WriteGroups`
has one thread per process take every write queued meanwhile and run each as an isolated
part of one metadata transaction, committed once. Writes that stage new objects pass first
through a second thread, which makes the objects of everything queued meanwhile durable
with one blockstore sync; the two stages overlap, so one group's objects are synced while
the previous group commits. Each request is answered after the commit, with its own
outcome, exactly as if it had run alone: a failed write is undone by itself and the bytes
it was to stage are removed.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from limnos.block.adapter import BlockAdapter, BlockWriter, PutResult
from limnos.catalog.threads import run_blocking
from limnos.kv.store import KVStore
from limnos.metrics import WRITE_GROUP_SIZE

T = TypeVar("T")

# Bounds one transaction; the rest waits for the next round.
MAX_GROUP = 256


@dataclass(slots=True)
class _Write:
    fn: Callable[[], Any]
    produce: Callable[[], BlockWriter] | None  # writes an object ``fn`` will stage
    durable: BlockWriter | None  # that object, once written (durable after the sync)
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[Any]


class _Queue:
    """Writes waiting for a stage; the stage takes all of them at once."""

    def __init__(self) -> None:
        self._items: list[_Write] = []
        self._ready = threading.Condition()

    def put(self, writes: list[_Write]) -> None:
        with self._ready:
            self._items.extend(writes)
            self._ready.notify()

    def take(self) -> list[_Write]:
        """Every waiting write (at most MAX_GROUP), blocking until there is one."""
        with self._ready:
            while not self._items:
                self._ready.wait()
            taken = self._items[:MAX_GROUP]
            del self._items[:MAX_GROUP]
            return taken


class WriteGroups:
    """Runs queued writes from one thread, grouped (needs ``kv.groups_writes``)."""

    def __init__(self, kv: KVStore, block: BlockAdapter) -> None:
        if not kv.groups_writes:
            raise ValueError(f"{type(kv).__name__} cannot group writes")
        self.kv = kv
        self.block = block
        self._unsynced = _Queue()  # writes whose objects must be made durable first
        self._runnable = _Queue()
        self._started = False
        self._start_lock = threading.Lock()

    @property
    def syncs_objects(self) -> bool:
        """Whether :meth:`run` accepts ``produce``: the blockstore syncs objects in groups."""
        return self.block.syncs_in_groups

    async def run(self, fn: Callable[[], T], *, produce: Callable[[], BlockWriter] | None = None) -> T:
        """Run ``fn`` (engine writes only: no waiting on anything but the metadata store)
        in the next group.

        ``produce`` writes a new object for ``fn`` to stage and returns its writer,
        finished (:meth:`BlockWriter.finish`) but not yet durable: the sync stage calls it,
        so the event loop never waits on the disk, and runs ``fn`` only once the object
        is durable. Raises what ``produce`` or ``fn`` raised; the object is then removed
        (``produce`` removes what it wrote itself when it fails).
        """
        if not self._started:
            self._start()
        loop = asyncio.get_running_loop()
        write = _Write(fn, produce, None, loop, loop.create_future())
        (self._runnable if produce is None else self._unsynced).put([write])
        return cast(T, await write.future)

    def _start(self) -> None:
        with self._start_lock:
            if self._started:
                return
            for target, name in ((self._sync, "limnos-sync"), (self._commit, "limnos-writes")):
                threading.Thread(target=target, name=name, daemon=True).start()
            self._started = True

    def _sync(self) -> None:
        """Stage one: write the objects of every waiting upload, then make them all durable
        with one sync."""
        while True:
            group = self._unsynced.take()
            failed: list[_Write] = []
            errors: list[object] = []
            for write in group:
                assert write.produce is not None
                try:
                    write.durable = write.produce()
                except Exception as err:
                    failed.append(write)
                    errors.append(err)
            if failed:
                _deliver(failed, errors)  # a failed producer removes what it wrote
                group = [write for write in group if write.durable is not None]
                if not group:
                    continue
            try:
                # Bytes first: a staged entry must never point at bytes a crash could lose.
                self.block.sync([write.durable for write in group if write.durable is not None])
            except BaseException as err:  # a failed sync, or a bug: nobody may wait forever
                _finish(group, [_as_exception(err)] * len(group))
                continue
            self._runnable.put(group)

    def _commit(self) -> None:
        """Stage two: run every waiting write in one transaction."""
        while True:
            group = self._runnable.take()
            try:
                outcomes = self._run_group(group)
            except BaseException as err:  # a bug here must not leave requests waiting forever
                outcomes = [_as_exception(err)] * len(group)
            _finish(group, outcomes)

    def _run_group(self, group: list[_Write]) -> list[object]:
        WRITE_GROUP_SIZE.observe(len(group))
        outcomes: list[object] = [None] * len(group)
        try:
            with self.kv.write_group():
                for index, write in enumerate(group):
                    try:
                        with self.kv.isolated():
                            outcomes[index] = write.fn()
                    except Exception as err:
                        outcomes[index] = err
        except Exception as err:
            # The transaction failed to start or to commit: nothing of the group was written.
            outcomes = [err] * len(group)
        return outcomes


class Writes:
    """Runs the catalog's engine writes and stages new objects, durable bytes first."""

    def __init__(self, kv: KVStore, block: BlockAdapter) -> None:
        self.block = block
        #: Runs short writes grouped, from one thread; None when the store cannot.
        self.groups = WriteGroups(kv, block) if kv.groups_writes else None

    async def run(self, fn: Callable[[], T]) -> T:
        """Run a short engine write, ``fn()``: grouped with other requests' writes, off the
        event loop, where the metadata store allows it (SQLite); otherwise inline, as reads
        are (with PostgreSQL a worker thread measured slower: the thread hop cost more than
        the round trip it spared the loop)."""
        if self.groups is not None:
            return await self.groups.run(fn)
        return fn()

    async def stage(
        self,
        link: Callable[[PutResult], T],
        *,
        commit: Callable[[], PutResult],
        discard: Callable[[], None],
        finish: Callable[[], tuple[BlockWriter, PutResult]] | None = None,
    ) -> T:
        """Make an object's bytes durable, then ``link`` them: stage the entry naming them.

        ``commit`` makes the bytes durable and reports them; ``discard`` removes them when
        ``link`` fails. ``finish``, when given, writes them without waiting for durability
        (and removes what it wrote if it fails): with a blockstore that syncs in groups the
        bytes of many requests are then made durable with one sync, all off the event loop.
        """
        if finish is not None and self.groups is not None and self.block.syncs_in_groups:
            finished: list[PutResult] = []

            def produce() -> BlockWriter:
                writer, stored = finish()
                finished.append(stored)
                return writer

            return await self.groups.run(lambda: link(finished[0]), produce=produce)
        # Both steps wait on the disk or the network: one worker-thread call for the two.
        return await run_blocking(self.stage_now, link, commit=commit, discard=discard)

    @staticmethod
    def stage_now(
        link: Callable[[PutResult], T], *, commit: Callable[[], PutResult], discard: Callable[[], None]
    ) -> T:
        """:meth:`stage` in the calling thread, one object alone (blocking)."""
        stored = commit()
        try:
            return link(stored)
        except BaseException:
            # Nothing points at the bytes: remove them rather than leave garbage behind.
            discard()
            raise


def _as_exception(err: BaseException) -> Exception:
    return err if isinstance(err, Exception) else RuntimeError(str(err))


def _finish(group: list[_Write], outcomes: list[object]) -> None:
    for write, outcome in zip(group, outcomes, strict=True):
        if write.durable is not None and isinstance(outcome, Exception):
            # Nothing points at these bytes: remove them rather than leave garbage behind.
            write.durable.abort()
    _deliver(group, outcomes)


def _deliver(group: list[_Write], outcomes: list[object]) -> None:
    """Hand each outcome to its request's event loop: one wake-up per loop and group."""
    by_loop: dict[asyncio.AbstractEventLoop, list[tuple[_Write, object]]] = {}
    for write, outcome in zip(group, outcomes, strict=True):
        by_loop.setdefault(write.loop, []).append((write, outcome))
    for loop, items in by_loop.items():
        try:
            loop.call_soon_threadsafe(_resolve, items)
        except RuntimeError:
            pass  # the loop has closed: nobody is waiting any more


def _resolve(items: list[tuple[_Write, object]]) -> None:
    for write, outcome in items:
        if write.future.done():
            continue  # the request was cancelled (its client went away)
        if isinstance(outcome, Exception):
            write.future.set_exception(outcome)
        else:
            write.future.set_result(outcome)
