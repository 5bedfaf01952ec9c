"""``aws-chunked`` payloads: decoded, and each chunk's signature checked, as they stream.

A body is a run of chunks ``<hex size>[;chunk-signature=<sig>]\\r\\n<bytes>\\r\\n`` ending
with a chunk of size 0, optionally followed by trailing headers (a checksum and, in a
signed stream, ``x-amz-trailer-signature``) and an empty line. A signed chunk's signature
chains from the one before it, the first from the request's own signature, so chunks can
be neither altered, reordered nor dropped. Bytes are handed on as they arrive; a chunk's
signature is settled at its end, before any later byte is handed on.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from limnos.gateway.errors import S3Error
from limnos.gateway.sigv4 import signature, signature_mismatch

STREAMING_SIGNED = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
STREAMING_SIGNED_TRAILER = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
STREAMING_UNSIGNED_TRAILER = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
STREAMING = frozenset({STREAMING_SIGNED, STREAMING_SIGNED_TRAILER, STREAMING_UNSIGNED_TRAILER})

_EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
# A chunk header or trailer line is short; anything longer is not aws-chunked.
_MAX_LINE = 4096
_MAX_TRAILER_LINES = 16


@dataclass(frozen=True)
class ChunkSigning:
    """What the chunk signatures of a signed stream are computed from."""

    key: bytes
    amz_date: str
    scope: str
    seed: str

    def chunk(self, previous: str, digest: str) -> str:
        """The signature of a chunk whose bytes hash to ``digest``."""
        text = (
            f"AWS4-HMAC-SHA256-PAYLOAD\n{self.amz_date}\n{self.scope}\n{previous}\n{_EMPTY_SHA256}\n{digest}"
        )
        return signature(self.key, text)

    def trailer(self, previous: str, trailer: str) -> str:
        """The signature of the trailing headers (``name:value\\n`` each)."""
        digest = hashlib.sha256(trailer.encode()).hexdigest()
        return signature(
            self.key, f"AWS4-HMAC-SHA256-TRAILER\n{self.amz_date}\n{self.scope}\n{previous}\n{digest}"
        )


def _malformed(message: str) -> S3Error:
    return S3Error("InvalidRequest", f"Malformed aws-chunked body: {message}", 400)


def _incomplete() -> S3Error:
    return S3Error(
        "IncompleteBody", "The request body ended before the last chunk of its aws-chunked encoding.", 400
    )


class _Buffered:
    """A byte stream read by lines and by counts; bytes are sliced, never moved one by one."""

    def __init__(self, stream: AsyncIterator[bytes]) -> None:
        self._stream = stream
        self._buffer = b""
        self._at = 0

    async def _more(self) -> bool:
        async for block in self._stream:
            if block:
                rest = self._buffer[self._at :]
                self._buffer = rest + block if rest else block
                self._at = 0
                return True
        return False

    async def line(self) -> bytes:
        """The next line without its ``\\r\\n``."""
        while True:
            end = self._buffer.find(b"\n", self._at)
            if end >= 0:
                line = self._buffer[self._at : end]
                self._at = end + 1
                return line.removesuffix(b"\r")
            if len(self._buffer) - self._at > _MAX_LINE:
                raise _malformed("a chunk header is too long")
            if not await self._more():
                raise _incomplete()

    async def take(self, count: int) -> AsyncIterator[bytes]:
        """The next ``count`` bytes, in the blocks they arrive in."""
        while count > 0:
            if self._at >= len(self._buffer) and not await self._more():
                raise _incomplete()
            end = min(len(self._buffer), self._at + count)
            block = (
                self._buffer if self._at == 0 and end == len(self._buffer) else self._buffer[self._at : end]
            )
            count -= end - self._at
            self._at = end
            yield block

    async def crlf(self) -> None:
        """The line end after a chunk's bytes."""
        if await self.line() != b"":
            raise _malformed("a chunk's bytes are not followed by CRLF")


def _chunk_header(line: bytes, signed: bool) -> tuple[int, str]:
    size_text, _, extension = line.partition(b";")
    try:
        size = int(size_text.strip(), 16)
    except ValueError:
        raise _malformed(f"bad chunk size {size_text[:32]!r}") from None
    if size < 0:
        raise _malformed("negative chunk size")
    chunk_signature = ""
    if extension.startswith(b"chunk-signature="):
        chunk_signature = extension.removeprefix(b"chunk-signature=").strip().decode("latin-1")
    if signed and not chunk_signature:
        raise _malformed("a chunk has no chunk-signature")
    return size, chunk_signature


async def decode(
    stream: AsyncIterator[bytes],
    *,
    signing: ChunkSigning | None,
    trailer: bool,
    decoded_length: int | None,
    on_trailer: Callable[[str, str], None],
) -> AsyncIterator[bytes]:
    """The decoded bytes of an aws-chunked ``stream``.

    With ``signing`` every chunk's signature (and, with ``trailer``, the trailer's) is
    verified. Each trailing header is handed to ``on_trailer(name, value)``. The decoded
    length must be ``decoded_length`` when the client stated it.
    """
    reader = _Buffered(stream)
    previous = signing.seed if signing is not None else ""
    total = 0
    while True:
        size, chunk_signature = _chunk_header(await reader.line(), signing is not None)
        digest = hashlib.sha256() if signing is not None else None
        async for block in reader.take(size):
            if digest is not None:
                digest.update(block)
            total += len(block)
            yield block
        if signing is not None and digest is not None:
            expected = signing.chunk(previous, digest.hexdigest())
            if not hmac.compare_digest(expected, chunk_signature.lower()):
                raise signature_mismatch()
            previous = expected
        if size == 0:
            break
        await reader.crlf()
    if decoded_length is not None and total != decoded_length:
        raise S3Error(
            "IncompleteBody",
            f"The aws-chunked body holds {total} bytes, not the {decoded_length} "
            "of x-amz-decoded-content-length.",
            400,
        )
    await _trailer(reader, signing if trailer else None, previous, on_trailer)


async def _trailer(
    reader: _Buffered, signing: ChunkSigning | None, previous: str, on_trailer: Callable[[str, str], None]
) -> None:
    """Reads what follows the last chunk: trailing headers, then an empty line."""
    canonical = ""
    trailer_signature = ""
    for _ in range(_MAX_TRAILER_LINES):
        try:
            line = (await reader.line()).decode("latin-1")
        except S3Error:
            if canonical or signing is not None:
                raise
            return  # some clients end the body right after the last chunk
        if not line.strip():
            if signing is not None and canonical and not trailer_signature:
                continue  # the empty line between the trailers and their signature
            break
        name, sep, value = line.partition(":")
        if not sep:
            raise _malformed(f"bad trailer line {line[:64]!r}")
        name, value = name.strip().lower(), value.strip()
        if name == "x-amz-trailer-signature":
            trailer_signature = value.lower()
            continue
        canonical += f"{name}:{value}\n"
        on_trailer(name, value)
    if signing is not None:
        if not trailer_signature:
            raise _malformed("the trailer has no x-amz-trailer-signature")
        if not hmac.compare_digest(signing.trailer(previous, canonical), trailer_signature):
            raise signature_mismatch()
