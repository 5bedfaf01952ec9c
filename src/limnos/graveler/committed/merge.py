"""Three-way merge of trees."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator
from typing import Literal, get_args

from limnos.graveler.committed.diff import Difference, Loader, Same, same_bytes
from limnos.graveler.committed.errors import MAX_CONFLICTS, MergeConflictError
from limnos.graveler.committed.rangefile import Metarange

# How a merge settles a key both sides changed differently: "" reports a conflict,
# "dest-wins" keeps the destination's value, "source-wins" takes the source's.
MergeStrategy = Literal["", "dest-wins", "source-wins"]
STRATEGIES: tuple[MergeStrategy, ...] = get_args(MergeStrategy)


class SortedLookup:
    """Point lookups in a tree for non-decreasing keys, loading each range at most once."""

    def __init__(self, loader: Loader, meta: Metarange) -> None:
        self.loader = loader
        self.meta = meta
        self._idx = -1
        self._keys: tuple[str, ...] = ()
        self._values: tuple[bytes, ...] = ()
        self._pos = 0

    def get(self, key: str) -> bytes | None:
        """The value of ``key``, which is >= every key asked before; None when absent."""
        meta = self.meta
        if self._idx < 0 or key > meta.max_keys[self._idx]:
            idx = bisect_left(meta.max_keys, key, max(self._idx, 0))
            if idx >= len(meta.ranges):
                return None
            if idx != self._idx:
                rng = self.loader(meta.ranges[idx])
                self._idx, self._keys, self._values, self._pos = idx, rng.keys, rng.values, 0
        if key < self._keys[0]:
            return None
        pos = bisect_left(self._keys, key, self._pos)
        self._pos = pos
        if pos < len(self._keys) and self._keys[pos] == key:
            return self._values[pos]
        return None


def _equal(a: bytes | None, b: bytes | None, same: Same) -> bool:
    if a is None or b is None:
        return a is b
    return a == b or same(a, b)


def merge_changes(
    source_diff: Iterator[Difference], dest: SortedLookup, strategy: MergeStrategy, same: Same = same_bytes
) -> tuple[list[str], list[bytes | None]]:
    """The changes to apply to dest: sorted keys and values (None deletes).

    ``source_diff`` is ``diff(base, source)``. A key changed on source is taken
    when dest still has the base value, left alone when dest already has the
    source value, and otherwise is a conflict, settled by ``strategy``
    (``"dest-wins"``, ``"source-wins"``) or raised as MergeConflictError.
    """
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown merge strategy {strategy!r}")
    keys: list[str] = []
    values: list[bytes | None] = []
    conflicts: list[str] = []
    for key, base_value, source_value in source_diff:
        dest_value = dest.get(key)
        if _equal(dest_value, source_value, same):
            continue
        if _equal(dest_value, base_value, same) or strategy == "source-wins":
            keys.append(key)
            values.append(source_value)
        elif strategy == "":
            conflicts.append(key)
            if len(conflicts) >= MAX_CONFLICTS:
                break  # enough to report; finding them all could cost a full scan
    if conflicts:
        raise MergeConflictError(conflicts)
    return keys, values
