"""Cutting a sorted stream of entries into stored ranges."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Future

from limnos.graveler.committed.chunking import Chunking
from limnos.graveler.committed.rangefile import RangeInfo
from limnos.graveler.committed.storage import WriteBatch


class RangeWriter:
    """Builds the range list of a new tree.

    Entries are fed in key order; ranges are cut where ``chunking`` says and
    written through ``batch``. Whole ranges of an older tree can be appended
    unchanged when the writer is at a boundary (nothing pending), which is
    what makes a small change cheap.
    """

    def __init__(self, batch: WriteBatch, chunking: Chunking) -> None:
        self.batch = batch
        self.chunking = chunking
        self.ranges: list[RangeInfo | Future[RangeInfo]] = []
        self._keys: list[str] = []
        self._values: list[bytes] = []

    @property
    def at_boundary(self) -> bool:
        """True when no entry is pending, i.e. the last entry fed ended a range."""
        return not self._keys

    def reuse(self, ranges: Sequence[RangeInfo]) -> None:
        """Append already stored ranges as they are; only valid at a boundary."""
        assert not self._keys, "ranges can only be reused at a boundary"
        self.ranges.extend(ranges)

    def feed(self, keys: list[str], values: list[bytes], boundaries: list[int] | None = None) -> None:
        """Add sorted entries, all greater than those fed before.

        ``boundaries``, when the caller knows them, are the indices of the keys
        that are hash boundaries by ``self.chunking``; otherwise they are computed.
        """
        if not keys:
            return
        if boundaries is None:
            boundaries = self.chunking.hash_boundaries(keys)
        cuts = self.chunking.find_cuts(len(keys), boundaries, len(self._keys))
        if not cuts:
            self._keys.extend(keys)
            self._values.extend(values)
            return
        store = self.batch.store_range
        out = self.ranges
        first = cuts[0] + 1
        if self._keys:
            out.append(store(self._keys + keys[:first], self._values + values[:first]))
        else:
            out.append(store(keys[:first], values[:first]))
        start = first
        for cut in cuts[1:]:
            out.append(store(keys[start : cut + 1], values[start : cut + 1]))
            start = cut + 1
        self._keys = keys[start:]
        self._values = values[start:]

    def finish(self) -> list[RangeInfo]:
        """Store what is pending as the last range; the ranges, once all are hashed
        (their files may still be being written: see :meth:`WriteBatch.store_metarange`)."""
        if self._keys:
            self.ranges.append(self.batch.store_range(self._keys, self._values))
            self._keys, self._values = [], []
        return self.batch.resolve(self.ranges)
