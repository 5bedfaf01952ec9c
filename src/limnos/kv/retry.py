"""Bounded retries of optimistic updates: read, compute, compare-and-set, again on a lost race.

Every layer above the metadata store (the versioning engine, auth) retries its
compare-and-set loops through :func:`retry`, so that each is bounded and gives up the
same way: with an error of kind :class:`limnos.errors.TooManyRequests` unless the
caller names another.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from limnos.errors import LimnosError, TooManyRequests

T = TypeVar("T")

#: Attempts of an optimistic update before it gives up.
MAX_ATTEMPTS = 50


def retry(
    attempt: Callable[[], T | None],
    *,
    busy: str,
    error: Callable[[str], LimnosError] = TooManyRequests,
    attempts: int = MAX_ATTEMPTS,
) -> T:
    """Call ``attempt`` until it returns something other than None, and return that.

    None means the attempt lost a race and may be repeated; an exception it raises ends
    the retries. After ``attempts`` calls that all returned None, ``error(busy)`` is
    raised: by default :class:`~limnos.errors.TooManyRequests`, or the error class
    clients know for that operation.
    """
    for _ in range(attempts):
        result = attempt()
        if result is not None:
            return result
    raise error(busy)
