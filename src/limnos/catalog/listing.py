"""Listings with a delimiter: folding keys into common prefixes, with paging."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
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


_LAST_CODE_POINT = 0x10FFFF
_SURROGATES = range(0xD800, 0xE000)  # never in a key: no UTF-8 encoding


def next_after(key: str) -> str | None:
    """The smallest string greater than every string starting with ``key``, or None when
    there is none (``key`` is all U+10FFFF).

    Keys are ordered by code point, which is the order of their UTF-8 bytes as stored.
    """
    while key:
        following = ord(key[-1]) + 1
        if following <= _LAST_CODE_POINT:
            if following in _SURROGATES:
                following = _SURROGATES.stop
            return key[:-1] + chr(following)
        key = key[:-1]
    return None


def _is_common_prefix(path: str, prefix: str, delimiter: str) -> bool:
    """Whether ``path`` is one of the common prefixes a listing under ``prefix`` folds to."""
    return (
        path.startswith(prefix)
        and path.endswith(delimiter)
        and path.find(delimiter, len(prefix)) == len(path) - len(delimiter)
    )


def start_after(after: str, delimiter: str, prefix: str = "") -> str | None:
    """Where to start scanning so that results are strictly greater than ``after``; None
    when nothing can follow it.

    With a delimiter, an ``after`` that is a common prefix of the listing skips everything
    under it; any other ``after`` (an object's key, even one ending with the delimiter)
    skips that key alone.
    """
    if not after:
        return ""
    if delimiter and _is_common_prefix(after, prefix, delimiter):
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
    first = start_after(after, delimiter, prefix)
    if first is None:
        return [], False
    start = max(first, prefix)
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
                    following = next_after(common)
                    if following is None:
                        return results, False
                    start = following
                    restarted = True
                    break
            if len(results) == amount:
                return results, True
            results.append(Listed(key, value))
        if not restarted:
            return results, False


def take_page(items: Iterable[V], after: str, amount: int, name: Callable[[V], str]) -> tuple[list[V], bool]:
    """Up to ``amount`` items whose name sorts after ``after`` (items come in name order),
    and whether more follow."""
    page: list[V] = []
    for item in items:
        if name(item) <= after:
            continue
        if len(page) == amount:
            return page, True
        page.append(item)
    return page, False
