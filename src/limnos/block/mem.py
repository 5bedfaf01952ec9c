"""The ``mem`` blockstore: objects in a process-local dictionary (tests, experiments)."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from datetime import UTC, datetime

from limnos.block.adapter import (
    DEFAULT_PRESIGN_EXPIRY_SECONDS,
    BlockWriter,
    ObjectInfo,
    ObjectNotFoundError,
    PutResult,
)
from limnos.block.presign import UrlSigner
from limnos.block.self_served import SelfServedAdapter


class MemAdapter(SelfServedAdapter):
    """Keeps every object in memory; nothing survives the process."""

    schemes = ("mem",)
    blockstore_type = "mem"

    def __init__(
        self, *, signer: UrlSigner | None = None, presign_expiry_seconds: int = DEFAULT_PRESIGN_EXPIRY_SECONDS
    ) -> None:
        self.signer = signer
        self.presign_expiry_seconds = presign_expiry_seconds
        self._objects: dict[str, tuple[bytes, str, datetime]] = {}
        self._lock = threading.Lock()

    def writer(self, uri: str) -> BlockWriter:
        self.validate_address(uri)
        return _MemWriter(self, uri)

    def _store(self, uri: str, data: bytes) -> PutResult:
        etag = hashlib.md5(data, usedforsecurity=False).hexdigest()
        now = datetime.now(UTC)
        with self._lock:
            self._objects[uri] = (data, etag, now)
        return PutResult(size=len(data), etag=etag, mtime=now)

    def _lookup(self, uri: str) -> tuple[bytes, str, datetime]:
        try:
            return self._objects[uri]
        except KeyError as err:
            raise ObjectNotFoundError(uri) from err

    def get(self, uri: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        data = self._lookup(uri)[0]
        return iter((data[start:end],))

    def read_cached(self, uri: str, start: int, end: int) -> bytes | None:
        return self._lookup(uri)[0][start:end]

    def head(self, uri: str) -> ObjectInfo:
        data, etag, mtime = self._lookup(uri)
        return ObjectInfo(uri=uri, size=len(data), etag=etag, mtime=mtime)

    def delete(self, uri: str) -> None:
        with self._lock:
            self._objects.pop(uri, None)

    def copy(self, src_uri: str, dst_uri: str) -> PutResult:
        data, etag, _ = self._lookup(src_uri)
        now = datetime.now(UTC)
        with self._lock:
            self._objects[dst_uri] = (data, etag, now)
        return PutResult(size=len(data), etag=etag, mtime=now)

    def list(self, prefix_uri: str, after: str = "") -> Iterator[ObjectInfo]:
        with self._lock:
            keys = sorted(k for k in self._objects if k.startswith(prefix_uri) and k > after)
        for key in keys:
            yield self.head(key)


class _MemWriter(BlockWriter):
    def __init__(self, adapter: MemAdapter, uri: str) -> None:
        self.adapter = adapter
        self.uri = uri
        self.parts: list[bytes] = []

    def write(self, chunk: bytes) -> None:
        self.parts.append(chunk)

    def commit(self) -> PutResult:
        return self.adapter._store(self.uri, b"".join(self.parts))

    def abort(self) -> None:
        self.parts.clear()
