"""Conditional reads: the ``If-*`` headers of HTTP (RFC 9110) against an object's ETag
and time, as every front end evaluates them."""

from __future__ import annotations

from email.utils import parsedate_to_datetime

from limnos.catalog.entry import Entry
from limnos.graveler.errors import PreconditionFailedError


class NotModifiedError(Exception):
    """The client's copy is current: a GET or HEAD answers 304 without the bytes."""


def quoted_etag(checksum: str) -> str:
    """An object's checksum as an ETag header value (quoted once)."""
    # Checksums recorded from some stores arrive quoted already; never quote twice.
    return checksum if checksum.startswith('"') else f'"{checksum}"'


def etag_matches(header: str, checksum: str) -> bool:
    """Whether an If-Match or If-None-Match header names the checksum (quoted or not,
    weak or strong, ``*`` for any)."""
    for candidate in header.split(","):
        tag = candidate.strip()
        if tag == "*":
            return True
        if tag.startswith("W/"):
            tag = tag[2:]
        if tag.strip('"') == checksum.strip('"'):
            return True
    return False


def _seconds(header: str | None) -> int | None:
    """An HTTP date as Unix seconds; None when absent or not a date (then it is ignored,
    as HTTP says)."""
    if not header:
        return None
    try:
        return int(parsedate_to_datetime(header).timestamp())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def check_read_conditions(
    entry: Entry,
    *,
    if_match: str | None = None,
    if_none_match: str | None = None,
    if_modified_since: str | None = None,
    if_unmodified_since: str | None = None,
) -> None:
    """Raise PreconditionFailed (412) or NotModifiedError (304) when the headers of a
    read say so, in HTTP's order: If-Match, else If-Unmodified-Since; then If-None-Match,
    else If-Modified-Since."""
    if if_match is not None:
        if not etag_matches(if_match, entry.checksum):
            raise PreconditionFailedError(
                "At least one of the pre-conditions you specified did not hold: If-Match"
            )
    else:
        since = _seconds(if_unmodified_since)
        if since is not None and entry.mtime > since:
            raise PreconditionFailedError(
                "At least one of the pre-conditions you specified did not hold: If-Unmodified-Since"
            )
    if if_none_match is not None:
        if etag_matches(if_none_match, entry.checksum):
            raise NotModifiedError()
    else:
        since = _seconds(if_modified_since)
        if since is not None and entry.mtime <= since:
            raise NotModifiedError()
