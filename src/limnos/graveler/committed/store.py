"""CommittedStore: the public face of the committed tree store."""

from __future__ import annotations

import heapq
import os
from bisect import bisect_left
from collections.abc import Iterable, Iterator

from limnos.block.adapter import BlockAdapter
from limnos.graveler.committed import storage as _storage
from limnos.graveler.committed.apply import apply_changes, split_changes
from limnos.graveler.committed.bounds import key_bounds
from limnos.graveler.committed.chunking import DEFAULT, Chunking
from limnos.graveler.committed.diff import Difference, Loader, Same, diff_trees, same_bytes
from limnos.graveler.committed.merge import STRATEGIES, MergeStrategy, SortedLookup, merge_changes
from limnos.graveler.committed.rangefile import Metarange, Range, RangeInfo
from limnos.graveler.committed.storage import ObjectStorage
from limnos.graveler.committed.writer import RangeWriter


class CommittedStore:
    """Immutable sorted maps ``key -> value bytes`` stored as content-addressed ranges.

    Every method takes the storage namespace holding the tree; tree ids are
    metarange ids. Missing objects raise ``ObjectNotFoundError``. Safe to use
    from several threads.
    """

    def __init__(
        self,
        block: BlockAdapter,
        *,
        cache_dir: str | os.PathLike[str] | None = None,
        disk_cache_bytes: int = 1 << 30,
        memory_cache_bytes: int = 256 * 2**20,
        same: Same = same_bytes,
        chunking: Chunking = DEFAULT,
    ) -> None:
        """``same(a, b)`` tells whether two different value encodings stand for the same
        content (e.g. the same object uploaded twice); diff and merge treat such values
        as unchanged. By default only equal bytes are the same.

        ``chunking`` is the rule cutting trees into ranges (see ``chunking``). It is
        part of the storage format: the chunking of a namespace must never change once
        trees are written there, or writes would mix ranges cut by different rules and
        equal contents would no longer get equal tree ids. ``DEFAULT`` is what the
        server uses; another value only suits a namespace of its own (e.g. tests
        wanting small ranges)."""
        self._storage = ObjectStorage(
            block,
            cache_dir=cache_dir,
            disk_cache_bytes=disk_cache_bytes,
            memory_cache_bytes=memory_cache_bytes,
        )
        self._same = same
        self._chunking = chunking

    @property
    def chunking(self) -> Chunking:
        """The rule this store cuts trees into ranges with."""
        return self._chunking

    def same_values(self, a: bytes | None, b: bytes | None) -> bool:
        """Whether two values (None: absent) stand for the same content."""
        if a is None or b is None:
            return a is b
        return a == b or self._same(a, b)

    @staticmethod
    def address(object_id: str) -> str:
        """The address of a range or metarange relative to its storage namespace."""
        return _storage.address(object_id)

    def close(self) -> None:
        """Stop background writer threads (optional; they are idle between calls)."""
        self._storage.close()

    # -- reading ---------------------------------------------------------

    def _meta(self, namespace: str, tree_id: str) -> Metarange:
        return self._storage.load_metarange(namespace, tree_id)

    def _loader(self, namespace: str) -> Loader:
        load = self._storage.load_range

        def loader(info: RangeInfo) -> Range:
            return load(namespace, info)

        return loader

    def empty_tree(self, namespace: str) -> str:
        """Write (if needed) the metarange of the empty tree and return its id."""
        return self._storage.store_metarange(namespace, [])

    def ranges(self, namespace: str, tree_id: str) -> list[RangeInfo]:
        """The ranges of a tree, in key order."""
        return list(self._meta(namespace, tree_id).ranges)

    def check_stored(self, namespace: str, tree_id: str) -> None:
        """Raise ObjectNotFoundError unless metarange ``tree_id`` is stored in ``namespace``
        (CorruptObjectError if it cannot be read): for tree ids a client names."""
        self._storage.load_stored_metarange(namespace, tree_id)

    def count(self, namespace: str, tree_id: str) -> int:
        """The number of entries of a tree (read from its metarange only)."""
        return self._meta(namespace, tree_id).count

    def get(self, namespace: str, tree_id: str, key: str) -> bytes | None:
        """The value of ``key``, or None when absent."""
        meta = self._meta(namespace, tree_id)
        idx = bisect_left(meta.max_keys, key)
        if idx >= len(meta.ranges) or key < meta.ranges[idx].min_key:
            return None
        rng = self._storage.load_range(namespace, meta.ranges[idx])
        pos = bisect_left(rng.keys, key)
        if pos < len(rng.keys) and rng.keys[pos] == key:
            return rng.values[pos]
        return None

    def get_many(self, namespace: str, tree_id: str, keys: list[str]) -> dict[str, bytes]:
        """Values of those of ``keys`` that are present (each range loaded at most once)."""
        lookup = SortedLookup(self._loader(namespace), self._meta(namespace, tree_id))
        found: dict[str, bytes] = {}
        for key in sorted(set(keys)):
            value = lookup.get(key)
            if value is not None:
                found[key] = value
        return found

    def iterate(
        self, namespace: str, tree_id: str, *, start: str = "", prefix: str = ""
    ) -> Iterator[tuple[str, bytes]]:
        """Entries with keys ``>= start`` beginning with ``prefix``, in key order.

        The metarange is read now (so a missing tree raises here); ranges are
        loaded lazily as iteration reaches them.
        """
        meta = self._meta(namespace, tree_id)
        lo, hi = key_bounds(start, prefix)
        return _iterate(self._loader(namespace), meta, lo, hi)

    def diff(
        self,
        namespace: str,
        left_id: str,
        right_id: str,
        *,
        start: str = "",
        prefix: str = "",
    ) -> Iterator[Difference]:
        """``(key, left_value, right_value)`` for each key whose value differs, in key order.

        None stands for absent. Ranges shared by both trees are skipped unloaded.
        Both metaranges are read now (a missing tree raises here).
        """
        left = self._meta(namespace, left_id)
        right = self._meta(namespace, right_id)
        lo, hi = key_bounds(start, prefix)
        if left_id == right_id:
            return iter(())
        return diff_trees(self._loader(namespace), left, right, lo, hi, self._same)

    # -- writing ---------------------------------------------------------

    def apply(self, namespace: str, tree_id: str, changes: Iterable[tuple[str, bytes | None]]) -> str:
        """The id of the tree ``tree_id`` with ``changes`` applied.

        ``changes`` are ``(key, value)`` sorted by key with unique keys; a None
        value deletes the key (deleting a missing key is a no-op). Only the
        ranges whose key span receives a change are rewritten; raises
        ValueError when changes are not sorted and unique.
        """
        meta = self._meta(namespace, tree_id)
        keys, values = split_changes(changes)
        new_id = apply_changes(self._storage, namespace, meta, keys, values, self._chunking)
        return tree_id if new_id is None else new_id

    def write_tree(self, namespace: str, entries: Iterable[tuple[str, bytes]], *, batch: int = 4096) -> str:
        """Store a new tree holding ``entries``, sorted by key with unique keys, streamed:
        memory holds one batch and the ranges being written, whatever their number. Raises
        ValueError when the entries are not sorted and unique."""
        writes = self._storage.batch(namespace)
        writer = RangeWriter(writes, self._chunking)
        keys: list[str] = []
        values: list[bytes] = []
        previous: str | None = None
        try:
            for key, value in entries:
                if previous is not None and key <= previous:
                    raise ValueError(f"entries must be sorted and unique: {key!r} after {previous!r}")
                previous = key
                keys.append(key)
                values.append(value)
                if len(keys) >= batch:
                    writer.feed(keys, values)
                    keys, values = [], []
            writer.feed(keys, values)
            ranges = writer.finish()
        except BaseException:
            writes.abandon()
            raise
        return writes.store_metarange(ranges)

    def apply_stream(
        self, namespace: str, tree_id: str, changes: Iterable[tuple[str, bytes | None]], *, batch: int = 65536
    ) -> str:
        """:meth:`apply` for a stream of changes of any length, ``batch`` at a time: memory
        holds one batch, and only the ranges the changes touch are rewritten."""
        pending: list[tuple[str, bytes | None]] = []
        for change in changes:
            pending.append(change)
            if len(pending) >= batch:
                tree_id = self.apply(namespace, tree_id, pending)
                pending = []
        return self.apply(namespace, tree_id, pending) if pending else tree_id

    def replace_prefixes(self, namespace: str, base_id: str, tree_id: str, prefixes: Iterable[str]) -> str:
        """``base_id`` with every key under ``prefixes`` removed and every entry of
        ``tree_id`` set, streamed (see :meth:`apply_stream`)."""
        prefixes = sorted(set(prefixes))
        if self.count(namespace, base_id) <= self.count(namespace, tree_id):
            # A base no larger than what replaces it is cheaper to write again whole, in
            # one pass, than to apply changes to range by range.
            kept = (
                (key, value)
                for key, value in self.iterate(namespace, base_id)
                if not any(key.startswith(p) for p in prefixes)
            )
            return self.write_tree(namespace, _overriding(self.iterate(namespace, tree_id), kept))
        removed = heapq.merge(*(self.iterate(namespace, base_id, prefix=p) for p in prefixes))
        return self.apply_stream(namespace, base_id, replacing(self.iterate(namespace, tree_id), removed))

    def merge(
        self, namespace: str, base_id: str, dest_id: str, source_id: str, strategy: MergeStrategy = ""
    ) -> str:
        """Three-way merge of ``source_id`` into ``dest_id`` from common ancestor ``base_id``.

        Keys changed only on source are taken; keys changed on both sides to
        the same value are kept; keys changed differently on both sides
        (including change against delete) raise MergeConflictError, unless
        ``strategy`` is ``"dest-wins"`` or ``"source-wins"``. Returns the
        resulting tree id. The cost follows the differences between base and
        source, and the dest ranges they fall in.
        """
        if strategy not in STRATEGIES:
            raise ValueError(f"unknown merge strategy {strategy!r}")
        base = self._meta(namespace, base_id)
        dest = self._meta(namespace, dest_id)
        source = self._meta(namespace, source_id)
        if source_id in (base_id, dest_id):
            return dest_id
        if dest_id == base_id:
            return source_id
        loader = self._loader(namespace)
        keys, values = merge_changes(
            diff_trees(loader, base, source, "", None, self._same),
            SortedLookup(loader, dest),
            strategy,
            self._same,
        )
        new_id = apply_changes(self._storage, namespace, dest, keys, values, self._chunking)
        return dest_id if new_id is None else new_id


