"""Key intervals selected by ``start`` and ``prefix`` arguments."""

from __future__ import annotations

_MAX_CHAR = 0x10FFFF


def prefix_end(prefix: str) -> str | None:
    """The smallest string greater than every string starting with ``prefix``.

    None when there is none (empty prefix, or only maximal code points).
    Python compares strings by code point, so bumping the last bumpable
    character gives the exclusive upper bound.
    """
    stripped = prefix.rstrip(chr(_MAX_CHAR))
    if not stripped:
        return None
    return stripped[:-1] + chr(ord(stripped[-1]) + 1)


def key_bounds(start: str, prefix: str) -> tuple[str, str | None]:
    """``(lo, hi)``: the selected keys are ``lo <= key < hi`` (``hi`` None: no upper bound)."""
    return max(start, prefix), prefix_end(prefix)
