"""Addresses handed out for direct uploads, remembered until they are linked or expire.

A client that writes an object's bytes straight to storage first asks for an address
inside the repository's storage namespace (getPhysicalAddress, or the start of a
multipart upload), then links it to a path. Only an address handed out here, for the
same repository, branch and path, and not yet expired, can be linked: nobody can make an
entry point at bytes inside a namespace that Limnos did not hand out for it. A linked
address is forgotten, so its bytes cannot be linked, or overwritten through a presigned
URL, a second time.

Records live in the metadata store, so any server process can check what another
handed out.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

import msgspec

from limnos.catalog.errors import Invalid, NotFound
from limnos.kv.store import KVStore

PARTITION = "issued-addresses"


class LinkAddressError(Invalid):
    """The address was not handed out for this path, was linked already, or expired."""


class NoSuchUploadError(NotFound):
    """No multipart upload with this id is open for the address."""


class IssuedAddress(msgspec.Struct, frozen=True):
    """What an address was handed out for, and until when (Unix seconds)."""

    repository: str
    branch: str
    path: str
    expires: int
    #: The multipart upload writing the address, if any.
    upload_id: str = ""
    #: Whether a presigned PUT is storing the address's bytes right now.
    writing: bool = False

    def matches(self, repository: str, branch: str, path: str) -> bool:
        """Whether the address was handed out for this repository, branch and path."""
        return (self.repository, self.branch, self.path) == (repository, branch, path)


_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(IssuedAddress)


class IssuedAddresses:
    """The records of handed-out addresses, keyed by full URI."""

    def __init__(self, kv: KVStore, expiry_seconds: int) -> None:
        self._kv = kv
        self.expiry_seconds = expiry_seconds

    def record(self, repository: str, branch: str, path: str, upload_id: str = "") -> IssuedAddress:
        """A record of an address handed out now."""
        return IssuedAddress(repository, branch, path, int(time.time()) + self.expiry_seconds, upload_id)

    def remember(self, uri: str, issued: IssuedAddress) -> None:
        """Remember that ``uri`` was handed out (blocking: a metadata write)."""
        self._kv.set(PARTITION, uri.encode(), _encoder.encode(issued))

    def find(self, uri: str) -> IssuedAddress | None:
        """What ``uri`` was handed out for, if it was and is not linked yet."""
        data = self._kv.get(PARTITION, uri.encode())
        return None if data is None else _decoder.decode(data)

    def check_link(self, uri: str, repository: str, branch: str, path: str) -> IssuedAddress:
        """The record allowing ``uri`` to be linked at ``path``; raises LinkAddressError."""
        issued = self.find(uri)
        if issued is None or issued.upload_id:
            raise LinkAddressError(
                f"link address invalid: {uri!r} was not handed out for linking, or was linked already"
            )
        if not issued.matches(repository, branch, path):
            raise LinkAddressError(f"link address invalid: {uri!r} was handed out for another path")
        if issued.expires < time.time():
            raise LinkAddressError(f"link address expired: {uri!r}: link it within {self.expiry_seconds} s")
        if issued.writing:
            raise LinkAddressError(
                f"link address invalid: bytes are being stored at {uri!r}: link them once uploaded"
            )
        return issued

    def check_upload(
        self, uri: str, upload_id: str, repository: str, branch: str, path: str
    ) -> IssuedAddress:
        """The record of the open multipart upload ``upload_id`` to ``uri``; raises
        NoSuchUploadError, or LinkAddressError when it is for another path or expired."""
        issued = self.find(uri)
        if issued is None or not issued.upload_id or issued.upload_id != upload_id:
            raise NoSuchUploadError(f"NoSuchUpload: no upload {upload_id!r} is open for address {uri!r}")
        if not issued.matches(repository, branch, path):
            raise LinkAddressError(f"link address invalid: upload {upload_id!r} writes another path")
        if issued.expires < time.time():
            raise LinkAddressError(f"link address expired: multipart upload {upload_id!r}")
        return issued

    def claim(self, uri: str, issued: IssuedAddress) -> None:
        """Take the record of ``uri`` for one link or completion, atomically: of two
        requests racing for it, or a link racing with bytes being stored, the second
        raises LinkAddressError (blocking)."""
        if not self._kv.delete_if(PARTITION, uri.encode(), _encoder.encode(issued)):
            raise LinkAddressError(
                f"link address invalid: {uri!r} was linked already, or its bytes are being stored"
            )

    @contextmanager
    def writing(self, uri: str, issued: IssuedAddress) -> Iterator[bool]:
        """Mark ``uri`` as being written while the block runs, so that it cannot be linked
        meanwhile; yields False (and marks nothing) when the address is no longer open
        as ``issued`` says (blocking)."""
        key = uri.encode()
        held = msgspec.structs.replace(issued, writing=True)
        if not self._kv.set_if(PARTITION, key, _encoder.encode(held), _encoder.encode(issued)):
            yield False
            return
        try:
            yield True
        finally:
            self._kv.set_if(PARTITION, key, _encoder.encode(issued), _encoder.encode(held))

    def forget(self, uri: str) -> None:
        """Forget ``uri``: its upload was aborted (blocking)."""
        self._kv.delete(PARTITION, uri.encode())
