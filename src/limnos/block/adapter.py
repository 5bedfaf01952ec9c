"""The object storage interface shared by every blockstore adapter.

Objects are named by full URIs (``local://repo/path``, ``mem://bucket/key``,
``s3://bucket/key``). A repository's storage namespace is such a URI; addresses
relative to it are joined with :func:`join_uri`.
"""

from __future__ import annotations

import builtins
import uuid
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from limnos.block.presign import UrlSigner
from limnos.errors import InsufficientStorage, Invalid, NotFound
from limnos.metrics import BLOCKSTORE_OPERATION_DURATION, meter

CHUNK_SIZE = 256 * 1024
#: S3's rules for multipart uploads, which every blockstore follows: every part but the
#: last holds at least MIN_PART_SIZE bytes, and parts are numbered 1 to MAX_PARTS.
MIN_PART_SIZE = 5 * 1024 * 1024
MAX_PARTS = 10_000
#: How long presigned URLs work unless configured otherwise.
DEFAULT_PRESIGN_EXPIRY_SECONDS = 15 * 60


# The operations whose durations are recorded (blockstore_operation_duration_seconds).
_METERED = (
    "get",
    "read_cached",
    "get_bytes",
    "get_bytes_range",
    "head",
    "size",
    "exists",
    "delete",
    "copy",
    "list",
    "sync",
    "create_multipart",
    "copy_part",
    "complete_multipart",
    "abort_multipart",
    "list_parts",
)
_METERED_WRITES = ("commit", "finish")


class BlockError(Exception):
    """Base class of object storage failures."""


class ObjectNotFoundError(BlockError, NotFound):
    """The object does not exist; ``what`` names it (its address, usually)."""

    def __init__(self, what: str) -> None:
        super().__init__(f"not found: {what}")


class InvalidAddressError(BlockError, Invalid):
    """The address is malformed, of another blockstore, or outside what may be touched."""


class BlockstoreFullError(BlockError, InsufficientStorage):
    """The blockstore has no room for what is written (no space left, or a quota)."""

    def __init__(self, why: str = "no space left on device") -> None:
        super().__init__(f"the blockstore is full: {why}")


class InvalidPartError(BlockError, Invalid):
    """A multipart upload cannot be completed with the parts given."""


class NoSuchUploadError(BlockError, NotFound):
    """The multipart upload does not exist (never created, completed or aborted)."""


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
    #: The object's content type where storage keeps one and reports it (S3's HEAD;
    #: listings report none), else "".
    content_type: str = ""


@dataclass(frozen=True, slots=True)
class PartInfo:
    """One uploaded part of a multipart upload."""

    number: int
    etag: str  # hex MD5 of the part, without quotes
    size: int
    mtime: datetime


