"""Staging areas: uncommitted writes of a branch, one metadata partition per token.

A staged value is an encoded entry, or :data:`TOMBSTONE` for a staged deletion.
A branch reads its live token first, then its sealed tokens (newest first), then its
head commit's tree.
"""

from __future__ import annotations

import heapq
import uuid
from collections.abc import Iterable, Iterator

from limnos.kv.store import MUST_NOT_EXIST, KVStore

TOMBSTONE = b""


def partition(token: str) -> str:
    """The metadata partition of a staging token."""
    return f"staging/{token}"


def new_token() -> str:
    """A fresh, globally unique staging token."""
    return uuid.uuid4().hex


class StagingArea:
    """Reads and writes of staging tokens."""

    def __init__(self, kv: KVStore) -> None:
        self.kv = kv

    def get(self, tokens: Iterable[str], key: str) -> bytes | None:
        """The first staged value of ``key`` across ``tokens`` (TOMBSTONE included), or None."""
        raw = key.encode()
        for token in tokens:
            value = self.kv.get(partition(token), raw)
            if value is not None:
                return value
        return None

    def set(self, token: str, key: str, value: bytes) -> None:
        """Stage ``value`` (or TOMBSTONE) for ``key``."""
        self.kv.set(partition(token), key.encode(), value)

    def set_if(self, token: str, key: str, value: bytes, expected: bytes | None) -> bool:
        """Stage ``value`` only if ``key``'s staged value is still ``expected`` (None: none)."""
        return self.kv.set_if(
            partition(token), key.encode(), value, MUST_NOT_EXIST if expected is None else expected
        )

    def set_many(self, token: str, items: list[tuple[str, bytes]]) -> None:
        """Stage several values in one transaction."""
        self.kv.set_many(partition(token), [(k.encode(), v) for k, v in items])

    def drop_key(self, tokens: Iterable[str], key: str) -> None:
        """Forget the staged value of ``key`` in every token."""
        for token in tokens:
            self.kv.delete(partition(token), key.encode())

    def drop_prefix(self, tokens: Iterable[str], prefix: str) -> None:
        """Forget every staged value under ``prefix`` in every token."""
        for token in tokens:
            self.kv.delete_prefix(partition(token), prefix.encode())

    def drop(self, token: str) -> None:
        """Delete a whole staging token."""
        self.kv.delete_prefix(partition(token))

    def is_empty(self, tokens: Iterable[str]) -> bool:
        """Whether no token holds any staged value."""
        return all(next(self.kv.scan(partition(t), limit=1), None) is None for t in tokens)

    def iterate(self, tokens: list[str], *, start: str = "", prefix: str = "") -> Iterator[tuple[str, bytes]]:
        """Staged (key, value) in key order; for a key in several tokens the first token wins."""
        streams = [
            (
                (item.key.decode(), rank, item.value)
                for item in self.kv.scan(partition(t), start=start.encode(), prefix=prefix.encode())
            )
            for rank, t in enumerate(tokens)
        ]
        if len(streams) == 1:
            for key, _, value in streams[0]:
                yield key, value
            return
        last: str | None = None
        for key, _, value in heapq.merge(*streams):
            if key != last:
                last = key
                yield key, value
