"""Caches of immutable, content-addressed objects.

Ranges and metaranges never change once written, so a cached copy never goes
stale and needs no invalidation: entries are only evicted for space.
"""

from __future__ import annotations

import contextlib
import os
import threading
import uuid
from collections import OrderedDict
from pathlib import Path
from typing import Generic, TypeVar

V = TypeVar("V")


class ByteLRU(Generic[V]):
    """A thread-safe least-recently-used map bounded by the approximate bytes of its values."""

    def __init__(self, capacity_bytes: int) -> None:
        self.capacity_bytes = capacity_bytes
        self._items: OrderedDict[str, tuple[V, int]] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def get(self, key: str) -> V | None:
        """The cached value of ``key``, marking it recently used; None when absent."""
        with self._lock:
            item = self._items.get(key)
            if item is None:
                return None
            self._items.move_to_end(key)
            return item[0]

    def put(self, key: str, value: V, size: int) -> None:
        """Cache ``value`` as ``size`` bytes, evicting the least recently used beyond capacity."""
        if size > self.capacity_bytes:
            return  # would evict everything else and then itself
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._size -= old[1]
            self._items[key] = (value, size)
            self._size += size
            while self._size > self.capacity_bytes:
                _, (_, evicted) = self._items.popitem(last=False)
                self._size -= evicted

    @property
    def size_bytes(self) -> int:
        """Approximate bytes currently cached."""
        return self._size

    def __len__(self) -> int:
        return len(self._items)


class DiskCache:
    """Object files kept on local disk, named by id, shared by every process using ``root``.

    Files are written to a temporary name and renamed, so a reader sees either
    nothing or a complete file. Any OS error is treated as a miss: the cache is
    an optimisation, the blockstore remains the source of truth.

    The cache holds at most about ``max_bytes``: when a write takes it over, the least
    recently used files (by access time, refreshed on every hit) are removed until it is
    back under 90% of the bound. Several processes may share one directory; each
    re-measures the directory when it evicts, so their estimates cannot drift apart.
    """

    def __init__(self, root: str | os.PathLike[str], max_bytes: int = 1 << 30) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._size = sum(size for _, size, _ in self._files())

    def _files(self) -> list[tuple[Path, int, float]]:
        """Every cached file with its size and access time."""
        found: list[tuple[Path, int, float]] = []
        for sub in self.root.iterdir():
            if not sub.is_dir():
                continue
            for entry in os.scandir(sub):
                with contextlib.suppress(OSError):
                    st = entry.stat()
                    found.append((Path(entry.path), st.st_size, max(st.st_atime, st.st_mtime)))
        return found

    def _evict(self) -> None:
        files = sorted(self._files(), key=lambda item: item[2])
        total = sum(size for _, size, _ in files)
        target = self.max_bytes * 9 // 10
        for path, size, _ in files:
            if total <= target:
                break
            with contextlib.suppress(OSError):
                path.unlink()
                total -= size
        self._size = total

    def _path(self, object_id: str) -> Path:
        # Two-level fan-out keeps directories small for large repositories.
        return self.root / object_id[:2] / object_id

    def get(self, object_id: str) -> bytes | None:
        """The cached bytes of ``object_id``, or None."""
        path = self._path(object_id)
        try:
            data = path.read_bytes()
        except OSError:
            return None
        with contextlib.suppress(OSError):
            os.utime(path)  # recently used: evicted last
        return data

    def put(self, object_id: str, data: bytes) -> None:
        """Cache ``data`` as ``object_id`` (no fsync: losing it only costs a re-read)."""
        path = self._path(object_id)
        if path.exists():
            return
        tmp = path.parent / f".{object_id}.{uuid.uuid4().hex}.tmp"
        try:
            path.parent.mkdir(exist_ok=True)
            tmp.write_bytes(data)
            os.replace(tmp, path)
        except OSError:
            tmp.unlink(missing_ok=True)
            return
        with self._lock:
            self._size += len(data)
            if self._size > self.max_bytes:
                self._evict()

    def discard(self, object_id: str) -> None:
        """Remove a cached file found to be unreadable."""
        with contextlib.suppress(OSError):
            self._path(object_id).unlink(missing_ok=True)
