"""Listings with a delimiter: folding keys into common prefixes, with paging."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Generic, TypeVar

V = TypeVar("V")


@dataclass(frozen=True, slots=True)
class Listed(Generic[V]):
    """One listing result: an object (``value`` set) or a common prefix (``value`` None)."""

    path: str
    value: V | None

    @property
    def is_prefix(self) -> bool:
        """Whether this is a common prefix."""
        return self.value is None


def next_after(key: str) -> str:
    """The smallest string greater than every string starting with ``key``."""
    return key[:-1] + chr(ord(key[-1]) + 1) if key else ""


def start_after(after: str, delimiter: str) -> str:
    """Where to start scanning so that results are strictly greater than ``after``.

    With a delimiter, an ``after`` that is a common prefix skips everything under it.
    """
    if not after:
        return ""
    if delimiter and after.endswith(delimiter):
        return next_after(after)
    return after + "\x00"


def list_page(
    scan: Callable[[str], Iterator[tuple[str, V]]],
    *,
    prefix: str,
    delimiter: str,
    after: str,
    amount: int,
) -> tuple[list[Listed[V]], bool]:
    """One page of results and whether more follow.

    ``scan(start)`` yields (key, value) under ``prefix`` with ``key >= start`` in order.
    """
    start = max(start_after(after, delimiter), prefix)
    results: list[Listed[V]] = []
    while True:
        restarted = False
        for key, value in scan(start):
            if delimiter:
                cut = key.find(delimiter, len(prefix))
                if cut >= 0:
                    common = key[: cut + len(delimiter)]
                    if len(results) == amount:
                        return results, True
                    results.append(Listed(common, None))
                    start = next_after(common)
                    restarted = True
                    break
            if len(results) == amount:
                return results, True
            results.append(Listed(key, value))
        if not restarted:
            return results, False
