"""The object storage interface shared by every blockstore adapter.

Objects are named by full URIs (``local://repo/path``, ``mem://bucket/key``,
``s3://bucket/key``). A repository's storage namespace is such a URI; addresses
relative to it are joined with :func:`join_uri`.
"""

from __future__ import annotations

import uuid
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

from limnos.errors import Invalid, NotFound

CHUNK_SIZE = 256 * 1024


class BlockError(Exception):
    """Base class of object storage failures."""


class ObjectNotFoundError(BlockError, NotFound):
    """The object does not exist."""


class InvalidAddressError(BlockError, Invalid):
    """The address is malformed, of another blockstore, or outside what may be touched."""


@dataclass(frozen=True, slots=True)
class PutResult:
    """What storage reports of a written object."""

    size: int
    etag: str  # hex MD5 of the content, without quotes ("" from copy when not reported)
    mtime: datetime


@dataclass(frozen=True, slots=True)
class ObjectInfo:
    """What storage reports of an existing object."""

    uri: str
    size: int
    etag: str
    mtime: datetime


class BlockWriter(ABC):
    """An object being written in pieces; invisible until :meth:`commit`."""

    @abstractmethod
    def write(self, chunk: bytes) -> None:
        """Append ``chunk``."""

    @abstractmethod
    def commit(self) -> PutResult:
        """Make the object visible at its address, durably."""

    @abstractmethod
    def abort(self) -> None:
        """Discard what was written; safe to call after a failed commit or sync."""

    def finish(self) -> PutResult:
        """Make the object visible at its address without waiting for durability.

        :meth:`BlockAdapter.sync` then makes it durable. Only for adapters whose
        ``syncs_in_groups`` is true.
        """
        raise NotImplementedError(f"{type(self).__name__} cannot defer durability")


class BlockAdapter(ABC):
    """Streaming access to one kind of object storage."""

    #: URI schemes this adapter serves, e.g. ``("local",)``.
    schemes: tuple[str, ...] = ()
    #: The lakeFS blockstore type name reported by getStorageConfig.
    blockstore_type: str = ""
    #: Whether objects written with :meth:`BlockWriter.finish` are made durable together
    #: by one :meth:`sync`, at less cost than a :meth:`BlockWriter.commit` each.
    syncs_in_groups: bool = False

    @abstractmethod
    def writer(self, uri: str) -> BlockWriter:
        """Start writing an object at ``uri``; it appears whole on commit or not at all."""

    def new_object_writer(self, namespace: str) -> tuple[str, BlockWriter]:
        """A writer for a new object at a fresh address of ``namespace``.

        Returns the address relative to the namespace and the writer. Nothing may read
        the address before the writer's commit returns, so adapters can prepare it ahead.
        """
        address = fresh_address()
        return address, self.writer(join_uri(namespace, address))

    def sync(self, writers: Sequence[BlockWriter]) -> None:
        """Make the objects of ``writers``, finished but not committed, durable at once."""
        raise NotImplementedError(f"{type(self).__name__} cannot sync objects in groups")

    def put(self, uri: str, chunks: Iterable[bytes]) -> PutResult:
        """Store the concatenated ``chunks`` at ``uri`` atomically (all or nothing)."""
        writer = self.writer(uri)
        try:
            for chunk in chunks:
                writer.write(chunk)
            return writer.commit()
        except BaseException:
            writer.abort()
            raise

    def put_bytes(self, uri: str, data: bytes) -> PutResult:
        """Store ``data`` at ``uri``."""
        return self.put(uri, (data,))

    @abstractmethod
    def get(self, uri: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        """Stream bytes ``[start, end)`` of the object; raises ObjectNotFoundError."""

    def read_cached(self, uri: str, start: int, end: int) -> bytes | None:
        """Bytes ``[start, end)`` of the object if they can be had at once, from memory or
        the page cache, without waiting for a disk or the network; None otherwise.

        Raises ObjectNotFoundError. Callers on an event loop use it to skip a thread hop.
        """
        return None

    def get_bytes(self, uri: str) -> bytes:
        """Read a whole (small) object."""
        return b"".join(self.get(uri))

    @abstractmethod
    def head(self, uri: str) -> ObjectInfo:
        """Size, ETag and time of the object; raises ObjectNotFoundError."""

    def exists(self, uri: str) -> bool:
        """Whether an object is stored at ``uri``."""
        try:
            self.head(uri)
        except ObjectNotFoundError:
            return False
        return True

    @abstractmethod
    def delete(self, uri: str) -> None:
        """Remove the object; a missing object is not an error."""

    @abstractmethod
    def copy(self, src_uri: str, dst_uri: str) -> PutResult:
        """Copy an object inside the store, without passing bytes through us when possible."""

    @abstractmethod
    def list(self, prefix_uri: str, after: str = "") -> Iterator[ObjectInfo]:
        """Objects whose URI starts with ``prefix_uri``, in URI order, after ``after``."""

    def validate_namespace(self, namespace: str) -> None:
        """Raise InvalidAddressError when ``namespace`` cannot be a storage namespace here."""
        scheme = namespace.split("://", 1)[0] if "://" in namespace else ""
        if scheme not in self.schemes:
            raise InvalidAddressError(
                f"storage namespace {namespace!r} does not match blockstore type "
                f"{self.blockstore_type!r} (expected {self.schemes[0]}://...)"
            )

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release resources."""


def fresh_address() -> str:
    """A new, unique address for object bytes, relative to a storage namespace: one of
    256 directories, so concurrent writers rarely share one."""
    token = uuid.uuid4().hex
    return f"data/{token[:2]}/{token}"


def join_uri(namespace: str, relative: str) -> str:
    """Join a storage namespace and a relative address."""
    return namespace.rstrip("/") + "/" + relative.lstrip("/")


def split_uri(uri: str) -> tuple[str, str]:
    """``scheme://rest`` -> ``(scheme, rest)``; raises InvalidAddressError."""
    if "://" not in uri:
        raise InvalidAddressError(f"not an object address: {uri!r}")
    scheme, rest = uri.split("://", 1)
    return scheme, rest
