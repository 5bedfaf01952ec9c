"""Applying a sorted batch of changes to a tree, rewriting only the ranges it touches.

The ranges of the old tree are walked in order. A range none of whose key
span receives a change is reused as is (by id: not loaded, not re-encoded, not
rewritten) as long as the writer is at a boundary. A touched range is loaded,
merged with its changes and fed to the writer, which re-cuts it; since cuts
depend only on keys and a cut leaves nothing pending, as soon as the writer
is again at a boundary at the end of an old range, the new tree is cut exactly
like the old one from there on and the following ranges are reused again.
The result is therefore the same as cutting the new content from scratch.

The key span of range ``i`` is ``(max_key[i-1], max_key[i]]``; the last
range's span extends to infinity, so keys past the end of the tree go into it.
"""

from __future__ import annotations

import operator
from bisect import bisect_left, bisect_right, insort
from collections.abc import Iterable, Sequence
from itertools import islice

from limnos.graveler.committed.chunking import Chunking
from limnos.graveler.committed.rangefile import Metarange, RangeInfo
from limnos.graveler.committed.storage import ObjectStorage
from limnos.graveler.committed.writer import RangeWriter


def split_changes(
    changes: Iterable[tuple[str, bytes | None]],
) -> tuple[list[str], list[bytes | None]]:
    """Parallel key and value lists of ``changes``; raises ValueError unless sorted and unique."""
    pairs = changes if isinstance(changes, list) else list(changes)
    keys = [c[0] for c in pairs]
    values = [c[1] for c in pairs]
    # map(operator.lt) runs the whole check in C.
    if not all(map(operator.lt, keys, islice(keys, 1, None))):
        raise ValueError("changes must be sorted by key, without duplicate keys")
    return keys, values


def apply_changes(
    storage: ObjectStorage,
    namespace: str,
    meta: Metarange,
    keys: list[str],
    values: list[bytes | None],
    chunking: Chunking,
) -> str | None:
    """The id of ``meta``'s tree with the changes applied, stored; None if nothing changed.

    ``keys`` are sorted and unique; a None value deletes its key. ``chunking``
    must be the one ``meta``'s tree was written with.
    """
    batch = storage.batch(namespace)
    try:
        ranges = _new_ranges(RangeWriter(batch, chunking), storage, namespace, meta, keys, values)
    except BaseException:
        batch.abandon()
        raise
    if ranges is None:
        batch.wait()
        return None
    return batch.store_metarange(ranges)


def _new_ranges(
    writer: RangeWriter,
    storage: ObjectStorage,
    namespace: str,
    meta: Metarange,
    keys: list[str],
    values: list[bytes | None],
) -> list[RangeInfo] | None:
    """The ranges of the new tree, fed through ``writer``; None if nothing changed."""
    chunking = writer.chunking
    old = meta.ranges
    max_keys = meta.max_keys
    n = len(old)
    nc = len(keys)
    if n == 0:
        new_keys = [k for k, v in zip(keys, values, strict=True) if v is not None]
        if not new_keys:
            return None
        writer.feed(new_keys, [v for v in values if v is not None])
        return writer.finish()

    changed = False
    i = 0  # next old range
    c = 0  # next change
    while i < n:
        if writer.at_boundary:
            if c >= nc:
                writer.reuse(old[i:])
                break
            # Skip straight to the first range whose span holds the next change.
            j = min(bisect_left(max_keys, keys[c], i), n - 1)
            if j > i:
                writer.reuse(old[i:j])
                i = j
        end = nc if i == n - 1 else bisect_right(keys, max_keys[i], c)
        info = old[i]
        rng = storage.load_range(namespace, info)
        merged_keys, merged_values, bounds, touched = merge_entries(
            rng.keys, rng.values, keys, values, c, end, chunking
        )
        c = end
        if not touched and writer.at_boundary:
            writer.reuse((info,))  # only no-op changes (same value, missing key deleted)
        else:
            changed = changed or touched
            writer.feed(merged_keys, merged_values, bounds)
        i += 1
    ranges = writer.finish()
    return ranges if changed else None


def merge_entries(
    old_keys: Sequence[str],
    old_values: Sequence[bytes],
    keys: list[str],
    values: list[bytes | None],
    lo: int,
    hi: int,
    chunking: Chunking,
) -> tuple[list[str], list[bytes], list[int], bool]:
    """A stored range's entries after applying changes ``keys[lo:hi]``.

    Returns the merged keys and values, the indices of those keys that are
    hash boundaries by ``chunking``, and whether any change had an effect. Only inserted keys
    and the range's last key are hashed: no other key of a stored range is a
    boundary, or the range would have been cut there.
    """
    is_boundary = chunking.is_boundary
    hash_boundaries = chunking.hash_boundaries
    n = len(old_keys)
    last_key = old_keys[-1]
    last_is_boundary = is_boundary(last_key)
    if lo >= hi:
        return list(old_keys), list(old_values), [n - 1] if last_is_boundary else [], False
    if keys[lo] > last_key or keys[hi - 1] < old_keys[0]:
        # Pure append or prepend (bulk loads): no interleaving needed.
        add_keys = [keys[x] for x in range(lo, hi) if values[x] is not None]
        add_values = [v for v in islice(values, lo, hi) if v is not None]
        if keys[lo] > last_key:
            bounds = [n - 1] if last_is_boundary else []
            bounds += hash_boundaries(add_keys, n)
            return [*old_keys, *add_keys], [*old_values, *add_values], bounds, bool(add_keys)
        bounds = hash_boundaries(add_keys)
        if last_is_boundary:
            bounds.append(len(add_keys) + n - 1)
        return [*add_keys, *old_keys], [*add_values, *old_values], bounds, bool(add_keys)

    out_keys: list[str] = []
    out_values: list[bytes] = []
    bounds = []
    changed = False
    pos = 0
    for x in range(lo, hi):
        key = keys[x]
        value = values[x]
        j = bisect_left(old_keys, key, pos)
        if j > pos:
            out_keys += old_keys[pos:j]
            out_values += old_values[pos:j]
        if j < n and old_keys[j] == key:
            pos = j + 1
            if value is None:
                changed = True
                continue
            if value != old_values[j]:
                changed = True
            out_keys.append(key)
            out_values.append(value)
        else:
            pos = j
            if value is not None:
                changed = True
                if is_boundary(key):
                    bounds.append(len(out_keys))
                out_keys.append(key)
                out_values.append(value)
    out_keys += old_keys[pos:]
    out_values += old_values[pos:]
    if last_is_boundary:
        # The old last key keeps its boundary if it survived.
        j = bisect_left(out_keys, last_key)
        if j < len(out_keys) and out_keys[j] == last_key:
            insort(bounds, j)
    return out_keys, out_values, bounds, changed