class BlockWriter(ABC):
    """An object being written in pieces; invisible until :meth:`commit`."""

    #: Whether :meth:`store` and :meth:`digest` split :meth:`write` in two, to be run at
    #: the same time in two threads (hashing costs as much as storing, or more).
    splits_hashing: bool = False
    #: Whether this writer's own commit is timed; False for one that wraps another writer.
    metered: bool = True

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        # Writing an object is timed at its end (the upload, the fsync and rename), by
        # the writer's module: local, s3, mem.
        if cls.metered:
            meter(cls, BLOCKSTORE_OPERATION_DURATION, _METERED_WRITES, cls.__module__.rsplit(".", 1)[-1])

    @abstractmethod
    def write(self, chunk: bytes) -> None:
        """Append ``chunk``."""

    def store(self, chunks: Sequence[bytes]) -> None:
        """Append ``chunks`` without hashing them; :meth:`digest` must see the same
        chunks, in the same order (only where ``splits_hashing``)."""
        raise NotImplementedError(f"{type(self).__name__} does not split hashing")

    def digest(self, chunks: Sequence[bytes]) -> None:
        """Fold ``chunks`` into the object's ETag (only where ``splits_hashing``)."""
        raise NotImplementedError(f"{type(self).__name__} does not split hashing")

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
    #: The namespace prefix reported when ``blockstore.default_namespace_prefix`` is not
    #: set (lakeFS's adapters: ``local://`` for local storage, nothing for the others).
    default_namespace_prefix: str = ""
    #: Whether objects written with :meth:`BlockWriter.finish` are made durable together
    #: by one :meth:`sync`, at less cost than a :meth:`BlockWriter.commit` each.
    syncs_in_groups: bool = False
    #: Signs the URLs the server answers for this store's objects; None for stores that
    #: sign their own (see :mod:`limnos.block.presign`).
    signer: UrlSigner | None = None
    #: How long a presigned URL works, in seconds.
    presign_expiry_seconds: int = DEFAULT_PRESIGN_EXPIRY_SECONDS

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        meter(cls, BLOCKSTORE_OPERATION_DURATION, _METERED, None)

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

    def get_bytes_range(self, uri: str, start: int, end: int) -> bytes:
        """Bytes ``[start, end)`` of the object, read whole."""
        return b"".join(self.get(uri, start, end))

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

    def size(self, uri: str) -> int:
        """The size of the object in bytes; raises ObjectNotFoundError."""
        return self.head(uri).size

    # presigned URLs and multipart uploads ---------------------------------------------
    # S3 has its own; the stores that have none get them from SelfServedAdapter
    # (block/self_served.py), whose URLs Limnos signs and answers itself.

    @property
    def serves_presigned(self) -> bool:
        """Whether Limnos itself answers this store's presigned URLs."""
        return self.signer is not None

    @property
    def can_presign(self) -> bool:
        """Whether presigned URLs and multipart uploads work on this store."""
        return False

    def presign(self, uri: str, method: Literal["GET", "PUT"], expires: int) -> str:
        """A URL that reads (GET) or writes (PUT) the object at ``uri`` without other
        credentials until ``expires`` (Unix seconds). Self-served URLs are relative to the
        server's root."""
        raise NotImplementedError(f"{type(self).__name__} cannot presign URLs")

    def create_multipart(self, uri: str) -> str:
        """Start a multipart upload to ``uri``; its upload id."""
        raise NotImplementedError(f"{type(self).__name__} has no multipart uploads")

    def presign_part(self, uri: str, upload_id: str, part_number: int, expires: int) -> str:
        """A URL that uploads part ``part_number`` with a plain PUT until ``expires``."""
        raise NotImplementedError(f"{type(self).__name__} has no multipart uploads")

    def part_writer(self, uri: str, upload_id: str, part_number: int) -> BlockWriter:
        """A writer of one part of a self-served multipart upload; its commit reports the
        part's ETag."""
        raise NotImplementedError(f"{type(self).__name__} does not receive parts itself")

    def copy_part(
        self, src_uri: str, first: int, last: int | None, uri: str, upload_id: str, part_number: int
    ) -> str:
        """Upload part ``part_number`` as bytes ``[first, last]`` of another object (to its
        end when ``last`` is None); the part's ETag."""
        raise NotImplementedError(f"{type(self).__name__} has no multipart uploads")

    def complete_multipart(self, uri: str, upload_id: str, parts: Sequence[tuple[int, str]]) -> PutResult:
        """Assemble the object at ``uri`` from ``parts`` (number and ETag, ascending) and
        remove the parts. Raises InvalidPartError for a part that was not uploaded or is
        too small, NoSuchUploadError for an upload the store does not know."""
        raise NotImplementedError(f"{type(self).__name__} has no multipart uploads")

    def abort_multipart(self, uri: str, upload_id: str) -> None:
        """Remove every part of the upload; nothing else is left of it."""
        raise NotImplementedError(f"{type(self).__name__} has no multipart uploads")

    def list_parts(self, uri: str, upload_id: str) -> builtins.list[PartInfo]:
        """The parts uploaded so far, by ascending number (the last upload of each)."""
        raise NotImplementedError(f"{type(self).__name__} has no multipart uploads")

    def validate_address(self, uri: str) -> None:
        """Raise InvalidAddressError when ``uri`` is not an address of this store."""
        scheme, _ = split_uri(uri)
        if scheme not in self.schemes:
            raise InvalidAddressError(
                f"invalid address: {uri!r} is not of the {self.blockstore_type} blockstore"
            )

    def validate_external(self, uri: str) -> None:
        """Raise InvalidAddressError unless ``uri`` may be linked as an object kept outside
        every storage namespace (uploaded or imported from elsewhere)."""
        self.validate_address(uri)

    def validate_namespace(self, namespace: str) -> None:
        """Raise InvalidAddressError when ``namespace`` cannot be a storage namespace here."""
        if any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in namespace):
            # A newline or another control character would make a second spelling of a
            # path, or forge lines in whatever prints the namespace.
            raise InvalidAddressError(f"invalid namespace: {namespace!r} contains a control character")
        scheme = namespace.split("://", 1)[0] if "://" in namespace else ""
        if scheme not in self.schemes:
            raise InvalidAddressError(
                f"invalid namespace: {namespace!r} does not match blockstore type "
                f"{self.blockstore_type!r} (expected {self.schemes[0]}://...)"
            )

    def canonical_namespace(self, namespace: str) -> str:
        """``namespace`` in the one form a repository records and claims: no empty path
        segments and no trailing ``/`` (``s3://b//p/`` is ``s3://b/p``). Raises
        InvalidAddressError for a namespace that cannot be one here."""
        BlockAdapter.validate_namespace(self, namespace)  # the scheme, before splitting
        scheme, rest = split_uri(namespace)
        if not rest or rest.startswith("/"):
            raise InvalidAddressError(f"invalid namespace: {namespace!r} names no bucket")
        canonical = f"{scheme}://" + "/".join(part for part in rest.split("/") if part)
        self.validate_namespace(canonical)
        return canonical

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
        raise InvalidAddressError(f"invalid address: {uri!r} is not an object address")
    scheme, rest = uri.split("://", 1)
    return scheme, rest
