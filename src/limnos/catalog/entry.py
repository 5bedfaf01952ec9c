"""Object entries: what a path on a branch points at, encoded as an engine value."""

from __future__ import annotations

from enum import IntEnum

import msgspec

from limnos.block.adapter import PutResult, join_uri

#: The content type of an object that was given none.
DEFAULT_CONTENT_TYPE = "application/octet-stream"


class AddressType(IntEnum):
    """How an entry's address names its bytes (stored as the number)."""

    #: Relative to the repository's storage namespace.
    RELATIVE = 0
    #: A full URI, possibly outside the namespace (imported objects).
    FULL = 1


class Entry(msgspec.Struct, frozen=True, array_like=True):
    """An object's metadata. Encoding is canonical: equal entries give equal bytes."""

    address: str
    address_type: AddressType
    size: int
    checksum: str
    mtime: int
    content_type: str = DEFAULT_CONTENT_TYPE
    metadata: tuple[tuple[str, str], ...] = ()

    @classmethod
    def stored(
        cls,
        address: str,
        result: PutResult,
        *,
        content_type: str = DEFAULT_CONTENT_TYPE,
        metadata: dict[str, str] | None = None,
        address_type: AddressType = AddressType.RELATIVE,
    ) -> Entry:
        """The entry of bytes the blockstore just stored at ``address``."""
        return cls(
            address=address,
            address_type=address_type,
            size=result.size,
            checksum=result.etag,
            mtime=int(result.mtime.timestamp()),
            content_type=content_type,
            metadata=normalize_metadata(metadata),
        )

    def physical_address(self, storage_namespace: str) -> str:
        """The full URI of the object's bytes."""
        if self.address_type == AddressType.FULL:
            return self.address
        return join_uri(storage_namespace, self.address)

    @property
    def user_metadata(self) -> dict[str, str]:
        """User metadata as a dictionary."""
        return dict(self.metadata)


_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(Entry)


def encode_entry(entry: Entry) -> bytes:
    """Canonical bytes of an entry."""
    return _encoder.encode(entry)


def decode_entry(data: bytes) -> Entry:
    """The entry stored in ``data``."""
    return _decoder.decode(data)


def normalize_metadata(metadata: dict[str, str] | None) -> tuple[tuple[str, str], ...]:
    """Sorted pairs, so that equal metadata encodes equally."""
    return tuple(sorted((metadata or {}).items()))


def same_content(a: bytes, b: bytes) -> bool:
    """Whether two encoded entries describe the same object content.

    The same bytes uploaded twice get two addresses and two mtimes, but are the same
    object for diff and merge: checksum, size, content type and user metadata decide.
    """
    left, right = _decoder.decode(a), _decoder.decode(b)
    return (
        left.checksum == right.checksum
        and left.size == right.size
        and left.content_type == right.content_type
        and left.metadata == right.metadata
    )
