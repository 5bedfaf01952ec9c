"""Reading and writing range and metarange files through a block adapter, with caching.

Objects are content addressed, so:

* decoded objects are cached by id alone (the same id is the same bytes in
  every namespace), in memory and optionally in a local directory;
* an object is written only if it is not already stored; which
  ``(namespace, id)`` pairs are known to be stored is remembered, so reused
  ranges cost neither a write nor an existence check;
* writes of new ranges run on a small thread pool (a local put fsyncs twice,
  an object store put is a network round trip); the metarange that refers to
  them is written meanwhile, as soon as their ids are known, and its id is
  returned only once every write is done. Nothing refers to a metarange before
  its id is returned, so its ranges need not be stored first: after a failure
  or a crash, what was written is unreferenced garbage, and each object is
  checked for on its own when the same content is written again.
"""

from __future__ import annotations

import os
import re
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

from limnos.block.adapter import BlockAdapter, ObjectNotFoundError, join_uri
from limnos.graveler.committed.cache import ByteLRU, DiskCache
from limnos.graveler.committed.rangefile import (
    CorruptObjectError,
    Metarange,
    Range,
    RangeInfo,
    decode_metarange,
    decode_range,
    encode_metarange,
    encode_range,
    object_id,
)

_ID_RE = re.compile(r"[0-9a-f]{64}")
_T = TypeVar("_T")
_KNOWN_LIMIT = 1_000_000  # bounded memory; forgetting only costs an exists() call


def address(object_id: str) -> str:
    """The address of a range or metarange relative to its storage namespace."""
    return "_lakefs/" + object_id


