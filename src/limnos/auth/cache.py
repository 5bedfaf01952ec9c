"""A small thread-safe TTL cache for hot lookups (credentials, users)."""

from __future__ import annotations

import threading
import time
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class TTLCache(Generic[K, V]):
    """Maps keys to values that expire ``ttl`` seconds after insertion.

    A ``ttl`` of 0 (or less) disables caching. At most ``max_entries`` are kept; when
    full, expired entries are purged, then the oldest ones.
    """

    def __init__(self, ttl: float, max_entries: int = 10_000) -> None:
        self._ttl = ttl
        self._max = max_entries
        self._data: dict[K, tuple[float, V]] = {}
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        """Return the live value under ``key``, or ``None``."""
        if self._ttl <= 0:
            return None
        with self._lock:
            entry = self._data.get(key)
            if entry is None:
                return None
            if entry[0] <= time.monotonic():
                del self._data[key]
                return None
            return entry[1]

    def put(self, key: K, value: V) -> None:
        """Store ``value`` under ``key`` for the TTL."""
        if self._ttl <= 0:
            return
        now = time.monotonic()
        with self._lock:
            self._data.pop(key, None)
            if len(self._data) >= self._max:
                for k in [k for k, (exp, _) in self._data.items() if exp <= now]:
                    del self._data[k]
                while len(self._data) >= self._max:
                    del self._data[next(iter(self._data))]
            self._data[key] = (now + self._ttl, value)

    def discard(self, key: K) -> None:
        """Forget ``key``."""
        with self._lock:
            self._data.pop(key, None)

    def clear(self) -> None:
        """Forget everything."""
        with self._lock:
            self._data.clear()
