"""HTTP byte ranges of object reads, as every front end reads them (one ``Range``
header, the single-range rules lakeFS and S3 serve)."""

from __future__ import annotations

import re

from limnos.catalog.errors import Invalid

# The contract's pattern for the Range header; anything else is a malformed request (400),
# while a well-formed range that cannot be served is 416.
_RANGE_SYNTAX = re.compile(r"^bytes=((\d*-\d*,? ?)+)$")


class RangeNotSatisfiableError(Exception):
    """A well-formed Range header that cannot be served (416)."""


class MalformedRangeError(Invalid):
    """A Range header outside the syntax (the REST API refuses it; S3 ignores it)."""


def parse_range(header: str, size: int) -> tuple[int, int]:
    """The inclusive byte offsets ``(first, last)`` a Range header asks of an object of ``size`` bytes.

    Follows the single-range rules lakeFS serves: ``bytes=a-b`` (``b`` clipped to the end),
    ``bytes=a-`` and suffix ranges ``bytes=-n``. A header outside the contract's syntax is
    MalformedRangeError; several ranges, ``a > b``, or a range starting past the end raise
    RangeNotSatisfiableError.
    """
    if not _RANGE_SYNTAX.match(header):
        raise MalformedRangeError(f"invalid Range header {header!r}: expected bytes=<first>-<last>")
    spec = header[len("bytes=") :]
    if "," in spec:
        raise RangeNotSatisfiableError("multiple ranges are not supported")
    first_text, _, last_text = (part.strip() for part in spec.partition("-"))
    try:
        if not first_text and not last_text:
            raise RangeNotSatisfiableError("empty range")
        if not first_text:
            suffix = int(last_text)
            if suffix == 0 or size == 0:
                raise RangeNotSatisfiableError("empty suffix range")
            return max(0, size - suffix), size - 1
        first = int(first_text)
        last = int(last_text) if last_text else size - 1
    except ValueError:
        # Only digit strings reach int(); this is a number too long to convert.
        raise RangeNotSatisfiableError("range offsets are too large") from None
    if first > last and last_text:
        raise RangeNotSatisfiableError("range starts after it ends")
    if first >= size:
        raise RangeNotSatisfiableError("range starts past the end of the object")
    return first, min(last, size - 1)