class ObjectStorage:
    """Cached, deduplicating access to the ranges and metaranges of any namespace."""

    def __init__(
        self,
        block: BlockAdapter,
        *,
        cache_dir: str | os.PathLike[str] | None = None,
        disk_cache_bytes: int = 1 << 30,
        memory_cache_bytes: int = 256 * 2**20,
        write_workers: int = 16,
    ) -> None:
        self.block = block
        self.memory: ByteLRU[Range | Metarange] = ByteLRU(memory_cache_bytes)
        self.disk = DiskCache(cache_dir, disk_cache_bytes) if cache_dir is not None else None
        self.write_workers = write_workers
        self._known: set[tuple[str, str]] = set()
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None

    # -- reading ---------------------------------------------------------

    def load_range(self, namespace: str, info: RangeInfo) -> Range:
        """The decoded range ``info.id`` of ``namespace``."""
        cached = self.memory.get(info.id)
        if isinstance(cached, Range):
            return cached
        rng = self._load(namespace, info.id, decode_range)
        self.memory.put(info.id, rng, rng.memory_size(info.size_bytes))
        return rng

    def load_metarange(self, namespace: str, tree_id: str) -> Metarange:
        """The decoded metarange ``tree_id`` of ``namespace``; raises ObjectNotFoundError."""
        cached = self.memory.get(tree_id)
        if isinstance(cached, Metarange):
            return cached
        if not _ID_RE.fullmatch(tree_id):
            # Not an id we could have written; also keeps odd strings out of paths.
            raise ObjectNotFoundError(f"metarange {tree_id!r} in {namespace}")
        size = 0

        def decode(data: bytes) -> Metarange:
            nonlocal size
            size = len(data)
            return decode_metarange(data)

        meta = self._load(namespace, tree_id, decode)
        self.memory.put(tree_id, meta, meta.memory_size(size))
        return meta

    def load_stored_metarange(self, namespace: str, tree_id: str) -> Metarange:
        """Like :meth:`load_metarange`, for an id that comes from outside: proves the
        metarange is stored in ``namespace`` itself, not merely cached from another one."""
        if not _ID_RE.fullmatch(tree_id):
            raise ObjectNotFoundError(f"metarange {tree_id!r} in {namespace}")
        if not self.is_known(namespace, tree_id):
            if not self.block.exists(join_uri(namespace, address(tree_id))):
                raise ObjectNotFoundError(f"metarange {tree_id!r} in {namespace}")
            self._remember(namespace, tree_id)
        return self.load_metarange(namespace, tree_id)

    def _load(self, namespace: str, oid: str, decode: Callable[[bytes], _T]) -> _T:
        if self.disk is not None:
            data = self.disk.get(oid)
            if data is not None:
                try:
                    return decode(data)
                except CorruptObjectError:
                    self.disk.discard(oid)
        data = self.block.get_bytes(join_uri(namespace, address(oid)))
        obj = decode(data)
        self._remember(namespace, oid)
        if self.disk is not None:
            self.disk.put(oid, data)
        return obj

    # -- writing ---------------------------------------------------------

    def batch(self, namespace: str) -> WriteBatch:
        """A new set of writes into ``namespace``."""
        return WriteBatch(self, namespace)

    def store_metarange(self, namespace: str, ranges: list[RangeInfo]) -> str:
        """Write (if needed) the metarange of ``ranges``, whose files must be stored; its id."""
        data = encode_metarange(ranges)
        oid = object_id(data)
        meta = Metarange(ranges)
        self.memory.put(oid, meta, meta.memory_size(len(data)))
        self.write_object(namespace, oid, data)
        return oid

    def write_object(self, namespace: str, oid: str, data: bytes) -> None:
        """Store ``data`` as ``oid`` unless it is already stored."""
        if self.is_known(namespace, oid):
            return
        uri = join_uri(namespace, address(oid))
        if not self.block.exists(uri):
            self.block.put_bytes(uri, data)
        self._remember(namespace, oid)
        if self.disk is not None:
            self.disk.put(oid, data)

    def is_known(self, namespace: str, oid: str) -> bool:
        """Whether ``oid`` is known to be stored in ``namespace``."""
        return (namespace, oid) in self._known

    def _remember(self, namespace: str, oid: str) -> None:
        with self._lock:
            if len(self._known) >= _KNOWN_LIMIT:
                self._known.clear()
            self._known.add((namespace, oid))

    def pool(self) -> ThreadPoolExecutor:
        """The shared writer threads, started on first use."""
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(
                    max_workers=self.write_workers, thread_name_prefix="limnos-range-writer"
                )
            return self._pool

    def close(self) -> None:
        """Stop the writer threads (waiting for running writes)."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)


class WriteBatch:
    """The new ranges of one operation, encoded, hashed and written on the writer threads.

    Hashing releases the GIL, so with the writer threads it overlaps the
    caller's merging and cutting of the next ranges instead of waiting on it. A
    range's description is ready once it is hashed; its file may still be being
    written until :meth:`store_metarange` or :meth:`wait` returns.
    """

    def __init__(self, storage: ObjectStorage, namespace: str) -> None:
        self.storage = storage
        self.namespace = namespace
        self._jobs: deque[Future[None]] = deque()
        self._failure: BaseException | None = None
        # Bounds the entries and encoded bytes held by queued jobs during bulk loads.
        self._max_jobs = max(2, 4 * storage.write_workers)

    def store_range(self, keys: list[str], values: list[bytes]) -> RangeInfo | Future[RangeInfo]:
        """Store a range of sorted ``keys`` and their ``values`` (lists it takes over).

        Returns its description, or a future of it; pass what this returns
        to :meth:`resolve`.
        """
        if self.storage.write_workers <= 1:
            data, info = self._encode(keys, values)
            self.storage.write_object(self.namespace, info.id, data)
            return info
        jobs = self._jobs
        while jobs and (jobs[0].done() or len(jobs) >= self._max_jobs):
            self._settle(jobs.popleft())
        described: Future[RangeInfo] = Future()
        jobs.append(self.storage.pool().submit(self._store, keys, values, described))
        return described

    def _encode(self, keys: list[str], values: list[bytes]) -> tuple[bytes, RangeInfo]:
        data = encode_range(keys, values)
        oid = object_id(data)
        rng = Range(keys, values)
        self.storage.memory.put(oid, rng, rng.memory_size(len(data)))
        return data, RangeInfo(oid, keys[0], keys[-1], len(keys), len(data))

    def _store(self, keys: list[str], values: list[bytes], described: Future[RangeInfo]) -> None:
        try:
            data, info = self._encode(keys, values)
        except BaseException as err:
            described.set_exception(err)
            raise
        described.set_result(info)
        self.storage.write_object(self.namespace, info.id, data)

    def _settle(self, job: Future[None]) -> None:
        """Wait for ``job``; keep its failure, the first one, for :meth:`wait`."""
        err = job.exception()
        if err is not None and self._failure is None:
            self._failure = err

    def resolve(self, ranges: list[RangeInfo | Future[RangeInfo]]) -> list[RangeInfo]:
        """The descriptions, once every range is hashed. Re-raises the first failure
        (the caller then calls :meth:`abandon`, so that nothing is left running)."""
        out: list[RangeInfo] = []
        first: BaseException | None = None
        for item in ranges:
            if isinstance(item, RangeInfo):
                out.append(item)
                continue
            err = item.exception()
            if err is not None:
                first = first or err
            else:
                out.append(item.result())
        if first is not None:
            raise first
        return out

    def store_metarange(self, ranges: list[RangeInfo]) -> str:
        """Write the metarange of ``ranges`` while their files are written; its id, once
        every write of the batch is done. Raises the first failure of any of them."""
        try:
            oid = self.storage.store_metarange(self.namespace, ranges)
        except BaseException:
            self.abandon()
            raise
        self.wait()
        return oid

    def wait(self) -> None:
        """Wait for every write of the batch; re-raise the first failure."""
        while self._jobs:
            self._settle(self._jobs.popleft())
        if self._failure is not None:
            raise self._failure

    def abandon(self) -> None:
        """Wait for every write of the batch, ignoring failures (the caller is failing)."""
        while self._jobs:
            self._jobs.popleft().exception()
