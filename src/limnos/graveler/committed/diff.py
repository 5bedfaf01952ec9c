"""Differences between two trees, skipping ranges they share."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Iterator

from limnos.graveler.committed.rangefile import Metarange, Range, RangeInfo

Loader = Callable[[RangeInfo], Range]
Difference = tuple[str, bytes | None, bytes | None]
#: Whether two present values stand for the same content (see CommittedStore).
Same = Callable[[bytes, bytes], bool]


def same_bytes(a: bytes, b: bytes) -> bool:
    """The default notion of sameness: equal bytes."""
    return a == b


class _Side:
    """A cursor over the ranges of one tree, inside ``[lo, hi)``.

    Either *loaded* (``keys`` set: positioned at entry ``pos`` of the current
    range, which ends at ``end``) or *between ranges* (``keys`` None: the
    next range, ``header()``, is not loaded yet).
    """

    __slots__ = ("infos", "idx", "stop", "keys", "values", "pos", "end", "range_max", "lo", "hi")

    def __init__(self, meta: Metarange, lo: str, hi: str | None) -> None:
        self.infos = meta.ranges
        self.idx = bisect_left(meta.max_keys, lo)  # first range that may hold keys >= lo
        self.stop = len(self.infos)
        self.keys: tuple[str, ...] | None = None
        self.values: tuple[bytes, ...] = ()
        self.pos = 0
        self.end = 0
        self.range_max = ""
        self.lo = lo
        self.hi = hi

    def header(self) -> RangeInfo | None:
        """The next range to load, or None when no range is left in bounds."""
        if self.idx >= self.stop:
            return None
        info = self.infos[self.idx]
        if self.hi is not None and info.min_key >= self.hi:
            return None
        return info

    def load(self, loader: Loader) -> None:
        """Load the next range, positioned on its first entry in bounds."""
        info = self.infos[self.idx]
        self.idx += 1
        rng = loader(info)
        keys = rng.keys
        self.pos = bisect_left(keys, self.lo) if keys[0] < self.lo else 0
        self.end = len(keys)
        if self.hi is not None and info.max_key >= self.hi:
            self.end = bisect_left(keys, self.hi)
            self.stop = self.idx  # every later range is out of bounds too
        self.range_max = info.max_key
        if self.pos < self.end:
            self.keys = keys
            self.values = rng.values
        else:
            self.keys = None

    def skip(self) -> None:
        """Pass the next range without loading it."""
        self.idx += 1


def diff_trees(
    loader: Loader,
    left: Metarange,
    right: Metarange,
    lo: str,
    hi: str | None,
    same: Same = same_bytes,
) -> Iterator[Difference]:
    """``(key, left_value, right_value)`` for keys in ``[lo, hi)`` whose values differ.

    Ranges with the same id, met at the same point of both walks, are skipped
    without loading. A range is only loaded once the other side's keys reach
    its ``min_key``, so a range inserted on one side does not force loading
    the other side's next range (which is then often shared, and skipped).
    """
    a = _Side(left, lo, hi)
    b = _Side(right, lo, hi)
    while True:
        if a.keys is None and b.keys is None:
            ha, hb = a.header(), b.header()
            while ha is not None and hb is not None and ha.id == hb.id:
                a.skip()
                b.skip()
                ha, hb = a.header(), b.header()
            if ha is None and hb is None:
                return
            if hb is None or (ha is not None and ha.max_key < hb.min_key):
                a.load(loader)
            elif ha is None or hb.max_key < ha.min_key:
                b.load(loader)
            else:
                a.load(loader)
                b.load(loader)
        elif a.keys is None:
            ha = a.header()
            if ha is not None and ha.min_key <= b.range_max:
                a.load(loader)
        elif b.keys is None:
            hb = b.header()
            if hb is not None and hb.min_key <= a.range_max:
                b.load(loader)

        if a.keys is not None and b.keys is not None:
            yield from _merge_walk(a, b, same)
        elif a.keys is not None:
            yield from _one_side(a, left_side=True)
        elif b.keys is not None:
            yield from _one_side(b, left_side=False)


def _one_side(s: _Side, *, left_side: bool) -> Iterator[Difference]:
    # The other side has no key up to the end of this range.
    assert s.keys is not None
    keys, values = s.keys, s.values
    if left_side:
        for x in range(s.pos, s.end):
            yield keys[x], values[x], None
    else:
        for x in range(s.pos, s.end):
            yield keys[x], None, values[x]
    s.keys = None


def _merge_walk(a: _Side, b: _Side, same: Same) -> Iterator[Difference]:
    # Two-pointer walk over two loaded ranges until one of them is exhausted.
    assert a.keys is not None and b.keys is not None
    ak, av, i, ae = a.keys, a.values, a.pos, a.end
    bk, bv, j, be = b.keys, b.values, b.pos, b.end
    while i < ae and j < be:
        ka = ak[i]
        kb = bk[j]
        if ka == kb:
            if av[i] != bv[j] and not same(av[i], bv[j]):
                yield ka, av[i], bv[j]
            i += 1
            j += 1
        elif ka < kb:
            yield ka, av[i], None
            i += 1
        else:
            yield kb, None, bv[j]
            j += 1
    a.pos, b.pos = i, j
    if i >= ae:
        a.keys = None
    if j >= be:
        b.keys = None
