"""The presigned URLs Limnos serves itself, for the stores that cannot sign their own
(``local``, ``mem``): a GET reads the object, a PUT writes an object handed out for a
direct upload or a part of a multipart upload. The URL's signature is the only
credential; the address it names must still be open for writing.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from limnos.block.adapter import ObjectNotFoundError
from limnos.block.presign import SELF_SERVED_PATH, PresignRefusedError, SignedTarget
from limnos.catalog.errors import NotFound
from limnos.catalog.issued import IssuedAddress, IssuedAddresses, NoSuchUploadError
from limnos.catalog.objects import read_bytes
from limnos.catalog.stores import Part, Stores
from limnos.catalog.uploads import StreamedWrite
from limnos.graveler import protection

__all__ = ["SELF_SERVED_PATH", "Presigned"]

_CLOSED = "the address was linked already, or is not open for writing"


class Presigned(Part):
    """Checks self-served presigned URLs and reads or writes what they name."""

    def __init__(self, stores: Stores, issued: IssuedAddresses) -> None:
        super().__init__(stores)
        self._issued = issued

    def open(self, method: str, query: Mapping[str, str]) -> SignedTarget:
        """What a request with ``method`` and the URL's ``query`` may act on (Forbidden
        when the URL does not allow it)."""
        signer = self._stores.block.signer
        if signer is None:
            raise PresignRefusedError("this server's blockstore signs its own URLs")
        return signer.verify(method, query)

    def size(self, target: SignedTarget) -> int:
        """The size of the object a GET URL names (NotFound)."""
        try:
            return self._stores.block.size(target.uri)
        except ObjectNotFoundError:
            raise NotFound("not found: no object is stored at this presigned URL's address") from None

    async def read(self, target: SignedTarget, start: int, end: int) -> bytes | Iterator[bytes]:
        """Bytes ``[start, end)`` of the object a GET URL names (NotFound)."""
        try:
            return await read_bytes(self._stores.block, target.uri, start, end)
        except ObjectNotFoundError:
            raise NotFound("not found: no object is stored at this presigned URL's address") from None

    def receive(self, target: SignedTarget) -> StreamedWrite:
        """A write of what a PUT URL names: an address handed out and not linked yet
        (Forbidden otherwise), or a part of an open multipart upload (NotFound otherwise).
        Nothing is written for a branch protected since the address was handed out: it
        could never be linked there (Forbidden)."""
        issued = self._issued.find(target.uri)
        if issued is not None:
            self._check_branch(issued)
        block = self._stores.block
        if target.is_part:
            if issued is None or issued.upload_id != target.upload_id:
                raise NoSuchUploadError(f"NoSuchUpload: multipart upload {target.upload_id!r} is not open")
            return StreamedWrite(lambda: block.part_writer(target.uri, target.upload_id, target.part_number))
        if issued is None or issued.upload_id or issued.writing:
            raise PresignRefusedError(_CLOSED)
        records = self._issued

        @contextmanager
        def landing() -> Iterator[None]:
            # The bytes land with the address marked as being written: a link made while
            # they were arriving closed it (linked bytes never change), and no link can
            # take them halfway.
            with records.writing(target.uri, issued) as still_open:
                if not still_open:
                    raise PresignRefusedError(_CLOSED)
                yield

        return StreamedWrite(lambda: block.writer(target.uri), landing)

    def _check_branch(self, issued: IssuedAddress) -> None:
        """Refuse an address handed out for what is now a protected branch."""
        try:
            repo = self._stores.repository(issued.repository)
        except NotFound:
            return  # the address outlived its repository: nothing of it to protect
        protection.check_write(repo, issued.branch)
