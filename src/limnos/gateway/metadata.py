"""User metadata as S3 carries it: ``x-amz-meta-*`` headers.

Objects written through the gateway keep each key as lakeFS's gateway stores it,
``X-Amz-Meta-<name>`` with the name lower-cased (so the REST API shows what lakeFS
shows); objects written through the REST API keep bare names, which the gateway shows
as ``x-amz-meta-<name>`` too. Values outside ASCII travel RFC 2047-encoded, as S3 sends
them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from email.header import Header, decode_header, make_header

from limnos.gateway.errors import S3Error

HEADER_PREFIX = "x-amz-meta-"
#: The prefix of keys stored from S3 headers, as lakeFS's gateway stores them.
STORED_PREFIX = "X-Amz-Meta-"
#: Keys Limnos keeps for itself (never shown as user metadata).
_INTERNAL_PREFIX = "::lakefs::"
#: S3's limit on the user metadata of one object: names and values, in bytes.
MAX_METADATA_SIZE = 2 * 1024
# What a header name may hold (RFC 9110 tokens); other names cannot be sent back.
_TOKEN = re.compile(r"^[A-Za-z0-9!#$%&'*+\-.^_`|~]+$")


def _text(value: str) -> str:
    """A header value as the text the client meant: UTF-8 bytes, and RFC 2047 words
    decoded."""
    raw = value.encode("latin-1", errors="replace").decode("utf-8", errors="replace")
    if "=?" not in raw:
        return raw
    try:
        return str(make_header(decode_header(raw)))
    except (ValueError, LookupError):
        return raw


def from_headers(headers: Iterable[tuple[str, str]]) -> dict[str, str]:
    """The user metadata of a request's ``x-amz-meta-*`` headers, keyed for storage;
    MetadataTooLarge beyond S3's 2 KiB."""
    metadata: dict[str, str] = {}
    size = 0
    for name, value in headers:
        lowered = name.lower()
        if not lowered.startswith(HEADER_PREFIX):
            continue
        key = lowered[len(HEADER_PREFIX) :]
        text = _text(value)
        size += len(key.encode()) + len(text.encode())
        if size > MAX_METADATA_SIZE:
            raise S3Error(
                "MetadataTooLarge",
                f"Your metadata headers exceed the maximum allowed size ({MAX_METADATA_SIZE} bytes)",
                400,
            )
        if key and _TOKEN.match(key):
            metadata.setdefault(STORED_PREFIX + key, text)
    return metadata


def to_headers(metadata: Mapping[str, str]) -> dict[str, str]:
    """Response headers for an object's user metadata: keys stored from S3 first, then
    bare keys written through the REST API (never Limnos's own)."""
    headers: dict[str, str] = {}
    for key, value in sorted(metadata.items(), key=lambda item: not item[0].startswith(STORED_PREFIX)):
        if key.startswith(_INTERNAL_PREFIX):
            continue
        name = key[len(STORED_PREFIX) :] if key.startswith(STORED_PREFIX) else key
        name = name.lower()
        if not name or not _TOKEN.match(name):
            continue
        headers.setdefault(HEADER_PREFIX + name, _encoded(value))
    return headers


def _encoded(value: str) -> str:
    """A value as a header can carry it: printable ASCII as it is, anything else as an
    RFC 2047 encoded word."""
    if value.isascii() and value.isprintable():
        return value
    return Header(value, "utf-8").encode(maxlinelen=10_000)
