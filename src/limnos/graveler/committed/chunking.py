"""Content-defined range boundaries.

A tree is cut into ranges at boundaries that depend only on its keys, so the
same set of keys is always cut the same way, whatever sequence of changes
built it, and a local change moves only nearby boundaries.

The boundary rule, applied to the sorted keys one after the other:

* a range ends after key ``k`` when the top ``target_bits`` bits of
  ``(crc32(utf8(k)) * 0x9E3779B1) mod 2**32`` are all zero (probability
  ``1 / 2**target_bits``). CRC-32 runs in C and is the cheapest byte hash in
  the standard library (~0.15 s per million keys here, blake2b is ~2.5x
  slower); being linear over GF(2) its bits are correlated on keys that differ
  in a few characters, so it is multiplied by the 32-bit golden-ratio constant
  and the *top* bits of the product are used, which depend on every bit of
  the CRC. Measured range sizes are geometric as expected (mean ~1024, sd
  ~1024) on sequential, nested and random key sets;
* a range also ends once it holds ``max_entries`` entries, so a run of keys
  that never hits a boundary cannot build an unbounded range. With the
  default mean of 1024 and limit of 16384 this happens with probability
  ~e**-16 per range.

Both rules only look at the keys since the previous cut, so after any cut the
state is "zero entries pending": that is what lets the incremental writer
resynchronise with the ranges of an older tree (see ``apply.py``). It also
means no key of a stored range but its last is a hash boundary, which spares
re-hashing the old keys of a rewritten range; the rule is therefore part of
the file format and must not change without a new format version.

The two parameters are held by a :class:`Chunking` value passed to the
writer and to ``apply`` (``CommittedStore(chunking=...)``). They are part of
the format too: every tree of a namespace must be written with the same
chunking, or incremental writes would reuse ranges cut by another rule and
equal contents would no longer get equal ids. :data:`DEFAULT` is what the
server uses; other values are for tests that want small ranges.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field

_MIX = 0x9E3779B1  # odd, so multiplying by it is a bijection of 32-bit words


@dataclass(frozen=True, slots=True)
class Chunking:
    """The range boundary rule: ~``2**target_bits`` entries per range, at most ``max_entries``.

    Immutable and compared by its two parameters. Must never change for a
    namespace once trees are written there (see the module docstring).
    """

    #: A key ends a range with probability ``1 / 2**target_bits`` (0 to 32).
    target_bits: int = 10
    #: Hard limit of entries per range.
    max_entries: int = 16384
    _mask: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not 0 <= self.target_bits <= 32:
            raise ValueError(f"target_bits must be within 0..32, not {self.target_bits}")
        if self.max_entries < 1:
            raise ValueError(f"max_entries must be positive, not {self.max_entries}")
        # Precomputed once: the hot loops read one attribute, as they read a global before.
        object.__setattr__(self, "_mask", ((1 << self.target_bits) - 1) << (32 - self.target_bits))

    @property
    def target_entries(self) -> int:
        """Average number of entries per range."""
        return 1 << self.target_bits

    def is_boundary(self, key: str) -> bool:
        """Whether a range ends after ``key`` by the hash rule (ignoring ``max_entries``)."""
        return ((zlib.crc32(key.encode()) * _MIX) & self._mask) == 0

    def hash_boundaries(self, keys: Sequence[str], offset: int = 0) -> list[int]:
        """Indices (plus ``offset``) of the keys after which the hash rule cuts."""
        crc32 = zlib.crc32
        mix = _MIX
        mask = self._mask
        # One comprehension with local names: the per-key cost is mostly crc32 and encode.
        return [i + offset for i, k in enumerate(keys) if not (crc32(k.encode()) * mix) & mask]

    def find_cuts(self, count: int, boundaries: list[int], pending: int = 0) -> list[int]:
        """Indices after which a range ends, among ``count`` sorted entries.

        ``boundaries`` are the indices where the hash rule cuts (sorted); the
        entries continue a range that already holds ``pending`` entries
        (``0 <= pending < max_entries``). Size cuts are added where a range would
        exceed ``max_entries``. The last entry is not a cut unless a rule says so.
        """
        max_entries = self.max_entries
        if count + pending < max_entries:
            return boundaries  # the common case: no range can reach the size limit
        cuts: list[int] = []
        last = -1 - pending  # index of the previous cut, possibly before the first entry
        for c in boundaries:
            while c - last > max_entries:
                last += max_entries
                cuts.append(last)
            cuts.append(c)
            last = c
        end = count - 1
        while end - last >= max_entries:
            last += max_entries
            cuts.append(last)
        return cuts


#: The chunking of every tree the server writes.
DEFAULT = Chunking()
