"""Listing pages with a delimiter, against a plain model: every page joined is the whole listing."""

from __future__ import annotations

import bisect
from collections.abc import Iterator

from hypothesis import given, settings
from hypothesis import strategies as st

from limnos.catalog.listing import list_page, next_after

# Few distinct characters, so that prefixes, delimiters and keys collide often; with the
# edges of the code-point space, where "the next string" is hard to find.
_CHARS = st.sampled_from(["a", "b", "/", "\ud7ff", "\ue000", "\U0010ffff"])
_TEXT = st.text(_CHARS, max_size=4)


def _model(keys: list[str], prefix: str, delimiter: str) -> list[str]:
    """The whole listing: keys under ``prefix``, folded at the first delimiter after it."""
    listed: list[str] = []
    for key in keys:
        if not key.startswith(prefix):
            continue
        cut = key.find(delimiter, len(prefix)) if delimiter else -1
        path = key[: cut + len(delimiter)] if cut >= 0 else key
        if not listed or listed[-1] != path:
            listed.append(path)
    return listed


def _scanner(keys: list[str], prefix: str):  # type: ignore[no-untyped-def]
    def scan(start: str) -> Iterator[tuple[str, str]]:
        for key in keys[bisect.bisect_left(keys, start) :]:
            if key.startswith(prefix):
                yield key, key

    return scan


@settings(max_examples=400, deadline=None)
@given(
    keys=st.sets(st.text(_CHARS, min_size=1, max_size=5), max_size=12),
    prefix=_TEXT,
    delimiter=st.sampled_from(["", "/", "a", "\U0010ffff", "\ud7ff"]),
    amount=st.integers(min_value=1, max_value=4),
)
def test_pages_join_to_the_whole_listing(keys: set[str], prefix: str, delimiter: str, amount: int) -> None:
    ordered = sorted(keys)
    scan = _scanner(ordered, prefix)
    expected = _model(ordered, prefix, delimiter)
    listed: list[str] = []
    after = ""
    for _ in range(len(expected) + 1):
        page, more = list_page(scan, prefix=prefix, delimiter=delimiter, after=after, amount=amount)
        assert len(page) <= amount
        listed.extend(item.path for item in page)
        if not more:
            break
        after = page[-1].path
    assert listed == expected
    # Starting after any listed path gives exactly what follows it.
    for index, path in enumerate(expected):
        rest, _ = list_page(scan, prefix=prefix, delimiter=delimiter, after=path, amount=len(expected) + 1)
        assert [item.path for item in rest] == expected[index + 1 :]


@given(key=st.text(_CHARS, min_size=1, max_size=4), suffix=_TEXT, other=st.text(_CHARS, max_size=5))
def test_next_after_bounds_every_extension(key: str, suffix: str, other: str) -> None:
    bound = next_after(key)
    assert bound is None or key + suffix < bound
    if bound is not None:
        bound.encode()  # a real string: no lone surrogate
        assert other.startswith(key) or other < key or other >= bound
