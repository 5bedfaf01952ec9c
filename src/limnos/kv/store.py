"""The metadata store interface: partitioned, ordered keys with compare-and-set.

Every record lives in a *partition* (a string, e.g. ``repo:<instance>:branches``)
under a byte-string key. Scans return keys in byte order. All mutations that must
not lose a concurrent update go through :meth:`KVStore.set_if`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass

from limnos.errors import InsufficientStorage, Unavailable
from limnos.metrics import KV_REQUEST_DURATION, meter


class KVError(Exception):
    """Base class of metadata store failures."""


class KVUnavailableError(KVError, Unavailable):
    """The store could not be reached after retrying; nothing was changed."""


class KVStoreFullError(KVError, InsufficientStorage):
    """The store has no room left for a write, which changed nothing."""

    def __init__(self, why: str = "database or disk is full") -> None:
        super().__init__(f"the metadata store is full: {why}")


@dataclass(frozen=True, slots=True)
class KVItem:
    """One record returned by a scan."""

    key: bytes
    value: bytes


class _MustNotExist:
    """Predicate for :meth:`KVStore.set_if`: succeed only when the key is absent."""

    _instance: _MustNotExist | None = None

    def __new__(cls) -> _MustNotExist:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "MUST_NOT_EXIST"


MUST_NOT_EXIST = _MustNotExist()

# The operations whose durations are recorded (kv_request_duration_seconds).
_METERED = (
    "get",
    "get_hot",
    "get_many",
    "set",
    "set_many",
    "set_if",
    "delete",
    "delete_if",
    "delete_prefix",
    "scan",
)


class KVStore(ABC):
    """A transactional, ordered key-value store shared by every server process."""

    #: Whether :meth:`write_group` can gather the writes of many operations in one
    #: transaction, committed (and synced) once.
    groups_writes: bool = False

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        # Every driver's operations are timed, labelled by its module (sqlite, postgres).
        meter(cls, KV_REQUEST_DURATION, _METERED, cls.__module__.rsplit(".", 1)[-1])

    def write_group(self) -> AbstractContextManager[None]:
        """A transaction that every read and write of the calling thread joins until the
        block ends; committed when it ends, rolled back if it raises. Run each operation
        inside it under :meth:`isolated`. Only where ``groups_writes`` is true."""
        raise NotImplementedError(f"{type(self).__name__} cannot group writes")

    def isolated(self) -> AbstractContextManager[None]:
        """Within a write group: if the block raises, its writes alone are undone."""
        raise NotImplementedError(f"{type(self).__name__} cannot group writes")

    @abstractmethod
    def get(self, partition: str, key: bytes) -> bytes | None:
        """Return the value under ``key``, or ``None`` when absent."""

    def get_hot(self, partition: str, key: bytes) -> bytes | None:
        """:meth:`get` for a record read on most requests and seldom written (a
        repository, a branch). Just as exact; a store may answer it from a cache that it
        keeps in step with every writer."""
        return self.get(partition, key)

    @abstractmethod
    def get_many(self, partition: str, keys: list[bytes]) -> dict[bytes, bytes]:
        """Return the present values among ``keys``."""

    @abstractmethod
    def set(self, partition: str, key: bytes, value: bytes) -> None:
        """Write ``value`` under ``key`` unconditionally."""

    @abstractmethod
    def set_many(self, partition: str, items: list[tuple[bytes, bytes]]) -> None:
        """Write several records in one transaction."""

    @abstractmethod
    def set_if(self, partition: str, key: bytes, value: bytes, expected: bytes | _MustNotExist) -> bool:
        """Compare-and-set: write only if the current value equals ``expected``.

        ``expected`` may be :data:`MUST_NOT_EXIST`. Returns whether the write happened.
        """

    @abstractmethod
    def delete(self, partition: str, key: bytes) -> None:
        """Remove ``key``; absent keys are ignored."""

    @abstractmethod
    def delete_if(self, partition: str, key: bytes, expected: bytes) -> bool:
        """Remove ``key`` only if its value equals ``expected``."""

    @abstractmethod
    def delete_prefix(self, partition: str, prefix: bytes = b"") -> None:
        """Remove every key of ``partition`` that starts with ``prefix``."""

    @abstractmethod
    def scan(
        self,
        partition: str,
        *,
        start: bytes = b"",
        prefix: bytes = b"",
        limit: int | None = None,
    ) -> Iterator[KVItem]:
        """Yield records with ``key >= start`` and the given prefix, in key order."""

    @abstractmethod
    def close(self) -> None:
        """Release connections."""


def prefix_upper_bound(prefix: bytes) -> bytes | None:
    """The smallest key greater than every key starting with ``prefix`` (None: no bound)."""
    stripped = prefix.rstrip(b"\xff")
    if not stripped:
        return None
    return stripped[:-1] + bytes([stripped[-1] + 1])


#: ``fetch(lower, inclusive, upper, count)``: up to ``count`` rows ``(key, value)`` in key
#: order with ``key >= lower`` (``> lower`` when not inclusive) and ``key < upper``.
PageQuery = Callable[[bytes, bool, bytes | None, int], Sequence[tuple[bytes, bytes]]]


def scan_in_pages(
    fetch: PageQuery, *, start: bytes, prefix: bytes, limit: int | None, page_size: int = 1000
) -> Iterator[KVItem]:
    """A driver's scan, one bounded page query at a time (no cursor held between pages)."""
    lower = max(start, prefix)
    upper = prefix_upper_bound(prefix) if prefix else None
    remaining = limit
    inclusive = True
    while remaining is None or remaining > 0:
        count = page_size if remaining is None else min(page_size, remaining)
        rows = fetch(lower, inclusive, upper, count)
        for key, value in rows:
            yield KVItem(bytes(key), bytes(value))
        if len(rows) < count:
            return
        if remaining is not None:
            remaining -= len(rows)
        lower = bytes(rows[-1][0])
        inclusive = False
