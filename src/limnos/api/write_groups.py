"""Short writes of many requests, run from one thread in one transaction per group.

Under load, what a small write costs is mostly not its own work but the disk's (a sync
per request) and the interpreter lock's: every blocking call a worker thread makes has to
win the lock back from the busy event loop, and a request that makes several such calls
waits again and again. Here one thread per process takes every write queued meanwhile:
it makes the new objects among them durable with one blockstore sync, then runs each
write as an isolated part of one metadata transaction, committed once. Each request is
answered after the commit, with its own outcome, exactly as if it had run alone: a
failed write is undone by itself and the bytes it was to stage are removed.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from limnos.block.adapter import BlockAdapter, BlockWriter
from limnos.kv.store import KVStore

T = TypeVar("T")

# Bounds one transaction; the rest waits for the next round.
MAX_GROUP = 256


@dataclass(slots=True)
class _Write:
    fn: Callable[[], Any]
    durable: BlockWriter | None  # a finished object that must be durable before ``fn`` runs
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[Any]


class WriteGroups:
    """Runs queued writes from one thread, grouped (needs ``kv.groups_writes``)."""

    def __init__(self, kv: KVStore, block: BlockAdapter) -> None:
        if not kv.groups_writes:
            raise ValueError(f"{type(kv).__name__} cannot group writes")
        self.kv = kv
        self.block = block
        self._queue: list[_Write] = []
        self._ready = threading.Condition()
        self._thread: threading.Thread | None = None

    @property
    def syncs_objects(self) -> bool:
        """Whether :meth:`run` accepts ``durable``: objects finished but not yet durable."""
        return self.block.syncs_in_groups

    async def run(self, fn: Callable[[], T], *, durable: BlockWriter | None = None) -> T:
        """Run ``fn`` (engine writes only: no waiting on anything but the metadata store)
        in the next group; with ``durable``, only once that object is durable.

        Raises what ``fn`` raised; the object of ``durable`` is then removed.
        """
        loop = asyncio.get_running_loop()
        write = _Write(fn, durable, loop, loop.create_future())
        with self._ready:
            self._queue.append(write)
            if self._thread is None:
                self._thread = threading.Thread(target=self._serve, name="limnos-writes", daemon=True)
                self._thread.start()
            self._ready.notify()
        return cast(T, await write.future)

    def _serve(self) -> None:
        while True:
            with self._ready:
                while not self._queue:
                    self._ready.wait()
                group = self._queue[:MAX_GROUP]
                del self._queue[:MAX_GROUP]
            try:
                outcomes = self._run_group(group)
            except BaseException as err:  # a bug here must not leave requests waiting forever
                failure = err if isinstance(err, Exception) else RuntimeError(str(err))
                outcomes = [failure] * len(group)
            for write, outcome in zip(group, outcomes, strict=True):
                if write.durable is not None and isinstance(outcome, Exception):
                    # Nothing points at these bytes: remove them rather than leave garbage.
                    write.durable.abort()
            _deliver(group, outcomes)

    def _run_group(self, group: list[_Write]) -> list[object]:
        outcomes: list[object] = [None] * len(group)
        synced = [True] * len(group)
        writers = [write.durable for write in group if write.durable is not None]
        if writers:
            # Bytes first: a staged entry must never point at bytes a crash could lose.
            try:
                self.block.sync(writers)
            except Exception as err:
                for index, write in enumerate(group):
                    if write.durable is not None:
                        outcomes[index], synced[index] = err, False
        try:
            with self.kv.write_group():
                for index, write in enumerate(group):
                    if not synced[index]:
                        continue
                    try:
                        with self.kv.isolated():
                            outcomes[index] = write.fn()
                    except Exception as err:
                        outcomes[index] = err
        except Exception as err:
            # The transaction failed to start or to commit: nothing of the group was written.
            for index in range(len(group)):
                if synced[index] and not isinstance(outcomes[index], Exception):
                    outcomes[index] = err
        return outcomes


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
