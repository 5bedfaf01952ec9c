"""Presigned URLs and multipart uploads for the stores that have none of their own
(``local``, ``mem``): Limnos signs the URLs (see :mod:`limnos.block.presign`) and answers
them itself, and the parts of a multipart upload wait beside the target address, each an
object named by its number and MD5 (``<address>.upload-<id>/00001.<md5>``), until
completion assembles them or an abort removes them. S3's rules hold: parts 1 to 10,000,
every part but the last at least 5 MiB, and the assembled object's ETag is S3's.
"""

from __future__ import annotations

import builtins
import hashlib
import uuid
from collections.abc import Sequence
from typing import Literal

from limnos.block.adapter import (
    MIN_PART_SIZE,
    BlockAdapter,
    BlockWriter,
    InvalidPartError,
    ObjectNotFoundError,
    PartInfo,
    PutResult,
)
from limnos.block.presign import SignedTarget, UrlSigner


class SelfServedAdapter(BlockAdapter):
    """A store whose presigned URLs and multipart uploads Limnos provides."""

    @property
    def can_presign(self) -> bool:
        return self.signer is not None

    def presign(self, uri: str, method: Literal["GET", "PUT"], expires: int) -> str:
        """A URL that reads (GET) or writes (PUT) the object at ``uri`` without other
        credentials until ``expires`` (Unix seconds). Self-served URLs are relative to the
        server's root."""
        return self._signer().url(SignedTarget(method, uri, expires))

    def create_multipart(self, uri: str) -> str:
        """Start a multipart upload to ``uri``; its upload id."""
        self.validate_address(uri)
        return uuid.uuid4().hex  # parts are stored as they arrive; nothing to prepare

    def presign_part(self, uri: str, upload_id: str, part_number: int, expires: int) -> str:
        """A URL that uploads part ``part_number`` with a plain PUT until ``expires``."""
        return self._signer().url(SignedTarget("PUT", uri, expires, upload_id, part_number))

    def part_writer(self, uri: str, upload_id: str, part_number: int) -> BlockWriter:
        """A writer of one part of a self-served multipart upload; its commit reports the
        part's ETag. A part uploaded again is kept beside the first, under its new ETag."""
        named = f"{parts_prefix(uri, upload_id)}{part_number:05d}"
        temporary = f"{named}.partial-{uuid.uuid4().hex}"
        return _NamedByContent(self, self.writer(temporary), temporary, named)

    def copy_part(
        self, src_uri: str, first: int, last: int | None, uri: str, upload_id: str, part_number: int
    ) -> str:
        """Upload part ``part_number`` as bytes ``[first, last]`` of another object (to its
        end when ``last`` is None); the part's ETag."""
        writer = self.part_writer(uri, upload_id, part_number)
        try:
            for chunk in self.get(src_uri, first, None if last is None else last + 1):
                writer.write(chunk)
            return writer.commit().etag
        except BaseException:
            writer.abort()
            raise

    def complete_multipart(self, uri: str, upload_id: str, parts: Sequence[tuple[int, str]]) -> PutResult:
        """Assemble the object at ``uri`` from ``parts`` (number and ETag, ascending) and
        remove the parts. Raises InvalidPartError for a part that was not uploaded or is
        too small."""
        sources = part_sources(uri, upload_id, parts)
        sizes = []
        for (number, etag), source in zip(parts, sources, strict=True):
            try:
                sizes.append(self.size(source))
            except ObjectNotFoundError:
                raise InvalidPartError(f"InvalidPart: part {number}, ETag {etag} was not uploaded") from None
        check_part_sizes(parts, sizes)
        stored = self.assemble(uri, sources, sizes)
        self.abort_multipart(uri, upload_id)
        return PutResult(stored.size, multipart_etag([etag for _, etag in parts]), stored.mtime)

    def assemble(self, uri: str, sources: Sequence[str], sizes: Sequence[int]) -> PutResult:
        """Store the concatenation of the objects ``sources`` (of ``sizes`` bytes) at
        ``uri``, whole or not at all."""
        return self.put(uri, (chunk for source in sources for chunk in self.get(source)))

    def abort_multipart(self, uri: str, upload_id: str) -> None:
        """Remove every part of the upload; nothing else is left of it."""
        prefix = parts_prefix(uri, upload_id)
        for info in list(self.list(prefix)):
            self.delete(info.uri)

    def list_parts(self, uri: str, upload_id: str) -> builtins.list[PartInfo]:
        """The parts uploaded so far, by ascending number (the last upload of each)."""
        prefix = parts_prefix(uri, upload_id)
        parts: dict[int, PartInfo] = {}
        for info in self.list(prefix):
            number, _, etag = info.uri[len(prefix) :].partition(".")
            # Parts being written (temporary names) are not uploaded yet.
            if not (number.isdigit() and len(etag) == 32 and etag.isalnum()):
                continue
            part = PartInfo(int(number), etag, info.size, info.mtime)
            if int(number) not in parts or parts[int(number)].mtime <= info.mtime:
                parts[int(number)] = part
        return [parts[number] for number in sorted(parts)]

    def _signer(self) -> UrlSigner:
        if self.signer is None:
            raise NotImplementedError(f"{type(self).__name__} has no URL signer")
        return self.signer