def _iterate(loader: Loader, meta: Metarange, lo: str, hi: str | None) -> Iterator[tuple[str, bytes]]:
    infos = meta.ranges
    for idx in range(bisect_left(meta.max_keys, lo), len(infos)):
        info = infos[idx]
        if hi is not None and info.min_key >= hi:
            return
        rng = loader(info)
        keys, values = rng.keys, rng.values
        pos = bisect_left(keys, lo) if keys[0] < lo else 0
        end = len(keys)
        if hi is not None and info.max_key >= hi:
            end = bisect_left(keys, hi)
        for x in range(pos, end):
            yield keys[x], values[x]
        if end < len(keys):
            return


def replacing(
    added: Iterator[tuple[str, bytes]], removed: Iterator[tuple[str, bytes]]
) -> Iterator[tuple[str, bytes | None]]:
    """Sorted changes setting every entry of ``added`` and deleting every other key of
    ``removed`` (which may repeat keys)."""
    a = next(added, None)
    r = next(removed, None)
    last_removed: str | None = None
    while a is not None or r is not None:
        if r is not None and (a is None or r[0] < a[0]):
            if r[0] != last_removed:
                yield r[0], None
                last_removed = r[0]
            r = next(removed, None)
        else:
            assert a is not None
            while r is not None and r[0] == a[0]:
                r = next(removed, None)
            yield a
            a = next(added, None)


def _overriding(
    first: Iterator[tuple[str, bytes]], second: Iterator[tuple[str, bytes]]
) -> Iterator[tuple[str, bytes]]:
    """The sorted union of two sorted streams; ``first`` wins a key both have."""
    a = next(first, None)
    b = next(second, None)
    while a is not None or b is not None:
        if b is None or (a is not None and a[0] <= b[0]):
            assert a is not None
            if b is not None and b[0] == a[0]:
                b = next(second, None)
            yield a
            a = next(first, None)
        else:
            yield b
            b = next(second, None)
