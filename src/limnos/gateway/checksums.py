"""The checksums S3 clients send with a payload, computed incrementally over its bytes.

``Content-MD5`` and the ``x-amz-checksum-<algorithm>`` values are base64 of the digest
(CRCs as big-endian integers). CRC32 comes from zlib, CRC32C and CRC64NVME from awscrt
(AWS's own C implementation, the one botocore uses), so bytes are never handled one by
one in Python.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import zlib
from collections.abc import Callable
from typing import Protocol

from awscrt import checksums as crt

from limnos.gateway.errors import S3Error


class Digest(Protocol):
    """An incremental digest: feed bytes, then read the result."""

    def update(self, data: bytes, /) -> None: ...

    def digest(self) -> bytes: ...


class _Crc:
    """A CRC kept as an integer and read as ``width`` big-endian bytes."""

    def __init__(self, step: Callable[[bytes, int], int], width: int) -> None:
        self._step = step
        self._width = width
        self._value = 0

    def update(self, data: bytes, /) -> None:
        self._value = self._step(data, self._value)

    def digest(self) -> bytes:
        return self._value.to_bytes(self._width, "big")


# Algorithm name as in ``x-amz-checksum-<name>`` -> a new digest.
ALGORITHMS: dict[str, Callable[[], Digest]] = {
    "crc32": lambda: _Crc(zlib.crc32, 4),
    "crc32c": lambda: _Crc(crt.crc32c, 4),
    "crc64nvme": lambda: _Crc(crt.crc64nvme, 8),
    "sha1": hashlib.sha1,
    "sha256": hashlib.sha256,
}
_SIZES = {"crc32": 4, "crc32c": 4, "crc64nvme": 8, "sha1": 20, "sha256": 32}


def decode_value(header: str, value: str, size: int) -> bytes:
    """The digest a base64 header value states; ``InvalidDigest`` if it cannot be one."""
    try:
        digest = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        digest = b""
    if len(digest) != size:
        raise S3Error("InvalidDigest", f"The {header} you specified is not valid.", 400)
    return digest


class Expected:
    """One checksum a payload must have; its value may arrive only after the payload
    (a trailer), so it is set separately from the digest that runs over the bytes."""

    def __init__(self, header: str, digest: Digest, value: bytes | None = None) -> None:
        self.header = header
        self.digest = digest
        self.value = value

    def update(self, data: bytes) -> None:
        """Feed payload bytes."""
        self.digest.update(data)

    def check(self) -> None:
        """Raise S3's error if the payload does not have the stated checksum."""
        if self.value is None:
            raise S3Error("InvalidRequest", f"The {self.header} trailer was declared but not sent.", 400)
        if self.digest.digest() != self.value:
            if self.header == "Content-MD5":
                raise S3Error(
                    "BadDigest", "The Content-MD5 you specified did not match what we received.", 400
                )
            raise S3Error(
                "BadDigest", f"The {self.header} you specified did not match the calculated checksum.", 400
            )


def checksum_header(algorithm: str) -> str:
    """``x-amz-checksum-<algorithm>``."""
    return f"x-amz-checksum-{algorithm}"


def expected_for(header: str, value: str | None = None) -> Expected:
    """The check of one checksum header (``Content-MD5`` or ``x-amz-checksum-*``), with the
    value it states when already known."""
    name = header.lower()
    if name == "content-md5":
        digest: Digest = hashlib.md5(usedforsecurity=False)
        size = 16
        header = "Content-MD5"
    else:
        algorithm = name.removeprefix("x-amz-checksum-")
        if algorithm not in ALGORITHMS or not name.startswith("x-amz-checksum-"):
            raise S3Error("InvalidRequest", f"Unsupported checksum {header}.", 400)
        digest = ALGORITHMS[algorithm]()
        size = _SIZES[algorithm]
    return Expected(header, digest, None if value is None else decode_value(header, value, size))


def encode_value(digest: bytes) -> str:
    """A digest as a header value (base64)."""
    return base64.b64encode(digest).decode()
