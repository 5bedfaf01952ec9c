"""The committed tree of a new repository's sample data."""

from __future__ import annotations

from collections.abc import Iterable

from limnos.block.adapter import BlockAdapter, fresh_address, join_uri
from limnos.catalog.entry import Entry, encode_entry
from limnos.graveler.committed import CommittedStore


def build_tree(
    committed: CommittedStore,
    block: BlockAdapter,
    namespace: str,
    base_tree: str,
    files: Iterable[tuple[str, bytes, str]],
) -> str:
    """Write ``files`` (path, content, content type) into storage and return the tree of
    ``base_tree`` plus those files. The bytes are stored before the tree that names them."""
    changes: list[tuple[str, bytes | None]] = []
    for path, content, content_type in files:
        address = fresh_address()
        stored = block.put_bytes(join_uri(namespace, address), content)
        entry = Entry.stored(address, stored, content_type=content_type)
        changes.append((path, encode_entry(entry)))
    changes.sort(key=lambda c: c[0])
    return committed.apply(namespace, base_tree, changes)
