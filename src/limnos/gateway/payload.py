"""A request's payload as the operations receive it: verified while it streams.

Each check (the signed SHA-256, ``Content-MD5``, ``x-amz-checksum-*``) runs over the bytes
as they pass and is settled when the stream ends: the error is raised instead of the end
of the stream, so a consumer that stores the bytes and acts only once the stream is
exhausted never acknowledges a payload that does not match.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Sequence
from typing import Protocol

from limnos.gateway.errors import S3Error


class Check(Protocol):
    """A property of the payload, computed over its bytes and settled at its end."""

    def update(self, data: bytes, /) -> None: ...

    def check(self) -> None: ...


async def verified(stream: AsyncIterator[bytes], checks: Sequence[Check]) -> AsyncIterator[bytes]:
    """``stream``'s non-empty blocks; at its end every check must hold."""
    async for block in stream:
        if not block:
            continue
        for check in checks:
            check.update(block)
        yield block
    for check in checks:
        check.check()


class _Sha256Hex:
    """The signed payload hash: hex SHA-256 stated in ``x-amz-content-sha256``."""

    def __init__(self, hex_digest: str) -> None:
        self.digest = hashlib.sha256()
        self.expected = hex_digest.lower()

    def update(self, data: bytes) -> None:
        self.digest.update(data)

    def check(self) -> None:
        if self.digest.hexdigest() != self.expected:
            raise S3Error(
                "XAmzContentSHA256Mismatch",
                "The provided 'x-amz-content-sha256' header does not match what was computed.",
                400,
            )


def sha256_check(hex_digest: str) -> Check:
    """The check of a signed payload's SHA-256 (``x-amz-content-sha256``)."""
    return _Sha256Hex(hex_digest)