class _NamedByContent(BlockWriter):
    """Writes a part to a temporary object, then stores it under its number and ETag."""

    metered = False  # the inner writer's commit is the blockstore's work

    def __init__(self, adapter: SelfServedAdapter, inner: BlockWriter, temporary: str, named: str) -> None:
        self.adapter = adapter
        self.inner = inner
        self.temporary = temporary
        self.named = named

    def write(self, chunk: bytes) -> None:
        self.inner.write(chunk)

    def commit(self) -> PutResult:
        stored = self.inner.commit()
        final = f"{self.named}.{stored.etag}"
        try:
            self.adapter.copy(self.temporary, final)
        finally:
            self.adapter.delete(self.temporary)
        # As in S3, the last upload of a part replaces the ones before it.
        for older in list(self.adapter.list(f"{self.named}.")):
            if older.uri != final and ".partial-" not in older.uri:
                self.adapter.delete(older.uri)
        return stored

    def abort(self) -> None:
        self.inner.abort()


def check_part_sizes(parts: Sequence[tuple[int, str]], sizes: Sequence[int]) -> None:
    """Raise InvalidPartError when a part but the last is smaller than S3 allows."""
    for (number, _), size in zip(parts[:-1], sizes[:-1], strict=True):
        if size < MIN_PART_SIZE:
            raise InvalidPartError(
                f"EntityTooSmall: part {number} holds {size} bytes: every part but the last needs at least "
                f"{MIN_PART_SIZE}"
            )


def part_sources(uri: str, upload_id: str, parts: Sequence[tuple[int, str]]) -> list[str]:
    """Where the self-served parts named by number and ETag are kept; raises
    InvalidPartError for an ETag that no part of ours can have."""
    prefix = parts_prefix(uri, upload_id)
    sources = []
    for number, etag in parts:
        bare = _bare(etag)
        if len(bare) != 32 or not all(c in "0123456789abcdef" for c in bare):
            raise InvalidPartError(f"InvalidPart: {etag!r} is not the ETag of an uploaded part")
        sources.append(f"{prefix}{number:05d}.{bare}")
    return sources


def multipart_etag(etags: Sequence[str]) -> str:
    """The ETag S3 gives an object assembled from parts: the MD5 of the parts' MD5s, and
    their count."""
    digest = hashlib.md5(usedforsecurity=False)
    for etag in etags:
        try:
            digest.update(bytes.fromhex(_bare(etag)))
        except ValueError:
            raise InvalidPartError(f"InvalidPart: {etag!r} is not the ETag of an uploaded part") from None
    return f"{digest.hexdigest()}-{len(etags)}"


def parts_prefix(uri: str, upload_id: str) -> str:
    """Where the parts of a self-served multipart upload to ``uri`` are kept."""
    return f"{uri}.upload-{upload_id}/"


def _bare(etag: str) -> str:
    """An ETag without the quotes and spaces clients may send around it."""
    return etag.strip().strip('"')
