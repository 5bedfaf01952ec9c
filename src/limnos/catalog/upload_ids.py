"""Multipart uploads known by their id alone.

A client of the S3 protocol names an upload by its repository, key and upload id, never
by the address its parts go to, and gives the object's content type and user metadata
when it starts the upload, not when it completes it. This record keeps both, keyed by
repository and upload id, beside the address's own record (``issued-addresses``), which
still decides whether the upload is open.

Records live in the metadata store, so any server process continues an upload another
started.
"""

from __future__ import annotations

import msgspec

from limnos.catalog.issued import NoSuchUploadError
from limnos.kv.store import KVStore

PARTITION = "upload-ids"


class UploadRecord(msgspec.Struct, frozen=True):
    """An open upload: what it writes, where its parts go, and the object's details."""

    repository: str
    branch: str
    path: str
    address: str
    content_type: str = ""
    metadata: dict[str, str] = msgspec.field(default_factory=dict)
    created: int = 0

    def matches(self, repository: str, branch: str, path: str) -> bool:
        """Whether the upload writes this repository, branch and path."""
        return (self.repository, self.branch, self.path) == (repository, branch, path)


_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(UploadRecord)


def _key(repository: str, upload_id: str) -> bytes:
    return f"{repository}\x00{upload_id}".encode()


class UploadRecords:
    """The records of uploads started by id."""

    def __init__(self, kv: KVStore) -> None:
        self._kv = kv

    def save(self, upload_id: str, record: UploadRecord) -> None:
        """Remember an upload just started (blocking: a metadata write)."""
        self._kv.set(PARTITION, _key(record.repository, upload_id), _encoder.encode(record))

    def find(self, repository: str, branch: str, path: str, upload_id: str) -> UploadRecord:
        """The open upload ``upload_id`` to this path; raises NoSuchUploadError."""
        data = self._kv.get(PARTITION, _key(repository, upload_id)) if upload_id else None
        record = None if data is None else _decoder.decode(data)
        if record is None or not record.matches(repository, branch, path):
            raise NoSuchUploadError(
                f"NoSuchUpload: the specified multipart upload does not exist: {upload_id!r} is not "
                "an open upload to this key (it may have been aborted or completed)"
            )
        return record

    def forget(self, repository: str, upload_id: str) -> None:
        """Forget a completed or aborted upload (blocking)."""
        self._kv.delete(PARTITION, _key(repository, upload_id))
