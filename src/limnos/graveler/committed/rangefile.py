"""File formats of ranges and metaranges, and their decoded forms.

Both are content addressed: an object's id is the lowercase SHA-256 hex
digest of its whole file, and it is stored at ``_lakefs/<id>`` in the
repository's storage namespace.

Range file::

    b"LMNR" 0x01                       5-byte magic and format version
    msgpack [keys, values]             keys: array of str (sorted, unique),
                                       values: array of bin, same length

Metarange file::

    b"LMNM" 0x01
    msgpack [[id, min_key, max_key, count, size_bytes], ...]
                                       one array per range, in key order

Encoding uses ``msgspec.msgpack`` with no map and no float, so the same
entries always produce the same bytes (and the same id); decoding runs in C
and yields a list of ``str`` keys and a list of raw ``bytes`` values, which
are never interpreted here. A tree's id is the id of its metarange; the empty
tree is a metarange with no range. No compression: the values are mostly
already-compact encoded entries and the files are small (~200 KB), so it
would cost more time than the bytes it saves.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import msgspec

RANGE_MAGIC = b"LMNR\x01"
METARANGE_MAGIC = b"LMNM\x01"

# Python object overhead per decoded entry (str + bytes headers, two tuple
# slots), used to estimate the memory a decoded range holds.
_ENTRY_OVERHEAD = 100
_RANGE_INFO_OVERHEAD = 300


class RangeInfo(msgspec.Struct, frozen=True, array_like=True):
    """One range of a metarange: a row of the metarange file, in field order."""

    id: str
    min_key: str
    max_key: str
    count: int
    size_bytes: int


class CorruptObjectError(ValueError):
    """A stored range or metarange cannot be decoded."""


class Range:
    """A decoded range: parallel sorted keys and their raw values.

    Held as tuples, not lists: a tuple of strings and bytes is dropped from the garbage
    collector's watch the first time it is seen, where a list is traversed item by item
    in every full collection. With a million cached entries per server process, lists
    made each full collection pause the process for 50-90 ms.
    """

    __slots__ = ("keys", "values")

    def __init__(self, keys: Sequence[str], values: Sequence[bytes]) -> None:
        self.keys: tuple[str, ...] = tuple(keys)  # no copy when already a tuple
        self.values: tuple[bytes, ...] = tuple(values)

    def memory_size(self, file_size: int) -> int:
        """Approximate bytes held in memory, from the size of its file."""
        return file_size + _ENTRY_OVERHEAD * len(self.keys)


class Metarange:
    """A decoded metarange: the ranges of a tree, with their max keys for bisection."""

    __slots__ = ("ranges", "max_keys", "count")

    def __init__(self, ranges: list[RangeInfo]) -> None:
        self.ranges = ranges
        self.max_keys = [r.max_key for r in ranges]
        self.count = sum(r.count for r in ranges)

    def memory_size(self, file_size: int) -> int:
        """Approximate bytes held in memory, from the size of its file."""
        return file_size + _RANGE_INFO_OVERHEAD * len(self.ranges)


_encoder = msgspec.msgpack.Encoder()
_range_decoder = msgspec.msgpack.Decoder(tuple[tuple[str, ...], tuple[bytes, ...]])
_metarange_decoder = msgspec.msgpack.Decoder(list[RangeInfo])


def object_id(data: bytes) -> str:
    """The content address of a range or metarange file."""
    return hashlib.sha256(data).hexdigest()


def encode_range(keys: list[str], values: list[bytes]) -> bytes:
    """The file bytes of a range holding ``keys`` (sorted, unique) and ``values``."""
    return RANGE_MAGIC + _encoder.encode((keys, values))


def decode_range(data: bytes) -> Range:
    """Decode a range file; raises CorruptObjectError."""
    if data[: len(RANGE_MAGIC)] != RANGE_MAGIC:
        raise CorruptObjectError("not a range file (bad magic)")
    try:
        keys, values = _range_decoder.decode(memoryview(data)[len(RANGE_MAGIC) :])
    except msgspec.DecodeError as err:
        raise CorruptObjectError(f"undecodable range file: {err}") from err
    if len(keys) != len(values) or not keys:
        raise CorruptObjectError("range file with mismatched or no entries")
    return Range(keys, values)


def encode_metarange(ranges: list[RangeInfo]) -> bytes:
    """The file bytes of a metarange listing ``ranges`` in key order."""
    # Each RangeInfo is encoded as the array of its fields, in one call.
    return METARANGE_MAGIC + _encoder.encode(ranges)


def decode_metarange(data: bytes) -> Metarange:
    """Decode a metarange file; raises CorruptObjectError."""
    if data[: len(METARANGE_MAGIC)] != METARANGE_MAGIC:
        raise CorruptObjectError("not a metarange file (bad magic)")
    try:
        ranges = _metarange_decoder.decode(memoryview(data)[len(METARANGE_MAGIC) :])
    except msgspec.DecodeError as err:
        raise CorruptObjectError(f"undecodable metarange file: {err}") from err
    return Metarange(ranges)
